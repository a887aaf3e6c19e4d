"""Files in and out over REST as tar streams, and the image routes."""
import hashlib
import io
import os
import tarfile

from conftest import IMAGE, expect_error
from test_exec import attach_path, start
from wsclient import Attach, run


def tar_of(entries):
    """A tar (bytes) of {name: bytes or None for a directory}."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                t.addfile(info)
            else:
                info.size, info.mode = len(data), 0o644
                t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def sh(server, bid, script):
    eid = start(server, bid, command="sh", args=["-c", script])

    async def go():
        async with Attach(server, attach_path(bid, eid)) as a:
            return a, await a.run_to_exit()
    a, code = run(go())
    return code, bytes(a.out).decode()


def put(server, bid, path, body, **q):
    query = "&".join([f"path={path}"] + [f"{k}={v}" for k, v in q.items()])
    return server.request("PUT", f"/v1/boxes/{bid}/files?{query}", body,
                          headers={"Content-Type": "application/x-tar"})


def get(server, bid, path, **q):
    query = "&".join([f"path={path}"] + [f"{k}={v}" for k, v in q.items()])
    return server.request("GET", f"/v1/boxes/{bid}/files?{query}", raw=True)


def test_upload_file_to_a_full_path_and_into_a_dir(server, box):
    bid = box["box_id"]
    data = "boxlite üñî\nline2\n".encode()
    assert put(server, bid, "/root/hello.txt", tar_of({"a.txt": data}))[0] == 204
    assert put(server, bid, "/root", tar_of({"b.txt": data}))[0] == 204
    code, out = sh(server, bid, "cat /root/hello.txt /root/b.txt")
    assert code == 0 and out.encode() == data * 2


def test_upload_tree(server, box):
    bid = box["box_id"]
    tree = tar_of({".": None, "./top.txt": b"top\n", "./sub": None, "./sub/deep.txt": b"deep\n"})
    assert put(server, bid, "/root/flat", tree)[0] == 204          # new directory
    assert put(server, bid, "/root/flat", tree)[0] == 204          # merged into it
    code, out = sh(server, bid, "find /root/flat -type f | sort")
    assert out.split() == ["/root/flat/sub/deep.txt", "/root/flat/top.txt"]


def test_overwrite_false_keeps_files(server, box):
    bid = box["box_id"]
    assert put(server, bid, "/root", tar_of({"keep.txt": b"old\n"}))[0] == 204
    assert put(server, bid, "/root", tar_of({"keep.txt": b"new\n"}), overwrite="false")[0] == 204
    assert sh(server, bid, "cat /root/keep.txt")[1] == "old\n"
    assert put(server, bid, "/root", tar_of({"keep.txt": b"new\n"}), overwrite="true")[0] == 204
    assert sh(server, bid, "cat /root/keep.txt")[1] == "new\n"


def test_download(server, box):
    bid = box["box_id"]
    code, out = sh(server, bid, "mkdir -p /root/d/e && echo one > /root/d/1 && echo two > /root/d/e/2 && "
                                "ln -s /root/d/1 /root/link && dd if=/dev/urandom of=/root/blob bs=4096 count=64 "
                                "2>/dev/null && sha256sum /root/blob")
    assert code == 0
    st, body, r = get(server, bid, "/root/blob")
    assert st == 200 and r.getheader("Content-Type") == "application/x-tar"
    with tarfile.open(fileobj=io.BytesIO(body)) as t:
        members = t.getmembers()
        assert [m.name for m in members] == ["blob"]
        assert hashlib.sha256(t.extractfile(members[0]).read()).hexdigest() == out.split()[0]
    st, body, _ = get(server, bid, "/root/d")
    with tarfile.open(fileobj=io.BytesIO(body)) as t:
        assert sorted(m.name for m in t.getmembers()) == ["d", "d/1", "d/e", "d/e/2"]
        assert t.extractfile("d/e/2").read() == b"two\n"
    st, body, _ = get(server, bid, "/root/link")
    with tarfile.open(fileobj=io.BytesIO(body)) as t:
        assert t.getmembers()[0].issym()
    st, body, _ = get(server, bid, "/root/link", follow_symlinks="true")
    with tarfile.open(fileobj=io.BytesIO(body)) as t:
        assert t.getmembers()[0].isfile() and t.extractfile("link").read() == b"one\n"


def test_large_upload_streams(server, box):
    bid = box["box_id"]
    blob = os.urandom(1 << 20) * 48  # 48 MiB: above any body limit; streamed to the box
    assert put(server, bid, "/root/big", tar_of({"x": blob}))[0] == 204
    code, out = sh(server, bid, "sha256sum /root/big")
    assert out.split()[0] == hashlib.sha256(blob).hexdigest()


def test_file_errors(server, box):
    bid = box["box_id"]
    expect_error(*put(server, bid, "/root", b"this is not a tar stream at all")[:2], 400, "invalid_argument")
    expect_error(*put(server, bid, "/no/such/dir/x", tar_of({"a": b"1"}))[:2], 404, "not_found")
    expect_error(*put(server, bid, "relative", tar_of({"a": b"1"}))[:2], 400, "invalid_argument")
    expect_error(*put(server, "nosuchbox", "/root", tar_of({"a": b"1"}))[:2], 404, "not_found")
    expect_error(*put(server, bid, "/root", tar_of({"../escape": b"1"}))[:2], 400, "invalid_argument")
    st, body, _ = get(server, bid, "/root/nothing-here")
    import json
    expect_error(st, json.loads(body), 404, "not_found")
    st, body, _ = get(server, "nosuchbox", "/root")
    expect_error(st, json.loads(body), 404, "not_found")


def test_images(server):
    st, body, _ = server.request("GET", "/v1/images")
    assert st == 200
    refs = {i["reference"]: i for i in body["images"]}
    im = refs[IMAGE]
    assert im["repository"] == "localhost/busybox" and im["tag"] == "latest" and im["id"].startswith("sha256:")
    assert im["size_bytes"] > 0 and im["cached_at"].endswith("Z")
    st, one, _ = server.request("GET", f"/v1/images/{im['id']}")
    assert st == 200 and one == im
    assert server.request("HEAD", f"/v1/images/{im['id']}", raw=True)[:2] == (204, b"")
    assert server.request("HEAD", "/v1/images/sha256:0000", raw=True)[0] == 404
    expect_error(*server.request("GET", "/v1/images/sha256:0000")[:2], 404, "not_found")
    expect_error(*server.request("POST", "/v1/images/pull", {})[:2], 400, "invalid_argument")
    expect_error(*server.request("POST", "/v1/images/pull", {"reference": "127.0.0.1:1/none/such:1"})[:2], 503,
                 "network_unavailable")
