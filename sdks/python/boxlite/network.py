"""A box's network from Python: ``box.network.tunnel(port)`` (the
reference's NetworkHandle, BoxTunnel and BoxConnection), on the library's
port publishing: the guest port is published on a free loopback port of
the host, and the tunnel connects to it."""

from __future__ import annotations

import asyncio
import socket
from typing import Any, Dict, Optional

from ._pool import run_blocking
from .errors import InvalidStateError

__all__ = ["NetworkHandle", "BoxTunnel", "BoxConnection"]


class BoxConnection:
    """One TCP connection to a port of the box: ``read``, ``write``,
    ``shutdown_write``, ``close``."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    async def read(self, max_bytes: int = 65536) -> bytes:
        """Up to max_bytes; b"" at end of stream."""
        return await asyncio.get_running_loop().sock_recv(self._sock, max_bytes)

    async def write(self, data: bytes) -> None:
        """Sends all of data."""
        await asyncio.get_running_loop().sock_sendall(self._sock, bytes(data))

    async def shutdown_write(self) -> None:
        """Ends the sending side (the box reads end of stream)."""
        self._sock.shutdown(socket.SHUT_WR)

    async def close(self) -> None:
        """Closes the connection."""
        self._sock.close()


class BoxTunnel:
    """A way to one TCP port of the box. ``endpoint()`` is the fd of its
    connection (an int, as the reference's local tunnels); ``connect()``
    hands that connection out once."""

    def __init__(self, guest_port: int, host_port: int) -> None:
        self.guest_port = guest_port
        self.host_port = host_port
        self._sock: Optional[socket.socket] = None
        self._consumed = False

    def _open(self) -> socket.socket:
        if self._sock is None:
            s = socket.create_connection(("127.0.0.1", self.host_port), timeout=10)
            s.setblocking(False)
            self._sock = s
        return self._sock

    def endpoint(self) -> int:
        """The fd of the tunnel's connection (opened if not yet)."""
        return self._open().fileno()

    async def connect(self) -> BoxConnection:
        """The tunnel's connection; works once ("already been consumed" after)."""
        if self._consumed:
            raise InvalidStateError("the tunnel has already been consumed")
        self._consumed = True
        return BoxConnection(await run_blocking(self._open))


class NetworkHandle:
    """``tunnel(port)``: a :class:`BoxTunnel` to a TCP port of the box."""

    def __init__(self, box: Any) -> None:
        self._box = box
        self._published: Dict[int, int] = {}

    async def tunnel(self, port: int) -> BoxTunnel:
        """Publishes the guest port on a free loopback port (once per port)
        and returns a tunnel to it. port 0 (or out of 1..65535) raises
        ValueError."""
        if not isinstance(port, int) or not 1 <= port <= 65535:
            raise ValueError(f"port must be 1..65535, got {port!r}")
        if port not in self._published:
            self._published[port] = await run_blocking(self._box._native.publish, port, 0, "127.0.0.1")
        return BoxTunnel(port, self._published[port])
