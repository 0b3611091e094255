"""The reference host's JSON service, over real sockets: waitress in front of the app, the
sandbox and a second API behind it. No part of the service is replaced."""
from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from influx_connector.host import build_app, start
from influx_connector.host.openapi import document
from influx_connector.host.security import COOKIE
from influx_connector.sandbox import Sandbox

from .conftest import BUCKET
from .helpers import TOKEN
from .hostkit import Client, ndjson
from .test_extension import PING as PING_OPERATION
from .test_second_manifest import KEY as NOTES_KEY
from .test_second_manifest import NOTES, notes_server  # noqa: F401 (a fixture)

WRONG = "not-the-token-0000"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[Client, object]]:
    app = build_app(tmp_path / "host.sqlite3", sources=[NOTES], operation_dirs=[tmp_path / "ext"])
    with start(app) as running:
        yield Client(running.url, running.key), running


def influx_values(sandbox: Sandbox, token: str = TOKEN) -> dict:
    return {**sandbox.connection_settings, "token": token}


def test_every_hosted_data_source_is_listed_with_its_forms_operations_in_order_and_chart_hint(service) -> None:
    client, _ = service
    types = {t["id"]: t for t in client.get("/api/data-source-types").json()}
    assert {"influxdb", "notes"} <= set(types)
    influx = types["influxdb"]
    assert [o["id"] for o in influx["operations"]][:4] == ["write_data", "query_data", "generate_ast", "query_suggestions"]
    assert "token" in influx["secret_fields"] and "token" in influx["connection"]["schema"]["properties"]
    query = next(o for o in influx["operations"] if o["id"] == "query_data")
    assert query["title"] == "Query data" and query["result"]["chart"]["time"] == "_time"
    assert query["form"]["schema"]["properties"]["query"]["type"] == "string"
    assert [o["id"] for o in types["notes"]["operations"]] == ["add_note", "get_note", "list_notes"]
    assert types["notes"]["secret_fields"] == ["api_key"]


def test_a_saved_data_source_keeps_its_secret_write_only_and_encrypted_at_rest(service, sandbox, tmp_path) -> None:
    client, _ = service
    saved = client.save_source("local", "influxdb", influx_values(sandbox))
    assert saved["secrets"] == {"token": "configured"} and "token" not in saved["values"]
    for path in ("/api/data-sources", f"/api/data-sources/{saved['id']}"):
        assert TOKEN not in client.get(path).text
    # A change that leaves the token out keeps it: the connection still passes its test.
    changed = client.put(f"/api/data-sources/{saved['id']}", {"name": "renamed", "values": {
        k: v for k, v in influx_values(sandbox).items() if k != "token"}})
    assert changed.status_code == 200 and changed.json()["name"] == "renamed" and changed.json()["revision"] == 2
    assert client.post(f"/api/data-sources/{saved['id']}/test").json()["ok"] is True
    raw = (tmp_path / "host.sqlite3").read_bytes() + b"".join(
        p.read_bytes() for p in tmp_path.glob("host.sqlite3-*"))
    assert TOKEN.encode() not in raw
    key = tmp_path / "host.sqlite3.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    with sqlite3.connect(tmp_path / "host.sqlite3") as db:
        sealed = db.execute("SELECT secret FROM data_sources").fetchone()[0]
    from cryptography.fernet import Fernet

    assert json.loads(Fernet(key.read_bytes().strip()).decrypt(sealed)) == {"token": TOKEN}
    assert client.delete(f"/api/data-sources/{saved['id']}").status_code == 204
    gone = client.get(f"/api/data-sources/{saved['id']}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "data_source_not_found"


def test_a_wrong_token_fails_the_test_at_the_token_step_and_a_replaced_one_passes(service, sandbox) -> None:
    client, _ = service
    saved = client.save_source("wrong", "influxdb", influx_values(sandbox, WRONG))
    report = client.post(f"/api/data-sources/{saved['id']}/test").json()
    steps = {s["name"]: s for s in report["steps"]}
    assert report["ok"] is False and steps["reachable"]["status"] == "passed"
    assert steps["token"]["status"] == "failed" and "401" in steps["token"]["message"]
    client.put(f"/api/data-sources/{saved['id']}", {"values": influx_values(sandbox)})
    assert client.post(f"/api/data-sources/{saved['id']}/test").json()["ok"] is True


def test_bad_connection_values_are_refused_by_field_and_nothing_is_saved(service) -> None:
    client, _ = service
    answer = client.post("/api/data-sources", {"name": "bad", "type": "influxdb",
                                               "values": {"host": "localhost", "port": 99999, "token": "abcd"}})
    error = answer.json()["error"]
    assert answer.status_code == 422 and error["code"] == "invalid_input" and "port" in error["by_field"]
    assert client.get("/api/data-sources").json() == []
    unknown = client.post("/api/data-sources", {"name": "x", "type": "nope", "values": {}})
    assert unknown.status_code == 404 and "nope" in unknown.json()["error"]["message"]


def test_run_render_and_errors_by_field_and_from_the_server(service, sandbox) -> None:
    client, _ = service
    sid = client.save_source("local", "influxdb", influx_values(sandbox))["id"]
    wrote = client.post("/api/run", {"data_source": sid, "operation": "write_data",
                                     "params": {"data": "m,host=a v=1 1000000000\nm,host=b v=2 1000000000"}})
    assert wrote.status_code == 200 and wrote.json()["status"] == 204 and wrote.json()["data"]["points"] == 2
    rendered = client.post("/api/render", {"data_source": sid, "operation": "list_buckets", "params": {"limit": 3}})
    assert rendered.json()["curl"].startswith("curl ") and "Token ****" in rendered.json()["curl"]
    assert TOKEN not in rendered.text
    sent = len(sandbox.requests)
    bad = client.post("/api/run", {"data_source": sid, "operation": "list_buckets", "params": {"limit": "lots"}})
    assert bad.status_code == 422 and list(bad.json()["error"]["by_field"]) == ["limit"]
    assert len(sandbox.requests) == sent, "a refused input must send nothing"
    refused = client.post("/api/run", {"data_source": sid, "operation": "write_data", "params": {"data": "no fields"}})
    error = refused.json()["error"]
    assert refused.status_code == 502 and error["upstream"]["status"] == 400 and error["upstream"]["code"] == "invalid"
    missing = client.post("/api/run", {"data_source": sid, "operation": "nothing_like_it"})
    assert missing.status_code == 404 and "nothing_like_it" in missing.json()["error"]["message"]


def test_rows_stream_as_ndjson_and_the_last_record_says_whether_a_limit_cut_them(service, sandbox) -> None:
    client, _ = service
    sid = client.save_source("local", "influxdb", influx_values(sandbox))["id"]
    lines = "\n".join(f"m,host=h{i % 3} v={i} {i + 1}000000000" for i in range(50))
    client.post("/api/run", {"data_source": sid, "operation": "write_data", "params": {"data": lines}})
    query = {"query": f'from(bucket: "{BUCKET}") |> range(start: 0)'}
    whole = client.post("/api/stream", {"data_source": sid, "operation": "query_data", "params": query})
    assert whole.headers["Content-Type"] == "application/x-ndjson"
    records = ndjson(whole.text)
    assert len(records) == 51 and records[-1] == {"end": {"rows": 50, "truncated": False}}
    assert sorted(r["row"]["_value"] for r in records[:-1]) == [float(i) for i in range(50)]
    cut = ndjson(client.post("/api/stream", {"data_source": sid, "operation": "query_data", "params": query,
                                             "limit": 7}).text)
    assert len(cut) == 8 and cut[-1] == {"end": {"rows": 7, "truncated": True}}


def test_a_batched_write_reports_progress_then_its_result(service, sandbox) -> None:
    client, _ = service
    sid = client.save_source("local", "influxdb", influx_values(sandbox))["id"]
    records = [{"measurement": "m", "tags": {"k": str(i % 4)}, "fields": {"v": i}, "time": i + 1} for i in range(60)]
    answer = client.post("/api/run", {"data_source": sid, "operation": "write_data", "progress": True,
                                      "params": {"data": records, "batch_size": 10, "precision": "s"}})
    out = ndjson(answer.text)
    progress = [r["progress"] for r in out if "progress" in r]
    assert len(progress) == 6 and out[-1]["result"]["data"]["points"] == 60
    assert [p["records"] for p in progress] == [10, 20, 30, 40, 50, 60]
    assert {p["records_total"] for p in progress} == {60}


def test_saved_queries_are_kept_run_and_survive_a_restart(tmp_path, sandbox) -> None:
    db = tmp_path / "host.sqlite3"
    with start(build_app(db)) as running:
        client = Client(running.url, running.key)
        sid = client.save_source("local", "influxdb", influx_values(sandbox))["id"]
        body = {"name": "buckets", "data_source": sid, "operation": "list_buckets", "params": {"limit": 5}}
        saved = client.post("/api/queries", body)
        assert saved.status_code == 201
        again = client.post("/api/queries", body)
        assert again.status_code == 409 and again.json()["error"]["by_field"] == {"name": [again.json()["error"]["message"]]}
        invalid = client.post("/api/queries", {**body, "name": "bad", "params": {"limit": -3}})
        assert invalid.status_code == 422 and "limit" in invalid.json()["error"]["by_field"]
    with start(build_app(db)) as running:  # a new process over the same file and key
        client = Client(running.url, running.key)
        queries = client.get("/api/queries").json()
        assert [q["name"] for q in queries] == ["buckets"]
        ran = client.post(f"/api/queries/{queries[0]['id']}/run")
        assert ran.status_code == 200 and BUCKET in [b["name"] for b in ran.json()["data"]["buckets"]]
        changed = client.put(f"/api/queries/{queries[0]['id']}", {**body, "params": {"limit": 1, "name": BUCKET}})
        assert changed.json()["params"] == {"limit": 1, "name": BUCKET}
        assert client.delete(f"/api/queries/{queries[0]['id']}").status_code == 204
        assert client.get("/api/queries").json() == []


def test_two_services_share_one_database_and_see_each_others_changes(tmp_path, sandbox) -> None:
    db = tmp_path / "shared.sqlite3"
    with start(build_app(db)) as one, start(build_app(db)) as two:
        a, b = Client(one.url, one.key), Client(two.url, two.key)
        sid = a.save_source("shared", "influxdb", influx_values(sandbox, WRONG))["id"]
        assert b.post(f"/api/data-sources/{sid}/test").json()["ok"] is False  # b opens a connection with it
        a.put(f"/api/data-sources/{sid}", {"values": influx_values(sandbox)})
        assert b.post("/api/run", {"data_source": sid, "operation": "list_buckets"}).status_code == 200


def test_the_second_manifest_is_hosted_and_run_like_any_other(service, notes_server) -> None:
    client, _ = service
    notes_port = notes_server[0]
    sid = client.save_source("notes", "notes", {"host": "127.0.0.1", "port": notes_port, "api_key": NOTES_KEY})["id"]
    assert client.post(f"/api/data-sources/{sid}/test").json()["ok"] is True
    added = client.post("/api/run", {"data_source": sid, "operation": "add_note", "params": {"text": "hi", "tags": ["x"]}})
    assert added.json()["status"] == 201 and added.json()["data"]["text"] == "hi"
    listed = client.post("/api/run", {"data_source": sid, "operation": "list_notes"}).json()
    assert [n["text"] for n in listed["data"]["notes"]] == ["hi"]
    assert NOTES_KEY not in json.dumps(client.get("/api/data-sources").json())


def test_an_operation_dropped_into_the_extension_folder_appears_without_a_restart(service, sandbox, tmp_path) -> None:
    client, running = service
    sid = client.save_source("local", "influxdb", influx_values(sandbox))["id"]
    ext = tmp_path / "ext"
    ext.mkdir()
    (ext / "ping_server.yaml").write_text(PING_OPERATION)
    influx = next(t for t in client.get("/api/data-source-types").json() if t["id"] == "influxdb")
    assert "ping_server" in [o["id"] for o in influx["operations"]]
    ran = client.post("/api/run", {"data_source": sid, "operation": "ping_server"})
    assert ran.status_code == 200 and ran.json()["status"] == 204


# --- the guard ----------------------------------------------------------------------------------------


def test_the_access_key_is_required_and_the_page_url_sets_a_cookie(service) -> None:
    client, running = service
    anonymous = Client(running.url, None)
    for path in ("/api/data-sources", "/api/openapi.json", "/static/app.js"):
        assert anonymous.get(path).status_code == 401
    assert Client(running.url, "wrong-key").get("/api/data-sources").status_code == 401
    page = anonymous.get("/")
    assert page.status_code == 401 and running.key not in page.text
    first = anonymous.get(f"/?key={running.key}", allow_redirects=False)
    assert first.status_code == 303 and first.headers["Location"] == "/"
    assert "HttpOnly" in first.headers["Set-Cookie"] and "SameSite=Strict" in first.headers["Set-Cookie"]
    assert anonymous.session.cookies.get(COOKIE) == running.key
    assert anonymous.get("/").status_code == 200 and anonymous.get("/api/data-sources").status_code == 200
    assert anonymous.get("/?key=guess").status_code == 403


def test_foreign_host_and_origin_are_refused_and_cors_is_off_unless_configured(service, tmp_path) -> None:
    client, running = service
    assert client.get("/api/data-sources", headers={"Host": "attacker.example"}).status_code == 403
    assert client.get("/api/data-sources", headers={"Host": f"localhost:{running.port}"}).status_code == 200
    cross = client.post("/api/data-sources", {"name": "x"}, headers={"Origin": "https://attacker.example"})
    assert cross.status_code == 403 and cross.json()["error"]["code"] == "foreign_origin"
    fetched = client.get("/api/data-sources", headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"})
    assert fetched.status_code == 403
    own = client.get("/api/data-sources", headers={"Origin": running.url})
    assert own.status_code == 200 and "Access-Control-Allow-Origin" not in own.headers
    with start(build_app(tmp_path / "cors.sqlite3", cors_origins=["https://app.example"])) as other:
        c = Client(other.url, other.key)
        allowed = c.call("OPTIONS", "/api/run", headers={"Origin": "https://app.example"})
        assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example"
        assert c.get("/api/data-sources", headers={"Origin": "https://elsewhere.example"}).status_code == 403


def test_bodies_are_capped_and_must_be_json(tmp_path) -> None:
    with start(build_app(tmp_path / "cap.sqlite3", max_body=1000)) as running:
        client = Client(running.url, running.key)
        big = client.post("/api/run", {"data_source": "x", "operation": "y", "params": {"data": "z" * 5000}})
        assert big.status_code == 413
        form = client.call("POST", "/api/run", data="a=b", headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert form.status_code == 415


def test_the_openapi_document_is_valid_and_lists_exactly_the_routes_served(service) -> None:
    from openapi_spec_validator import validate

    client, running = service
    served = client.get("/api/openapi.json").json()
    assert served == json.loads(json.dumps(document()))
    validate(served)
    documented = {(m.upper(), p) for p, item in served["paths"].items() for m in item if m != "parameters"}
    routes = {(method, pattern.pattern.strip("^$").replace("(?P<id>[A-Za-z0-9_-]{1,64})", "{id}"))
              for method, pattern, _ in running.app.routes if pattern.pattern.startswith("^/api/")}
    assert documented == routes


@contextmanager
def serve_process(*args: str, env: dict[str, str]) -> Iterator[str]:
    """``influx-connector serve`` in a child process; yields the keyed address it prints."""
    proc = subprocess.Popen([sys.executable, "-m", "influx_connector", "serve", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **env})
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            assert line, proc.stderr.read()  # type: ignore[union-attr]
            if "?key=" in line:
                url = line.strip()
        assert url is not None and url.startswith("http://127.0.0.1:")
        yield url
    finally:
        proc.terminate()
        proc.wait(30)
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


def test_serve_hosts_a_data_source_given_by_path_and_reads_no_influx_variables(tmp_path, notes_server) -> None:
    from .test_second_manifest import INFLUX_VARIABLES

    notes_port = notes_server[0]
    env = {**INFLUX_VARIABLES, "XDG_DATA_HOME": str(tmp_path)}
    with serve_process("--data-source", str(NOTES), "--db", str(tmp_path / "h.sqlite3"), env=env) as url:
        session = requests.Session()
        assert session.get(url, timeout=30).status_code == 200
        base = url.split("/?key=")[0]
        types = session.get(base + "/api/data-source-types", timeout=30)
        assert {"notes", "influxdb"} <= {t["id"] for t in types.json()}
        assert INFLUX_VARIABLES["INFLUX_TOKEN"] not in types.text and "influx.example" not in types.text
        saved = session.post(base + "/api/data-sources", json={"name": "n", "type": "notes", "values": {
            "host": "127.0.0.1", "port": notes_port, "api_key": NOTES_KEY}}, timeout=30).json()
        assert saved["values"] == {"host": "127.0.0.1", "port": notes_port}
        assert session.post(base + f"/api/data-sources/{saved['id']}/test", timeout=30).json()["ok"] is True
    assert stat.S_IMODE((tmp_path / "h.sqlite3.key").stat().st_mode) == 0o600


def test_serve_sandbox_prints_a_keyed_address_and_has_its_data_source_saved(tmp_path) -> None:
    with serve_process("--sandbox", env={"XDG_DATA_HOME": str(tmp_path)}) as url:
        session = requests.Session()
        assert session.get(url, timeout=30).status_code == 200
        base = url.split("/?key=")[0]
        sources = {s["name"]: s for s in session.get(base + "/api/data-sources", timeout=30).json()}
        assert list(sources) == ["InfluxDB sandbox", "InfluxDB sandbox, API v3"]
        v2, v3 = sources["InfluxDB sandbox"], sources["InfluxDB sandbox, API v3"]
        assert v2["secrets"] == v3["secrets"] == {"token": "configured"}
        # The default sandbox was tested at start: its API is known, and only its operations listed.
        assert v2["values"].get("api", "auto") == "auto" and v2["detected"] == {"api": "v2"}
        assert v3["values"]["api"] == "v3"
        for source, mine, other in ((v2, "query_data", "query_sql"), (v3, "query_sql", "query_data")):
            report = session.post(base + f"/api/data-sources/{source['id']}/test", timeout=30).json()
            assert report["ok"] is True, report
            listed = session.get(base + f"/api/data-sources/{source['id']}/operations", timeout=30).json()
            available = {o["id"] for o in listed["operations"] if o["available"]}
            assert mine in available and other not in available
        assert not list(tmp_path.rglob("*.sqlite3")), "--sandbox keeps nothing on disk"


def test_serve_names_a_port_in_use_and_what_to_do(capsys, tmp_path) -> None:
    import socket

    from influx_connector.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["serve", "--port", str(port), "--db", str(tmp_path / "h.sqlite3")])
    out, err = capsys.readouterr()
    assert code == 2 and f"port {port} on 127.0.0.1 is already in use" in err and "--port 0" in err


def test_concurrent_clients_each_get_their_own_answer(service, sandbox) -> None:
    import threading

    client, running = service
    sid = client.save_source("local", "influxdb", influx_values(sandbox))["id"]
    for index in range(8):
        made = client.post("/api/run", {"data_source": sid, "operation": "create_bucket",
                                        "params": {"name": f"client-{index}"}})
        assert made.status_code == 200, made.text
    wrong: list[str] = []

    def ask(index: int) -> None:
        own = Client(running.url, running.key)
        for _ in range(15):
            answer = own.post("/api/run", {"data_source": sid, "operation": "list_buckets",
                                           "params": {"name": f"client-{index}"}})
            names = [b["name"] for b in answer.json()["data"]["buckets"]] if answer.ok else answer.text
            if names != [f"client-{index}"]:
                wrong.append(f"client-{index} got {names}")

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
