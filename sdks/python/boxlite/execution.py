"""A running command: :class:`Execution` (the reference's native Execution).

Output is read straight from the session's sockets by the event loop
(never a thread per stream): ``stdout()`` and ``stderr()`` yield str chunks
as they arrive, decoded incrementally so a multi-byte character split
between chunks stays whole. Waiting runs in a worker thread (the native
call releases the GIL). Cancelling ``wait()`` kills the command."""

from __future__ import annotations

import asyncio
import codecs
import os
import signal as _signal
import socket
from typing import AsyncIterator, Optional

from ._pool import run_blocking
from .errors import InvalidStateError

__all__ = ["Execution", "ExecStdin", "ExecStdout", "ExecStderr", "ExecResult"]

_CHUNK = 65536


class ExecResult:
    """How a command ended: ``exit_code`` (negative: killed by that signal)
    and ``error_message`` (set when it died unexpectedly)."""

    def __init__(self, exit_code: int, error_message: Optional[str] = None) -> None:
        self.exit_code = exit_code
        self.error_message = error_message

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ExecResult) and self.exit_code == other.exit_code
                and self.error_message == other.error_message)

    def __repr__(self) -> str:
        return f"ExecResult(exit_code={self.exit_code}, error_message={self.error_message!r})"


def _sock(fd: int) -> socket.socket:
    """A non-blocking socket object on a duplicate of the session's fd."""
    s = socket.socket(fileno=os.dup(fd))
    s.setblocking(False)
    return s


class _Stream:
    """An async iterator of str chunks from one of the session's outputs."""

    def __init__(self, sock: socket.socket, name: str) -> None:
        self._sock = sock
        self._name = name
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._done = False

    def __aiter__(self) -> "_Stream":
        return self

    async def __anext__(self) -> str:
        loop = asyncio.get_running_loop()
        while not self._done:
            data = await loop.sock_recv(self._sock, _CHUNK)
            if not data:
                self._done = True
                tail = self._decoder.decode(b"", final=True)
                self._sock.close()
                if tail:
                    return tail
                break
            text = self._decoder.decode(data)
            if text:
                return text
        raise StopAsyncIteration

    async def read_all(self) -> str:
        """Everything left, joined."""
        return "".join([chunk async for chunk in self])

    async def read_some(self, max_bytes: int = _CHUNK) -> bytes:
        """The next raw chunk, undecoded; b"" at the end (do not mix with
        str chunks)."""
        if self._done:
            return b""
        data = await asyncio.get_running_loop().sock_recv(self._sock, max_bytes)
        if not data:
            self._done = True
            self._sock.close()
        return data

    async def read_bytes(self) -> bytes:
        """Everything left as bytes, undecoded (only before any str chunk
        was taken)."""
        loop = asyncio.get_running_loop()
        parts = []
        while not self._done:
            data = await loop.sock_recv(self._sock, _CHUNK)
            if not data:
                self._done = True
                self._sock.close()
                break
            parts.append(data)
        return b"".join(parts)


class ExecStdout(_Stream):
    """The command's stdout as str chunks (with a tty: stdout and stderr)."""


class ExecStderr(_Stream):
    """The command's stderr as str chunks."""


class ExecStdin:
    """The command's stdin: ``send_input(bytes)``, ``close()`` (end of file)."""

    def __init__(self, execution: "Execution", sock: socket.socket) -> None:
        self._x = execution
        self._sock = sock
        self._closed = False

    async def send_input(self, data: bytes) -> None:
        """Writes data (bytes, or str as UTF-8) to the command's stdin."""
        if self._closed:
            raise InvalidStateError("stdin is closed")
        if isinstance(data, str):
            data = data.encode()
        await asyncio.get_running_loop().sock_sendall(self._sock, data)

    async def close(self) -> None:
        """Ends stdin: the command reads end of file."""
        if not self._closed:
            self._closed = True
            self._sock.close()
            self._x._native.close_stdin()

    async def is_closed(self) -> bool:
        """Whether close() was called."""
        return self._closed


class Execution:
    """A command running in a box, from :meth:`Box.exec`."""

    def __init__(self, native, exec_id: str, tty: bool) -> None:
        self._native = native
        self._id = exec_id
        self._tty = tty
        stdin_fd, out_fd, err_fd = native.fds()
        self._stdin: Optional[ExecStdin] = ExecStdin(self, _sock(stdin_fd))
        self._stdout: Optional[ExecStdout] = ExecStdout(_sock(out_fd), "stdout")
        self._stderr: Optional[ExecStderr] = ExecStderr(_sock(err_fd), "stderr")
        self._result: Optional[ExecResult] = None

    def id(self) -> str:
        """This execution's id (a method, as in the reference)."""
        return self._id

    def stdin(self) -> ExecStdin:
        """The command's stdin."""
        if self._stdin is None:
            raise InvalidStateError("stdin stream not available")
        return self._stdin

    def stdout(self) -> ExecStdout:
        """The stdout stream; it can be taken once."""
        s, self._stdout = self._stdout, None
        if s is None:
            raise InvalidStateError("stdout stream not available")
        return s

    def stderr(self) -> ExecStderr:
        """The stderr stream; it can be taken once."""
        s, self._stderr = self._stderr, None
        if s is None:
            raise InvalidStateError("stderr stream not available")
        return s

    async def wait(self) -> ExecResult:
        """Waits for the command to end. Cancelling the wait kills it."""
        if self._result is not None:
            return self._result
        try:
            status = await run_blocking(self._native.wait, -1)
        except asyncio.CancelledError:
            try:
                self._native.signal(_signal.SIGKILL)
            except Exception:  # it may have ended meanwhile
                pass
            raise
        code, sig = status
        self._result = ExecResult(-sig if sig else code)
        return self._result

    async def kill(self) -> None:
        """Kills the command (SIGKILL)."""
        await self.signal(_signal.SIGKILL)

    async def signal(self, sig: int) -> None:
        """Sends a signal to the command's process group."""
        try:
            self._native.signal(int(sig))
        except Exception as e:
            if "No such process" not in str(e):
                raise

    async def resize_tty(self, rows: int, cols: int) -> None:
        """A tty's new size; a command without a tty raises RuntimeError."""
        if not self._tty:
            raise InvalidStateError("resize_tty: this execution has no tty")
        self._native.resize(rows, cols)

    def __repr__(self) -> str:
        return f"Execution(id={self._id!r})"
