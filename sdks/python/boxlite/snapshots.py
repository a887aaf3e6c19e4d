"""Disk snapshots of a box (docs/snapshots.md): ``box.snapshot``, named as
the reference's ``SnapshotHandle``."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

from ._pool import run_blocking
from .errors import NotFoundError


class SnapshotInfo:
    """``id, box_id, name, created_at`` (seconds since the epoch),
    ``container_disk_bytes`` (the disk's size) and ``size_bytes`` (what the
    snapshot takes on the host)."""

    def __init__(self, d: Dict[str, Any]) -> None:
        self.id: str = d["id"]
        self.box_id: str = d["box_id"]
        self.name: str = d["name"]
        self.created_at: int = d["created_at"]
        self.container_disk_bytes: int = d["container_disk_bytes"]
        self.size_bytes: int = d["size_bytes"]

    def to_dict(self) -> Dict[str, Any]:
        """The fields, as a dict."""
        return dict(self.__dict__)

    def __repr__(self) -> str:
        return f"SnapshotInfo({json.dumps(self.to_dict())})"


class SnapshotHandle:
    """``create(name=...)``, ``list()``, ``get(name)``, ``remove(name)``,
    ``restore(name)``. A running box can be snapshotted (its filesystem is
    frozen for the moment); restore and remove want it stopped."""

    def __init__(self, box: Any) -> None:
        self._box = box

    async def create(self, *, name: str, options: Any = None) -> SnapshotInfo:
        """Takes a snapshot of the box's disk named ``name``."""
        await run_blocking(self._box._native.snapshot_create, name)
        info = await self.get(name)
        if info is None:  # removed between the two calls
            raise NotFoundError(f"snapshot {name} vanished as it was made")
        return info

    async def list(self) -> List[SnapshotInfo]:
        """The box's snapshots, newest first."""
        return [SnapshotInfo(d) for d in await run_blocking(self._box._native.snapshot_list)]

    async def get(self, name: str) -> Optional[SnapshotInfo]:
        """The snapshot named ``name``, or None."""
        for s in await self.list():
            if s.name == name:
                return s
        return None

    async def remove(self, name: str) -> None:
        """Removes a snapshot; the disk and the others keep their content."""
        await run_blocking(self._box._native.snapshot_remove, name)

    async def restore(self, name: str) -> None:
        """Puts the disk back as it was at the snapshot (the box must be stopped)."""
        await run_blocking(self._box._native.snapshot_restore, name)
