"""Execution on real boxes: streaming (incremental, nothing lost), stdin,
tty and resize, timeouts, cancellation, concurrency from one loop, copy,
volumes and ports, and the box dying with the process that made it.
Nothing here asserts on time: waits that would hang fail by a guard."""

import asyncio
import re
import hashlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request

import pytest

import boxlite
from boxlite import errors

GUARD = 120  # seconds before a wait that should have ended counts as hung


@pytest.fixture
async def box(runtime, image, request):
    b = await runtime.create(boxlite.BoxOptions(image=image, auto_remove=False),
                             name="ex-" + re.sub(r"[^A-Za-z0-9.-]", "-", request.node.name[:40]))
    await b.start()
    yield b
    await runtime.remove(b.id, force=True)


async def run(box, *argv, **kw):
    ex = await box.exec(argv[0], list(argv[1:]), **kw)
    out, err = await asyncio.gather(ex.stdout().read_all(), ex.stderr().read_all())
    return out, err, (await ex.wait()).exit_code


async def test_streams_as_produced(box):
    # The producer goes on only once the test has seen its first line.
    ex = await box.exec("sh", ["-c", "echo first; while [ ! -e /dev/shm/go ]; do sleep 0.1; done; echo second"])
    out = ex.stdout()
    assert await asyncio.wait_for(out.__anext__(), GUARD) == "first\n"
    assert (await run(box, "touch", "/dev/shm/go"))[2] == 0
    assert await asyncio.wait_for(out.read_all(), GUARD) == "second\n"
    assert (await ex.wait()).exit_code == 0


async def test_64_mib_byte_for_byte(box):
    out, _, rc = await run(box, "sh", "-c",
                           "head -c 50331648 /dev/urandom | base64 > /dev/shm/big && sha256sum /dev/shm/big")
    assert rc == 0
    want = out.split()[0]
    ex = await box.exec("cat", ["/dev/shm/big"])
    h, n = hashlib.sha256(), 0
    async for chunk in ex.stdout():
        b = chunk.encode()
        h.update(b)
        n += len(b)
    assert (await ex.wait()).exit_code == 0
    assert n > 64 * 1024 * 1024 and h.hexdigest() == want


async def test_interleaved_lines_all_arrive(box):
    out, err, rc = await run(box, "sh", "-c",
                             "i=0; while [ $i -lt 5000 ]; do echo o$i; echo e$i >&2; i=$((i+1)); done")
    assert rc == 0
    assert out.splitlines() == [f"o{i}" for i in range(5000)]
    assert err.splitlines() == [f"e{i}" for i in range(5000)]


async def test_multibyte_kept_whole(box):
    out, _, rc = await run(box, "sh", "-c", "printf '\\303'; sleep 0.3; printf '\\251t\\303\\251\\n'")
    assert rc == 0 and out == "été\n"


async def test_tty_and_resize(box):
    ex = await box.exec("sh", ["-c", "stty size; read x; stty size"], tty=True)
    stdout = ex.stdout()
    first = await asyncio.wait_for(stdout.__anext__(), GUARD)
    await ex.resize_tty(30, 100)
    await ex.stdin().send_input(b"\n")
    rest = await asyncio.wait_for(stdout.read_all(), GUARD)
    assert (await ex.wait()).exit_code == 0
    assert "30 100" in first + rest
    plain = await box.exec("true")
    with pytest.raises(RuntimeError):
        await plain.resize_tty(10, 10)
    await plain.wait()


async def test_timeout_kills_without_raising(box):
    ex = await box.exec("sh", ["-c", "trap '' TERM ALRM; while :; do sleep 1; done"], timeout_secs=1)
    res = await asyncio.wait_for(ex.wait(), GUARD)
    assert res.exit_code != 0  # SIGTERM ignored: SIGKILL 2 s later
    with pytest.raises(ValueError):
        await box.exec("true", timeout_secs=-1)


async def test_kill_and_signal(box):
    ex = await box.exec("sleep", ["600"])
    await ex.kill()
    assert (await asyncio.wait_for(ex.wait(), GUARD)).exit_code == -9
    ex = await box.exec("sleep", ["600"])
    await ex.signal(signal.SIGTERM)
    assert (await asyncio.wait_for(ex.wait(), GUARD)).exit_code == -15


async def test_cancel_kills_the_command(box):
    async def job():
        ex = await box.exec("sh", ["-c", "echo $$ > /dev/shm/pid; exec sleep 600"])
        return await ex.wait()

    task = asyncio.create_task(job())
    for _ in range(GUARD * 10):
        if (await run(box, "test", "-s", "/dev/shm/pid"))[2] == 0:
            break
        await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    pid = (await run(box, "cat", "/dev/shm/pid"))[0].strip()
    for _ in range(GUARD * 10):
        if (await run(box, "kill", "-0", pid))[2] != 0:
            break
        await asyncio.sleep(0.1)
    assert (await run(box, "kill", "-0", pid))[2] != 0, "the cancelled command still runs"
    assert (await run(box, "echo", "usable"))[0] == "usable\n"


async def test_ten_concurrent_execs(box):
    # Each waits until all ten have started: run one after another, they hang.
    script = "touch /dev/shm/c$0; while [ $(ls /dev/shm | grep -c '^c') -lt 10 ]; do sleep 0.1; done; echo $0"
    outs = await asyncio.wait_for(asyncio.gather(*(run(box, "sh", "-c", script, str(i)) for i in range(10))), GUARD)
    assert sorted(o[0].strip() for o in outs) == [str(i) for i in range(10)]


async def test_copy_round_trip(box, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "t.txt").write_text("texte été\n")
    data = os.urandom(3 * 1024 * 1024 + 7)
    (tmp_path / "in" / "b.bin").write_bytes(data)
    await box.copy_in(str(tmp_path / "in"), "/root/")
    out, _, _ = await run(box, "sha256sum", "/root/in/b.bin")
    assert out.split()[0] == hashlib.sha256(data).hexdigest()
    await box.copy_out("/root/in", str(tmp_path / "out"))
    assert (tmp_path / "out" / "t.txt").read_text() == "texte été\n"
    assert hashlib.sha256((tmp_path / "out" / "b.bin").read_bytes()).digest() == hashlib.sha256(data).digest()
    with pytest.raises(errors.NotFoundError):
        await box.copy_out("/no/such/file", str(tmp_path / "x"))


@pytest.mark.local_only("volumes and published ports are the server operator's")
async def test_volumes_and_ports(runtime, image, tmp_path):
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "index.html").write_text("from-host\n")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    b = await runtime.create(boxlite.BoxOptions(
        image=image, auto_remove=False, volumes=[(str(tmp_path / "www"), "/www", True)],
        ports=[{"host_port": port, "guest_port": 8080}], cmd=["httpd", "-f", "-p", "8080", "-h", "/www"]))
    try:
        await b.start()
        body = None
        for _ in range(GUARD * 10):
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=5).read().decode()
                break
            except OSError:
                await asyncio.sleep(0.1)
        assert body == "from-host\n"
        out, _, rc = await run(b, "sh", "-c", "echo x > /www/y 2>&1")
        assert rc != 0  # read-only volume
    finally:
        await runtime.remove(b.id, force=True)


def test_box_dies_with_its_process(home, image):
    script = textwrap.dedent(f"""
        import asyncio, boxlite
        async def main():
            rt = boxlite.Boxlite(boxlite.Options(home_dir={home!r}))
            for name, detach in (("dies", False), ("lives", True)):
                b = await rt.create(boxlite.BoxOptions(image={image!r}, auto_remove=False, detach=detach), name=name)
                await b.start()
            print("ready", flush=True)
            await asyncio.sleep(600)
        asyncio.run(main())
    """)
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=os.environ)
    assert p.stdout.readline().strip() == b"ready"
    p.kill()
    p.wait()

    async def states():
        rt = boxlite.Boxlite(boxlite.Options(home_dir=home))
        return {i.name: i.state.status for i in await rt.list_info() if i.name in ("dies", "lives")}

    st = {}
    for _ in range(GUARD * 2):
        st = asyncio.run(states())
        if st.get("dies") not in ("running", "starting", "stopping"):
            break
        time.sleep(0.5)
    assert st["dies"] in ("stopped", "failed") and st["lives"] == "running", st

    async def cleanup():
        rt = boxlite.Boxlite(boxlite.Options(home_dir=home))
        for n in ("dies", "lives"):
            await rt.remove(n, force=True)
    asyncio.run(cleanup())
