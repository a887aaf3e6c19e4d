"""The runtime: :class:`Boxlite` (the reference's name), one per home."""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any, List, Optional, Tuple, Union

from . import boxlite as _native
from ._pool import run_blocking
from .box import Box, BoxInfo
from .errors import InvalidStateError, UnsupportedError
from .images import ImageHandle
from .options import BoxliteRestOptions, BoxOptions, Options

__all__ = ["Boxlite", "RuntimeMetrics"]


class RuntimeMetrics:
    """Counters of a runtime (the reference's RuntimeMetrics)."""

    def __init__(self, boxes_created_total: int, boxes_failed_total: int, num_running_boxes: int,
                 total_commands_executed: int, total_exec_errors: int) -> None:
        self.boxes_created_total = boxes_created_total
        self.boxes_failed_total = boxes_failed_total
        self.num_running_boxes = num_running_boxes
        self.total_commands_executed = total_commands_executed
        self.total_exec_errors = total_exec_errors

    def __repr__(self) -> str:
        return (f"RuntimeMetrics(boxes_created_total={self.boxes_created_total}, "
                f"boxes_failed_total={self.boxes_failed_total}, num_running_boxes={self.num_running_boxes}, "
                f"total_commands_executed={self.total_commands_executed}, "
                f"total_exec_errors={self.total_exec_errors})")


_default: Optional["Boxlite"] = None
_default_options: Optional[Options] = None
_default_lock = threading.Lock()


class Boxlite:
    """A runtime on a home directory (``Options.home_dir``, default
    ``$BOXLITE_HOME`` or ``~/.boxlite``). Several processes may use one home
    at once. Boxes this process creates and starts die with it unless
    created with ``detach=True``."""

    def __init__(self, options: Optional[Options] = None) -> None:
        options = options or Options()
        self._native = _native.NativeRuntime(options.home_dir)
        if options.image_registries:
            self._native.set_registries([r._native() for r in options.image_registries])
        self._boxes: List[Box] = []
        self._created = 0
        self._failed = 0
        self._shut = False
        self._remote = False

    @staticmethod
    def rest(options: "BoxliteRestOptions") -> "Boxlite":
        """A runtime whose boxes live on a ``boxlite serve`` (docs/remote.md):
        the same ``Box``/``Execution``/``SimpleBox`` API, on libboxlite's REST
        client. Images, volumes, ports and the security mode are the server's:
        those calls raise :class:`UnsupportedError`."""
        if not isinstance(options, BoxliteRestOptions):
            raise TypeError("Boxlite.rest takes a BoxliteRestOptions")
        rt = Boxlite.__new__(Boxlite)
        key = options.credential._key if options.credential else None
        rt._native = _native.NativeRuntime(url=options.url, api_key=key, path_prefix=options.path_prefix)
        rt._boxes, rt._created, rt._failed, rt._shut = [], 0, 0, False
        rt._remote = True
        return rt

    @staticmethod
    def default() -> "Boxlite":
        """The process-wide runtime (configured by :meth:`init_default`)."""
        global _default
        with _default_lock:
            if _default is None:
                _default = Boxlite(_default_options)
            return _default

    @staticmethod
    def init_default(options: Options) -> None:
        """Configures the process-wide runtime before its first use."""
        global _default_options
        with _default_lock:
            if _default is not None:
                raise InvalidStateError("the default runtime is already in use")
            _default_options = options

    @property
    def images(self) -> ImageHandle:
        """The home's images: ``pull(ref)``, ``list()``."""
        if self._remote:
            raise UnsupportedError("Image operations not supported over REST API")
        return ImageHandle(self)

    @property
    def home_dir(self) -> str:
        """The runtime's home directory."""
        return self._native.home

    def _check(self) -> None:
        if self._shut:
            raise InvalidStateError("the runtime was shut down")

    def _track(self, native) -> Box:
        box = Box(self, native)
        self._boxes.append(box)
        return box

    async def create(self, options: BoxOptions, name: Optional[str] = None) -> Box:
        """Creates a box (status ``configured``; nothing boots until
        ``start()``, the first ``exec()`` or ``async with box``)."""
        self._check()
        opts = options._native(name)
        try:
            native = await run_blocking(self._native.create, opts)
        except Exception:
            self._failed += 1
            raise
        self._created += 1
        return self._track(native)

    async def get_or_create(self, options: BoxOptions, name: Optional[str] = None) -> Tuple[Box, bool]:
        """The box named name if it exists (options ignored), else a new one;
        and whether it was created."""
        self._check()
        if name is not None:
            existing = await self.get(name)
            if existing is not None:
                return existing, False
        return await self.create(options, name=name), True

    async def get(self, id_or_name: str) -> Optional[Box]:
        """The box with that id, id prefix or name, or None."""
        self._check()
        native = await run_blocking(self._native.get, id_or_name)
        return None if native is None else self._track(native)

    async def import_box(self, archive_path: Union[str, "os.PathLike[str]"], name: Optional[str] = None, *,
                         untrusted: bool = False) -> Box:
        """A new box from a ``.boxlite`` archive (``Box.export``). The archive
        is always checked (checksums, format version, a disk that refers to no
        other file); ``untrusted=True`` also refuses volumes (host paths), the
        policy for archives someone else sent (REST uploads)."""
        self._check()
        native = await run_blocking(self._native.import_box, os.fspath(archive_path), name, untrusted)
        return self._track(native)

    async def get_info(self, id_or_name: str) -> Optional[BoxInfo]:
        """The box's :class:`BoxInfo`, or None when there is no such box."""
        box = await self.get(id_or_name)
        return None if box is None else await box.info()

    async def list_info(self, _state: Any = None) -> List[BoxInfo]:
        """Every box of the home, newest first."""
        self._check()
        rows = await run_blocking(self._native.list)
        rows.sort(key=lambda d: d["created_at_ns"], reverse=True)
        return [BoxInfo(d) for d in rows]

    async def remove(self, id_or_name: str, force: bool = False) -> None:
        """Removes a box; a running one only with ``force`` (else
        InvalidStateError, a RuntimeError)."""
        self._check()
        native = await run_blocking(self._native.get, id_or_name)
        if native is None:
            from .errors import NotFoundError
            raise NotFoundError(f"box not found: {id_or_name}")
        state = native.info()["state"]
        if not force and state in ("starting", "running", "paused", "stopping"):
            raise InvalidStateError(f"box {native.id} is {state}: stop it first, or remove it with force=True")
        await run_blocking(native.remove)

    async def metrics(self) -> RuntimeMetrics:
        """Counters of this runtime and the running boxes of its home."""
        self._check()
        rows = await run_blocking(self._native.list)
        running = sum(1 for d in rows if d["state"] == "running")
        return RuntimeMetrics(self._created, self._failed, running, sum(b._execs for b in self._boxes),
                              sum(b._exec_errors for b in self._boxes))

    async def shutdown(self, timeout: Optional[float] = None) -> None:
        """Stops every box this runtime handed out (idempotent); later calls
        raise. timeout: seconds per box (None: 10, -1: forever)."""
        if self._shut:
            return
        ms = 10000 if timeout is None else 0 if timeout < 0 else int(timeout * 1000)
        for box in self._boxes:
            try:
                state = (await run_blocking(box._native.info))["state"]
                if state in ("starting", "running", "paused"):
                    await run_blocking(box._native.stop, ms)
            except Exception:
                pass
        self._shut = True

    def close(self) -> None:
        """Does nothing (as in the reference); the runtime stays usable."""

    def __enter__(self) -> "Boxlite":
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None:
            asyncio.run(self.shutdown())

    def __repr__(self) -> str:
        return f"Boxlite(open={'false' if self._shut else 'true'})"
