"""The in-memory files API (box.files, SimpleBox.files, the sync mirror)."""

import hashlib
import os

import pytest

import boxlite
from boxlite.sync_api import SyncBoxlite, SyncSimpleBox


async def test_files_round_trip(runtime, image):
    async with boxlite.SimpleBox(image=image, runtime=runtime) as sb:
        f = sb.files
        await f.write("/root/a/b/hello.txt", "héllo\n")  # parents made
        assert await f.read("/root/a/b/hello.txt") == "héllo\n"
        assert await f.read("/root/a/b/hello.txt", format="bytes") == "héllo\n".encode()
        data = os.urandom(10 * 1024 * 1024)
        await f.write("/root/big.bin", data)
        assert hashlib.sha256(await f.read("/root/big.bin", format="bytes")).digest() == hashlib.sha256(data).digest()
        out = await sb.exec("sha256sum", "/root/big.bin")
        assert out.stdout.split()[0] == hashlib.sha256(data).hexdigest()
        # tmpfs paths work too (unlike the reference's copy_in)
        await f.write("/tmp/in-tmpfs", b"\x00\x01binary")
        await f.write("/dev/shm/x", "shm")
        assert await f.read("/tmp/in-tmpfs", format="bytes") == b"\x00\x01binary"
        assert (await sb.exec("cat", "/dev/shm/x")).stdout == "shm"
        await f.write([{"path": "/root/m/one", "data": "1"}, {"path": "/root/m/two", "data": b"2"}])
        entries = await f.list("/root/m")
        assert [(e.name, e.type, e.path) for e in entries] == [("one", "file", "/root/m/one"), ("two", "file", "/root/m/two")]
        assert await f.make_dir("/root/m/sub") is True and await f.make_dir("/root/m/sub") is False
        assert ("sub", "dir") in [(e.name, e.type) for e in await f.list("/root/m")]
        assert await f.exists("/root/m/one") and not await f.exists("/root/nope")
        await f.remove("/root/m")
        assert not await f.exists("/root/m")
        with pytest.raises(boxlite.errors.NotFoundError):
            await f.read("/root/missing")
        with pytest.raises(boxlite.errors.NotFoundError):
            await f.remove("/root/missing")
        with pytest.raises(boxlite.errors.NotFoundError):
            await f.list("/root/missing-dir")
        with pytest.raises(ValueError):
            await f.read("/root/a/b/hello.txt", format="json")


def test_files_sync(home, image):
    with SyncBoxlite(boxlite.Options(home_dir=home)) as rt:
        with SyncSimpleBox(image=image, runtime=rt) as sb:
            sb.exec("true")
            sb.files.write("/tmp/s.txt", "sync")
            assert sb.files.read("/tmp/s.txt") == "sync"
            assert sb.files.exists("/tmp/s.txt")
            assert [e.name for e in sb.files.list("/tmp")] == ["s.txt"]
