"""InteractiveBox: a shell on a pseudo-terminal in a box, wired to this
process's terminal (``docker exec -it`` from Python)."""

from __future__ import annotations

import asyncio
import os
import signal
import shutil
import sys
import termios
import tty as _tty
from typing import Any, List, Optional

from ._pool import run_blocking
from .errors import InvalidStateError
from .execution import ExecResult, Execution
from .runtime import Boxlite
from .simplebox import SimpleBox

__all__ = ["InteractiveBox"]

_EXIT_WAIT_S = 3.0  # how long leaving the block waits for the shell


class InteractiveBox(SimpleBox):
    """A :class:`SimpleBox` whose ``async with`` also starts ``shell`` on a
    pseudo-terminal. With ``tty`` true (None: when stdin is a terminal) the
    local terminal is put in raw mode and the shell's I/O is forwarded
    (window size changes too) until it exits; leaving the block restores the
    terminal, waits up to 3 s for the shell, prints its error if it had one
    and stops the box. With ``tty=False`` nothing is forwarded: drive the
    shell through :attr:`execution`."""

    def __init__(self, image: Optional[str] = None, shell: str = "/bin/sh", tty: Optional[bool] = None,
                 memory_mib: Optional[int] = None, cpus: Optional[int] = None, runtime: Optional[Boxlite] = None,
                 **kwargs: Any) -> None:
        super().__init__(image=image, memory_mib=memory_mib, cpus=cpus, runtime=runtime, **kwargs)
        self._shell = shell
        self._forward = sys.stdin.isatty() if tty is None else bool(tty)
        self._execution: Optional[Execution] = None
        self._saved_mode: Optional[List[Any]] = None
        self._tasks: List["asyncio.Task[Any]"] = []
        self._result: Optional[ExecResult] = None

    @property
    def execution(self) -> Execution:
        """The shell's :class:`Execution` (``stdin()``, ``stdout()``, ``wait()``...)."""
        if self._execution is None:
            raise InvalidStateError("InteractiveBox not entered: use 'async with InteractiveBox(...)'")
        return self._execution

    async def __aenter__(self) -> "InteractiveBox":
        await self.start()
        try:
            self._execution = await self._started().exec(self._shell, tty=True)
            if self._forward:
                self._begin_forwarding()
        except BaseException:
            self._end_forwarding()
            await super().__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self._restore_terminal()
        try:
            if self._execution is not None:
                try:
                    # the shell, then the last of its output
                    await asyncio.wait_for(self._drain(), _EXIT_WAIT_S)
                except (asyncio.TimeoutError, Exception):
                    pass  # stopping the box ends the shell
            if self._result is not None and self._result.error_message:
                print(f"boxlite: {self._result.error_message}", file=sys.stderr)
        finally:
            self._end_forwarding()
            await super().__aexit__(*exc)

    async def wait(self) -> ExecResult:
        """Waits for the shell to exit; its result."""
        if self._result is None:
            self._result = await self.execution.wait()
        return self._result

    async def _drain(self) -> None:
        await self.wait()
        await asyncio.gather(*self._tasks[:2])

    # ---- forwarding

    def _begin_forwarding(self) -> None:
        loop = asyncio.get_running_loop()
        execution = self.execution
        stdin_fd = sys.stdin.fileno()
        if os.isatty(stdin_fd):
            self._saved_mode = termios.tcgetattr(stdin_fd)
            _tty.setraw(stdin_fd, when=termios.TCSANOW)
        self._tasks = [loop.create_task(self._pump_out(execution.stdout(), sys.stdout)),
                       loop.create_task(self._pump_out(execution.stderr(), sys.stderr)),
                       loop.create_task(self._pump_in(stdin_fd, execution))]
        try:
            loop.add_signal_handler(signal.SIGWINCH, self._on_resize)
        except (ValueError, RuntimeError, NotImplementedError):
            pass  # not the main thread: sizes stay as they were

    def _on_resize(self) -> None:
        size = shutil.get_terminal_size()
        self._tasks.append(asyncio.get_running_loop().create_task(
            self.execution.resize_tty(size.lines, size.columns)))

    @staticmethod
    async def _pump_out(stream: Any, out: Any) -> None:
        while True:
            data = await stream.read_some()
            if not data:
                return
            out.buffer.write(data)
            out.buffer.flush()

    @staticmethod
    async def _pump_in(fd: int, execution: Execution) -> None:
        """Local keystrokes to the shell, read when the loop says stdin is
        readable (no thread left blocked in read() when the shell ends)."""
        loop = asyncio.get_running_loop()
        queue: "asyncio.Queue[bytes]" = asyncio.Queue()

        def readable() -> None:
            try:
                data = os.read(fd, 4096)
            except OSError:
                data = b""
            if not data:
                loop.remove_reader(fd)
            queue.put_nowait(data)

        stdin = execution.stdin()
        try:
            loop.add_reader(fd, readable)
        except PermissionError:
            # a regular file (script < commands): always readable, read it
            # off the loop
            while data := await run_blocking(os.read, fd, 65536):
                await stdin.send_input(data)
            await stdin.close()
            return
        try:
            while True:
                data = await queue.get()
                if not data:
                    await stdin.close()
                    return
                await stdin.send_input(data)
        finally:
            loop.remove_reader(fd)

    def _restore_terminal(self) -> None:
        if self._saved_mode is not None:
            try:
                termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, self._saved_mode)
            except (OSError, termios.error):
                pass
            self._saved_mode = None

    def _end_forwarding(self) -> None:
        self._restore_terminal()
        try:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGWINCH)
        except (ValueError, RuntimeError, NotImplementedError):
            pass
        for t in self._tasks:
            t.cancel()
        self._tasks = []

    def __repr__(self) -> str:
        return f"InteractiveBox(id={self._box.id if self._box else None!r}, shell={self._shell!r})"
