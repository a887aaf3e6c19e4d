// The reference system's own Node SDK (@boxlite-ai/boxlite), in its REST
// mode, against `boxlite serve`: a client nobody here wrote. Usage:
//   NODE_PATH=<dir with node_modules> node node_rest.mjs URL KEY IMAGE
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(path.join(process.env.BOXLITE_NPM_DIR, 'node_modules', 'x.js'));
const { JsBoxlite, BoxliteRestOptions, ApiKeyCredential } = await import(require.resolve('@boxlite-ai/boxlite'));
const [url, key, image] = process.argv.slice(2);

const step = (what) => console.log(`ok: ${what}`);

async function drain(stream) {
  let text = '';
  for (;;) {
    const chunk = await stream.next();
    if (chunk === null) return text;
    text += chunk;
  }
}

async function run(box, cmd, args, input) {
  const ex = await box.exec(cmd, args);
  if (input !== undefined) {
    const stdin = await ex.stdin();
    await stdin.writeString(input);
    await stdin.close();
  }
  const [out, err] = await Promise.all([ex.stdout().then(drain), ex.stderr().then(drain)]);
  const res = await ex.wait();
  return { out, err, code: res.exitCode };
}

const rt = JsBoxlite.rest(new BoxliteRestOptions({ url, credential: new ApiKeyCredential(key) }));

// A wrong key is refused.
const bad = JsBoxlite.rest(new BoxliteRestOptions({ url, credential: new ApiKeyCredential(key + 'x') }));
await assert.rejects(bad.listInfo());
step('wrong key refused');

const box = await rt.create({ image, detach: false }, 'compat-box');
assert.ok(box.id);
step(`create ${box.id}`);

const got = await rt.get('compat-box');
assert.equal(got.id, box.id);
const listed = await rt.listInfo();
assert.ok(listed.some((b) => b.id === box.id), JSON.stringify(listed));
step('get and listInfo');

let r = await run(box, 'sh', ['-c', 'echo out; echo err >&2; exit 3']);
assert.equal(r.out, 'out\n');
assert.equal(r.err, 'err\n');
assert.equal(r.code, 3);
step('exec: stdout, stderr, exit code');

r = await run(box, 'cat', [], 'hello over stdin\n');
assert.equal(r.out, 'hello over stdin\n');
assert.equal(r.code, 0);
step('exec: stdin');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-compat-'));
const src = path.join(dir, 'in.txt');
fs.writeFileSync(src, 'copied in üñî\n');
await box.copyIn(src, '/root/in.txt');
r = await run(box, 'cat', ['/root/in.txt']);
assert.equal(r.out, 'copied in üñî\n');
step('copyIn');

await run(box, 'sh', ['-c', 'mkdir -p /root/outdir && echo a > /root/outdir/a && echo b > /root/out.txt']);
const dst = path.join(dir, 'out.txt');
await box.copyOut('/root/out.txt', dst);
assert.equal(fs.readFileSync(dst, 'utf8'), 'b\n');
await box.copyOut('/root/outdir', path.join(dir, 'outdir'));
assert.ok(fs.readdirSync(path.join(dir, 'outdir'), { recursive: true }).some((f) => f.endsWith('a')));
step('copyOut');

await box.stop();
const info = await rt.getInfo(box.id);
assert.equal(info.status ?? info.state?.status, 'stopped', JSON.stringify(info));
step('stop');

await rt.remove(box.id);
assert.equal(await rt.get(box.id), null);
step('remove');
fs.rmSync(dir, { recursive: true, force: true });
console.log('compat: all passed');
