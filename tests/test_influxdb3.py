"""InfluxDB 3 through the connector: SQL and InfluxQL queries, line-protocol writes, databases and
tables, the connection's API (set, or found out by Test connection), on the sandbox playing an
InfluxDB 3 server. Every exchange is checked against InfluxDB 3 Core's OpenAPI contract."""
from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from influx_connector import api
from influx_connector.connection import Connection
from influx_connector.errors import APIError, DecodeError, ValidationError
from influx_connector.sandbox import Sandbox

from .conftest import assert_contract_kept
from .helpers import TOKEN

DB = "home"
T0 = 1_700_000_000  # 2023-11-14T22:13:20Z
RECORDS = [
    {"measurement": "air", "tags": {"room": room}, "fields": {"temp": temp, "hum": hum, "ok": ok}, "time": T0 + i * 60}
    for i, (room, temp, hum, ok) in enumerate([("kitchen", 20.5, 40, True), ("kitchen", 21.5, 41, True),
                                               ("living room", 19.0, 45, False), ("living room", 19.5, 44, True)])
]


@pytest.fixture
def sandbox3() -> Iterator[Sandbox]:
    with Sandbox(token=TOKEN, api="v3", bucket=None) as sb:
        yield sb
    assert_contract_kept(sb)


def connect(sb: Sandbox, **values: Any) -> Connection:
    return api.connect({**sb.connection_settings, "database": DB, "retries": 0, **values})


@pytest.fixture
def conn3(sandbox3: Sandbox) -> Iterator[Connection]:
    with connect(sandbox3, api="v3") as c:
        c.run("create_database", {"db": DB})
        c.run("write_lp", {"data": RECORDS, "precision": "second"})
        yield c


# --- queries ------------------------------------------------------------------------------------------


def test_sql_rows_come_typed_from_json_lines(conn3: Connection) -> None:
    result = conn3.run("query_sql", {"q": "SELECT time, room, temp, hum, ok FROM air ORDER BY time"})
    assert result.data == [
        {"time": "2023-11-14T22:13:20", "room": "kitchen", "temp": 20.5, "hum": 40, "ok": True},
        {"time": "2023-11-14T22:14:20", "room": "kitchen", "temp": 21.5, "hum": 41, "ok": True},
        {"time": "2023-11-14T22:15:20", "room": "living room", "temp": 19.0, "hum": 45, "ok": False},
        {"time": "2023-11-14T22:16:20", "room": "living room", "temp": 19.5, "hum": 44, "ok": True},
    ]
    assert "truncated" not in result.meta


def test_parameters_go_beside_the_query_never_into_it(sandbox3: Sandbox, conn3: Connection) -> None:
    hostile = "kitchen' OR '1'='1"
    rows = conn3.run("query_sql", {"q": "SELECT room, temp FROM air WHERE room = $room", "params": {"room": hostile}})
    assert rows.data == []
    rows = conn3.run("query_sql", {"q": "SELECT temp FROM air WHERE room = $room AND temp > $low ORDER BY temp",
                                   "params": '{"room": "kitchen", "low": 21}'})
    assert rows.data == [{"temp": 21.5}]
    sent = [json.loads(r.body) for r in sandbox3.requests if r.path == "/api/v3/query_sql"][-2:]
    assert sent[0] == {"db": DB, "q": "SELECT room, temp FROM air WHERE room = $room", "format": "jsonl",
                       "params": {"room": hostile}}
    assert sent[1]["params"] == {"room": "kitchen", "low": 21}


def test_every_format_decodes_as_documented(conn3: Connection) -> None:
    q = "SELECT room, temp FROM air WHERE temp > 21 ORDER BY time"
    assert conn3.run("query_sql", {"q": q, "format": "json"}).data == [{"room": "kitchen", "temp": 21.5}]
    assert conn3.run("query_sql", {"q": q, "format": "csv"}).data == "room,temp\nkitchen,21.5\n"
    # Parquet as bytes and as rows: tests/test_parquet.py (without pyarrow too).
    assert conn3.run("query_sql", {"q": q, "format": "parquet"}).data[:4] == b"PAR1"
    assert conn3.run("query_sql", {"q": q, "format": "parquet_rows"}).data == [{"room": "kitchen", "temp": 21.5}]


def test_limit_cuts_and_says_so_in_run_and_stream(conn3: Connection) -> None:
    result = conn3.run("query_sql", {"q": "SELECT temp FROM air ORDER BY time", "limit": 3})
    assert [r["temp"] for r in result.data] == [20.5, 21.5, 19.0]
    assert result.meta["truncated"] is True
    exact = conn3.run("query_sql", {"q": "SELECT temp FROM air", "limit": 4})
    assert len(exact.data) == 4 and "truncated" not in exact.meta
    with conn3.stream("query_sql", {"q": "SELECT temp FROM air ORDER BY time"}, limit=2) as rows:
        assert [r["temp"] for r in rows] == [20.5, 21.5]
        assert rows.truncated is True
    with conn3.stream("query_sql", {"q": "SELECT temp FROM air ORDER BY time", "format": "json"}) as rows:
        assert len(list(rows)) == 4 and rows.truncated is False


def test_sql_subset_aggregates_group_by_and_date_bin(conn3: Connection) -> None:
    rows = conn3.run("query_sql", {"q": (
        "SELECT date_bin(INTERVAL '1 hour', time) AS hour, room, avg(temp) AS mean, count(*) AS n, max(hum) AS top "
        "FROM air WHERE time >= '2023-11-14T22:00:00Z' AND time < TIMESTAMP '2023-11-14T23:00:00Z' "
        "GROUP BY hour, room ORDER BY room DESC LIMIT 5")}).data
    assert rows == [{"hour": "2023-11-14T22:00:00", "room": "living room", "mean": 19.25, "n": 2, "top": 45},
                    {"hour": "2023-11-14T22:00:00", "room": "kitchen", "mean": 21.0, "n": 2, "top": 41}]
    recent = conn3.run("query_sql", {"q": "SELECT count(*) AS n FROM air WHERE time > now() - INTERVAL '1 day'"})
    assert recent.data == [{"n": 0}]


@pytest.mark.parametrize(("sql", "named"), [
    ("SELECT * FROM air a JOIN air b ON a.time = b.time", "joins"),
    ("SELECT * FROM air a, air b", "joins"),
    ("SELECT * FROM (SELECT * FROM air)", "subqueries"),
    ("SELECT stddev(temp) FROM air", "stddev()"),
    ("DROP TABLE air", "DROP"),
    ("SELECT 1; SELECT 2", "more than one statement"),
])
def test_sql_outside_the_subset_is_a_400_that_names_it(conn3: Connection, sql: str, named: str) -> None:
    with pytest.raises(APIError) as caught:
        conn3.run("query_sql", {"q": sql})
    assert caught.value.status == 400 and named in str(caught.value)


def test_unknown_database_and_table_are_the_servers_errors(conn3: Connection) -> None:
    with pytest.raises(APIError) as caught:
        conn3.run("query_sql", {"db": "nodb", "q": "SELECT 1"})
    assert caught.value.status == 404 and "database not found: nodb" in str(caught.value)
    with pytest.raises(APIError) as caught:
        conn3.run("query_sql", {"q": "SELECT * FROM nope"})
    assert caught.value.status == 400 and "nope" in str(caught.value)


def test_influxql_rows_name_their_measurement(conn3: Connection) -> None:
    rows = conn3.run("query_influxql_v3", {"q": "SELECT temp FROM air WHERE room = $room", "params": {"room": "kitchen"},
                                           "format": "json"}).data
    assert rows == [{"iox::measurement": "air", "time": "2023-11-14T22:13:20", "temp": 20.5},
                    {"iox::measurement": "air", "time": "2023-11-14T22:14:20", "temp": 21.5}]


# --- writes -----------------------------------------------------------------------------------------


def test_write_batches_gzip_and_stamps_like_write_data(sandbox3: Sandbox, conn3: Connection) -> None:
    data = [{"measurement": "big", "tags": {"n": str(i % 7)}, "fields": {"v": float(i), "pad": "x" * 40},
             "time": T0 + i} for i in range(300)]
    result = conn3.run("write_lp", {"data": data, "batch_size": 100, "precision": "second", "no_sync": True})
    assert result.data["points"] == 300 and result.data["compressed"] is True
    assert result.meta["sent"]["batches"] == 3
    writes = [r for r in sandbox3.requests if r.path == "/api/v3/write_lp"][-3:]
    assert all(r.headers.get("Content-Encoding") == "gzip" for r in writes)
    assert dict(writes[0].query) == {"db": DB, "precision": "second", "accept_partial": "true", "no_sync": "true"}
    assert gzip.decompress(writes[0].body).count(b"\n") == 99
    assert conn3.run("query_sql", {"q": "SELECT count(*) AS n FROM big"}).data == [{"n": 300}]


def test_a_batch_too_large_is_halved_until_it_fits() -> None:
    with Sandbox(token=TOKEN, api="v3", bucket=None, max_body_bytes=2_000) as sb:
        with connect(sb, api="v3") as conn:
            data = "\n".join(f"m,k=v f={i}i {T0 + i}" for i in range(200))  # ~5 KB, gzip off below 4 KiB
            result = conn.run("write_lp", {"data": data, "batch_size": 200, "precision": "second"})
            assert result.data["points"] == 200 and result.meta["sent"]["splits"] >= 1
            assert conn.run("query_sql", {"q": "SELECT count(*) AS n FROM m"}).data == [{"n": 200}]
    assert_contract_kept(sb)


def test_rejected_lines_are_reported_line_by_line(conn3: Connection) -> None:
    text = "air,room=attic temp=30 1700000000\nair,room=attic temp=\nair,room=attic temp=\"hot\" 1700000001"
    with pytest.raises(APIError) as caught:
        conn3.run("write_lp", {"data": text, "precision": "second"})
    details = caught.value.details
    assert details["partial_write"] is True and details["records_written"] == 1
    assert [(r["line"], r["line_number"], r["record"]) for r in details["rejected_lines"]] == [
        ("air,room=attic temp=", 2, 1), ('air,room=attic temp="hot" 1700000001', 3, 2)]
    assert "expected float64, got utf8" in details["rejected_lines"][1]["reason"]
    assert conn3.run("query_sql", {"q": "SELECT temp FROM air WHERE room = 'attic'"}).data == [{"temp": 30.0}]


def test_without_accept_partial_nothing_is_written(conn3: Connection) -> None:
    with pytest.raises(APIError) as caught:
        conn3.run("write_lp", {"data": "cellar temp=1 1700000000\ncellar temp=", "accept_partial": False})
    assert caught.value.status == 400 and "parsing failed" in str(caught.value)
    assert caught.value.details["rejected_lines"][0]["line_number"] == 2
    with pytest.raises(APIError):
        conn3.run("query_sql", {"q": "SELECT * FROM cellar"})


def test_auto_precision_reads_each_timestamp_by_its_size(conn3: Connection) -> None:
    conn3.run("write_lp", {"data": "p v=1 1700000000\np v=2 1700000001000\np v=3 1700000002000000000"})
    times = [r["time"] for r in conn3.run("query_sql", {"q": "SELECT time FROM p ORDER BY time"}).data]
    assert times == ["2023-11-14T22:13:20", "2023-11-14T22:13:21", "2023-11-14T22:13:22"]


# --- databases and tables ----------------------------------------------------------------------------


def test_databases_are_listed_created_and_deleted(conn3: Connection) -> None:
    assert conn3.run("list_databases").data == [{"iox::database": DB}]
    conn3.run("create_database", {"db": "other-1", "retention_period": "30d"})
    with pytest.raises(APIError) as caught:
        conn3.run("create_database", {"db": "other-1"})
    assert caught.value.status == 409
    assert conn3.run("delete_database", {"db": "other-1"}).data == {"db": "other-1", "deleted": True}
    assert conn3.run("list_databases").data == [{"iox::database": DB}]
    shown = conn3.run("list_databases", {"show_deleted": True}).data
    assert {"iox::database": DB, "deleted": False} in shown
    assert any(r["iox::database"].startswith("other-1-") and r["deleted"] is True for r in shown)
    conn3.run("delete_database", {"db": DB, "hard_delete_at": "now"})
    assert conn3.run("list_databases", {"show_deleted": True}).data == [r for r in shown if r["deleted"]]


def test_a_database_name_the_server_refuses_is_refused_before_sending(sandbox3: Sandbox, conn3: Connection) -> None:
    before = len(sandbox3.requests)
    with pytest.raises(ValidationError) as caught:
        conn3.run("create_database", {"db": "my_db"})
    assert caught.value.by_field().keys() == {"db"}
    with pytest.raises(ValidationError) as caught:
        conn3.run("delete_database", {"db": DB, "hard_delete_at": "tomorrow"})
    assert caught.value.by_field().keys() == {"hard_delete_at"}
    assert len(sandbox3.requests) == before


def test_tables_are_created_with_typed_columns_and_deleted(conn3: Connection) -> None:
    conn3.run("create_table", {"table": "meter", "tags": ["site"], "fields": [{"name": "kwh", "type": "float64"}]})
    assert conn3.run("query_sql", {"q": "SELECT * FROM meter"}).data == []
    with pytest.raises(APIError) as caught:  # the declared type holds for writes
        conn3.run("write_lp", {"data": "meter,site=a kwh=\"many\" 1700000000"})
    assert "expected float64" in caught.value.details["rejected_lines"][0]["reason"]
    conn3.run("delete_table", {"table": "meter"})
    with pytest.raises(APIError) as caught:
        conn3.run("delete_table", {"table": "meter"})
    assert caught.value.status == 404


# --- the connection's API ------------------------------------------------------------------------------


def test_auto_is_found_out_by_test_connection_with_v3_steps(sandbox3: Sandbox) -> None:
    with connect(sandbox3) as conn:
        assert len(conn.operations()) == len(conn.connector.operations)  # not known yet: all apply
        report = conn.test()
        assert [(s.name, s.status) for s in report.steps] == [
            ("reachable", "passed"), ("token", "passed"), ("database", "failed")]
        assert report.steps[0].message.startswith("HTTP 200; api v3 (X-Influxdb-Version: 3.")
        assert "database not found: home" in report.steps[2].message
        ids = [op.id for op in conn.operations()]
        assert "query_sql" in ids and "write_lp" in ids and "ping" in ids and "query_influxql" in ids
        assert "query_data" not in ids and "list_buckets" not in ids
        conn.run("create_database", {"db": DB})
        assert conn.test().ok


def test_auto_finds_a_v2_server_and_keeps_its_steps(sandbox: Sandbox) -> None:
    with api.connect(sandbox.connection_settings) as conn:
        report = conn.test()
        assert report.ok and [s.name for s in report.steps] == ["reachable", "token", "org", "bucket"]
        assert report.steps[0].message.startswith("HTTP 204; api v2 (")
        assert "query_sql" not in [op.id for op in conn.operations()]


def test_an_operation_for_the_other_api_is_refused_before_sending(sandbox3: Sandbox) -> None:
    with connect(sandbox3, api="v3") as conn:
        before = len(sandbox3.requests)
        with pytest.raises(ValidationError) as caught:
            conn.run("query_data", {"query": "buckets()", "org": "o"})
        message = " ".join(caught.value.by_field()["api"])
        assert "needs API v2" in message and "speaks API v3" in message
        assert len(sandbox3.requests) == before
    with connect(sandbox3, api="v2") as conn:
        with pytest.raises(ValidationError) as caught:
            conn.render("query_sql", {"q": "SELECT 1"})
        assert "needs API v3" in " ".join(caught.value.by_field()["api"])


def test_v3_requests_carry_the_bearer_scheme(sandbox3: Sandbox, conn3: Connection) -> None:
    conn3.run("ping")
    schemes = {(r.path, r.headers.get("Authorization", "").split(" ")[0]) for r in sandbox3.requests}
    assert {s for p, s in schemes if p.startswith("/api/v3/")} == {"Bearer"}
    assert ("/ping", "Token") in schemes  # ping is for any server: the scheme every one of them takes
    assert TOKEN not in repr(conn3.render("query_sql", {"q": "SELECT 1"}).to_dict())


def test_health_and_ping(conn3: Connection) -> None:
    assert conn3.run("health_v3").data == "OK"
    ping = conn3.run("ping").data
    assert ping["build"] == "Core" and ping["version"].startswith("3.") and "process_id" in ping


def test_ping_on_a_v2_server_gives_its_headers(conn: Connection) -> None:
    data = conn.run("ping").data
    assert data["version"].startswith("v2.") and set(data) <= {"version", "build"}


# --- the command line ---------------------------------------------------------------------------------


def test_the_command_line_runs_v3_operations(sandbox3: Sandbox, conn3: Connection,
                                             capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from influx_connector.cli import main

    for name in ("INFLUX_HOST", "INFLUX_TOKEN", "INFLUX_ORG", "INFLUX_BUCKET", "INFLUX_DATABASE", "INFLUX_API"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INFLUX_TOKEN", TOKEN)
    monkeypatch.setenv("INFLUX_DATABASE", DB)
    where = ["--host", "127.0.0.1", "--port", sandbox3.url.rsplit(":", 1)[1]]
    assert main(["run", "query_sql", *where, "--api", "v3", "-p", "q=SELECT room, temp FROM air WHERE temp > $t",
                 "-p", 'params={"t": 21}']) == 0
    assert json.loads(capsys.readouterr().out)["data"] == [{"room": "kitchen", "temp": 21.5}]
    assert main(["run", "write_lp", *where, "--api", "v3", "-p", "data=cli v=1 1700000000"]) == 0
    assert json.loads(capsys.readouterr().out)["data"]["points"] == 1
    assert main(["test", *where]) == 0
    out = capsys.readouterr().out
    assert "api v3" in out and "Default database exists" in out and "Default bucket" not in out
    assert main(["run", "list_buckets", *where, "--api", "v3"]) != 0
    assert "needs API v2" in capsys.readouterr().err


def test_forms_say_which_connection_each_operation_is_for() -> None:
    from influx_connector import forms

    listed = {o["id"]: o["needs"] for o in forms.all_forms(api.load())["operations"]}
    assert listed["query_sql"] == {"api": ["v3"]} and listed["query_data"] == {"api": ["v2"]}
    assert listed["ping"] == {} and listed["write_data_v1"] == {}
    connection = forms.connection_form(api.load())
    assert connection["schema"]["properties"]["api"]["enum"] == ["auto", "v2", "v3"]
    assert connection["schema"]["properties"]["api"]["default"] == "auto"


# --- the JSON Lines reader ---------------------------------------------------------------------------


def test_json_lines_rows_survive_any_chunking() -> None:
    from influx_connector.influxdb.query_answers import JsonLines

    text = '{"a":1,"s":"x\\ny"}\r\n\n{"a":2,"s":"é"}\n{"a":3}'.encode()
    for size in range(1, len(text) + 1):
        chunks = [text[i:i + size] for i in range(0, len(text), size)]
        assert list(JsonLines(chunks)) == [{"a": 1, "s": "x\ny"}, {"a": 2, "s": "é"}, {"a": 3}], size


def test_json_lines_errors_name_the_line() -> None:
    from influx_connector.errors import DecodeError
    from influx_connector.influxdb.query_answers import JsonLines

    with pytest.raises(DecodeError, match="line 2 of the answer: the line is not JSON"):
        list(JsonLines([b'{"a":1}\n{"a":\x01}\n']))
    with pytest.raises(DecodeError, match="line 2 of the answer: the answer was cut off inside it"):
        list(JsonLines([b'{"a":1}\n{"a":"unfinish']))
    with pytest.raises(DecodeError, match="not an object"):
        list(JsonLines([b'[1, 2]\n']))


def test_json_lines_limit_reads_one_row_ahead_and_closes() -> None:
    from influx_connector.influxdb.query_answers import JsonLines

    closed = []
    rows = JsonLines([b'{"a":1}\n{"a":2}\n', b'{"a":3}\n'], limit=2, on_close=lambda: closed.append(1))
    assert list(rows) == [{"a": 1}, {"a": 2}] and rows.truncated and closed == [1]
    exact = JsonLines([b'{"a":1}\n{"a":2}\n', b"\n"], limit=2)
    assert list(exact) == [{"a": 1}, {"a": 2}] and not exact.truncated


_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1),
                     st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20))


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.dictionaries(st.text(max_size=8), _scalars, max_size=5), max_size=20),
       cuts=st.lists(st.integers(min_value=1, max_value=64), min_size=1, max_size=40),
       limit=st.one_of(st.none(), st.integers(min_value=0, max_value=25)))
def test_json_lines_decode_what_was_encoded(rows: list[dict], cuts: list[int], limit: int | None) -> None:
    from influx_connector.influxdb.query_answers import JsonLines

    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
    chunks, at = [], 0
    for size in cuts * (len(data) // max(1, sum(cuts)) + 1):
        if at >= len(data):
            break
        chunks.append(data[at:at + size])
        at += size
    decoded = JsonLines(chunks, limit=limit)
    assert list(decoded) == (rows if limit is None else rows[:limit])
    assert decoded.truncated == (limit is not None and len(rows) > limit)


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_a_streamed_answer_read_whole_keeps_within_the_answer_limit(fmt: str) -> None:
    # JSON and CSV are decoded whole even through stream(), which reads without the connection's
    # limit: the codec applies it (Parquet: tests/test_parquet.py). The sandbox keeps the whole
    # answer, so the contract check reads it all.
    with Sandbox(token=TOKEN, api="v3", bucket=None, record_body_bytes=4 << 20) as sb, \
            connect(sb, api="v3", max_answer_mb=1) as conn:
        conn.run("create_database", {"db": DB})
        conn.run("write_lp", {"data": [{"measurement": "big", "fields": {"s": f"{i:060d}" * 1000}, "time": T0 + i}
                                       for i in range(24)], "precision": "second"})
        assert len(conn.run("query_sql", {"q": "SELECT count(*) AS n FROM big"}).data) == 1
        with pytest.raises(DecodeError) as caught:
            list(conn.stream("query_sql", {"q": "SELECT s FROM big", "format": fmt}))
        assert "larger than the 1 MiB" in str(caught.value) and "max_answer_mb" in str(caught.value)
    assert_contract_kept(sb)
