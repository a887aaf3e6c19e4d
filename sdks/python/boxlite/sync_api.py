"""boxlite.sync_api: the blocking mirror of the async API, with the
reference's names and what each class lacks on purpose (docs/python.md).

Mechanism: each :class:`SyncBoxlite` runs an asyncio event loop on a thread
of its own; a sync call hands the coroutine to that loop and blocks until it
is done (the reference switches greenlets; the behaviour is the same). A
call made from inside a running asyncio loop is refused, as in the
reference: use the async API there.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Awaitable, Dict, Iterator, Optional, Sequence, Tuple, TypeVar

from .box import Box
from .errors import InvalidStateError
from .exec import ExecResult
from .execution import ExecResult as NativeExecResult
from .execution import Execution
from .options import BoxliteRestOptions, BoxOptions, Options
from .runtime import Boxlite, RuntimeMetrics
from .codebox import DEFAULT_IMAGE as CODEBOX_IMAGE
from .codebox import CodeBox
from .simplebox import SimpleBox

__all__ = ["SyncBoxlite", "SyncBox", "SyncExecution", "SyncExecStdout", "SyncExecStderr", "SyncExecStdin",
           "SyncSimpleBox", "SyncCodeBox", "SyncFiles", "SyncImageHandle", "SyncNetworkHandle", "SyncBoxTunnel", "SyncBoxConnection"]

T = TypeVar("T")


class _LoopThread:
    """An asyncio loop on a daemon thread, and a blocking way into it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="boxlite-sync", daemon=True)
        self._thread.start()

    def run(self, coro: Awaitable[T]) -> T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            if asyncio.iscoroutine(coro):
                coro.close()
            raise RuntimeError("Cannot use SyncBoxlite inside an asyncio loop: use the async API (boxlite.Boxlite)")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class SyncExecStdin:
    """The command's stdin: ``send_input(bytes)``, ``close()``."""

    def __init__(self, lt: _LoopThread, stdin: Any) -> None:
        self._lt, self._stdin = lt, stdin

    def send_input(self, data: bytes) -> None:
        """Writes data to the command's stdin."""
        self._lt.run(self._stdin.send_input(data))

    def close(self) -> None:
        """Ends stdin (end of file)."""
        self._lt.run(self._stdin.close())


class _SyncStream:
    def __init__(self, lt: _LoopThread, stream: Any) -> None:
        self._lt, self._stream = lt, stream

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        async def step() -> Optional[str]:
            try:
                return await self._stream.__anext__()
            except StopAsyncIteration:
                return None
        chunk = self._lt.run(step())
        if chunk is None:
            raise StopIteration
        return chunk


class SyncExecStdout(_SyncStream):
    """The command's stdout, an iterator of str chunks."""


class SyncExecStderr(_SyncStream):
    """The command's stderr, an iterator of str chunks."""


class SyncExecution:
    """A running command (no ``signal``, as in the reference's sync mirror)."""

    def __init__(self, lt: _LoopThread, execution: Execution) -> None:
        self._lt, self._x = lt, execution

    @property
    def id(self) -> str:
        """This execution's id (a property here, a method in the async API)."""
        return self._x.id()

    def stdin(self) -> SyncExecStdin:
        """The command's stdin."""
        return SyncExecStdin(self._lt, self._x.stdin())

    def stdout(self) -> SyncExecStdout:
        """The stdout stream; it can be taken once."""
        return SyncExecStdout(self._lt, self._x.stdout())

    def stderr(self) -> SyncExecStderr:
        """The stderr stream; it can be taken once."""
        return SyncExecStderr(self._lt, self._x.stderr())

    def wait(self) -> NativeExecResult:
        """Waits for the command to end."""
        return self._lt.run(self._x.wait())

    def kill(self) -> None:
        """Kills the command."""
        self._lt.run(self._x.kill())

    def resize_tty(self, rows: int, cols: int) -> None:
        """A tty's new size."""
        self._lt.run(self._x.resize_tty(rows, cols))


class SyncFiles:
    """In-memory files of a box, blocking (see boxlite.files.Files)."""

    def __init__(self, lt: _LoopThread, files: Any) -> None:
        self._lt, self._f = lt, files

    def read(self, path: str, format: str = "text") -> Any:
        """The file's content, str or bytes."""
        return self._lt.run(self._f.read(path, format=format))

    def write(self, path: Any, data: Any = None) -> None:
        """Writes data to path (or each {path, data} of a list)."""
        self._lt.run(self._f.write(path, data))

    def list(self, path: str) -> Any:
        """The entries of a directory."""
        return self._lt.run(self._f.list(path))

    def exists(self, path: str) -> bool:
        """Whether path exists."""
        return self._lt.run(self._f.exists(path))

    def make_dir(self, path: str) -> bool:
        """Makes a directory and its parents; False when it existed."""
        return self._lt.run(self._f.make_dir(path))

    def remove(self, path: str) -> None:
        """Removes a file or a directory tree."""
        self._lt.run(self._f.remove(path))


class SyncBoxConnection:
    """One TCP connection to a port of the box, blocking (see boxlite.network.BoxConnection)."""

    def __init__(self, lt: _LoopThread, conn: Any) -> None:
        self._lt, self._c = lt, conn

    def read(self, max_bytes: int = 65536) -> bytes:
        """Up to max_bytes; b"" at end of stream."""
        return self._lt.run(self._c.read(max_bytes))

    def write(self, data: bytes) -> None:
        """Sends all of data."""
        self._lt.run(self._c.write(data))

    def shutdown_write(self) -> None:
        """Ends the sending side."""
        self._lt.run(self._c.shutdown_write())

    def close(self) -> None:
        """Closes the connection."""
        self._lt.run(self._c.close())


class SyncBoxTunnel:
    """A way to one TCP port of the box, blocking (see boxlite.network.BoxTunnel)."""

    def __init__(self, lt: _LoopThread, tunnel: Any) -> None:
        self._lt, self._t = lt, tunnel
        self.guest_port: int = tunnel.guest_port
        self.host_port: int = tunnel.host_port

    def endpoint(self) -> int:
        """The fd of the tunnel's connection."""
        return self._t.endpoint()

    def connect(self) -> SyncBoxConnection:
        """The tunnel's connection; works once."""
        return SyncBoxConnection(self._lt, self._lt.run(self._t.connect()))


class SyncNetworkHandle:
    """``tunnel(port)``, blocking (see boxlite.network.NetworkHandle)."""

    def __init__(self, lt: _LoopThread, handle: Any) -> None:
        self._lt, self._h = lt, handle

    def tunnel(self, port: int) -> SyncBoxTunnel:
        """A tunnel to a TCP port of the box (1..65535, else ValueError)."""
        return SyncBoxTunnel(self._lt, self._lt.run(self._h.tunnel(port)))


class SyncBox:
    """A box (no ``info``, ``copy_in``/``copy_out``, as in the reference's sync mirror)."""

    def __init__(self, lt: _LoopThread, box: Box) -> None:
        self._lt, self._box = lt, box

    @property
    def id(self) -> str:
        """The box's id."""
        return self._box.id

    @property
    def name(self) -> Optional[str]:
        """The box's name, or None."""
        return self._box.name

    @property
    def files(self) -> SyncFiles:
        """In-memory files of the box."""
        return SyncFiles(self._lt, self._box.files)

    @property
    def network(self) -> SyncNetworkHandle:
        """The box's network: ``tunnel(port)``."""
        return SyncNetworkHandle(self._lt, self._box.network)

    def tunnel(self, port: int) -> SyncBoxTunnel:
        """The same as ``network.tunnel(port)``."""
        return self.network.tunnel(port)

    def start(self) -> None:
        """Boots the box (idempotent)."""
        self._lt.run(self._box.start())

    def stop(self) -> None:
        """Stops the box (removed when created remove-on-stop)."""
        self._lt.run(self._box.stop())

    def metrics(self) -> Any:
        """The box's metrics."""
        return self._lt.run(self._box.metrics())

    def exec(self, cmd: str, args: Optional[Sequence[str]] = None,
             env: Optional[Sequence[Tuple[str, str]]] = None, tty: bool = False) -> SyncExecution:
        """Starts a command (no user, timeout or cwd here, as in the reference)."""
        return SyncExecution(self._lt, self._lt.run(self._box.exec(cmd, args, env=env, tty=tty)))

    def __enter__(self) -> "SyncBox":
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            self.stop()
        except Exception:
            pass


class SyncImageHandle:
    """``pull(ref)`` and ``list()``, blocking (see boxlite.images.ImageHandle)."""

    def __init__(self, lt: _LoopThread, handle: Any) -> None:
        self._lt, self._h = lt, handle

    def pull(self, reference: str, progress: Optional[Any] = None) -> Any:
        """Pulls an image; ImagePullResult."""
        return self._lt.run(self._h.pull(reference, progress=progress))

    def list(self) -> Any:
        """The home's images (ImageInfo rows)."""
        return self._lt.run(self._h.list())


class SyncBoxlite:
    """The runtime, blocking. Use ``with SyncBoxlite(options) as rt`` (or
    ``start()``) first; ``list_info``, ``get_info`` are absent on purpose,
    as in the reference."""

    _default: Optional["SyncBoxlite"] = None
    _default_options: Optional[Options] = None

    def __init__(self, options: Optional[Options] = None) -> None:
        self._options = options
        self._rest: Optional[BoxliteRestOptions] = None
        self._lt: Optional[_LoopThread] = None
        self._rt: Optional[Boxlite] = None

    @staticmethod
    def rest(options: BoxliteRestOptions) -> "SyncBoxlite":
        """A blocking runtime on a ``boxlite serve`` (as :meth:`Boxlite.rest`)."""
        rt = SyncBoxlite()
        rt._rest = options
        return rt

    @staticmethod
    def default() -> "SyncBoxlite":
        """The process-wide sync runtime (started)."""
        if SyncBoxlite._default is None:
            SyncBoxlite._default = SyncBoxlite(SyncBoxlite._default_options).start()
        return SyncBoxlite._default

    @staticmethod
    def init_default(options: Options) -> None:
        """Configures the process-wide sync runtime before its first use."""
        if SyncBoxlite._default is not None:
            raise InvalidStateError("the default runtime is already in use")
        SyncBoxlite._default_options = options

    def start(self) -> "SyncBoxlite":
        """Starts the runtime's loop thread; returns self."""
        if self._lt is None:
            self._lt = _LoopThread()
            try:
                self._rt = self._lt.run(self._make())
            except BaseException:
                self._lt.close()
                self._lt = None
                raise
        return self

    async def _make(self) -> Boxlite:
        return Boxlite.rest(self._rest) if self._rest is not None else Boxlite(self._options)

    def _run(self, coro: Awaitable[T]) -> T:
        if self._lt is None or self._rt is None:
            if asyncio.iscoroutine(coro):
                coro.close()
            raise InvalidStateError("SyncBoxlite not started: use 'with SyncBoxlite(...)' or start()")
        return self._lt.run(coro)

    @property
    def runtime(self) -> Boxlite:
        """The async runtime underneath."""
        if self._rt is None:
            raise InvalidStateError("SyncBoxlite not started: use 'with SyncBoxlite(...)' or start()")
        return self._rt

    def create(self, options: BoxOptions, name: Optional[str] = None) -> SyncBox:
        """Creates a box (configured; the first exec or start boots it)."""
        return SyncBox(self._lt, self._run(self.runtime.create(options, name=name)))  # type: ignore[arg-type]

    def get_or_create(self, options: BoxOptions, name: Optional[str] = None) -> Tuple[SyncBox, bool]:
        """The box named name if it exists, else a new one; and whether it was created."""
        box, created = self._run(self.runtime.get_or_create(options, name=name))
        return SyncBox(self._lt, box), created  # type: ignore[arg-type]

    def get(self, id_or_name: str) -> Optional[SyncBox]:
        """The box, or None."""
        box = self._run(self.runtime.get(id_or_name))
        return None if box is None else SyncBox(self._lt, box)  # type: ignore[arg-type]

    def remove(self, id_or_name: str, force: bool = False) -> None:
        """Removes a box (a running one only with force)."""
        self._run(self.runtime.remove(id_or_name, force=force))

    def metrics(self) -> RuntimeMetrics:
        """The runtime's counters."""
        return self._run(self.runtime.metrics())

    @property
    def images(self) -> SyncImageHandle:
        """The home's images: ``pull(ref)``, ``list()``."""
        return SyncImageHandle(self._lt, self.runtime.images)  # type: ignore[arg-type]

    def shutdown(self, timeout: Optional[float] = None) -> None:
        """Stops the boxes this runtime handed out, then its loop thread."""
        if self._lt is None:
            return
        try:
            self._run(self.runtime.shutdown(timeout))
        finally:
            self._lt.close()
            self._lt = None

    def __enter__(self) -> "SyncBoxlite":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()


class SyncSimpleBox:
    """SimpleBox, blocking. ``with`` creates the box but does not start it
    (the first exec boots it) and stops it at the end, then the runtime it
    owns (when none was given). No ``copy_in``/``copy_out``/``info``, as in
    the reference's sync mirror."""

    _async_class: Any = SimpleBox

    def __init__(self, image: Optional[str] = None, rootfs_path: Optional[str] = None,
                 memory_mib: Optional[int] = None, cpus: Optional[int] = None,
                 runtime: Optional[SyncBoxlite] = None, name: Optional[str] = None, auto_remove: bool = True,
                 reuse_existing: bool = False, **kwargs: Any) -> None:
        self._owned = runtime is None
        self._sync_rt = runtime
        self._args: Dict[str, Any] = dict(image=image, rootfs_path=rootfs_path, memory_mib=memory_mib, cpus=cpus,
                                          name=name, auto_remove=auto_remove, reuse_existing=reuse_existing,
                                          **kwargs)
        if not image and not rootfs_path:
            raise ValueError("SyncSimpleBox needs an image or a rootfs_path")
        self._sb: Optional[SimpleBox] = None

    def _rt(self) -> SyncBoxlite:
        if self._sync_rt is None:
            self._sync_rt = SyncBoxlite().start()
        return self._sync_rt.start()

    def _box(self) -> SimpleBox:
        if self._sb is None:
            raise InvalidStateError("Box not started: use 'with SyncSimpleBox(...)' first")
        return self._sb

    def __enter__(self) -> "SyncSimpleBox":
        rt = self._rt()
        self._sb = self._async_class(runtime=rt.runtime, **self._args)
        rt._run(self._sb._create())
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            if self._sb is not None:
                self._rt()._run(self._sb.stop())
        finally:
            if self._owned and self._sync_rt is not None:
                self._sync_rt.shutdown()
                self._sync_rt = None

    @property
    def id(self) -> str:
        """The box's id."""
        return self._box().id

    @property
    def created(self) -> Optional[bool]:
        """True: made here; False: reused; None: before ``with``."""
        return None if self._sb is None else self._sb.created

    def exec(self, cmd: str, *args: str, env: Optional[Dict[str, str]] = None, user: Optional[str] = None,
             timeout: Optional[float] = None, cwd: Optional[str] = None) -> ExecResult:
        """Runs a command and returns its exit code, stdout and stderr."""
        return self._rt()._run(self._box().exec(cmd, *args, env=env, user=user, timeout=timeout, cwd=cwd))

    def metrics(self) -> Any:
        """The box's metrics."""
        return self._rt()._run(self._box().metrics())

    @property
    def files(self) -> SyncFiles:
        """In-memory files of the box."""
        return SyncFiles(self._rt()._lt, self._box().files)  # type: ignore[arg-type]

    def stop(self) -> None:
        """Stops the box (removed unless auto_remove=False)."""
        self._rt()._run(self._box().stop())


class SyncCodeBox(SyncSimpleBox):
    """CodeBox, blocking: ``run``, ``run_script``, ``install_package(s)``."""

    _async_class = CodeBox

    def __init__(self, image: str = CODEBOX_IMAGE, memory_mib: Optional[int] = None, cpus: Optional[int] = None,
                 runtime: Optional[SyncBoxlite] = None, **kwargs: Any) -> None:
        super().__init__(image=image, memory_mib=memory_mib, cpus=cpus, runtime=runtime, **kwargs)

    def run(self, code: str, timeout: Optional[float] = None) -> str:
        """Runs ``python3 -c code``; returns its stdout."""
        return self._rt()._run(self._box().run(code, timeout=timeout))  # type: ignore[attr-defined]

    def run_script(self, host_path: str) -> str:
        """Runs a Python file of the host; returns its stdout."""
        return self._rt()._run(self._box().run_script(host_path))  # type: ignore[attr-defined]

    def install_package(self, package: str) -> str:
        """pip-installs a package; returns pip's output."""
        return self._rt()._run(self._box().install_package(package))  # type: ignore[attr-defined]

    def install_packages(self, *packages: str) -> str:
        """pip-installs packages; returns pip's output."""
        return self._rt()._run(self._box().install_packages(*packages))  # type: ignore[attr-defined]
