"""box.network.tunnel(port): a TCP connection to a port of the box."""

import pytest

import boxlite
from boxlite.errors import InvalidStateError


async def _http_get(tunnel, path):
    conn = await tunnel.connect()
    await conn.write(f"GET {path} HTTP/1.0\r\n\r\n".encode())
    await conn.shutdown_write()
    data = b""
    while True:
        chunk = await conn.read()
        if not chunk:
            break
        data += chunk
    await conn.close()
    return data


async def test_tunnel_to_box_port(runtime, image):
    async with boxlite.SimpleBox(image=image, runtime=runtime) as sb:
        # busybox httpd daemonizes: the exec returns, the server stays.
        r = await sb.exec("sh", "-c", "mkdir -p /tmp/www && echo tunnelled > /tmp/www/t.txt && httpd -p 8080 -h /tmp/www")
        assert r.exit_code == 0, r.stderr
        t = await sb.network.tunnel(8080)
        assert t.guest_port == 8080 and t.host_port > 0
        assert isinstance(t.endpoint(), int)
        body = await _http_get(t, "/t.txt")
        assert body.startswith(b"HTTP/1.") and body.endswith(b"tunnelled\n")
        with pytest.raises(InvalidStateError):
            await t.connect()  # a tunnel is one connection
        # a second tunnel to the same port reuses the published host port
        t2 = await sb.network.tunnel(8080)
        assert t2.host_port == t.host_port
        assert b" 404 " in (await _http_get(t2, "/missing")).split(b"\r\n")[0] + b" "
        for bad in (0, 65536, -1, "80"):
            with pytest.raises(ValueError):
                await sb.network.tunnel(bad)


def test_tunnel_sync(home, image):
    from boxlite.sync_api import SyncBoxlite

    with SyncBoxlite(boxlite.Options(home_dir=home)) as rt:
        with rt.create(boxlite.BoxOptions(image=image)) as box:
            r = box.exec("sh", ["-c", "mkdir -p /tmp/w && echo sync > /tmp/w/s && httpd -p 81 -h /tmp/w"]).wait()
            assert r.exit_code == 0
            t = box.tunnel(81)
            assert t.guest_port == 81 and box.network.tunnel(81).host_port == t.host_port
            conn = t.connect()
            conn.write(b"GET /s HTTP/1.0\r\n\r\n")
            conn.shutdown_write()
            data = b""
            while chunk := conn.read():
                data += chunk
            conn.close()
            assert data.endswith(b"sync\n")
            with pytest.raises(InvalidStateError):
                t.connect()
