"""CodeBox (run, run_script, pip against a package index served from the
host, pip's own error without one) and Boxlite.images (pull from a
loopback registry with progress, list), on real boxes."""

import asyncio
import base64
import hashlib
import http.server
import os
import shutil
import socket
import subprocess
import threading
import time
import zipfile

import pytest

import boxlite

HERE = os.path.dirname(os.path.abspath(__file__))
SHARE = os.path.join(os.path.dirname(boxlite.__file__), "..", "..", "share", "boxlite")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def make_wheel(dest):
    """A minimal pure-Python wheel: boxlite_demo 0.1 with VALUE = "installed"."""
    name = "boxlite_demo-0.1-py3-none-any.whl"
    files = {
        "boxlite_demo/__init__.py": 'VALUE = "installed"\n',
        "boxlite_demo-0.1.dist-info/METADATA": "Metadata-Version: 2.1\nName: boxlite-demo\nVersion: 0.1\n",
        "boxlite_demo-0.1.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                                            "Tag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append("boxlite_demo-0.1.dist-info/RECORD,,")
    files["boxlite_demo-0.1.dist-info/RECORD"] = "\n".join(record) + "\n"
    with zipfile.ZipFile(os.path.join(dest, name), "w") as z:
        for path, text in files.items():
            z.writestr(path, text)
    return name


@pytest.fixture
def package_index(tmp_path):
    """A PEP 503 index on the host's loopback, reached from boxes as
    host.boxlite.internal."""
    root = tmp_path / "index"
    pkg = root / "simple" / "boxlite-demo"
    pkg.mkdir(parents=True)
    wheel = make_wheel(str(pkg))
    (pkg / "index.html").write_text(f'<html><body><a href="{wheel}">{wheel}</a></body></html>\n')
    (root / "simple" / "index.html").write_text('<html><body><a href="boxlite-demo/">boxlite-demo</a></body></html>\n')
    handler = lambda *a, **kw: http.server.SimpleHTTPRequestHandler(*a, directory=str(root), **kw)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://host.boxlite.internal:{server.server_address[1]}/simple/"
    server.shutdown()


async def test_codebox_run_and_script(runtime, tmp_path):
    async with boxlite.CodeBox(runtime=runtime) as cb:
        assert await cb.run("print(6 * 7)") == "42\n"
        assert await cb.run("import sys; print('x', file=sys.stderr)") == ""
        script = tmp_path / "s.py"
        script.write_text("import platform\nprint(platform.python_version().split('.')[0])\n")
        assert await cb.run_script(str(script)) == "3\n"


async def test_codebox_install_package(runtime, package_index):
    env = [("PIP_INDEX_URL", package_index), ("PIP_TRUSTED_HOST", "host.boxlite.internal")]
    async with boxlite.CodeBox(runtime=runtime, env=env) as cb:
        out = await cb.install_package("boxlite-demo")
        assert "Successfully installed boxlite-demo-0.1" in out, out
        assert await cb.run("import boxlite_demo; print(boxlite_demo.VALUE)") == "installed\n"


async def test_codebox_install_without_network_shows_pips_error(runtime):
    async with boxlite.CodeBox(runtime=runtime, network=boxlite.NetworkSpec("disabled")) as cb:
        out = await cb.install_packages("boxlite-demo", "other-thing")
        assert "ERROR" in out and ("No matching distribution" in out or "Could not find" in out), out


@pytest.fixture
def registry(tmp_path):
    """docker-registry on loopback with the built-in busybox pushed to it."""
    for tool in ("docker-registry", "skopeo"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} not installed")
    port = free_port()
    (tmp_path / "data").mkdir()
    cfg = tmp_path / "config.yml"
    cfg.write_text(f"version: 0.1\nlog: {{level: error}}\nstorage:\n  filesystem: {{rootdirectory: {tmp_path}/data}}\n"
                   f"http:\n  addr: 127.0.0.1:{port}\n")
    p = subprocess.Popen(["docker-registry", "serve", str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        layout = os.path.realpath(os.path.join(SHARE, "images", "busybox"))
        subprocess.run(["skopeo", "copy", "--quiet", "--dest-tls-verify=false", f"oci:{layout}:latest",
                        f"docker://127.0.0.1:{port}/test/busybox:1"], check=True)
        yield f"127.0.0.1:{port}"
    finally:
        p.kill()
        p.wait()


async def test_images_pull_and_list(runtime, registry):
    events = []
    r = await runtime.images.pull(f"{registry}/test/busybox:1", progress=events.append)
    assert r.reference == f"{registry}/test/busybox:1"
    assert r.config_digest.startswith("sha256:") and r.layer_count > 0
    stages = [e["stage"] for e in events]
    assert stages[0] == "resolved" and stages[-1] == "done" and "layer_done" in stages
    listed = {i.reference: i for i in await runtime.images.list()}
    info = listed[f"{registry}/test/busybox:1"]
    assert info.repository == f"{registry}/test/busybox" and info.tag == "1" and info.size_bytes > 0
    with pytest.raises(boxlite.errors.NotFoundError):
        await runtime.images.pull(f"{registry}/test/nothing:1")


def test_images_sync(home, registry):
    from boxlite.sync_api import SyncBoxlite

    with SyncBoxlite(boxlite.Options(home_dir=home)) as rt:
        r = rt.images.pull(f"{registry}/test/busybox:1")
        assert r.layer_count > 0
        assert f"{registry}/test/busybox:1" in [i.reference for i in rt.images.list()]
