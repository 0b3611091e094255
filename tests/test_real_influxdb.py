"""The v1 operations (write_data_v1, query_influxql) against a real InfluxDB 1.6 (tests/influxd.py).

Every test runs the operations through ``api.connect(...).run(op_id, params)``; every exchange
is checked against the OpenAPI contract (requests as written, answers with the two amendments
documented in tests/influxd.py). Setup and the checks of what was stored use raw InfluxQL over
HTTP, independent of the connector's decoders.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from influx_connector.connection import Connection
from influx_connector.errors import APIError, ValidationError
from influx_connector.influxdb.line_protocol_encoder import Unsigned

from .influxd import InfluxD, answer_problems, influxd, quote_ident  # noqa: F401

T0 = 1_672_531_200  # 2023-01-01T00:00:00Z
T0_NS = T0 * 10**9


@dataclass
class DB:
    """A fresh database on the server and a checked connection to it."""

    server: InfluxD
    conn: Connection
    name: str

    def write(self, data: Any, **params: Any) -> Any:
        return self.conn.run("write_data_v1", {"db": self.name, "data": data, **params})

    def query(self, q: str, **params: Any) -> Any:
        return self.conn.run("query_influxql", {"db": self.name, "q": q, **params}).data

    def stored(self, q: str) -> list[dict[str, Any]]:
        """What the server holds, read with raw InfluxQL (epoch=ns), not through the connector."""
        return self.server.rows(q, self.name)


@pytest.fixture
def db(influxd: InfluxD) -> Iterator[DB]:
    name = "v1_" + uuid.uuid4().hex[:12]
    influxd.create_database(name)
    try:
        with influxd.connect() as conn:
            yield DB(influxd, conn, name)
    finally:
        influxd.drop_database(name)


# --- the server under test -------------------------------------------------------------------


def test_the_server_is_influxdb_1x_on_loopback(influxd: InfluxD) -> None:
    ping = influxd.session.get(influxd.url + "/ping", timeout=5)
    assert ping.status_code == 204
    assert ping.headers["X-Influxdb-Version"].startswith("1.")
    assert influxd.host == "127.0.0.1" and influxd.rpc_port != influxd.port
    assert (influxd.root / "meta").is_dir() and (influxd.root / "data").is_dir()


# --- write_data_v1 ---------------------------------------------------------------------------


def test_records_are_written_with_their_types_tags_and_time(db: DB) -> None:
    records = [
        {"measurement": "cpu", "tags": {"host": "a", "region": "eu west"},
         "fields": {"usage": 0.5, "cores": 4, "ok": True, "note": 'say "hi"'}, "time": T0},
        {"measurement": "cpu", "tags": {"host": "b", "region": "eu west"},
         "fields": {"usage": 1.25, "cores": 8, "ok": False, "note": "x"}, "time": T0 + 1},
    ]
    result = db.write(records, precision="s")
    assert result.status == 204
    assert result.data == {"db": db.name, "points": 2, "bytes": result.data["bytes"],
                           "sent_bytes": result.data["bytes"], "compressed": False}

    assert db.stored('SELECT * FROM "cpu" ORDER BY time') == [
        {"time": T0_NS, "cores": 4, "host": "a", "note": 'say "hi"', "ok": True, "region": "eu west", "usage": 0.5},
        {"time": T0_NS + 10**9, "cores": 8, "host": "b", "note": "x", "ok": False, "region": "eu west", "usage": 1.25},
    ]
    types = {r["fieldKey"]: r["fieldType"] for r in db.stored('SHOW FIELD KEYS FROM "cpu"')}
    assert types == {"cores": "integer", "note": "string", "ok": "boolean", "usage": "float"}


def test_line_protocol_text_is_sent_as_it_is(db: DB) -> None:
    text = f"# a comment\nmem,host=a used=1i {T0_NS}\n\nmem,host=a used=2i {T0_NS + 5}\n"
    result = db.write(text)
    assert result.data["points"] == 2
    assert [r["used"] for r in db.stored('SELECT used FROM "mem"')] == [1, 2]


@pytest.mark.parametrize("precision, stamp, stored_ns", [
    ("ns", T0_NS + 123_456_789, T0_NS + 123_456_789),
    ("us", T0 * 10**6 + 123_456, T0_NS + 123_456_000),
    ("ms", T0 * 10**3 + 123, T0_NS + 123_000_000),
    ("s", T0 + 7, T0_NS + 7 * 10**9),
])
def test_each_precision_stores_the_intended_time(db: DB, precision: str, stamp: int, stored_ns: int) -> None:
    # "us" fails until operations/write_data_v1.yaml sends 1.x's spelling "u" (see the test below).
    db.write([{"measurement": "p", "tags": {"via": "records"}, "fields": {"v": 1}, "time": stamp}], precision=precision)
    db.write(f"p,via=text v=2i {stamp}", precision=precision)
    # An RFC3339 time is converted to the precision, finer digits floored.
    db.write([{"measurement": "p", "tags": {"via": "rfc3339"}, "fields": {"v": 3},
               "time": "2023-01-01T00:00:09.987654321Z"}], precision=precision)
    unit = {"ns": 1, "us": 10**3, "ms": 10**6, "s": 10**9}[precision]
    stored = {r["via"]: r["time"] for r in db.stored('SELECT * FROM "p"')}
    assert stored == {"records": stored_ns, "text": stored_ns, "rfc3339": (T0_NS + 9_987_654_321) // unit * unit}


def test_1x_spells_microseconds_u_and_takes_us_for_nanoseconds(db: DB) -> None:
    """Why write_data_v1 must send precision=u for "us": 1.6.7 reads a precision it does not
    know as nanoseconds, silently (a 204 and times 1000 times too small)."""
    assert db.server.write_raw(db.name, f"u,p=u v=1 {T0 * 10**6}", precision="u").status_code == 204
    assert db.server.write_raw(db.name, f"u,p=us v=1 {T0 * 10**6}", precision="us").status_code == 204
    stored = {r["p"]: r["time"] for r in db.stored('SELECT * FROM "u"')}
    assert stored == {"u": T0_NS, "us": T0 * 10**6}


def test_a_retention_policy_is_written_to(db: DB) -> None:
    db.server.influxql(f'CREATE RETENTION POLICY "keep" ON {quote_ident(db.name)} DURATION INF REPLICATION 1')
    db.write([{"measurement": "m", "fields": {"v": 1.5}, "time": T0}], rp="keep", precision="s")
    assert db.server.count(db.name, "m", "v", rp="keep") == 1
    assert db.server.count(db.name, "m", "v") == 0  # not in the default policy (autogen)
    rows = db.query('SELECT "v" FROM "m"', rp="keep", epoch="s")
    assert rows == [{"_statement": 0, "_series": "m", "time": T0, "v": 1.5}]


def test_a_large_body_is_gzip_compressed_and_lands_whole(db: DB) -> None:
    lines = "\n".join(f"big,host=h{i % 5} v={i}i {T0 + i}" for i in range(3000))
    result = db.write(lines, precision="s")
    assert result.data["compressed"] is True and result.data["points"] == 3000
    assert result.data["bytes"] == len(lines.encode()) > 4096
    assert result.data["sent_bytes"] < result.data["bytes"] // 3
    counts = db.stored('SELECT count("v") FROM "big" GROUP BY "host"')
    assert sorted((r["host"], r["count"]) for r in counts) == [(f"h{i}", 600) for i in range(5)]


def test_a_body_at_the_threshold_is_not_compressed(db: DB) -> None:
    line = "t v=1i " + str(T0_NS)
    text = "\n".join([line] * 10)
    text += "\n" + "#" * (4096 - len(text) - 1)  # a comment pads the body to exactly 4096 bytes
    assert len(text.encode()) == 4096
    assert db.write(text).data["compressed"] is False
    assert db.server.count(db.name, "t", "v") == 1  # ten writes of the same point: one point


def test_a_missing_database_is_404_with_the_servers_message(influxd: InfluxD) -> None:
    missing = "nodb_" + uuid.uuid4().hex[:8]
    with influxd.connect() as conn, pytest.raises(APIError) as caught:
        conn.run("write_data_v1", {"db": missing, "data": "m v=1"})
    assert caught.value.status == 404
    assert caught.value.message == f'database not found: "{missing}"'


def test_malformed_lines_are_400_with_the_rejected_lines(db: DB) -> None:
    with pytest.raises(APIError) as caught:
        db.write(f"m v=1 {T0_NS}\nm value= {T0_NS + 1}\nm,t v=2 {T0_NS + 2}\nm v=3 {T0_NS + 3}")
    error = caught.value
    assert error.status == 400
    # 1.x: "partial write: unable to parse '<line>': <reason>\n... dropped=0"
    assert error.message.startswith("partial write: unable to parse 'm value=")
    # 1.x appends " dropped=0" to the whole message, after the last reason: not part of it.
    assert error.details["rejected_lines"] == [
        {"line": f"m value= {T0_NS + 1}", "reason": "missing field value", "record": 1},
        {"line": f"m,t v=2 {T0_NS + 2}", "reason": "missing tag value", "record": 2},
    ]
    assert (error.details["records_written"], error.details["records_rejected"]) == (2, 2)
    # Unlike 2.x, InfluxDB 1.x keeps the well-formed lines of a body it answers 400 to.
    assert (error.details["partial_write"], error.details["dropped"]) == (True, 0)
    assert [r["v"] for r in db.stored('SELECT "v" FROM "m"')] == [1.0, 3.0]


def test_a_partial_write_in_one_batch_does_not_stop_the_others(db: DB) -> None:
    lines = [f"m v={i} {T0_NS + i}" for i in range(9)]
    lines[4] = f"m v= {T0_NS + 4}"  # batch 2 of 3 (records 4-6) holds a line the server cannot parse
    batches: list[dict] = []
    with pytest.raises(APIError) as caught:
        db.conn.run("write_data_v1", {"db": db.name, "data": "\n".join(lines), "batch_size": 3},
                    progress=batches.append)
    error = caught.value
    # Every batch was sent, in order; the one written only in part is named with its records.
    assert [b["records"] for b in batches] == [3, 6, 9]
    assert error.details["records_sent"] == 9 and error.details["records_total"] == 9
    assert [(b["first"], b["end"]) for b in error.details["batches"]] == [(3, 6)]
    assert error.details["rejected_lines"] == [
        {"line": f"m v= {T0_NS + 4}", "reason": "missing field value", "record": 4}]
    assert "1 batch was written only in part: 1 record rejected, 8 of 9 written" in str(error)
    # InfluxDB 1.x keeps the good lines of a partial batch: all but the bad one landed.
    assert [r["v"] for r in db.stored('SELECT "v" FROM "m"')] == [0.0, 1.0, 2.0, 3.0, 5.0, 6.0, 7.0, 8.0]


def test_a_field_type_conflict_is_a_400_partial_write(db: DB) -> None:
    db.write(f"m v=1 {T0_NS}")
    with pytest.raises(APIError) as caught:
        db.write(f'm v="text" {T0_NS + 1}\nm v=3 {T0_NS + 2}')
    assert caught.value.status == 400  # 2.x answers 422 here
    assert 'field type conflict: input field "v" on measurement "m" is type string, already exists as type float' \
        in caught.value.message and caught.value.message.endswith("dropped=1")
    assert (caught.value.details["partial_write"], caught.value.details["dropped"]) == (True, 1)
    assert "rejected_lines" not in caught.value.details
    assert [r["v"] for r in db.stored('SELECT "v" FROM "m"')] == [1.0, 3.0]


def test_the_server_refuses_keys_named_time_and_unsigned_values(db: DB) -> None:
    for data, fragment in (
        ([{"measurement": "m", "fields": {"time": 1.0}}], 'invalid field name: input field "time"'),
        ([{"measurement": "m", "tags": {"time": "x"}, "fields": {"v": 1.0}}], 'invalid tag key: input tag "time"'),
        ([{"measurement": "m", "fields": {"v": Unsigned(5)}}], "invalid number"),  # 1.6.7 has no unsigned fields
    ):
        with pytest.raises(APIError) as caught:
            db.write(data)
        assert caught.value.status == 400 and fragment in caught.value.message


# --- the encoder's limits are the server's ---------------------------------------------------


def test_the_series_key_limit_is_the_servers(db: DB) -> None:
    # The longest record the encoder writes lands; one byte more, the encoder refuses it, and
    # the server would have refused it too.
    db.write([{"measurement": "m", "tags": {"k": "x" * 65_526}, "fields": {"v": 1.5}}])
    assert db.server.count(db.name, "m", "v") == 1
    with pytest.raises(ValidationError) as caught:
        db.write([{"measurement": "m", "tags": {"k": "x" * 65_527}, "fields": {"v": 1.5}}])
    assert list(caught.value.by_field()) == ["data[0].tags"]
    answer = db.server.write_raw(db.name, "m,k=" + "x" * 65_527 + " v=1.5")
    assert answer.status_code == 400 and answer.json()["error"].endswith("max key length exceeded: 65536 > 65535")


def test_the_string_limit_is_the_documented_one(db: DB) -> None:
    at_limit = "\u00e9" * 32_768  # 65,536 bytes of UTF-8
    db.write([{"measurement": "s", "fields": {"note": at_limit}}])
    assert db.stored('SELECT "note" FROM "s"')[0]["note"] == at_limit
    with pytest.raises(ValidationError) as caught:
        db.write([{"measurement": "s", "fields": {"note": at_limit + "x"}}])
    assert caught.value.by_field() == {
        "data[0].fields.note": ["is 65,537 bytes long; string fields are limited to 65,536 bytes (UTF-8)"]}
    # The limit is InfluxDB's documented one ("Length limit 64KB"); 1.6.7 itself does not
    # enforce it and stores a longer string whole.
    assert db.server.write_raw(db.name, 'long note="' + "y" * 100_000 + '"').status_code == 204
    assert len(db.stored('SELECT "note" FROM "long"')[0]["note"]) == 100_000


@pytest.mark.parametrize("record, where", [
    ({"measurement": "a\nb", "fields": {"v": 1.0}}, "data[0].measurement"),
    ({"measurement": "m", "tags": {"a\r\nb": "v"}, "fields": {"v": 1.0}}, "data[0].tags.a\r\nb"),
    ({"measurement": "m", "tags": {"k": "a\nb"}, "fields": {"v": 1.0}}, "data[0].tags.k"),
    ({"measurement": "m", "fields": {"a\r\nb": 1.0}}, "data[0].fields.a\r\nb"),
])
def test_line_feeds_in_names_are_refused_naming_where(db: DB, record: dict, where: str) -> None:
    with pytest.raises(ValidationError) as caught:
        db.write([record])
    (message,) = caught.value.by_field()[where]
    assert "contains a line feed (\\n) at index" in message


def test_carriage_returns_and_tabs_in_names_are_stored_as_written(db: DB) -> None:
    db.write([{"measurement": "c\rm\tx", "tags": {"t\rk": "v\r\tx", "\ttab": "\t"},
               "fields": {"f\rk": 1.0, "\tf": "s\r\n"}, "time": T0_NS}])
    ((series,),) = [r["series"] for r in db.server.influxql("SELECT * FROM /.*/ GROUP BY *", db.name, epoch="ns")]
    assert series["name"] == "c\rm\tx" and series["tags"] == {"t\rk": "v\r\tx", "\ttab": "\t"}
    assert dict(zip(series["columns"], series["values"][0])) == {"time": T0_NS, "f\rk": 1.0, "\tf": "s\r\n"}


@pytest.mark.parametrize("answer", ["application/json", "application/csv"])
def test_line_breaks_in_strings_come_back_as_written(db: DB, answer: str) -> None:
    # Line protocol text keeps a CRLF inside a quoted string; records carry any line break.
    values = {"lf": "a\nb", "crlf": "a\r\nb", "cr": "a\rb", "tab": "\ta\tb", "mixed": "\r\n\n\r\t"}
    db.write([{"measurement": "rec", "fields": values, "time": T0_NS}])
    db.write('txt lf="a\nb",crlf="a\r\nb",cr="a\rb",tab="\ta\tb",mixed="\r\n\n\r\t" 1\r\n')
    for measurement in ("rec", "txt"):
        (row,) = db.query(f'SELECT * FROM "{measurement}"', format=answer)
        assert {k: row[k] for k in values} == values, (measurement, row)


def test_the_server_cannot_carry_line_breaks_in_names(db: DB) -> None:
    # An LF ends the line, and escaping it keeps the backslash in the name.
    assert db.server.write_raw(db.name, "m,k=a\\\nb v=1").status_code == 204
    assert [r["k"] for r in db.stored('SELECT * FROM "m"')] == ["a\\\nb"]
    # A CR is stored, but InfluxQL reads CR as LF, so no statement can name it.
    assert db.server.write_raw(db.name, "c\rr v=1").status_code == 204
    assert "c\rr" in [r["name"] for r in db.stored("SHOW MEASUREMENTS")]
    answer = db.server.session.post(db.server.url + "/query", data={"db": db.name, "q": 'SELECT * FROM "c\rr"'})
    assert answer.status_code == 400 and "error parsing query" in answer.text


# --- query_influxql --------------------------------------------------------------------------


@pytest.fixture
def loaded(db: DB) -> DB:
    db.write([
        {"measurement": "cpu", "tags": {"host": "a", "dc": "x"}, "fields": {"load": 1.0, "n": 1}, "time": T0},
        {"measurement": "cpu", "tags": {"host": "a", "dc": "x"}, "fields": {"load": 3.0, "n": 2}, "time": T0 + 60},
        {"measurement": "cpu", "tags": {"host": "b", "dc": "x"}, "fields": {"load": 10.0, "n": 3}, "time": T0 + 30},
        {"measurement": "mem", "tags": {"host": "a"}, "fields": {"free": 512}, "time": T0},
    ], precision="s")
    return db


@pytest.mark.parametrize("epoch, first", [
    ("ns", T0_NS), ("u", T0 * 10**6), ("ms", T0 * 10**3), ("s", T0), ("m", T0 // 60), ("h", T0 // 3600),
    (None, "2023-01-01T00:00:00Z"),
])
def test_rows_in_each_time_format(loaded: DB, epoch: str | None, first: Any) -> None:
    params = {"epoch": epoch} if epoch else {}
    rows = loaded.query('SELECT "load", "host" FROM "cpu" WHERE "host" = \'a\'', **params)
    assert [(r["time"], r["load"], r["host"]) for r in rows][0] == (first, 1.0, "a")
    assert all(r["_series"] == "cpu" and r["_statement"] == 0 for r in rows) and len(rows) == 2


def test_json_keeps_types_csv_gives_text(loaded: DB) -> None:
    q = 'SELECT "load", "n" FROM "cpu" WHERE "host" = \'b\''
    assert loaded.query(q, epoch="s") == [{"_statement": 0, "_series": "cpu", "time": T0 + 30, "load": 10.0, "n": 3}]
    assert loaded.query(q, epoch="s", format="application/csv") == [
        {"_statement": 0, "_series": "cpu", "time": T0 + 30, "load": "10", "n": "3"}]
    raw = loaded.query(q, epoch="s", format="application/csv", shape="raw")
    assert raw == f"name,tags,time,load,n\ncpu,,{T0 + 30},10,3\n"


def test_several_statements_and_group_by_tags(loaded: DB) -> None:
    rows = loaded.query('SELECT max("load") FROM "cpu" GROUP BY "host"; SELECT "free" FROM "mem"', epoch="s")
    assert rows == [
        {"_statement": 0, "_series": "cpu", "host": "a", "time": T0 + 60, "max": 3.0},
        {"_statement": 0, "_series": "cpu", "host": "b", "time": T0 + 30, "max": 10.0},
        {"_statement": 1, "_series": "mem", "time": T0, "free": 512},
    ]
    series = loaded.query('SELECT mean("load") FROM "cpu" GROUP BY *', epoch="s", shape="series")
    assert [(s["tags"], s["values"]) for s in series] == [
        ({"dc": "x", "host": "a"}, [[0, 2.0]]), ({"dc": "x", "host": "b"}, [[0, 10.0]])]
    csv_rows = loaded.query('SELECT mean("load") FROM "cpu" GROUP BY "host"', epoch="s", format="application/csv")
    assert [(r["host"], r["mean"]) for r in csv_rows] == [("a", "2"), ("b", "10")]


def test_a_failing_statement_raises_naming_it(loaded: DB) -> None:
    with pytest.raises(APIError) as caught:
        loaded.query("SELECT * FROM \"cpu\"; SELECT \"load\" FROM \"cpu\" WHERE time > 'yesterday'")
    assert caught.value.status == 200
    assert caught.value.message == "statement 1: invalid operation: time and *influxql.StringLiteral are not compatible"
    with pytest.raises(APIError) as caught:
        loaded.conn.run("query_influxql", {"db": "nodb_" + loaded.name, "q": 'SELECT * FROM "cpu"'})
    assert caught.value.message == f"statement 0: database not found: nodb_{loaded.name}"


def test_csv_answers_stop_at_a_failed_statement_without_a_word(loaded: DB) -> None:
    # Why the operation recommends JSON: 1.6.7's CSV writer ends the answer at the first failed
    # statement and says nothing about it, so the rows after it are silently missing.
    bad = "SELECT \"load\" FROM \"cpu\" WHERE time > 'yesterday'"
    good = 'SELECT "free" FROM "mem"'
    assert loaded.query(f"{good}; {bad}", epoch="s", format="application/csv") == [
        {"_statement": 0, "_series": "mem", "time": T0, "free": "512"}]
    assert loaded.query(f"{bad}; {good}", epoch="s", format="application/csv") == []
    with pytest.raises(APIError, match="statement 0"):
        loaded.query(f"{bad}; {good}", epoch="s")


def test_a_parse_error_is_400_naming_the_problem(loaded: DB) -> None:
    with pytest.raises(APIError) as caught:
        loaded.query('SELECT * FRM "cpu"')
    assert caught.value.status == 400
    assert caught.value.message == "error parsing query: found FRM, expected FROM at line 1, char 10"


def test_an_empty_result_is_no_rows(loaded: DB) -> None:
    assert loaded.query('SELECT * FROM "cpu" WHERE "host" = \'nobody\'') == []
    assert loaded.query('SELECT * FROM "nothing_here"', format="application/csv") == []


def test_bad_input_is_refused_before_anything_is_sent(influxd: InfluxD) -> None:
    with influxd.connect() as conn:
        with pytest.raises(ValidationError) as caught:
            conn.run("query_influxql", {"db": "x", "q": "SELECT 1", "epoch": "fortnight"})
        assert "epoch" in caught.value.by_field()
        with pytest.raises(ValidationError) as caught:
            conn.run("write_data_v1", {"db": "x", "data": [{"measurement": "m", "fields": {"s": "x" * 65_537}}]})
        assert list(caught.value.by_field()) == ["data[0].fields.s"]


# --- the amended answer check still rejects what 1.x would never send -------------------------


def test_the_answer_check_is_amended_only_where_documented() -> None:
    assert answer_problems("GET", "/query", 200, "application/json", {"results": [{"statement_id": 0}]}) == []
    assert answer_problems("POST", "/write", 404, "application/json", {"error": "database not found"}) == []
    assert answer_problems("GET", "/query", 200, "application/json", {"results": [{"statement_id": "0"}]})
    assert answer_problems("GET", "/query", 200, "application/json",
                           {"results": [{"statement_id": 0, "series": [{"columns": "time"}]}]})
    assert answer_problems("POST", "/write", 400, "application/json", {"error": ""})
    assert answer_problems("POST", "/write", 404, "application/json", {"code": "not found", "message": "x"})
    assert answer_problems("POST", "/api/v2/write", 404, "application/json", {"error": "x"})  # v2 paths untouched
