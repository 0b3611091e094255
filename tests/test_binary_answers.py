"""An answer given as bytes (InfluxDB 3's Parquet) reaches a person and a host program whole: the
command line's JSON carries it in the documented shape, --output writes it to a file exactly,
and a terminal never gets raw bytes."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from influx_connector import cli
from influx_connector.binary import BINARY_KEY, binary_json, from_binary_json
from influx_connector.sandbox import Sandbox

from .conftest import assert_contract_kept
from .helpers import TOKEN
from .hostile import HostileServer, reply
from .hostkit import Client, ndjson

DB = "plant"
LINES = "\n".join(f"meter,site={site} kwh={i}.5 {1_700_000_000 + 60 * i}" for i, site in enumerate("abcab"))
SQL = "SELECT * FROM meter ORDER BY time"
PARQUET = "application/vnd.apache.parquet"


@pytest.fixture(scope="module")
def sandbox3() -> Iterator[Sandbox]:
    with Sandbox(token=TOKEN, api="v3", bucket=None) as sb:
        from influx_connector import api

        with api.connect({**sb.connection_settings, "api": "v3", "database": DB}) as conn:
            conn.run("create_database", {"db": DB})
            conn.run("write_lp", {"data": LINES, "precision": "second"})
        yield sb
    assert_contract_kept(sb)


@pytest.fixture
def env3(sandbox3: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    for name, value in cli_env(sandbox3).items():
        monkeypatch.setenv(name, value)
    return sandbox3


def cli_env(sb: Sandbox) -> dict[str, str]:
    return {"INFLUX_HOST": sb.url, "INFLUX_TOKEN": TOKEN, "INFLUX_API": "v3", "INFLUX_DATABASE": DB}


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def parquet_args(fmt: str = "parquet") -> list[str]:
    return ["run", "query_sql", "-p", f"q={SQL}", "-p", f"format={fmt}"]


def answered(sb: Sandbox) -> bytes:
    """The body of the sandbox's last query answer, as it went over the wire."""
    return next(r.body for q, r in zip(reversed(sb.requests), reversed(sb.responses))
                if q.path == "/api/v3/query_sql")


def test_the_shape_is_lossless_and_names_size_and_media_type() -> None:
    raw = bytes(range(256)) * 3
    shaped = binary_json(raw, PARQUET)
    assert shaped == {BINARY_KEY: {"base64": base64.b64encode(raw).decode(), "size": 768, "content_type": PARQUET}}
    assert from_binary_json(json.loads(json.dumps(shaped))) == raw
    assert "content_type" not in binary_json(b"x")[BINARY_KEY]
    assert from_binary_json({"base64": "eA=="}) is None and from_binary_json([raw]) is None


def test_json_output_carries_the_bytes_whole_with_their_media_type(env3: Sandbox, capsys) -> None:
    code, out, err = run_cli(capsys, *parquet_args())
    assert code == 0, err
    printed = json.loads(out)
    wire = answered(env3)
    assert wire.startswith(b"PAR1") and wire.endswith(b"PAR1")
    assert printed["data"][BINARY_KEY]["size"] == len(wire)
    assert printed["data"][BINARY_KEY]["content_type"] == PARQUET
    assert printed["meta"]["content_type"] == PARQUET
    assert from_binary_json(printed["data"]) == wire
    # The envelope hosts of the Insight² model read carries the same shape.
    code, out, err = run_cli(capsys, *parquet_args(), "--envelope")
    assert code == 0, err
    assert from_binary_json(json.loads(out)["data"]) == answered(env3)


def test_a_table_says_what_the_bytes_are_instead_of_printing_them(env3: Sandbox, capsys) -> None:
    code, out, err = run_cli(capsys, *parquet_args(), "--format", "table")
    assert code == 0, err
    assert out == f"binary answer: {len(answered(env3)):,} bytes ({PARQUET}); give --output FILE to save it\n"


def test_output_writes_the_bytes_exactly_and_prints_a_summary(env3: Sandbox, capsys, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    target = tmp_path / "answer.parquet"
    target.write_bytes(b"an older file, replaced whole")
    code, out, err = run_cli(capsys, *parquet_args(), "--output", str(target))
    assert code == 0, err
    wire = answered(env3)
    assert target.read_bytes() == wire
    assert pq.read_table(target).num_rows == 5
    summary = json.loads(out)
    assert summary["output"] == {"path": str(target), "size": len(wire), "kind": "bytes", "content_type": PARQUET}
    assert summary["status"] == 200 and "data" not in summary
    assert [p.name for p in tmp_path.iterdir()] == ["answer.parquet"]  # no temporary file left behind
    assert target.stat().st_mode & 0o777 == 0o666 & ~_umask()

    code, out, err = run_cli(capsys, *parquet_args(), "-o", str(target), "--format", "table")
    assert code == 0, err
    assert out == f"wrote {len(wire):,} bytes ({PARQUET}) to {target}\n"


def _umask() -> int:
    mask = os.umask(0o22)
    os.umask(mask)
    return mask


def test_output_writes_text_as_utf8_and_rows_as_json(env3: Sandbox, capsys, tmp_path: Path) -> None:
    csv_file, rows_file = tmp_path / "answer.csv", tmp_path / "rows.json"
    code, out, err = run_cli(capsys, *parquet_args("csv"), "-o", str(csv_file), "--format", "table")
    assert code == 0, err
    assert csv_file.read_bytes() == answered(env3)
    assert csv_file.read_text(encoding="utf-8").splitlines()[0] == "time,site,kwh"
    assert out == f"wrote {csv_file.stat().st_size:,} bytes of text to {csv_file}\n"
    code, out, err = run_cli(capsys, *parquet_args("json"), "-o", str(rows_file))
    assert code == 0, err
    assert json.loads(rows_file.read_text(encoding="utf-8"))[0] == {"time": "2023-11-14T22:13:20", "site": "a",
                                                                    "kwh": 0.5}
    assert json.loads(out)["output"]["kind"] == "json"


@pytest.mark.parametrize("case", ["symlink", "folder", "no-folder"])
def test_a_bad_output_path_is_refused_before_anything_is_sent(env3: Sandbox, capsys, tmp_path: Path,
                                                              case: str) -> None:
    elsewhere = tmp_path / "elsewhere.parquet"
    if case == "symlink":
        target = tmp_path / "link.parquet"
        target.symlink_to(elsewhere)
        expected = f"error: --output {target}: is a symbolic link"
    elif case == "folder":
        target = tmp_path
        expected = f"error: --output {target}: is a folder"
    else:
        target = tmp_path / "missing" / "answer.parquet"
        expected = f"error: --output {target}: the folder {tmp_path / 'missing'} does not exist"
    sent = len(env3.requests)
    code, out, err = run_cli(capsys, *parquet_args(), "--output", str(target))
    assert code == 2 and out == ""
    assert err.startswith(expected), err
    assert len(env3.requests) == sent, "nothing may be sent when the result has nowhere to go"
    assert not elsewhere.exists()


def test_a_failed_write_names_the_file_leaves_the_old_one_and_exits_6(env3: Sandbox, capsys, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "answer.parquet"
    target.write_bytes(b"kept")

    def full(_fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)  # the disk fills while the answer is written
    code, out, err = run_cli(capsys, *parquet_args(), "--output", str(target))
    assert code == 6 and out == ""
    assert err.startswith(f"error: --output {target}: could not write the result: No space left on device; "
                          "the operation did run"), err
    assert target.read_bytes() == b"kept"
    assert [p.name for p in tmp_path.iterdir()] == ["answer.parquet"]


def test_output_dash_writes_to_a_pipe_and_refuses_a_terminal(sandbox3: Sandbox) -> None:
    env = {**os.environ, **cli_env(sandbox3)}
    argv = [sys.executable, "-m", "influx_connector", *parquet_args(), "--output", "-", "--format", "table"]
    done = subprocess.run(argv, env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == answered(sandbox3)
    assert done.stderr.decode() == f"wrote {len(done.stdout):,} bytes ({PARQUET}) to standard output\n"
    # On a terminal, nothing is sent and nothing written.
    import pty

    leader, follower = pty.openpty()
    try:
        sent = len(sandbox3.requests)
        done = subprocess.run(argv, env=env, stdout=follower, stderr=subprocess.PIPE, timeout=120)
    finally:
        os.close(follower)
        os.close(leader)
    assert done.returncode == 2
    assert done.stderr.decode().startswith("error: --output -: standard output is a terminal")
    assert len(sandbox3.requests) == sent


# --- the reference host's service -----------------------------------------------------------------------


@pytest.fixture
def service3(sandbox3: Sandbox, tmp_path: Path) -> Iterator[tuple[Client, str]]:
    from influx_connector.host import build_app, start

    with start(build_app(tmp_path / "host.sqlite3")) as running:
        client = Client(running.url, running.key)
        saved = client.save_source("influx3", "influxdb", {**sandbox3.connection_settings, "api": "v3",
                                                           "database": DB})
        yield client, saved["id"]


def as_documented(body: dict) -> dict:
    """``body``, checked against the served OpenAPI document's Result schema."""
    from influx_connector.host.openapi import document

    components = document()["components"]
    jsonschema.validate(body, {**components["schemas"]["Result"], "components": components})
    return body


def test_the_service_answers_bytes_in_the_documented_shape(sandbox3: Sandbox, service3) -> None:
    client, sid = service3
    run = {"data_source": sid, "operation": "query_sql", "params": {"q": SQL, "format": "parquet"}}
    answer = client.post("/api/run", run)
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"
    body = as_documented(answer.json())
    assert from_binary_json(body["data"]) == answered(sandbox3)
    assert body["data"][BINARY_KEY]["content_type"] == PARQUET and body["meta"]["content_type"] == PARQUET
    assert "b'PAR1" not in answer.text
    # A saved query, and a run that reports progress, give the same shape.
    query = client.post("/api/queries", {"name": "parquet", **run}).json()
    again = as_documented(client.post(f"/api/queries/{query['id']}/run").json())
    assert from_binary_json(again["data"]) == answered(sandbox3)
    records = ndjson(client.post("/api/run", {**run, "progress": True}).text)
    assert from_binary_json(as_documented(records[-1]["result"])["data"]) == answered(sandbox3)
    # Rows are not taken for bytes, and still match the document.
    rows = as_documented(client.post("/api/run", {**run, "params": {"q": SQL, "format": "json"}}).json())
    assert rows["data"][0] == {"time": "2023-11-14T22:13:20", "site": "a", "kwh": 0.5}
    # The document refuses what is not the shape: the check can fail.
    with pytest.raises(jsonschema.ValidationError):
        as_documented({**body, "data": {BINARY_KEY: {"base64": "UEFSMQ=="}}})


@pytest.mark.parametrize("accept", ["application/octet-stream", PARQUET, f"application/json;q=0.5, {PARQUET}"])
def test_the_service_gives_the_bytes_themselves_when_asked(sandbox3: Sandbox, service3, accept: str) -> None:
    client, sid = service3
    run = {"data_source": sid, "operation": "query_sql", "params": {"q": SQL, "format": "parquet"}}
    answer = client.post("/api/run", run, headers={"Accept": accept})
    assert answer.status_code == 200
    assert answer.content == answered(sandbox3)
    assert answer.headers["Content-Type"] == PARQUET
    assert answer.headers["Content-Disposition"] == 'attachment; filename="query_sql.parquet"'
    assert answer.headers["X-Result-Status"] == "200" and answer.headers["X-Content-Type-Options"] == "nosniff"
    assert int(answer.headers["Content-Length"]) == len(answer.content)


def test_the_raw_answer_keeps_the_services_protections(sandbox3: Sandbox, service3) -> None:
    client, sid = service3
    run = {"data_source": sid, "operation": "query_sql", "params": {"q": SQL, "format": "parquet"}}
    raw = {"Accept": "application/octet-stream"}
    sent = len(sandbox3.requests)
    keyless = Client(client.url, None).post("/api/run", run, headers=raw)
    assert keyless.status_code == 401 and keyless.headers["Content-Type"] == "application/json"
    foreign = client.post("/api/run", run, headers={**raw, "Host": "attacker.example"})
    assert foreign.status_code == 403 and b"PAR1" not in foreign.content
    cross = client.post("/api/run", run, headers={**raw, "Origin": "https://attacker.example"})
    assert cross.status_code == 403 and b"PAR1" not in cross.content
    assert len(sandbox3.requests) == sent, "a refused call reaches no server"
    # q=0 declines the bytes; an answer that is not bytes is JSON whatever was asked.
    declined = client.post("/api/run", run, headers={"Accept": "application/octet-stream;q=0, application/json"})
    assert declined.headers["Content-Type"] == "application/json"
    rows = client.post("/api/run", {**run, "params": {"q": SQL, "format": "json"}}, headers=raw)
    assert rows.headers["Content-Type"] == "application/json" and len(rows.json()["data"]) == 5


def test_bytes_inside_rows_keep_the_shape_in_streams_and_tables() -> None:
    from influx_connector.host.streaming import rows_ndjson
    from influx_connector.secrets import Redactor

    rows = [{"name": "a", "blob": b"\x00\xffPAR1"}]
    lines = ndjson(b"".join(rows_ndjson(iter(rows), Redactor())).decode())
    assert from_binary_json(lines[0]["row"]["blob"]) == b"\x00\xffPAR1"
    assert lines[-1] == {"end": {"rows": 1, "truncated": False}}
    assert cli.rows_table(rows).splitlines()[2].split(None, 1) == ["a", "(6 bytes)"]


def test_a_page_of_an_allowed_origin_may_read_the_raw_answers_headers(sandbox3: Sandbox, tmp_path: Path) -> None:
    from influx_connector.host import build_app, start

    origin = "https://app.example"
    with start(build_app(tmp_path / "cors.sqlite3", cors_origins=[origin])) as running:
        client = Client(running.url, running.key)
        sid = client.save_source("influx3", "influxdb", {**sandbox3.connection_settings, "api": "v3",
                                                         "database": DB})["id"]
        answer = client.post("/api/run", {"data_source": sid, "operation": "query_sql",
                                          "params": {"q": SQL, "format": "parquet"}},
                             headers={"Origin": origin, "Accept": "application/octet-stream"})
        assert answer.content == answered(sandbox3)
        assert answer.headers["Access-Control-Allow-Origin"] == origin
        assert answer.headers["Access-Control-Expose-Headers"] == "Content-Disposition, X-Result-Status"


@pytest.mark.parametrize("given, served", [
    ("text/html; charset=utf-8", "application/octet-stream"),
    ("image/svg+xml", "application/octet-stream"),
    ("application/xhtml+xml", "application/octet-stream"),
    ("text/javascript", "application/octet-stream"),
    ("application/x-foo, text/html", "application/octet-stream"),
    ("text/csv; header=present", "text/csv"),
    ("APPLICATION/VND.APACHE.PARQUET", PARQUET),
])
def test_the_raw_answer_never_serves_what_a_browser_would_render(tmp_path: Path, given: str, served: str) -> None:
    """A data source's server picks the media type of its bytes; the service gives them from its
    own origin, so a type a browser renders or runs goes out as application/octet-stream."""
    from influx_connector.host import build_app, start

    page = b"<script>fetch('/api/data-sources')</script>"
    with HostileServer() as server, start(build_app(tmp_path / "host.sqlite3")) as running:
        server.on("/api/v3/query_sql", lambda _req: reply(200, page, content_type=given))
        client = Client(running.url, running.key)
        sid = client.save_source("hostile", "influxdb", {**server.settings(), "api": "v3", "database": DB})["id"]
        run = {"data_source": sid, "operation": "query_sql", "params": {"q": SQL, "format": "parquet"}}
        answer = client.post("/api/run", run, headers={"Accept": "application/octet-stream"})
    assert answer.status_code == 200 and answer.content == page
    assert answer.headers["Content-Type"] == served
    assert answer.headers["Content-Disposition"].startswith("attachment;")
