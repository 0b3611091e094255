"""Parquet answers of InfluxDB 3 queries: as bytes always, as rows (``format: parquet_rows``) and
as a pyarrow Table with the ``parquet`` extra. Over real sockets against the sandbox playing an
InfluxDB 3 server, every exchange checked against InfluxDB 3 Core's contract; what happens
without pyarrow is checked in a subprocess where importing pyarrow fails."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from influx_connector import api, forms
from influx_connector.connection import Connection
from influx_connector.errors import DecodeError
from influx_connector.influxdb import parquet, parquet_table
from influx_connector.sandbox import Sandbox

from .conftest import assert_contract_kept
from .helpers import TOKEN

DB = "plant"
T0 = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z, in nanoseconds
# Every field type InfluxDB 3 has, nulls (a field one row lacks), a tag one series lacks, and
# times with and without a fraction of a second.
LINES = "\n".join([
    f'meter,site=north,line=a kwh=1.5,count=3i,total=7u,ok=true,note="first" {T0}',
    f'meter,site=north,line=a kwh=-2.25,count=-4i,ok=false {T0 + 500_000_000}',
    f'meter,site=south kwh=0,total=9223372036854775807u,note="x,\\"y\\"" {T0 + 60_000_000_123}',
    f'meter,site=south count=9223372036854775807i {T0 + 120_000_000_000}',
])
ALL = "SELECT * FROM meter ORDER BY time, site"


@pytest.fixture
def sandbox3() -> Iterator[Sandbox]:
    with Sandbox(token=TOKEN, api="v3", bucket=None) as sb:
        yield sb
    assert_contract_kept(sb)


def connect(sb: Sandbox, **values: Any) -> Connection:
    return api.connect({**sb.connection_settings, "api": "v3", "database": DB, "retries": 0, **values})


@pytest.fixture
def conn3(sandbox3: Sandbox) -> Iterator[Connection]:
    with connect(sandbox3) as c:
        c.run("create_database", {"db": DB})
        c.run("write_lp", {"data": LINES})
        yield c


def queries(sb: Sandbox) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in sb.requests if r.path.startswith("/api/v3/query")]


# --- rows: the shape JSON and JSON Lines give ------------------------------------------------------


@pytest.mark.parametrize(("op", "q"), [
    ("query_sql", ALL),
    ("query_sql", "SELECT date_bin(INTERVAL '1 minute', time) AS minute, site, count(*) AS n, avg(kwh) AS mean, "
                  "max(total) AS top FROM meter GROUP BY minute, site ORDER BY minute, site"),
    ("query_influxql_v3", "SELECT * FROM meter"),
])
def test_parquet_rows_are_the_rows_json_gives(conn3: Connection, op: str, q: str) -> None:
    json_rows = conn3.run(op, {"q": q, "format": "json"}).data
    assert json_rows and json_rows == conn3.run(op, {"q": q}).data  # JSON Lines, the default
    parquet_rows = conn3.run(op, {"q": q, "format": "parquet_rows"})
    assert parquet_rows.data == json_rows
    assert "truncated" not in parquet_rows.meta
    with conn3.stream(op, {"q": q, "format": "parquet_rows"}) as rows:
        assert list(rows) == json_rows and rows.truncated is False


def test_every_type_and_null_agrees_between_the_sandbox_and_the_decoder(sandbox3: Sandbox,
                                                                        conn3: Connection) -> None:
    rows = conn3.run("query_sql", {"q": ALL, "format": "parquet_rows"}).data
    assert rows == [
        {"time": "2023-11-14T22:13:20", "site": "north", "line": "a", "kwh": 1.5, "count": 3, "total": 7, "ok": True,
         "note": "first"},
        {"time": "2023-11-14T22:13:20.5", "site": "north", "line": "a", "kwh": -2.25, "count": -4, "ok": False},
        {"time": "2023-11-14T22:14:20.000000123", "site": "south", "kwh": 0.0, "total": 9223372036854775807,
         "note": 'x,"y"'},
        {"time": "2023-11-14T22:15:20", "site": "south", "count": 9223372036854775807},
    ]
    # Columns in the server's order (tags sorted, as the sandbox's tables hold them), typed.
    assert [(k, type(v)) for k, v in rows[0].items()] == [
        ("time", str), ("line", str), ("site", str), ("kwh", float), ("count", int), ("total", int), ("ok", bool),
        ("note", str)]
    # What went over the wire is InfluxDB 3's Parquet: the server was asked for "parquet".
    assert queries(sandbox3)[-1]["format"] == "parquet"
    assert sandbox3.requests[-1].headers["Accept"] == "application/vnd.apache.parquet"
    table = parquet_table(conn3.run("query_sql", {"q": ALL, "format": "parquet"}).data)
    assert {f.name: str(f.type) for f in table.schema} == {
        "time": "timestamp[ns]", "site": "dictionary<values=string, indices=int32, ordered=0>",
        "line": "dictionary<values=string, indices=int32, ordered=0>", "kwh": "double", "count": "int64",
        "total": "uint64", "ok": "bool", "note": "string"}
    assert table.column("total").null_count == 2 and table.column("line").null_count == 2
    assert table.column("time").to_pylist()[2].nanosecond == 123


def test_parquet_bytes_need_nothing_and_are_what_the_server_wrote(sandbox3: Sandbox, conn3: Connection) -> None:
    data = conn3.run("query_sql", {"q": ALL, "format": "parquet"}).data
    assert isinstance(data, bytes) and data == sandbox3.responses[-1].body
    assert pq.read_table(io.BytesIO(data)).equals(parquet_table(data))


# --- limit and truncated, as for the other formats ---------------------------------------------------


def test_limit_cuts_parquet_rows_and_says_so(conn3: Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    q = "SELECT time, kwh, count FROM meter ORDER BY time"
    everything = conn3.run("query_sql", {"q": q, "format": "json"}).data
    # Batches of one row, so the limit falls at a batch's end and inside one alike.
    for batch_rows in (1, 3, parquet.BATCH_ROWS):
        monkeypatch.setattr(parquet, "BATCH_ROWS", batch_rows)
        for limit in range(6):
            cut = conn3.run("query_sql", {"q": q, "format": "parquet_rows", "limit": limit})
            assert cut.data == everything[:limit], (batch_rows, limit)
            assert cut.meta.get("truncated", False) is (limit < len(everything)), (batch_rows, limit)
            with conn3.stream("query_sql", {"q": q, "format": "parquet_rows"}, limit=limit) as rows:
                assert list(rows) == everything[:limit] and rows.truncated is (limit < len(everything))


# --- bounds --------------------------------------------------------------------------------------------


def test_a_parquet_answer_that_unpacks_past_the_limit_is_refused(sandbox3: Sandbox) -> None:
    with connect(sandbox3, max_answer_mb=1) as conn:
        conn.run("create_database", {"db": DB})
        # 1.5 MiB of the same text: a few KiB of Parquet (dictionary-encoded), but 1.5 MiB unpacked.
        text = "z" * (64 * 1024)
        conn.run("write_lp", {"data": [{"measurement": "big", "fields": {"s": text}, "time": T0 + i}
                                       for i in range(24)]})
        small = conn.run("query_sql", {"q": "SELECT s FROM big", "format": "parquet"}).data
        assert len(small) < 64 * 1024
        for call in (lambda: conn.run("query_sql", {"q": "SELECT s FROM big", "format": "parquet_rows"}),
                     lambda: list(conn.stream("query_sql", {"q": "SELECT s FROM big", "format": "parquet_rows"}))):
            with pytest.raises(DecodeError) as caught:
                call()
            assert "Parquet answer" in str(caught.value) and "max_answer_mb" in str(caught.value)
        with pytest.raises(DecodeError) as caught:
            parquet_table(small, max_bytes=1 << 20)
        assert "more than the 1 MiB" in str(caught.value)
        assert parquet_table(small).num_rows == 24


def test_a_streamed_parquet_answer_is_bounded_in_bytes_too(sandbox3: Sandbox) -> None:
    with connect(sandbox3, max_answer_mb=1) as conn:
        conn.run("create_database", {"db": DB})
        # Text that does not compress: the Parquet file itself is larger than the limit.
        records = [{"measurement": "big", "fields": {"s": os.urandom(30 * 1024).hex()}, "time": T0 + i}
                   for i in range(24)]
        conn.run("write_lp", {"data": records})
        with pytest.raises(DecodeError) as caught:
            list(conn.stream("query_sql", {"q": "SELECT s FROM big", "format": "parquet_rows"}))
        assert "larger than the 1 MiB" in str(caught.value) and "max_answer_mb" in str(caught.value)


@pytest.mark.parametrize("garbled", [b"", b"PAR1", b"not parquet at all", b"PAR1" + b"\x00" * 64 + b"PAR1"])
def test_a_garbled_parquet_answer_is_a_decode_error(garbled: bytes) -> None:
    with pytest.raises(DecodeError) as caught:
        parquet_table(garbled)
    assert "not a Parquet file" in str(caught.value)
    with pytest.raises(DecodeError):
        list(parquet.ParquetRows(garbled))


def test_times_of_every_unit_and_zone_come_as_the_json_formats_give_them() -> None:
    table = pa.table({
        "s": pa.array([0, None], pa.timestamp("s")),
        "ms": pa.array([1_500, None], pa.timestamp("ms")),
        "us": pa.array([1_000_001, None], pa.timestamp("us")),
        "utc": pa.array([-1, None], pa.timestamp("ns", tz="UTC")),
        "d": pa.array([19_000, None], pa.date32()),
        "bin": pa.array([b"\x00\xff", None], pa.binary()),
    })
    sink = io.BytesIO()
    pq.write_table(table, sink)
    assert list(parquet.ParquetRows(sink.getvalue())) == [
        {"s": "1970-01-01T00:00:00", "ms": "1970-01-01T00:00:01.5", "us": "1970-01-01T00:00:01.000001",
         "utc": "1969-12-31T23:59:59.999999999Z", "d": "2022-01-08", "bin": "00ff"},
        {},
    ]


# --- how a user asks: the form, the command line ----------------------------------------------------


def test_the_form_offers_parquet_as_rows_beside_the_bytes() -> None:
    source = api.load()
    form = forms.operation_form(source, source.operations["query_sql"])
    fmt = form["schema"]["properties"]["format"]
    assert fmt["enum"] == ["jsonl", "json", "csv", "parquet", "parquet_rows"]
    assert "influx-connector[parquet]" in fmt["description"]


def cli_env(sb: Sandbox) -> dict[str, str]:
    return {**os.environ, "INFLUX_HOST": sb.url, "INFLUX_TOKEN": TOKEN, "INFLUX_API": "v3", "INFLUX_DATABASE": DB}


def test_the_command_line_prints_parquet_rows_as_a_table(sandbox3: Sandbox, conn3: Connection) -> None:
    done = subprocess.run([sys.executable, "-m", "influx_connector", "run", "query_sql", "-p", f"q={ALL}",
                           "-p", "format=parquet_rows", "--format", "table"], env=cli_env(sandbox3),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["time", "line", "site", "kwh", "count", "total", "ok", "note"]
    assert lines[3].split() == ["2023-11-14T22:13:20.5", "a", "north", "-2.25", "-4", "false"]
    assert lines[4].split() == ["2023-11-14T22:14:20.000000123", "south", "0.0", "9223372036854775807", 'x,"y"']


# --- without pyarrow -----------------------------------------------------------------------------------

#: Run in a fresh interpreter where ``import pyarrow`` fails, as where the extra is not installed.
WITHOUT_PYARROW = """
import json, sys
sys.modules["pyarrow"] = None  # any "import pyarrow..." now raises ImportError
"""


def without_pyarrow(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", WITHOUT_PYARROW + textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=120)


def test_without_pyarrow_rows_are_refused_before_sending_and_bytes_still_come(sandbox3: Sandbox,
                                                                              conn3: Connection) -> None:
    before = len(queries(sandbox3))
    settings = {**sandbox3.connection_settings, "api": "v3", "database": DB}
    done = without_pyarrow(f"""
        from influx_connector import api
        from influx_connector.errors import ValidationError
        conn = api.connect(json.loads({json.dumps(json.dumps(settings))}))
        try:
            conn.run("query_sql", {{"q": "SELECT * FROM meter", "format": "parquet_rows"}})
        except ValidationError as exc:
            print(json.dumps(exc.by_field()))
        data = conn.run("query_sql", {{"q": "SELECT * FROM meter", "format": "parquet"}}).data
        print(json.dumps([data[:4].decode(), "pyarrow" in sys.modules and sys.modules["pyarrow"] is not None]))
    """)
    assert done.returncode == 0, done.stderr
    refused, (magic, imported) = (json.loads(line) for line in done.stdout.splitlines())
    assert list(refused) == ["format"]
    assert "pyarrow" in refused["format"][0] and "pip install 'influx-connector[parquet]'" in refused["format"][0]
    assert magic == "PAR1" and imported is False
    # One query reached the server: the one for bytes.
    assert [q["format"] for q in queries(sandbox3)[before:]] == ["parquet"]


def test_without_pyarrow_the_command_line_names_the_field_and_the_extra(sandbox3: Sandbox,
                                                                        conn3: Connection) -> None:
    before = len(queries(sandbox3))
    done = without_pyarrow("""
        from influx_connector.cli import main
        sys.exit(main(["run", "query_sql", "-p", "q=SELECT * FROM meter", "-p", "format=parquet_rows"]))
    """, env=cli_env(sandbox3))
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "format" in done.stderr and "pip install 'influx-connector[parquet]'" in done.stderr
    assert len(queries(sandbox3)) == before


def test_without_pyarrow_the_sandbox_answers_parquet_with_a_400() -> None:
    done = without_pyarrow(f"""
        from influx_connector import api
        from influx_connector.errors import APIError
        from influx_connector.sandbox import Sandbox
        with Sandbox(token="t", api="v3", bucket=None) as sb:
            conn = api.connect({{**sb.connection_settings, "api": "v3", "database": "{DB}"}})
            conn.run("create_database", {{"db": "{DB}"}})
            try:
                conn.run("query_sql", {{"q": "SELECT 1", "format": "parquet"}})
            except APIError as exc:
                print(json.dumps([exc.status, str(exc)]))
    """)
    assert done.returncode == 0, done.stderr
    status, message = json.loads(done.stdout)
    assert status == 400 and "pyarrow" in message


# --- a pyarrow too old to trust with files from the network -----------------------------------------

#: Run in a fresh interpreter whose pyarrow says it is 14.0.0 (the last one that could be made to
#: run code by a crafted file), as where an old one was installed before the extra.
OLD_PYARROW = """
import json, sys, types
sys.modules["pyarrow"] = types.ModuleType("pyarrow")
sys.modules["pyarrow"].__version__ = "14.0.0"
sys.modules["pyarrow.parquet"] = types.ModuleType("pyarrow.parquet")
"""


def test_an_old_pyarrow_is_refused_before_sending_and_never_reads_an_answer(sandbox3: Sandbox,
                                                                            conn3: Connection) -> None:
    before = len(queries(sandbox3))
    settings = {**sandbox3.connection_settings, "api": "v3", "database": DB}
    done = subprocess.run([sys.executable, "-c", OLD_PYARROW + textwrap.dedent(f"""
        from influx_connector import api
        from influx_connector.errors import DecodeError, ValidationError
        from influx_connector.influxdb import parquet_table
        conn = api.connect(json.loads({json.dumps(json.dumps(settings))}))
        try:
            conn.run("query_sql", {{"q": "SELECT * FROM meter", "format": "parquet_rows"}})
        except ValidationError as exc:
            print(json.dumps(exc.by_field()))
        try:
            parquet_table(b"PAR1")
        except DecodeError as exc:
            print(json.dumps(str(exc)))
    """)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    refused, unread = (json.loads(line) for line in done.stdout.splitlines())
    assert list(refused) == ["format"]
    for message in (refused["format"][0], unread):
        assert "pyarrow 23.0.1 or later" in message and "14.0.0 is installed" in message, message
    assert len(queries(sandbox3)) == before


def test_the_extra_asks_for_the_pyarrow_the_decoder_trusts() -> None:
    import tomllib

    from influx_connector.influxdb.parquet import MINIMUM, _version

    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())["project"]
    assert project["optional-dependencies"]["parquet"] == ["pyarrow>=" + ".".join(map(str, MINIMUM))]
    assert _version(pa.__version__) >= MINIMUM
    assert [_version(v) for v in ("23.0.1", "24.0.0.dev12", "14.0.0rc1", "", "x")] == [
        (23, 0, 1), (24, 0, 0), (14, 0, 0), (), ()]
