"""A box: :class:`Box` and its :class:`BoxInfo` (the reference's names)."""

from __future__ import annotations

import datetime
import json
import os
import shutil
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from ._pool import run_blocking
from .errors import InvalidArgumentError
from .execution import Execution
from .files import Files
from .network import NetworkHandle
from .options import CopyOptions
from .snapshots import SnapshotHandle

__all__ = ["Box", "BoxInfo", "BoxStateInfo", "BoxMetrics"]


def _rfc3339(ns: int) -> str:
    t = datetime.datetime.fromtimestamp(ns / 1e9, tz=datetime.timezone.utc)
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class BoxStateInfo:
    """``status`` (configured, running, stopping, stopped, paused, failed;
    and boxlite's starting), ``running``, ``pid`` (the box's shim)."""

    def __init__(self, status: str, running: bool, pid: Optional[int]) -> None:
        self.status = status
        self.running = running
        self.pid = pid

    def __repr__(self) -> str:
        return json.dumps({"status": self.status, "running": self.running, "pid": self.pid})


class BoxInfo:
    """What a box is: ``id, name, state, created_at`` (RFC 3339), ``image,
    cpus, memory_mib``, ``exit_code`` and ``reason`` (boxlite's)."""

    def __init__(self, d: Dict[str, Any], config: Optional[Dict[str, Any]] = None) -> None:
        config = config or {}
        self.id: str = d["id"]
        self.name: Optional[str] = d["name"] or None
        self.state = BoxStateInfo(d["state"], d["state"] == "running", d["shim_pid"] or None)
        self.status: str = d["state"]
        self.created_at: str = _rfc3339(d["created_at_ns"])
        self.image: str = d["image"]
        self.cpus: Optional[int] = d.get("cpus") or config.get("cpus")
        self.memory_mib: Optional[int] = d.get("memory_mib") or config.get("memory_mib")
        self.exit_code: Optional[int] = d["exit_code"] if d["exit_code"] >= 0 else None
        self.reason: str = d["reason"]
        self._created_ns: int = d["created_at_ns"]

    def to_dict(self) -> Dict[str, Any]:
        """The fields the reference's BoxInfo has, as a dict."""
        return {"id": self.id, "name": self.name, "state": {"status": self.state.status,
                "running": self.state.running, "pid": self.state.pid}, "created_at": self.created_at,
                "image": self.image, "cpus": self.cpus, "memory_mib": self.memory_mib}

    def __repr__(self) -> str:
        return json.dumps(self.to_dict())


class BoxMetrics:
    """Counters and figures of a box (the reference's BoxMetrics)."""

    def __init__(self, commands_executed_total: int, exec_errors_total: int, stats: Dict[str, int]) -> None:
        self.commands_executed_total = commands_executed_total
        self.exec_errors_total = exec_errors_total
        self.bytes_sent_total = 0
        self.bytes_received_total = 0
        self.memory_bytes: Optional[int] = stats.get("host_rss_bytes")
        self.cpu_percent: Optional[float] = None
        spawn, ready = stats.get("spawn_ns", 0), stats.get("ready_ns", 0)
        self.guest_boot_duration_ms: Optional[int] = (ready - spawn) // 1000000 if spawn and ready else None
        self.guest_memory_total_bytes: Optional[int] = stats.get("guest_mem_total_bytes")
        self.guest_memory_available_bytes: Optional[int] = stats.get("guest_mem_available_bytes")


class Box:
    """A box from :meth:`Boxlite.create` or :meth:`Boxlite.get`."""

    def __init__(self, runtime, native) -> None:
        self._runtime = runtime
        self._native = native
        self._id: str = native.id
        self._name: Optional[str] = native.info()["name"] or None
        self._execs = 0
        self._exec_errors = 0
        self._network: Optional[NetworkHandle] = None

    @property
    def id(self) -> str:
        """The box's 12-character id."""
        return self._id

    async def clone_box(self, *, options: Any = None, name: Optional[str] = None) -> "Box":
        """A thin copy of this box (stopped or running): a new box whose disk
        starts as this one's is now, with its own id and hostname."""
        native = await run_blocking(self._native.clone, name)
        return self._runtime._track(native)

    async def checkpoint(self) -> None:
        """Saves this running box whole (memory, devices, disk) and stops it,
        freeing its memory; the next :meth:`start` (or exec) resumes it where
        it was: its processes, open files and ``/tmp`` go on."""
        await run_blocking(self._native.checkpoint)

    async def export(self, *, options: Any = None, dest: Union[str, "os.PathLike[str]"],
                     with_state: bool = False) -> str:
        """Writes this box to a ``.boxlite`` archive and returns its path:
        ``dest`` itself, or ``dest/{name or "box"}.boxlite`` when ``dest`` is a
        directory. A running box runs on; ``with_state=True`` (boxlite's)
        checkpoints it first and carries the checkpoint, so the imported box
        resumes where this one was (not through a remote runtime)."""
        return await run_blocking(self._native.export, os.fspath(dest), with_state)

    @property
    def snapshot(self) -> SnapshotHandle:
        """The box's disk snapshots: ``create(name=)``, ``list()``, ``get``, ``remove``, ``restore``."""
        return SnapshotHandle(self)

    @property
    def network(self) -> NetworkHandle:
        """The box's network: ``tunnel(port)``."""
        if self._network is None:
            self._network = NetworkHandle(self)
        return self._network

    @property
    def files(self) -> Files:
        """In-memory files of the box: read, write, list, exists, make_dir, remove."""
        return Files(self)

    @property
    def name(self) -> Optional[str]:
        """The box's name, or None."""
        return self._name

    async def info(self) -> BoxInfo:
        """The box's :class:`BoxInfo`, read now."""
        return BoxInfo(await run_blocking(self._native.info))

    async def start(self) -> None:
        """Boots the box; a running box: nothing (idempotent)."""
        await run_blocking(self._native.start)

    async def stop(self) -> None:
        """Stops the box (and removes it when created remove-on-stop)."""
        await run_blocking(self._native.stop, 0)

    async def exec(self, command: str, args: Optional[Sequence[str]] = None,
                   env: Optional[Sequence[Tuple[str, str]]] = None, tty: bool = False, user: Optional[str] = None,
                   timeout_secs: Optional[float] = None, cwd: Optional[str] = None) -> Execution:
        """Starts ``command args...`` in the box and returns its
        :class:`Execution` once it runs. A box that is not up is started
        first, unless it was created with a command of its own. A timeout
        sends SIGTERM, then SIGKILL 2 s later (no exception)."""
        if timeout_secs is not None and (timeout_secs != timeout_secs or timeout_secs < 0
                                         or timeout_secs == float("inf")):
            raise InvalidArgumentError("timeout_secs must be a finite number >= 0")
        argv = [command] + list(args or [])
        env_kv = None if env is None else [f"{k}={v}" for k, v in (env.items() if isinstance(env, dict) else env)]
        rows = cols = 0
        if tty:
            size = shutil.get_terminal_size()
            rows, cols = size.lines, size.columns
        self._execs += 1
        try:
            native = await run_blocking(self._native.exec, argv, env=env_kv, cwd=cwd, user=user, tty=tty,
                                        rows=rows, cols=cols,
                                        timeout_ms=int(round((timeout_secs or 0) * 1000)))
        except Exception:
            self._exec_errors += 1
            raise
        return Execution(native, f"{self._id}-{self._execs}", tty)

    async def copy_in(self, host_path: str, container_dest: str, copy_options: Optional[CopyOptions] = None) -> None:
        """Copies a host file or directory into the box (docker cp)."""
        o = copy_options or CopyOptions()
        if not container_dest:
            raise InvalidArgumentError("copy_in: container_dest must not be empty")
        if not o.recursive and os.path.isdir(host_path):
            raise InvalidArgumentError("copy_in: a directory source needs recursive=True")
        await run_blocking(self._native.copy_in, host_path, container_dest, o.follow_symlinks, not o.overwrite)

    async def copy_out(self, container_src: str, host_dest: str, copy_options: Optional[CopyOptions] = None) -> None:
        """Copies a file or directory of the box to the host (docker cp)."""
        o = copy_options or CopyOptions()
        src = container_src
        if not o.include_parent:
            src = container_src.rstrip("/") + "/."
        await run_blocking(self._native.copy_out, src, host_dest, o.follow_symlinks, not o.overwrite)

    async def metrics(self) -> BoxMetrics:
        """Counters of this handle and the box's host and guest figures."""
        stats = await run_blocking(self._native.stats)
        return BoxMetrics(self._execs, self._exec_errors, stats)

    async def __aenter__(self) -> "Box":
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        try:
            await self.stop()
        except Exception:
            pass

    def __repr__(self) -> str:
        return f"Box(id={self._id!r}, name={self._name!r})"
