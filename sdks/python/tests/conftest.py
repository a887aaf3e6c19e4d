"""Fixtures: a private home per test session (never the user's ~/.boxlite),
and the image every test boots (the built-in busybox)."""

import os
import shutil
import tempfile

import pytest

import boxlite

IMAGE = "localhost/busybox:latest"


@pytest.fixture(scope="session")
def home():
    d = tempfile.mkdtemp(prefix="boxlite-pytest.")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def image():
    return IMAGE


# ---------------------------------------------------------------- REST mode
# The part-1 suites (test_core, test_exec) run a second time with the
# runtime fixture on Boxlite.rest against a real `boxlite serve` on the same
# home: the same tests, through libboxlite's REST client. Tests of what a
# remote runtime cannot do are marked local_only.
REST_MODULES = {"test_core", "test_exec"}
REST_KEY = "pytest-rest-key"


def pytest_configure(config):
    config.addinivalue_line("markers", "local_only(why): the test needs a local runtime (skipped in REST mode)")


@pytest.fixture(scope="session")
def rest_server(home):
    import subprocess
    build = os.environ.get("BOXLITE_BUILD")
    if not build:
        pytest.skip("BOXLITE_BUILD is not set: no boxlite binary to serve with")
    env = dict(os.environ, BOXLITE_HOME=home, BOXLITE_SERVE_API_KEY=REST_KEY)
    proc = subprocess.Popen([os.path.join(build, "bin", "boxlite"), "serve", "--port", "0"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if "listening on " not in line:
        proc.kill()
        raise RuntimeError(f"boxlite serve did not start: {line!r} {proc.stderr.read()!r}")
    yield line.split("listening on ")[1].split()[0]
    proc.terminate()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err


@pytest.fixture(params=["local", "rest"])
def runtime(request, home):
    if request.param == "rest":
        marker = request.node.get_closest_marker("local_only")
        if marker:
            pytest.skip(f"local only: {marker.args[0] if marker.args else ''}")
        url = request.getfixturevalue("rest_server")
        return boxlite.Boxlite.rest(boxlite.BoxliteRestOptions(url, credential=boxlite.ApiKeyCredential(REST_KEY)))
    return boxlite.Boxlite(boxlite.Options(home_dir=home))


def pytest_collection_modifyitems(config, items):
    items[:] = [it for it in items
                if "[rest]" not in it.nodeid or it.module.__name__.split(".")[-1] in REST_MODULES]
