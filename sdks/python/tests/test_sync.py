"""boxlite.sync_api on real boxes: the reference's sync mirror, with what
it lacks on purpose, and the refusal inside a running loop."""

import asyncio

import pytest

import boxlite
from boxlite.sync_api import SyncBox, SyncBoxlite, SyncExecution, SyncSimpleBox


def test_sync_runtime_and_box(home, image):
    with pytest.raises(RuntimeError, match="not started"):
        SyncBoxlite(boxlite.Options(home_dir=home)).create(boxlite.BoxOptions(image=image))
    with SyncBoxlite(boxlite.Options(home_dir=home)) as rt:
        assert rt.get("no-such-box") is None
        box = rt.create(boxlite.BoxOptions(image=image, auto_remove=False), name="sync-a")
        assert isinstance(box, SyncBox) and box.name == "sync-a" and len(box.id) == 12
        with box:
            ex = box.exec("sh", ["-c", "echo out-$X; echo err >&2; exit 42"], env=[("X", "1")])
            assert isinstance(ex, SyncExecution) and ex.id
            assert "".join(ex.stdout()) == "out-1\n"
            assert "".join(ex.stderr()) == "err\n"
            assert ex.wait().exit_code == 42
            ex = box.exec("cat")
            stdin = ex.stdin()
            stdin.send_input(b"piped\n")
            stdin.close()
            assert "".join(ex.stdout()) == "piped\n" and ex.wait().exit_code == 0
            ex = box.exec("sleep", ["600"])
            ex.kill()
            assert ex.wait().exit_code != 0
            assert box.metrics().commands_executed_total == 3
        again, created = rt.get_or_create(boxlite.BoxOptions(image=image), name="sync-a")
        assert created is False and again.id == box.id
        rt.remove("sync-a", force=True)
        assert rt.get("sync-a") is None
        m = rt.metrics()
        assert m.boxes_created_total == 1
    # Absent on purpose, as in the reference's sync mirror.
    for missing in ("list_info", "get_info", "import_box", "volumes"):
        assert not hasattr(SyncBoxlite, missing), missing
    for missing in ("info", "copy_in", "copy_out", "snapshot", "clone_box", "export"):
        assert not hasattr(SyncBox, missing), missing
    assert not hasattr(SyncExecution, "signal")


def test_sync_simplebox(home, image):
    with SyncBoxlite(boxlite.Options(home_dir=home)) as rt:
        with SyncSimpleBox(image=image, runtime=rt, name="sync-sb", auto_remove=False) as sb:
            assert sb.created is True
            r = sb.exec("sh", "-c", "echo $V; echo e >&2; exit 42", env={"V": "v"})
            assert (r.exit_code, r.stdout, r.stderr) == (42, "v\n", "e\n")
            first = sb.id
        with SyncSimpleBox(image=image, runtime=rt, name="sync-sb", reuse_existing=True) as sb:
            assert sb.created is False and sb.id == first
            assert sb.exec("echo", "again").stdout == "again\n"
        # Reuse ignores the options: the box keeps auto_remove=False from its creation.
        assert rt.get("sync-sb") is not None
        rt.remove("sync-sb")
        with SyncSimpleBox(image=image, runtime=rt, name="sync-dup", auto_remove=False):
            with pytest.raises(RuntimeError):
                with SyncSimpleBox(image=image, runtime=rt, name="sync-dup"):
                    pass
        rt.remove("sync-dup", force=True)
    for missing in ("copy_in", "copy_out", "info"):
        assert not hasattr(SyncSimpleBox, missing), missing


def test_sync_simplebox_owns_its_runtime(home, image, monkeypatch):
    monkeypatch.setenv("BOXLITE_HOME", home)
    with SyncSimpleBox(image=image) as sb:
        assert sb.exec("true").exit_code == 0


async def test_refused_inside_a_running_loop(home):
    rt = SyncBoxlite(boxlite.Options(home_dir=home))
    with pytest.raises(RuntimeError, match="inside an asyncio loop"):
        rt.start()


def test_sync_codebox(home):
    from boxlite.sync_api import SyncCodeBox
    with SyncBoxlite(boxlite.Options(home_dir=home)) as rt:
        with SyncCodeBox(runtime=rt) as cb:
            assert cb.run("print(1 + 1)") == "2\n"
