"""examples/python: each runs as shown in the README and prints what it says."""
import os
import subprocess
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "examples", "python")


@pytest.mark.parametrize("name, want", [
    ("simplebox_example.py", "exit 3"),
    ("codebox_example.py", "2432902008176640000"),
    ("sync_example.py", "guest machine: x86_64"),
    ("files_example.py", "sum: 5050"),
])
def test_example(name, want, home):
    env = dict(os.environ, BOXLITE_HOME=home)
    p = subprocess.run([sys.executable, os.path.join(EXAMPLES, name)], env=env, capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    assert want in p.stdout, p.stdout


def test_pip_install(tmp_path, home):
    """pip install of the package (pyproject.toml + setup.py) on a machine
    with libboxlite, offline: the system's setuptools, no build isolation."""
    import shutil
    import boxlite
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    build = os.path.normpath(os.path.join(os.path.dirname(boxlite.__file__), "..", ".."))
    repo = os.path.normpath(os.path.join(src, "..", ".."))
    pkg = tmp_path / "src"
    shutil.copytree(src, pkg, ignore=shutil.ignore_patterns("tests", "build", "*.egg-info", "__pycache__"))
    env = dict(os.environ, BOXLITE_INCLUDE=os.path.join(repo, "include"), BOXLITE_LIB=os.path.join(build, "lib"))
    p = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-build-isolation", "--no-deps",
                        "--target", str(tmp_path / "site"), str(pkg)], env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "site"), BOXLITE_HOME=home)
    p = subprocess.run([sys.executable, "-c", "import asyncio, boxlite; print(boxlite.__file__);"
                        " print(type(asyncio.run(boxlite.Boxlite().list_info())).__name__)"],
                       env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert str(tmp_path / "site") in p.stdout and "list" in p.stdout
