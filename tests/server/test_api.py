"""The REST server's routes, auth and errors against a real server and real
boxes (docs/server.md). Exec and files are in test_exec.py/test_files.py."""
import os
import socket
import subprocess

import yaml

from conftest import BOXLITE, IMAGE, KEY, Server, expect_error, wait_for

SRC = os.environ.get("BOXLITE_SRC") or os.path.join(os.path.dirname(__file__), "..", "..")


def test_config_is_public(server):
    st, body, _ = server.request("GET", "/v1/config", key=None)
    assert st == 200
    assert body["capabilities"]["linux_capabilities_enabled"] is True
    assert body["capabilities"]["export_enabled"] is True and body["capabilities"]["import_enabled"] is True


def test_auth(server):
    expect_error(*server.request("GET", "/v1/me", key=None)[:2], 401, "unauthenticated")
    expect_error(*server.request("GET", "/v1/me", key="wrong")[:2], 401, "unauthenticated")
    expect_error(*server.request("GET", "/v1/me", key=KEY + "x")[:2], 401, "unauthenticated")
    st, _, r = server.request("GET", "/v1/boxes", key=None)
    assert st == 401 and r.getheader("WWW-Authenticate") == "Bearer"
    st, me, _ = server.request("GET", "/v1/me")
    assert st == 200 and me["sub"] == "local-anonymous" and "box:*" in me["scopes"]
    assert me["path_prefix"] is None
    st, _, _ = server.request("GET", "/v1/me", key=None, headers={"Authorization": "bearer " + KEY})
    assert st == 200
    st, _, _ = server.request("GET", "/v1/me", key=None, headers={"Authorization": "Basic " + KEY})
    assert st == 401


def test_unknown_routes_and_methods(server):
    err = expect_error(*server.request("GET", "/v1/nope")[:2], 404, "not_found")
    assert "no route" in err["message"]
    expect_error(*server.request("GET", "/elsewhere")[:2], 404, "not_found")
    expect_error(*server.request("PUT", "/v1/boxes")[:2], 405, "method_not_allowed")


def test_request_id(server):
    st, body, r = server.request("GET", "/v1/boxes/nosuchbox", headers={"X-Request-Id": "abc-123"})
    err = expect_error(st, body, 404, "not_found")
    assert err["request_id"] == "abc-123" and r.getheader("X-Request-Id") == "abc-123"
    _, _, r = server.request("GET", "/v1/boxes")
    assert len(r.getheader("X-Request-Id")) == 36


def test_bad_bodies(server):
    err = expect_error(*server.request("POST", "/v1/boxes", "{bad")[:2], 400, "invalid_argument")
    assert "malformed JSON" in err["message"]
    expect_error(*server.request("POST", "/v1/boxes", "[1]")[:2], 400, "invalid_argument")
    err = expect_error(*server.request("POST", "/v1/boxes", {"imagee": IMAGE})[:2], 400, "invalid_argument")
    assert "imagee" in err["message"]
    expect_error(*server.request("POST", "/v1/boxes", {"cpus": "2"})[:2], 400, "invalid_argument")
    expect_error(*server.request("POST", "/v1/boxes", {"memory_mib": 1})[:2], 400, "invalid_argument")
    expect_error(*server.request("POST", "/v1/boxes", '{"name":"a","name":"b"}')[:2], 400, "invalid_argument")
    expect_error(*server.request("POST", "/v1/boxes", {"network": {"mode": "bridge"}})[:2], 400,
                 "invalid_argument")
    expect_error(*server.request("POST", "/v1/boxes", {"volumes": []})[:2], 400, "unsupported")
    expect_error(*server.request("POST", "/v1/boxes", {"image": IMAGE, "name": "bad name!"})[:2], 400,
                 "invalid_argument")
    expect_error(*server.request("POST", "/v1/boxes", {"image": "localhost/nosuchimage:1",
                                                       "network": {"mode": "disabled"}})[:2],
                 422, "image_pull_failed")


def test_oversized_body_and_headers(server):
    expect_error(*server.request("POST", "/v1/boxes", b"x" * (2 << 20))[:2], 413, "payload_too_large")
    # Chunked: no Content-Length to refuse early; counted as it comes.
    c = server.conn()
    c.putrequest("POST", "/v1/boxes")
    c.putheader("Authorization", f"Bearer {KEY}")
    c.putheader("Transfer-Encoding", "chunked")
    c.endheaders()
    chunk = b"y" * 65536
    try:
        for _ in range(40):
            c.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        c.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    r = c.getresponse()
    import json
    expect_error(r.status, json.loads(r.read()), 413, "payload_too_large")
    c.close()
    expect_error(*server.request("GET", "/v1/boxes", headers={"X-Big": "z" * 20000})[:2], 431, "headers_too_large")
    st, _, _ = server.request("GET", "/v1/boxes", headers={"X-Big": "z" * 300000}, raw=True)
    assert st == 431
    # The server is still fine.
    assert server.request("GET", "/v1/boxes")[0] == 200


def test_box_lifecycle(server):
    st, b, _ = server.request("POST", "/v1/boxes", {"image": IMAGE, "name": "life", "cpus": 1,
                                                    "memory_mib": 256, "env": {"A": "1"}, "detach": False})
    assert st == 201, b
    for k in ("box_id", "status", "created_at", "updated_at", "image", "cpus", "memory_mib"):
        assert k in b, k
    assert b["status"] == "configured" and b["name"] == "life" and b["memory_mib"] == 256
    bid = b["box_id"]
    expect_error(*server.request("POST", "/v1/boxes", {"image": IMAGE, "name": "life"})[:2], 409, "already_exists")
    assert server.request("GET", f"/v1/boxes/{bid}")[1]["box_id"] == bid
    assert server.request("GET", "/v1/boxes/life")[1]["box_id"] == bid
    st, body, _ = server.request("HEAD", "/v1/boxes/life", raw=True)
    assert st == 204 and body == b""
    st, body, _ = server.request("HEAD", "/v1/boxes/nothere", raw=True)
    assert st == 404 and body == b""
    assert bid in [x["box_id"] for x in server.request("GET", "/v1/boxes")[1]["boxes"]]
    assert bid in [x["box_id"] for x in server.request("GET", "/v1/default/boxes")[1]["boxes"]]
    assert bid not in [x["box_id"] for x in server.request("GET", "/v1/boxes?status=running")[1]["boxes"]]

    st, b, _ = server.request("POST", f"/v1/boxes/{bid}/start")
    assert st == 200 and b["status"] == "running" and b["pid"] > 0, b
    st, b, _ = server.request("POST", f"/v1/boxes/{bid}/start")
    assert st == 200 and b["status"] == "running"
    st, m, _ = server.request("GET", f"/v1/boxes/{bid}/metrics")
    assert st == 200 and m["memory_bytes"] > 0 and m["commands_executed_total"] == 0
    st, m, _ = server.request("GET", "/v1/metrics")
    assert st == 200 and m["num_running_boxes"] >= 1 and m["boxes_created_total"] >= 1
    expect_error(*server.request("DELETE", f"/v1/boxes/{bid}?force=false")[:2], 409, "invalid_state")
    st, b, _ = server.request("POST", f"/v1/boxes/{bid}/stop", {"timeout_seconds": 10})
    assert st == 200 and b["status"] == "stopped", b
    assert server.request("DELETE", f"/v1/boxes/{bid}?force=false")[0] == 204
    expect_error(*server.request("GET", f"/v1/boxes/{bid}")[:2], 404, "not_found")
    expect_error(*server.request("POST", f"/v1/boxes/{bid}/start")[:2], 404, "not_found")
    expect_error(*server.request("DELETE", f"/v1/boxes/{bid}")[:2], 404, "not_found")


def test_delete_running_by_default(server, box):
    bid = box["box_id"]
    assert server.request("POST", f"/v1/boxes/{bid}/start")[0] == 200
    assert server.request("DELETE", f"/v1/boxes/{bid}")[0] == 204
    expect_error(*server.request("GET", f"/v1/boxes/{bid}")[:2], 404, "not_found")


def test_not_yet_supported_routes(server, box):
    for method, path in [("GET", "/v1/volumes"), ("POST", "/v1/volumes")]:
        expect_error(*server.request(method, path, {})[:2], 400, "unsupported")


def openapi_routes():
    with open(os.path.join(SRC, "docs", "openapi.yaml")) as f:
        doc = yaml.safe_load(f)
    return {f"{m.upper()} {p}" for p, ops in doc["paths"].items() for m in ops if m != "parameters"}


def test_openapi_matches_routes(server):
    served = set(subprocess.run([BOXLITE, "serve", "--print-routes"], check=True, capture_output=True,
                                text=True).stdout.split("\n")) - {""}
    documented = openapi_routes()
    assert served - documented == set(), "routes missing from docs/openapi.yaml"
    assert documented - served == set(), "documented routes the server does not answer"
    # And the running server answers each (no "no route" 404).
    for route in documented:
        method, path = route.split(" ", 1)
        path = path.replace("{box_id}", "nosuchbox").replace("{exec_id}", "nosuchexec") \
                   .replace("{name}", "n").replace("{volume_id}", "v").replace("{image_id}", "sha256:00")
        st, body, _ = server.request(method, path, raw=True)
        assert b"no route" not in body, route
    st, body, _ = server.request("GET", "/v1/openapi.yaml", key=None, raw=True)
    with open(os.path.join(SRC, "docs", "openapi.yaml"), "rb") as f:
        assert st == 200 and body == f.read()


def test_refuses_open_address_without_key(home):
    env = dict(os.environ, BOXLITE_HOME=home)
    env.pop("BOXLITE_SERVE_API_KEY", None)
    r = subprocess.run([BOXLITE, "serve", "--host", "0.0.0.0", "--port", "0"], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 125 and "without an API key" in r.stderr, r.stderr


def test_key_file_and_open_address(home, tmp_path):
    kf = tmp_path / "key"
    kf.write_text("file-key\n")
    s = Server(home, key=None, args=("--host", "0.0.0.0", "--api-key-file", str(kf)))
    try:
        s.host = "127.0.0.1"
        assert s.request("GET", "/v1/me", key="file-key")[0] == 200
        assert s.request("GET", "/v1/me", key=None)[0] == 401
    finally:
        s.stop()
    r = subprocess.run([BOXLITE, "serve", "--api-key-file", str(tmp_path / "missing")], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 125 and "cannot read the API key file" in r.stderr


def test_slow_client_does_not_block_others(server):
    # A client that sends half a request and stalls holds only its own connection.
    s = socket.create_connection((server.host, server.port))
    s.sendall(b"GET /v1/boxes HTTP/1.1\r\nHost: x\r\n")
    try:
        assert server.request("GET", "/v1/boxes")[0] == 200
    finally:
        s.close()


def test_idle_clients_are_dropped(home):
    s = Server(home, extra_env={"BOXLITE_SERVE_IDLE_TIMEOUT": "2"})
    try:
        c = socket.create_connection((s.host, s.port))
        c.sendall(b"GET /v1/boxes HTTP/1.1\r\nHost: x\r\n")  # and nothing more
        c.settimeout(30)
        assert c.recv(4096) == b""  # closed by the server, not by our timeout
        c.close()
        assert s.request("GET", "/v1/boxes")[0] == 200
    finally:
        s.stop()


def test_snapshot_routes(server, box):
    bid = box["box_id"]
    st, snap, _ = server.request("POST", f"/v1/boxes/{bid}/snapshots", {"name": "first"})
    assert st == 201, snap
    assert snap["name"] == "first" and snap["box_id"] == bid and isinstance(snap["created_at"], int)
    assert snap["container_disk_bytes"] > 0 and "size_bytes" in snap
    expect_error(*server.request("POST", f"/v1/boxes/{bid}/snapshots", {"name": "first"})[:2], 409, "already_exists")
    expect_error(*server.request("POST", f"/v1/boxes/{bid}/snapshots", {"name": ".x"})[:2], 400, "invalid_argument")
    expect_error(*server.request("POST", f"/v1/boxes/{bid}/snapshots", {})[:2], 400, "invalid_argument")
    st, lst, _ = server.request("GET", f"/v1/boxes/{bid}/snapshots")
    assert st == 200 and [s["name"] for s in lst["snapshots"]] == ["first"]
    assert server.request("GET", f"/v1/boxes/{bid}/snapshots/first")[1] == snap
    expect_error(*server.request("GET", f"/v1/boxes/{bid}/snapshots/none")[:2], 404, "not_found")
    assert server.request("POST", f"/v1/boxes/{bid}/start")[0] == 200
    expect_error(*server.request("POST", f"/v1/boxes/{bid}/snapshots/first/restore")[:2], 409, "invalid_state")
    st, live, _ = server.request("POST", f"/v1/boxes/{bid}/snapshots", {"name": "live"})
    assert st == 201 and live["name"] == "live", live  # of the running box
    assert server.request("POST", f"/v1/boxes/{bid}/stop")[0] == 200
    assert server.request("DELETE", f"/v1/boxes/{bid}/snapshots/live")[0] == 204
    assert server.request("POST", f"/v1/boxes/{bid}/snapshots/first/restore")[0] == 204
    assert server.request("DELETE", f"/v1/boxes/{bid}/snapshots/first")[0] == 204
    expect_error(*server.request("DELETE", f"/v1/boxes/{bid}/snapshots/first")[:2], 404, "not_found")
    assert server.request("GET", "/v1/config", key=None)[1]["capabilities"]["snapshots_enabled"] is True


def test_export_import_routes(server, box):
    bid = box["box_id"]
    st, ex, _ = server.request("POST", f"/v1/boxes/{bid}/exec", {"command": "sh", "args": ["-c", "echo moved > /root/f; sync"]})
    assert st == 201
    wait_for(lambda: server.request("GET", f"/v1/boxes/{bid}/executions/{ex['execution_id']}")[1].get("status") != "running",
             what="the write")
    st, archive, r = server.request("POST", f"/v1/boxes/{bid}/export", {})  # the box runs on
    assert st == 200 and r.getheader("Content-Type") == "application/octet-stream"
    assert archive[:4] == b"\x28\xb5\x2f\xfd"  # zstd
    st, nb, _ = server.request("POST", "/v1/boxes/import?name=api-imported", archive,
                               headers={"Content-Type": "application/octet-stream"})
    assert st == 201 and nb["name"] == "api-imported" and nb["box_id"] != bid, nb
    expect_error(*server.request("POST", "/v1/boxes/import?name=api-imported", archive,
                                 headers={"Content-Type": "application/octet-stream"})[:2], 409, "already_exists")
    bad = bytearray(archive)
    bad[len(bad) // 2] ^= 0xff
    expect_error(*server.request("POST", "/v1/boxes/import", bytes(bad),
                                 headers={"Content-Type": "application/octet-stream"})[:2], 400, "invalid_argument")
    expect_error(*server.request("POST", "/v1/boxes/import", b"not an archive",
                                 headers={"Content-Type": "application/octet-stream"})[:2], 400, "invalid_argument")
    expect_error(*server.request("POST", "/v1/boxes/nope/export", {})[:2], 404, "not_found")
    assert server.request("DELETE", f"/v1/boxes/{nb['box_id']}?force=true")[0] == 204
    st, boxes, _ = server.request("GET", "/v1/boxes")
    assert [b["name"] for b in boxes["boxes"]].count("api-imported") == 0


def test_clone_route(server, box):
    bid = box["box_id"]
    st, c, _ = server.request("POST", f"/v1/boxes/{bid}/clone", {"name": "api-clone"})
    assert st == 201, c
    assert c["name"] == "api-clone" and c["box_id"] != bid and c["status"] == "configured"
    expect_error(*server.request("POST", f"/v1/boxes/{bid}/clone", {"name": "api-clone"})[:2], 409, "already_exists")
    st, c2, _ = server.request("POST", f"/v1/boxes/{bid}/clone")
    assert st == 201 and c2["name"] is None
    assert server.request("POST", f"/v1/boxes/{bid}/start")[0] == 200
    st, c3, _ = server.request("POST", f"/v1/boxes/{bid}/clone", {})  # of the running box
    assert st == 201 and c3["box_id"] not in (bid, c["box_id"], c2["box_id"]), c3
    for x in (c, c2, c3):
        assert server.request("DELETE", f"/v1/boxes/{x['box_id']}")[0] == 204
