"""A small attach client over python3-websockets (asyncio) for the tests."""
import asyncio
import json

import websockets

from conftest import KEY


class Attach:
    """An attached execution: collected stdout/stderr, control frames, exit."""

    def __init__(self, server, path, key=KEY):
        self.url = f"ws://{server.host}:{server.port}{path}"
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.out, self.err, self.errors = bytearray(), bytearray(), []
        self.exit_code = None
        self.ws = None

    async def __aenter__(self):
        self.ws = await websockets.connect(self.url, extra_headers=self.headers, max_size=None,
                                           open_timeout=300, ping_interval=None)
        return self

    async def __aexit__(self, *a):
        await self.ws.close()

    async def send_stdin(self, data):
        await self.ws.send(data)

    async def control(self, **msg):
        await self.ws.send(json.dumps(msg))

    def _take(self, m):
        if isinstance(m, bytes):
            assert m[0] in (1, 2), m[:1]
            (self.out if m[0] == 1 else self.err).extend(m[1:])
        else:
            j = json.loads(m)
            if j["type"] == "exit":
                self.exit_code = j["exit_code"]
            else:
                assert j["type"] == "error", j
                self.errors.append(j["message"])

    async def read_until(self, pred, timeout=300):
        async def loop():
            while not pred(self):
                self._take(await self.ws.recv())
        await asyncio.wait_for(loop(), timeout)

    async def run_to_exit(self, timeout=300):
        """Reads until the exit frame and the server's Close."""
        async def loop():
            try:
                async for m in self.ws:
                    self._take(m)
            except websockets.ConnectionClosedOK:
                pass
        await asyncio.wait_for(loop(), timeout)
        assert self.ws.close_code == 1000, self.ws.close_code
        return self.exit_code


def run(coro):
    return asyncio.run(coro)
