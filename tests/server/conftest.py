"""A real `boxlite serve` on a loopback port, with a private home, for the
server tests (ctest label `server`). BOXLITE_BUILD points at the build."""
import http.client
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

BUILD = os.environ.get("BOXLITE_BUILD") or os.path.join(os.path.dirname(__file__), "..", "..", "build")
BOXLITE = os.path.join(BUILD, "bin", "boxlite")
IMAGE = "localhost/busybox:latest"
KEY = "test-key-0123456789"


class Server:
    """One `boxlite serve` process; request() speaks to it."""

    def __init__(self, home, key=KEY, extra_env=None, args=()):
        self.home, self.key = home, key
        env = dict(os.environ, BOXLITE_HOME=home)
        env.pop("BOXLITE_SERVE_API_KEY", None)
        if key is not None:
            env["BOXLITE_SERVE_API_KEY"] = key
        env.update(extra_env or {})
        self.proc = subprocess.Popen([BOXLITE, "serve", "--port", "0", *args], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if "listening on http://" not in line:
            err = self.proc.stderr.read()
            raise RuntimeError(f"boxlite serve did not start: {line!r} {err!r}")
        self.url = line.split("listening on ")[1].split()[0]
        self.host, port = self.url[len("http://"):].rsplit(":", 1)
        self.port = int(port)

    def conn(self, timeout=300):
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method, path, body=None, key="default", headers=None, raw=False):
        """(status, parsed JSON or bytes, headers)."""
        h = dict(headers or {})
        key = self.key if key == "default" else key
        if key is not None:
            h["Authorization"] = f"Bearer {key}"
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        c = self.conn()
        try:
            try:
                c.request(method, path, body=body, headers=h)
            except (BrokenPipeError, ConnectionResetError):
                pass  # refused before the body was read: the answer is there
            r = c.getresponse()
            data = r.read()
        finally:
            c.close()
        if not raw and data and r.getheader("Content-Type", "").startswith("application/json"):
            data = json.loads(data)
        return r.status, data, r

    def stop(self, sig=signal.SIGTERM):
        """Stops the server; with SIGTERM it must exit 0 (under ASan: no leak)."""
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            _, err = self.proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
            raise AssertionError(f"boxlite serve did not stop on {sig!r}: {err}")
        if sig == signal.SIGTERM:
            assert self.proc.returncode == 0, f"boxlite serve exited {self.proc.returncode}: {err}"


def expect_error(status, body, want_status, want_code):
    """The §3 envelope with this status and code."""
    assert status == want_status, (status, body)
    assert isinstance(body, dict) and set(body) == {"error"}, body
    err = body["error"]
    assert err["code"] == want_code, err
    assert isinstance(err["message"], str) and err["message"], err
    assert err["type"][0].isupper() and err["type"].endswith("Error"), err
    return err


@pytest.fixture(scope="session")
def home():
    d = tempfile.mkdtemp(prefix="boxlite-server-test.")
    yield os.path.join(d, "home")
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def server(home):
    s = Server(home)
    yield s
    s.stop()


@pytest.fixture
def box(server):
    """A box made for one test, removed after it."""
    st, b, _ = server.request("POST", "/v1/boxes", {"image": IMAGE, "detach": False})
    assert st == 201, b
    yield b
    server.request("DELETE", f"/v1/boxes/{b['box_id']}?force=true")


def wait_for(pred, timeout=30, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
