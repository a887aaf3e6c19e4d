"""In-memory files of a box (``box.files``; beyond the reference SDK, in
the shape E2B users know): read and write bytes or text without a host
file, list, test, make and remove paths. Works on any path of the box,
tmpfs mounts (/tmp, /dev/shm) included. Runs the box's own ``sh``, ``cat``,
``mkdir`` and ``rm`` (every image with a shell has them)."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from .errors import BoxliteRuntimeError, NotFoundError

__all__ = ["Files", "EntryInfo"]

Data = Union[str, bytes]


class EntryInfo:
    """One entry of a directory: ``name``, ``path`` and ``type`` ("file",
    "dir" or "symlink")."""

    def __init__(self, name: str, path: str, type: str) -> None:
        self.name = name
        self.path = path
        self.type = type

    def __repr__(self) -> str:
        return f"EntryInfo(name={self.name!r}, path={self.path!r}, type={self.type!r})"


class Files:
    """Files of a box, from memory."""

    def __init__(self, box: Any) -> None:
        self._box = box

    async def _run(self, script: str, *args: str, stdin: Optional[bytes] = None) -> Tuple[int, bytes, str]:
        ex = await self._box.exec("sh", ["-c", script, "sh", *args])
        if stdin is not None:
            async def feed() -> None:
                s = ex.stdin()
                await s.send_input(stdin)
                await s.close()
        else:
            async def feed() -> None:
                await ex.stdin().close()
        _, out, err = await asyncio.gather(feed(), ex.stdout().read_bytes(), ex.stderr().read_all())
        return (await ex.wait()).exit_code, out, err

    @staticmethod
    def _fail(path: str, err: str) -> Exception:
        if "No such file" in err or "not found" in err:
            return NotFoundError(f"{path}: no such file or directory")
        return BoxliteRuntimeError(f"{path}: {err.strip() or 'failed'}")

    async def read(self, path: str, format: str = "text") -> Union[str, bytes]:
        """The file's content: str (``format="text"``, UTF-8) or bytes
        (``format="bytes"``). A missing file raises NotFoundError."""
        if format not in ("text", "bytes"):
            raise ValueError("format is 'text' or 'bytes'")
        rc, out, err = await self._run('exec cat -- "$1"', path)
        if rc != 0:
            raise self._fail(path, err)
        return out if format == "bytes" else out.decode("utf-8", errors="replace")

    async def write(self, path: Union[str, Sequence[Dict[str, Data]]], data: Optional[Data] = None) -> None:
        """Writes data (str as UTF-8, or bytes) to path, making its parent
        directories; or, given a list of ``{"path": ..., "data": ...}``,
        writes each."""
        if not isinstance(path, str):
            for item in path:
                await self.write(item["path"], item["data"])
            return
        if data is None:
            raise ValueError("write: no data given")
        raw = data.encode() if isinstance(data, str) else bytes(data)
        rc, _, err = await self._run('mkdir -p -- "$(dirname -- "$1")" && exec cat > "$1"', path, stdin=raw)
        if rc != 0:
            raise self._fail(path, err)

    async def list(self, path: str) -> List[EntryInfo]:
        """The entries of a directory (hidden ones included), sorted by name."""
        rc, out, err = await self._run(
            'cd -- "$1" || exit 2; for f in * .[!.]* ..?*; do'
            ' if [ -L "$f" ]; then t=symlink; elif [ -d "$f" ]; then t=dir; elif [ -e "$f" ]; then t=file;'
            ' else continue; fi; printf "%s/%s\\0" "$t" "$f"; done', path)
        if rc != 0:
            raise self._fail(path, err)
        entries = []
        for item in out.decode("utf-8", errors="replace").split("\0"):
            if item:
                kind, _, name = item.partition("/")
                entries.append(EntryInfo(name, path.rstrip("/") + "/" + name, kind))
        return sorted(entries, key=lambda e: e.name)

    async def exists(self, path: str) -> bool:
        """Whether path exists (a dangling symlink counts)."""
        rc, _, _ = await self._run('[ -e "$1" ] || [ -L "$1" ]', path)
        return rc == 0

    async def make_dir(self, path: str) -> bool:
        """Makes a directory and its parents; False when it existed already."""
        rc, out, err = await self._run('[ -d "$1" ] && exit 3; mkdir -p -- "$1"', path)
        if rc == 3:
            return False
        if rc != 0:
            raise self._fail(path, err)
        return True

    async def remove(self, path: str) -> None:
        """Removes a file or a directory tree; a missing path raises NotFoundError."""
        rc, _, err = await self._run('[ -e "$1" ] || [ -L "$1" ] || { echo "No such file" >&2; exit 1; };'
                                     ' exec rm -rf -- "$1"', path)
        if rc != 0:
            raise self._fail(path, err)
