"""The CLI in remote mode (docs/remote.md): a login, then every command
through a real `boxlite serve`, and the errors that must keep their class."""
import os
import signal
import stat
import subprocess
import time

import pytest

from conftest import BOXLITE, IMAGE, KEY, Server


@pytest.fixture
def cli(server, tmp_path):
    """Runs the CLI with its own (empty) local home, so only the login can
    make it remote."""
    env = dict(os.environ, BOXLITE_HOME=str(tmp_path / "client"))
    for k in ("BOXLITE_REST_URL", "BOXLITE_API_KEY", "BOXLITE_REST_PATH_PREFIX"):
        env.pop(k, None)

    def run(*args, input=None, check=True, timeout=300, extra_env=None):
        r = subprocess.run([BOXLITE, *args], env=dict(env, **(extra_env or {})), input=input,
                           capture_output=True, text=True, timeout=timeout)
        if check:
            assert r.returncode == 0, (args, r.returncode, r.stdout, r.stderr)
        return r
    run.home = env["BOXLITE_HOME"]
    return run


def test_login_and_every_command_through_the_server(server, cli, tmp_path):
    r = cli("auth", "login", "--api-key-stdin", "--url", server.url, input=KEY + "\n")
    assert "Logged in" in r.stdout and KEY not in r.stdout + r.stderr
    creds = os.path.join(cli.home, "credentials.toml")
    assert stat.S_IMODE(os.stat(creds).st_mode) == 0o600
    st = cli("auth", "status").stdout
    assert server.url in st and "credentials.toml" in st and KEY not in st
    assert "local-anonymous" in cli("auth", "whoami").stdout

    r = cli("run", "--rm", IMAGE, "sh", "-c", "echo hello from $(hostname); exit 3", check=False)
    assert r.returncode == 3 and "hello from" in r.stdout
    bid = cli("create", "--name", "rc1", IMAGE).stdout.strip()
    assert "rc1" in cli("ls", "-a").stdout
    # The box lives on the server: it is there, not in the client's home.
    assert server.request("GET", "/v1/boxes/rc1")[0] == 200
    r = cli("exec", "rc1", "--", "sh", "-c", "echo out; echo err >&2; exit 4", check=False)
    assert (r.returncode, r.stdout, r.stderr) == (4, "out\n", "err\n")
    src = tmp_path / "in.txt"
    src.write_text("through the server\n")
    cli("cp", str(src), "rc1:/root/in.txt")
    cli("cp", "rc1:/root/in.txt", str(tmp_path / "back.txt"))
    assert (tmp_path / "back.txt").read_text() == "through the server\n"
    cli("run", "-d", "--name", "rc2", IMAGE, "sh", "-c", "echo logged; sleep 1000")
    for _ in range(100):
        if "logged" in cli("logs", "rc2").stdout:
            break
        time.sleep(0.1)
    assert cli("logs", "rc2").stdout == "logged\n"
    cli("stop", "rc1", "rc2")
    assert "Exited" in cli("ls", "-a").stdout or "stopped" in cli("ls", "-a").stdout.lower()
    cli("rm", "rc1", "rc2")
    assert server.request("GET", f"/v1/boxes/{bid}")[0] == 404

    # Errors keep their class: a box the server lacks, a command not found.
    r = cli("exec", "nosuch", "--", "true", check=False)
    assert r.returncode == 125 and "no such box" in r.stderr
    r = cli("run", "--rm", IMAGE, "/no/such/cmd", check=False)
    assert r.returncode == 127
    r = cli("images", check=False)
    assert r.returncode == 125 and "not available on a remote runtime" in r.stderr

    assert "Logged out" in cli("auth", "logout", "-y").stdout
    assert not os.path.exists(creds)
    assert "Not logged in" in cli("auth", "status").stdout
    # Local again: the client's own (empty) home.
    assert "rc1" not in cli("ls", "-a").stdout


def test_wrong_key_and_env_override(server, cli):
    r = cli("auth", "login", "--api-key-stdin", "--url", server.url, input="wrong\n", check=False)
    assert r.returncode == 125 and "invalid or missing API key" in r.stderr
    assert not os.path.exists(os.path.join(cli.home, "credentials.toml"))
    r = cli("ls", check=False, extra_env={"BOXLITE_REST_URL": server.url, "BOXLITE_API_KEY": "wrong"})
    assert r.returncode == 125 and "API key" in r.stderr
    r = cli("ls", extra_env={"BOXLITE_REST_URL": server.url, "BOXLITE_API_KEY": KEY})
    assert "ID" in r.stdout
    assert "BOXLITE_API_KEY" in cli("auth", "status", extra_env={"BOXLITE_API_KEY": KEY}).stdout
    r = cli("--url", "http://127.0.0.1:1", "ls", check=False, extra_env={"BOXLITE_API_KEY": KEY})
    assert r.returncode == 125 and "cannot reach the server" in r.stderr


def test_server_killed_mid_exec(home, cli):
    s = Server(home)
    env = {"BOXLITE_REST_URL": s.url, "BOXLITE_API_KEY": KEY}
    cli("create", "--name", "victim", IMAGE, extra_env=env)
    p = subprocess.Popen([BOXLITE, "exec", "victim", "--", "sh", "-c", "echo started; sleep 1000"],
                         env=dict(os.environ, BOXLITE_HOME=cli.home, **env), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline() == "started\n"
    s.stop(signal.SIGKILL)
    try:
        out, err = p.communicate(timeout=120)  # an error, not a hang
        assert p.returncode == 125 and "connection to the server" in err, (p.returncode, err)
    finally:  # the box is detached (made by the CLI): it outlives its server
        s2 = Server(home)
        s2.request("DELETE", "/v1/boxes/victim?force=true")
        s2.stop()
