"""Images of a runtime: ``Boxlite.images`` (the reference's ImageHandle)."""

from __future__ import annotations

import datetime
from typing import Any, Callable, Dict, List, Optional

from ._pool import run_blocking

__all__ = ["ImageHandle", "ImageInfo", "ImagePullResult"]


class ImagePullResult:
    """``reference`` (canonical), ``config_digest`` (boxlite reports the
    manifest's digest: the image's identity in its store) and ``layer_count``."""

    def __init__(self, reference: str, config_digest: str, layer_count: int) -> None:
        self.reference = reference
        self.config_digest = config_digest
        self.layer_count = layer_count

    def __repr__(self) -> str:
        return (f"ImagePullResult(reference={self.reference!r}, config_digest={self.config_digest!r}, "
                f"layer_count={self.layer_count})")


class ImageInfo:
    """An image of the home: ``reference, repository, tag, id`` (its digest),
    ``cached_at`` (RFC 3339) and ``size_bytes``."""

    def __init__(self, d: Dict[str, Any]) -> None:
        ref: str = d["reference"]
        self.reference = ref
        name, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "latest")
        self.repository = name
        self.tag = tag
        self.id: str = d["digest"]
        self.cached_at = datetime.datetime.fromtimestamp(d["created"], tz=datetime.timezone.utc).isoformat()
        self.size_bytes: int = d["size"]

    def __repr__(self) -> str:
        return f"ImageInfo(reference={self.reference!r}, id={self.id!r}, size_bytes={self.size_bytes})"


class ImageHandle:
    """``pull(ref)`` and ``list()`` on a runtime's home."""

    def __init__(self, runtime: Any) -> None:
        self._runtime = runtime

    async def pull(self, reference: str,
                   progress: Optional[Callable[[Dict[str, Any]], None]] = None) -> ImagePullResult:
        """Pulls an image (layers the home has are not downloaded again).
        ``progress``, when given, is called with a dict per step (stage,
        reference, digest, layer, layers, done, total), from a worker thread."""
        self._runtime._check()
        r = await run_blocking(self._runtime._native.pull, reference, progress)
        return ImagePullResult(r["reference"], r["digest"], r["layers"])

    async def list(self) -> List[ImageInfo]:
        """The home's images, sorted by reference."""
        self._runtime._check()
        return [ImageInfo(d) for d in await run_blocking(self._runtime._native.images)]
