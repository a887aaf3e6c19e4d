"""Executions over REST: start, WebSocket attach (stdio, control frames),
reattach, signal, resize, kill, the main command's attach, the reaper."""
import asyncio
import hashlib
import os
import signal
import subprocess
import threading
import time

import pytest
import websockets

from conftest import IMAGE, Server, expect_error, wait_for
from wsclient import Attach, run


def start(server, bid, **req):
    st, body, r = server.request("POST", f"/v1/boxes/{bid}/exec", req)
    assert st == 201, body
    assert r.getheader("Location").endswith(body["execution_id"])
    return body["execution_id"]


def attach_path(bid, eid):
    return f"/v1/boxes/{bid}/executions/{eid}/attach"


def test_exec_streams_and_exit_code(server, box):
    bid = box["box_id"]
    eid = start(server, bid, command="sh", args=["-c", "echo out; echo err >&2; read x; echo got $x; exit 3"],
                env={"FOO": "bar"})

    async def go():
        async with Attach(server, attach_path(bid, eid)) as a:
            await a.send_stdin(b"hello\n")
            return a, await a.run_to_exit()
    a, code = run(go())
    assert code == 3 and a.out == b"out\ngot hello\n" and a.err == b"err\n"
    st, info, _ = server.request("GET", f"/v1/boxes/{bid}/executions/{eid}")
    assert st == 200 and info["status"] == "completed" and info["exit_code"] == 3
    st, m, _ = server.request("GET", f"/v1/boxes/{bid}/metrics")
    assert m["commands_executed_total"] >= 1 and m["bytes_received_total"] >= len(a.out + a.err)


def test_exec_env_workdir_and_stdin_field(server, box):
    bid = box["box_id"]
    eid = start(server, bid, command="sh", args=["-c", 'echo "$FOO $(pwd)"; cat'], env={"FOO": "bar"},
                working_dir="/tmp", stdin="from the request\n")

    async def go():
        async with Attach(server, attach_path(bid, eid)) as a:
            return a, await a.run_to_exit()
    a, code = run(go())
    assert code == 0 and a.out == b"bar /tmp\nfrom the request\n"


def test_stdin_eof_control_and_bad_frames(server, box):
    bid = box["box_id"]
    eid = start(server, bid, command="wc", args=["-c"])

    async def go():
        async with Attach(server, attach_path(bid, eid)) as a:
            await a.control(type="nonsense")
            await a.control(type="signal", sig=9)
            await a.ws.send("{not json")
            await a.read_until(lambda a: len(a.errors) == 3, 60)
            await a.send_stdin(b"x" * 100000)
            await a.control(type="stdin_eof")
            return a, await a.run_to_exit()
    a, code = run(go())
    assert code == 0 and a.out.strip() == b"100000", a.out
    assert "not allowed" in a.errors[1]


def test_exec_failures(server, box):
    bid = box["box_id"]
    expect_error(*server.request("POST", f"/v1/boxes/{bid}/exec", {"args": ["x"]})[:2], 400, "invalid_argument")
    expect_error(*server.request("POST", f"/v1/boxes/{bid}/exec", {"command": "/no/such/cmd"})[:2], 422,
                 "execution_failed")
    expect_error(*server.request("POST", "/v1/boxes/nosuchbox/exec", {"command": "true"})[:2], 404, "not_found")
    expect_error(*server.request("GET", f"/v1/boxes/{bid}/executions/nope")[:2], 404, "not_found")
    st, _, _ = server.request("GET", attach_path(bid, "nope"))
    assert st == 426  # not a WebSocket request


def test_reattach_gets_what_was_not_read(server, box):
    bid = box["box_id"]
    eid = start(server, bid, command="sh", args=["-c", "echo first; read x; echo second $x"])

    async def first():
        async with Attach(server, attach_path(bid, eid)) as a:
            await a.read_until(lambda a: b"first\n" in a.out, 120)
            # A second client while this one is attached: refused before the upgrade.
            with pytest.raises(websockets.InvalidStatusCode) as e:
                async with Attach(server, attach_path(bid, eid)):
                    pass
            assert e.value.status_code == 409
            return a.out

    async def second():
        async with Attach(server, attach_path(bid, eid)) as a:
            await a.send_stdin(b"again\n")
            return a, await a.run_to_exit()
    assert run(first()) == b"first\n"
    st, info, _ = server.request("GET", f"/v1/boxes/{bid}/executions/{eid}")
    assert info["status"] == "running"
    a, code = run(second())
    assert code == 0 and a.out == b"second again\n"


def test_signal_and_kill(server, box):
    bid = box["box_id"]
    eid = start(server, bid, command="sleep", args=["1000"])
    expect_error(*server.request("POST", f"/v1/boxes/{bid}/executions/{eid}/signal", {"signal": 9})[:2], 400,
                 "invalid_argument")
    expect_error(*server.request("POST", f"/v1/boxes/{bid}/executions/{eid}/resize", {"cols": 80, "rows": 24})[:2],
                 409, "invalid_state")
    st, _, _ = server.request("POST", f"/v1/boxes/{bid}/executions/{eid}/signal", {"signal": 15})
    assert st == 204

    async def go(eid):
        async with Attach(server, attach_path(bid, eid)) as a:
            return await a.run_to_exit()
    assert run(go(eid)) == -15  # killed by signal 15, as the reference reports it

    # DELETE while attached: the client gets the exit frame, the id is gone.
    eid = start(server, bid, command="sleep", args=["1000"])

    async def killed():
        async with Attach(server, attach_path(bid, eid)) as a:
            await asyncio.sleep(0.2)
            st = await asyncio.get_running_loop().run_in_executor(
                None, lambda: server.request("DELETE", f"/v1/boxes/{bid}/executions/{eid}")[0])
            assert st == 204
            return await a.run_to_exit()
    assert run(killed()) == -9
    expect_error(*server.request("GET", f"/v1/boxes/{bid}/executions/{eid}")[:2], 404, "not_found")


def test_tty_and_resize(server, box):
    bid = box["box_id"]
    eid = start(server, bid, command="sh", args=["-c", "read x; stty size; read y; stty size"], tty=True)
    st, _, _ = server.request("POST", f"/v1/boxes/{bid}/executions/{eid}/resize", {"cols": 100, "rows": 30})
    assert st == 204

    async def go():
        async with Attach(server, attach_path(bid, eid)) as a:
            await a.send_stdin(b"\n")
            await a.read_until(lambda a: b"30 100" in a.out, 120)
            await a.control(type="resize", cols=120, rows=40)
            await a.send_stdin(b"\n")
            return a, await a.run_to_exit()
    a, code = run(go())
    assert code == 0 and b"40 120" in a.out and a.err == b""


def test_64mib_byte_for_byte(server, box):
    bid = box["box_id"]
    line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_\n"
    eid = start(server, bid, command="sh", args=["-c", f"yes {line[:-1].decode()} | head -c {64 << 20}"])
    want = hashlib.sha256((line * ((64 << 20) // len(line) + 1))[:64 << 20]).hexdigest()
    digest = hashlib.sha256()
    n = [0]

    async def go():
        async with Attach(server, attach_path(bid, eid)) as a:
            async for m in a.ws:
                if isinstance(m, bytes) and m[0] == 1:
                    digest.update(m[1:])
                    n[0] += len(m) - 1
                else:
                    a._take(m)
            return a
    a = run(go())
    assert a.exit_code == 0 and n[0] == 64 << 20, (a.exit_code, n[0], a.err[:200])
    assert digest.hexdigest() == want


def test_20_concurrent_execs(server, box):
    bid = box["box_id"]
    results, errors = {}, []

    def client(i):
        try:
            eid = start(server, bid, command="sh", args=["-c", f"echo token-{i}; exit {i}"])

            async def go():
                async with Attach(server, attach_path(bid, eid)) as a:
                    return a, await a.run_to_exit()
            a, code = run(go())
            results[i] = (bytes(a.out), code)
        except Exception as e:  # reported below with its client
            errors.append((i, repr(e)))
    threads = [threading.Thread(target=client, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    assert not errors, errors
    assert results == {i: (f"token-{i}\n".encode(), i) for i in range(20)}


def test_stalled_reader_does_not_stall_others(server, box):
    bid = box["box_id"]
    big = start(server, bid, command="sh", args=["-c", "while :; do echo xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; done"])

    async def go():
        # Attach to the flood and never read; another execution still runs to its end.
        async with Attach(server, attach_path(bid, big)):
            await asyncio.sleep(1)
            small = await asyncio.get_running_loop().run_in_executor(
                None, lambda: start(server, bid, command="echo", args=["alive"]))
            async with Attach(server, attach_path(bid, small)) as b:
                return b, await b.run_to_exit(120)
    b, code = run(go())
    assert code == 0 and b.out == b"alive\n"
    assert server.request("DELETE", f"/v1/boxes/{bid}/executions/{big}")[0] == 204


def test_main_command_attach(server):
    st, b, _ = server.request("POST", "/v1/boxes", {"image": IMAGE, "detach": False,
                                                    "cmd": ["sh", "-c", "echo main; read l; echo got $l; exit 7"]})
    bid = b["box_id"]

    async def go():
        async with Attach(server, f"/v1/boxes/{bid}/attach") as a:
            assert a.ws.response_headers["X-Boxlite-Execution-Id"]
            await a.read_until(lambda a: b"main\n" in a.out, 120)
            await a.send_stdin(b"line\n")
            return a, await a.run_to_exit()
    a, code = run(go())
    assert code == 7 and a.out == b"main\ngot line\n"
    wait_for(lambda: server.request("GET", f"/v1/boxes/{bid}")[1]["status"] == "stopped", 60, "box stopped")
    st, _, _ = server.request("GET", f"/v1/boxes/{bid}/attach",
                              headers={"Upgrade": "websocket", "Connection": "Upgrade",
                                       "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
    assert st == 409
    server.request("DELETE", f"/v1/boxes/{bid}")


def test_orphans_are_reaped(home):
    s = Server(home, extra_env={"BOXLITE_RECONNECT_GRACE": "1s", "BOXLITE_SHUTDOWN_GRACE": "1s"})
    try:
        st, b, _ = s.request("POST", "/v1/boxes", {"image": IMAGE, "detach": False})
        bid = b["box_id"]
        eid = start(s, bid, command="sh", args=["-c", "trap '' HUP TERM; sleep 1000"])
        wait_for(lambda: s.request("GET", f"/v1/boxes/{bid}/executions/{eid}")[0] == 404, 60, "orphan reaped")
        # A client that goes away mid-stream: its execution is freed the same way.
        eid = start(s, bid, command="sh", args=["-c", "while :; do echo tick; sleep 0.1; done"])

        async def leave():
            async with Attach(s, attach_path(bid, eid)) as a:
                await a.read_until(lambda a: b"tick" in a.out, 120)
        run(leave())
        # SIGHUP after the grace ends it; its status stays readable for a while.
        wait_for(lambda: s.request("GET", f"/v1/boxes/{bid}/executions/{eid}")[1].get("exit_code") == -1, 60,
                 "disconnected execution hung up")
        # The box itself is fine.
        eid = start(s, bid, command="true")
        wait_for(lambda: s.request("GET", f"/v1/boxes/{bid}/executions/{eid}")[1].get("status") == "completed",
                 60, "second exec")
    finally:
        s.stop()


def box_pids(home, bid):
    """Shim pid from the box's record (via the CLI), or 0."""
    r = subprocess.run([os.path.join(os.path.dirname(__file__), "..", "..", "build", "bin", "boxlite")
                        if not os.environ.get("BOXLITE_BUILD") else
                        os.path.join(os.environ["BOXLITE_BUILD"], "bin", "boxlite"),
                        "inspect", "-f", "{{.State.Pid}}", bid], env=dict(os.environ, BOXLITE_HOME=home),
                       capture_output=True, text=True)
    return int(r.stdout.strip() or 0)


def test_server_killed(tmp_path):
    home = str(tmp_path / "home")
    s = Server(home)
    st, a, _ = s.request("POST", "/v1/boxes", {"image": IMAGE, "detach": False})
    st, d, _ = s.request("POST", "/v1/boxes", {"image": IMAGE, "detach": True})
    for b in (a, d):
        assert s.request("POST", f"/v1/boxes/{b['box_id']}/start")[0] == 200
    start(s, a["box_id"], command="sleep", args=["1000"])
    s.stop(signal.SIGKILL)
    s2 = Server(home)
    try:
        def status(b):
            return s2.request("GET", f"/v1/boxes/{b['box_id']}")[1]["status"]
        wait_for(lambda: status(a) == "stopped", 60, "the attached box to die with its server")
        assert status(d) == "running"
        ids = [x["box_id"] for x in s2.request("GET", "/v1/boxes")[1]["boxes"]]
        assert d["box_id"] in ids
        # And the detached one still works through the new server.
        eid = start(s2, d["box_id"], command="echo", args=["still here"])

        async def go():
            async with Attach(s2, attach_path(d["box_id"], eid)) as x:
                return x, await x.run_to_exit()
        x, code = run(go())
        assert code == 0 and x.out == b"still here\n"
    finally:
        s2.request("DELETE", f"/v1/boxes/{d['box_id']}?force=true")  # it runs: a plain DELETE is 409
        s2.stop()


def test_finished_executions_let_go_of_the_box(server, box):
    # A box's shim takes a bounded number of clients (128): executions that
    # ended and were read must not keep theirs while their status is kept.
    bid = box["box_id"]

    async def go():
        for i in range(150):
            eid = await asyncio.get_running_loop().run_in_executor(
                None, lambda: start(server, bid, command="true"))
            async with Attach(server, attach_path(bid, eid)) as a:
                assert await a.run_to_exit() == 0, i
    run(go())
