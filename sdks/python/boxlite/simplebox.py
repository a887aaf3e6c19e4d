"""SimpleBox: one box, created on first use and stopped (removed by
default) at the end; ``exec`` returns everything the command printed."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, Optional

from .box import Box, BoxInfo, BoxMetrics
from .errors import InvalidStateError
from .exec import ExecResult
from .files import Files
from .network import BoxTunnel, NetworkHandle
from .options import BoxOptions, CopyOptions
from .runtime import Boxlite

__all__ = ["SimpleBox"]


class SimpleBox:
    """A box with the reference's SimpleBox behaviour.

    Nothing is created before ``async with`` or :meth:`start`, which create
    the box (or, with ``reuse_existing``, take the one named ``name``) and
    start it. Leaving the block, :meth:`stop` or :meth:`shutdown` stop it,
    which removes it unless ``auto_remove=False``. Other keywords go to
    :class:`BoxOptions` (``env`` as (key, value) tuples, ``volumes``,
    ``ports``, ``network``, ``working_dir``, ``disk_size_gb``, ``advanced``...).
    """

    def __init__(self, image: Optional[str] = None, rootfs_path: Optional[str] = None,
                 memory_mib: Optional[int] = None, cpus: Optional[int] = None, runtime: Optional[Boxlite] = None,
                 name: Optional[str] = None, auto_remove: bool = True, reuse_existing: bool = False,
                 **kwargs: Any) -> None:
        if not image and not rootfs_path:
            raise ValueError("SimpleBox needs an image or a rootfs_path")
        self._options = BoxOptions(image=image, rootfs_path=rootfs_path, memory_mib=memory_mib, cpus=cpus,
                                   auto_remove=auto_remove, **kwargs)
        self._runtime = runtime
        self._name = name
        self._reuse = reuse_existing
        self._box: Optional[Box] = None
        self._created: Optional[bool] = None
        self._lock = asyncio.Lock()

    # ---- lifecycle

    async def _create(self) -> Box:
        """Creates the box (or, with reuse_existing, takes the named one) once."""
        async with self._lock:
            if self._box is None:
                rt = self._runtime or Boxlite.default()
                if self._reuse:
                    box, created = await rt.get_or_create(self._options, name=self._name)
                else:
                    box, created = await rt.create(self._options, name=self._name), True
                self._box, self._created = box, created
            return self._box

    async def start(self) -> "SimpleBox":
        """Creates (or reuses) and starts the box; idempotent. Returns self."""
        await (await self._create()).start()
        return self

    async def stop(self) -> None:
        """Stops the box (removed unless auto_remove=False)."""
        if self._box is not None:
            await self._box.stop()

    async def shutdown(self) -> None:
        """The same as stop()."""
        await self.stop()

    async def __aenter__(self) -> "SimpleBox":
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        try:
            await self.stop()
        except Exception:
            pass

    # ---- state

    def _started(self) -> Box:
        if self._box is None:
            raise InvalidStateError("Box not started: use 'async with SimpleBox(...)' or await start() first")
        return self._box

    @property
    def id(self) -> str:
        """The box's id (after start)."""
        return self._started().id

    @property
    def created(self) -> Optional[bool]:
        """True: made by start(); False: reused; None: not started yet."""
        return self._created

    @property
    def network(self) -> NetworkHandle:
        """The box's network (after start): ``tunnel(port)``."""
        return self._started().network

    async def tunnel(self, port: int) -> BoxTunnel:
        """A tunnel to a TCP port of the box (port 1..65535, else ValueError)."""
        if not isinstance(port, int) or not 1 <= port <= 65535:
            raise ValueError(f"port must be 1..65535, got {port!r}")
        return await self._started().network.tunnel(port)

    @property
    def files(self) -> Files:
        """In-memory files of the box (after start)."""
        return self._started().files

    async def info(self) -> BoxInfo:
        """The box's :class:`BoxInfo`."""
        return await self._started().info()

    async def metrics(self) -> BoxMetrics:
        """The box's :class:`BoxMetrics`."""
        return await self._started().metrics()

    # ---- work

    async def exec(self, cmd: str, *args: str, env: Optional[Dict[str, str]] = None, user: Optional[str] = None,
                   timeout: Optional[float] = None, cwd: Optional[str] = None) -> ExecResult:
        """Runs ``cmd args...`` and returns its exit code and all of its
        stdout and stderr (read concurrently). A failure to wait for it gives
        exit_code -1 with what was read."""
        box = self._started()
        execution = await box.exec(cmd, list(args), env=list(env.items()) if env else None, user=user,
                                   timeout_secs=timeout, cwd=cwd)
        parts: Dict[str, str] = {"stdout": "", "stderr": ""}

        async def drain(name: str, stream: Any) -> None:
            chunks = []
            try:
                async for c in stream:
                    chunks.append(c)
            finally:
                parts[name] = "".join(chunks)

        await asyncio.gather(drain("stdout", execution.stdout()), drain("stderr", execution.stderr()),
                             return_exceptions=True)
        try:
            res = await execution.wait()
            return ExecResult(res.exit_code, parts["stdout"], parts["stderr"], res.error_message)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            return ExecResult(-1, parts["stdout"], parts["stderr"], str(e))

    async def copy_in(self, host_path: str, dest: str, *, overwrite: bool = True, follow_symlinks: bool = False,
                      include_parent: bool = True) -> None:
        """Copies a host file or directory into the box (docker cp)."""
        await self._started().copy_in(host_path, dest, CopyOptions(True, overwrite, follow_symlinks, include_parent))

    async def copy_out(self, src: str, host_path: str, *, overwrite: bool = True, follow_symlinks: bool = False,
                       include_parent: bool = True) -> None:
        """Copies a file or directory of the box to the host (docker cp)."""
        await self._started().copy_out(src, host_path, CopyOptions(True, overwrite, follow_symlinks, include_parent))

    def __repr__(self) -> str:
        return f"SimpleBox(id={self._box.id if self._box else None!r})"
