"""The async core on real boxes: Boxlite, create, Box.exec and Execution,
the error classes. (docs/python.md)"""

import asyncio
import os
import signal
import subprocess
import sys
import textwrap

import pytest

import boxlite
from boxlite import errors


async def collect(execution):
    """stdout, stderr (drained concurrently) and the ExecResult."""
    out, err = await asyncio.gather(execution.stdout().read_all(), execution.stderr().read_all())
    return out, err, await execution.wait()


def test_public_names():
    for name in ("Boxlite", "Box", "Execution", "Options", "BoxOptions", "ImageRegistry", "BoxInfo", "ExecResult",
                 "NetworkSpec", "CopyOptions", "BoxliteError"):
        assert name in boxlite.__all__ and hasattr(boxlite, name), name
    # The classes raise what the reference raises: RuntimeError, ValueError.
    assert issubclass(errors.NotFoundError, RuntimeError)
    assert issubclass(errors.InvalidArgumentError, ValueError)
    assert issubclass(errors.InvalidArgumentError, RuntimeError)
    assert issubclass(errors.InvalidStateError, RuntimeError)
    assert issubclass(errors.TimeoutError, boxlite.BoxliteError)


async def test_create_exec_wait(runtime, image):
    box = await runtime.create(boxlite.BoxOptions(image=image, auto_remove=False), name="core-a")
    try:
        assert len(box.id) == 12 and box.name == "core-a"
        assert (await box.info()).state.status == "configured"
        ex = await box.exec("sh", ["-c", "echo out-$FOO; echo err >&2; exit 3"], env=[("FOO", "bar")])
        out, err, res = await collect(ex)
        assert (out, err, res.exit_code) == ("out-bar\n", "err\n", 3)
        info = await box.info()
        assert info.state.status == "running" and info.state.running and info.image == image
        assert info.memory_mib == 1024 and info.cpus == 1
        ex = await box.exec("pwd", cwd="/tmp")
        assert (await collect(ex))[0] == "/tmp\n"
        ex = await box.exec("id", ["-u"], user="65534")
        assert (await collect(ex))[0] == "65534\n"
    finally:
        await runtime.remove(box.id, force=True)
    assert await runtime.get_info(box.id) is None


async def test_errors(runtime, image):
    assert await runtime.get("no-such-box") is None
    assert await runtime.get_info("no-such-box") is None
    with pytest.raises(errors.NotFoundError):
        await runtime.remove("no-such-box")
    with pytest.raises(ValueError):
        await runtime.create(boxlite.BoxOptions(image=image, cpus=0))
    with pytest.raises(errors.NotFoundError) as e:
        await runtime.create(boxlite.BoxOptions(image="localhost/nope:1"))
    assert "localhost/nope:1" in str(e.value)
    with pytest.raises(TypeError):
        boxlite.BoxOptions(image=image, allow_net=["x"])
    with pytest.raises(errors.UnsupportedError, match="secrets"):
        await runtime.create(boxlite.BoxOptions(image=image, secrets=[boxlite.Secret("K", "v")]))
    with pytest.raises(RuntimeError, match="incompatible"):
        await runtime.create(boxlite.BoxOptions(image=image, detach=True))
    box = await runtime.create(boxlite.BoxOptions(image=image), name="core-dup")
    try:
        with pytest.raises(errors.AlreadyExistsError):
            await runtime.create(boxlite.BoxOptions(image=image), name="core-dup")
        with pytest.raises(errors.BoxliteError) as e:
            await box.exec("no-such-command")
        assert "no-such-command" in str(e.value)
        await box.start()
        with pytest.raises(RuntimeError):
            await runtime.remove(box.id)  # running, no force
    finally:
        await runtime.remove(box.id, force=True)


async def test_list_newest_first_and_remove_on_stop(runtime, image):
    a = await runtime.create(boxlite.BoxOptions(image=image), name="core-l1")
    b = await runtime.create(boxlite.BoxOptions(image=image), name="core-l2")
    infos = await runtime.list_info()
    names = [i.name for i in infos]
    assert names.index("core-l2") < names.index("core-l1")
    # auto_remove's default (True, as the reference): stop removes the box.
    await b.start()
    await b.stop()
    assert await runtime.get_info("core-l2") is None
    await runtime.remove(a.id)


async def test_streaming_and_stdin(runtime, image):
    box = await runtime.create(boxlite.BoxOptions(image=image), name="core-stream")
    try:
        ex = await box.exec("sh", ["-c", "echo first; echo second"])
        out = ex.stdout()
        assert (await out.read_all()) == "first\nsecond\n"
        assert (await ex.wait()).exit_code == 0
        with pytest.raises(RuntimeError, match="stdout stream not available"):
            ex.stdout()
        # stdin: bytes in, end of file, everything back
        ex = await box.exec("cat")
        stdin = ex.stdin()
        await stdin.send_input(b"hello \xc3")
        await stdin.send_input(b"\xa9t\xc3\xa9\n")
        await stdin.close()
        out, _, res = await collect(ex)
        assert out == "hello été\n" and res.exit_code == 0
    finally:
        await runtime.remove(box.id, force=True)


async def test_snapshots(runtime, image):
    # box.snapshot as the reference names it; also run through Boxlite.rest.
    box = await runtime.create(boxlite.BoxOptions(image=image, auto_remove=False), name="core-snap")
    try:
        async def write(text):
            ex = await box.exec("sh", ["-c", f"echo {text} > /root/f; sync"])
            assert (await ex.wait()).exit_code == 0
            await box.stop()

        async def read():
            ex = await box.exec("cat", ["/root/f"])
            out = await ex.stdout().read_all()
            await ex.wait()
            await box.stop()
            return out

        await write("one")
        info = await box.snapshot.create(name="s1")
        assert info.name == "s1" and info.box_id == box.id and len(info.id) == 8 and info.container_disk_bytes > 0
        await write("two")
        assert [s.name for s in await box.snapshot.list()] == ["s1"]
        assert await box.snapshot.get("nope") is None
        with pytest.raises(errors.AlreadyExistsError):
            await box.snapshot.create(name="s1")
        await box.snapshot.restore("s1")
        assert await read() == "one\n"
        with pytest.raises(errors.NotFoundError):
            await box.snapshot.restore("nope")
        await box.snapshot.remove("s1")
        assert await box.snapshot.list() == []
        assert await read() == "one\n"
        # A running box: snapshotted while it runs, restored once stopped.
        ex = await box.exec("sh", ["-c", "echo three > /root/f; sync"])
        assert (await ex.wait()).exit_code == 0
        assert (await box.snapshot.create(name="live")).name == "live"
        ex = await box.exec("sh", ["-c", "echo four > /root/f; sync"])
        assert (await ex.wait()).exit_code == 0
        await box.stop()
        await box.snapshot.restore("live")
        assert await read() == "three\n"
    finally:
        await runtime.remove(box.id, force=True)


async def test_export_import(runtime, image, tmp_path):
    # box.export(dest=) and runtime.import_box(path, name=None), as the reference names them.
    box = await runtime.create(boxlite.BoxOptions(image=image, auto_remove=False), name="core-export")
    copy = None
    try:
        ex = await box.exec("sh", ["-c", "echo exported > /root/f; sync"])
        assert (await ex.wait()).exit_code == 0
        path = await box.export(dest=str(tmp_path))  # a running box: it runs on
        assert path == str(tmp_path / "core-export.boxlite")
        copy = await runtime.import_box(path, name="core-imported")
        assert copy.id != box.id and copy.name == "core-imported"
        ex = await copy.exec("cat", ["/root/f"])
        assert await ex.stdout().read_all() == "exported\n"
        await ex.wait()
        (tmp_path / "bad.boxlite").write_bytes(b"not an archive")
        with pytest.raises(errors.InvalidArgumentError):
            await runtime.import_box(tmp_path / "bad.boxlite")
    finally:
        if copy is not None:
            await runtime.remove(copy.id, force=True)
        await runtime.remove(box.id, force=True)


async def test_checkpoint(runtime, image, tmp_path):
    # boxlite's own: box.checkpoint(), then start resumes it (also over REST).
    box = await runtime.create(boxlite.BoxOptions(image=image, auto_remove=False), name="core-ckpt")
    try:
        ex = await box.exec("sh", ["-c", "echo in-memory > /dev/shm/m"])  # tmpfs: memory only
        assert (await ex.wait()).exit_code == 0
        await box.checkpoint()
        assert (await box.info()).state.status == "stopped"
        await box.start()
        ex = await box.exec("cat", ["/dev/shm/m"])
        assert await ex.stdout().read_all() == "in-memory\n"
        await ex.wait()
        if not runtime._remote:  # export with state: local only for now
            path = await box.export(dest=str(tmp_path), with_state=True)
            moved = await runtime.import_box(path, name="core-ckpt-moved")
            try:
                ex = await moved.exec("cat", ["/dev/shm/m"])
                assert await ex.stdout().read_all() == "in-memory\n"
                await ex.wait()
            finally:
                await runtime.remove(moved.id, force=True)
    finally:
        await runtime.remove(box.id, force=True)


async def test_clone_box(runtime, image):
    box = await runtime.create(boxlite.BoxOptions(image=image, auto_remove=False), name="core-clone-src")
    clone = None
    try:
        ex = await box.exec("sh", ["-c", "echo cloned > /root/f; sync"])
        assert (await ex.wait()).exit_code == 0
        await box.stop()
        clone = await box.clone_box(name="core-clone")
        assert clone.id != box.id and clone.name == "core-clone"
        assert (await clone.info()).state.status == "configured"
        ex = await clone.exec("sh", ["-c", "cat /root/f; hostname"])
        out = await ex.stdout().read_all()
        await ex.wait()
        assert out.split() == ["cloned", clone.id]
        with pytest.raises(errors.AlreadyExistsError):
            await box.clone_box(name="core-clone")
    finally:
        if clone is not None:
            await runtime.remove(clone.id, force=True)
        await runtime.remove(box.id, force=True)
