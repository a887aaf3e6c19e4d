"""SimpleBox, the runtime's other calls (get_or_create, metrics, shutdown,
the default runtime) and box metrics, on real boxes."""

import asyncio

import pytest

import boxlite
from boxlite import errors


async def test_simplebox_lifecycle(runtime, image):
    with pytest.raises(ValueError):
        boxlite.SimpleBox()
    sb = boxlite.SimpleBox(image=image, runtime=runtime, name="sb-life")
    assert sb.created is None
    with pytest.raises(RuntimeError, match="Box not started"):
        sb.id
    async with sb:
        assert sb.created is True and len(sb.id) == 12
        r = await sb.exec("sh", "-c", "echo $GREETING; echo oops >&2; exit 42", env={"GREETING": "hi"})
        assert isinstance(r, boxlite.ExecResult)
        assert (r.exit_code, r.stdout, r.stderr) == (42, "hi\n", "oops\n")
        r = await sb.exec("pwd", cwd="/tmp")
        assert r.stdout == "/tmp\n"
        assert (await sb.info()).state.status == "running"
        box_id = sb.id
    # auto_remove (the default): stopping removed it.
    assert await runtime.get_info(box_id) is None


async def test_simplebox_heavy_output_and_copy(runtime, image, tmp_path):
    async with boxlite.SimpleBox(image=image, runtime=runtime) as sb:
        r = await sb.exec("sh", "-c", "i=0; while [ $i -lt 5000 ]; do echo o$i; echo e$i >&2; i=$((i+1)); done")
        assert r.exit_code == 0
        assert len(r.stdout.splitlines()) == 5000 and len(r.stderr.splitlines()) == 5000
        (tmp_path / "f.txt").write_text("copied\n")
        await sb.copy_in(str(tmp_path / "f.txt"), "/root/f.txt")
        assert (await sb.exec("cat", "/root/f.txt")).stdout == "copied\n"
        await sb.copy_out("/root/f.txt", str(tmp_path / "back.txt"))
        assert (tmp_path / "back.txt").read_text() == "copied\n"
        (tmp_path / "f.txt").write_text("changed\n")
        await sb.copy_in(str(tmp_path / "f.txt"), "/root/f.txt", overwrite=False)
        assert (await sb.exec("cat", "/root/f.txt")).stdout == "copied\n"
        m = await sb.metrics()
        assert m.commands_executed_total >= 3 and m.memory_bytes and m.memory_bytes > 0


async def test_reuse_existing_and_get_or_create(runtime, image):
    first = boxlite.SimpleBox(image=image, runtime=runtime, name="sb-reuse", auto_remove=False)
    await first.start()
    assert first.created is True
    again = boxlite.SimpleBox(image=image, runtime=runtime, name="sb-reuse", reuse_existing=True,
                              auto_remove=False)
    await again.start()
    assert again.created is False and again.id == first.id
    await again.stop()
    assert (await runtime.get_info("sb-reuse")).state.status == "stopped"
    box, created = await runtime.get_or_create(boxlite.BoxOptions(image=image), name="sb-reuse")
    assert created is False and box.id == first.id
    with pytest.raises(errors.AlreadyExistsError):
        await boxlite.SimpleBox(image=image, runtime=runtime, name="sb-reuse").start()
    await runtime.remove("sb-reuse", force=True)
    box, created = await runtime.get_or_create(boxlite.BoxOptions(image=image), name="sb-new")
    assert created is True
    await runtime.remove(box.id)


async def test_runtime_metrics_and_shutdown(home, image):
    rt = boxlite.Boxlite(boxlite.Options(home_dir=home))
    box = await rt.create(boxlite.BoxOptions(image=image, auto_remove=False), name="sd-box")
    ex = await box.exec("true")
    await ex.wait()
    m = await rt.metrics()
    assert m.boxes_created_total == 1 and m.num_running_boxes >= 1 and m.total_commands_executed == 1
    await rt.shutdown()
    await rt.shutdown()  # idempotent
    assert (await box.info()).state.status == "stopped"
    with pytest.raises(RuntimeError):
        await rt.create(boxlite.BoxOptions(image=image))
    other = boxlite.Boxlite(boxlite.Options(home_dir=home))
    await other.remove("sd-box")


def test_default_runtime_and_context_manager(home):
    boxlite.Boxlite.init_default(boxlite.Options(home_dir=home))
    rt = boxlite.Boxlite.default()
    assert rt is boxlite.Boxlite.default() and rt.home_dir.startswith(home.rstrip("/"))
    with pytest.raises(RuntimeError):
        boxlite.Boxlite.init_default(boxlite.Options(home_dir=home))
    with boxlite.Boxlite(boxlite.Options(home_dir=home)) as r2:
        assert repr(r2) == "Boxlite(open=true)"
    assert repr(r2) == "Boxlite(open=false)"


def test_registry_options():
    r = boxlite.ImageRegistry("ghcr.io", username="u", password="s3cr3t-value")
    assert "s3cr3t-value" not in repr(r) and "password=***" in repr(r)
    for bad in (dict(host=""), dict(host="https://x"), dict(host="x", transport="ftp"),
                dict(host="x", username="u")):
        with pytest.raises(RuntimeError):
            boxlite.ImageRegistry(**bad)
    assert boxlite.ImageRegistry("x", username="u", password="p", bearer_token="t").username is None
