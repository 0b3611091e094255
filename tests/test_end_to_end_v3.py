"""End to end against an InfluxDB 3 server: the sandbox playing one always, and a real InfluxDB 3
(Core or Enterprise) when asked for explicitly:

    INFLUX3_E2E_LIVE=1 INFLUX3_HOST=http://localhost:8181 INFLUX3_TOKEN=apiv3_... \\
      python3 -m pytest -q tests/test_end_to_end_v3.py

The live run makes its own databases (named influx-connector-e2e-...) and deletes them for good
afterwards; it never writes anywhere else. Every exchange is checked at the connector's send
hook against InfluxDB 3 Core's contract, and the sandbox's side as well.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from influx_connector import api, cli
from influx_connector.connection import Connection
from influx_connector.errors import APIError, ValidationError
from influx_connector.plugins import create_host
from influx_connector.sandbox import Sandbox

from .conftest import assert_contract_kept
from .helpers import TOKEN
from .test_end_to_end import ContractRecorder

OPT_IN = "INFLUX3_E2E_LIVE"
LIVE_ENV = ("INFLUX3_HOST", "INFLUX3_TOKEN")
PREFIX = "influx-connector-e2e-"
T0 = 1_672_531_200  # 2023-01-01T00:00:00Z


def live_settings(environ: os._Environ[str] | dict[str, str] = os.environ) -> dict[str, Any] | None:
    """The real InfluxDB 3 the environment opts into, or None; a half-given opt-in is an error."""
    if environ.get(OPT_IN, "").strip().lower() not in ("1", "true", "yes"):
        return None
    missing = [name for name in LIVE_ENV if not environ.get(name, "").strip()]
    if missing:
        raise RuntimeError(f"{OPT_IN} asks for a live run, but {', '.join(missing)} is not set")
    values = cli.env_values({"INFLUX_HOST": environ["INFLUX3_HOST"].strip(),
                             "INFLUX_TOKEN": environ["INFLUX3_TOKEN"].strip()}, api.load())
    return {**values, "api": "v3"}


# Not configured, not collected: the sandbox run always happens, the live one is asked for.
TARGETS = ["sandbox3"] + (["live3"] if live_settings() is not None else [])


@dataclass
class Target:
    settings: dict[str, Any]
    conn: Connection
    sandbox: Sandbox | None
    made: list[str] = field(default_factory=list)

    def new_database(self) -> str:
        name = PREFIX + uuid.uuid4().hex[:12]
        self.conn.run("create_database", {"db": name})
        self.made.append(name)
        return name


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    sandbox = None
    if request.param == "sandbox3":
        sandbox = Sandbox(token=TOKEN, bucket=None, api="v3").start()
        settings = {**sandbox.connection_settings, "api": "v3"}
    else:
        settings = live_settings() or {}
    recorder = ContractRecorder()
    conn = api.connect(settings, host=create_host(extra=(recorder,)))
    tgt = Target(settings, conn, sandbox)
    try:
        yield tgt
        for name in tgt.made:
            try:
                conn.run("delete_database", {"db": name, "hard_delete_at": "now"})
            except APIError as exc:
                if exc.status != 404:
                    raise
    finally:
        conn.close()
        if sandbox is not None:
            sandbox.stop()
    problems = recorder.problems(v3_server=True)
    assert not problems, "the contract was broken:\n" + "\n".join(problems)
    if sandbox is not None:
        assert_contract_kept(sandbox)


def test_test_connection_finds_v3_and_checks_the_database(target: Target) -> None:
    db = target.new_database()
    auto = {**target.settings, "api": "auto", "database": db}
    with api.connect(auto) as conn:
        report = conn.test()
        assert report.ok, report.to_dict()
        assert [s.name for s in report.steps] == ["reachable", "token", "database"]
        assert conn.detected == {"api": "v3"}


def test_records_written_come_back_through_sql_and_influxql(target: Target) -> None:
    db = target.new_database()
    records = [{"measurement": "air", "tags": {"room": room}, "fields": {"temp": temp, "n": n, "ok": ok},
                "time": T0 + i * 60}
               for i, (room, temp, n, ok) in enumerate([("kitchen", 21.5, 3, True), ("living room", -1.25, -4, False)])]
    written = target.conn.run("write_lp", {"db": db, "data": records, "precision": "second"})
    assert written.status == 204 and written.data["points"] == 2
    rows = target.conn.run("query_sql", {"db": db, "q": "SELECT room, temp, n, ok FROM air ORDER BY time"}).data
    assert rows == [{"room": "kitchen", "temp": 21.5, "n": 3, "ok": True},
                    {"room": "living room", "temp": -1.25, "n": -4, "ok": False}]
    bound = target.conn.run("query_sql", {"db": db, "q": "SELECT temp FROM air WHERE room = $room",
                                          "params": {"room": "living room"}, "format": "json"}).data
    assert bound == [{"temp": -1.25}]
    influxql = target.conn.run("query_influxql_v3", {"db": db, "q": "SELECT temp FROM air WHERE room = $room",
                                                     "params": {"room": "kitchen"}}).data
    assert [(r["iox::measurement"], r["temp"]) for r in influxql] == [("air", 21.5)]
    with target.conn.stream("query_sql", {"db": db, "q": "SELECT temp FROM air ORDER BY time"}, limit=1) as rows:
        assert [r["temp"] for r in rows] == [21.5] and rows.truncated


def test_parquet_comes_as_bytes_and_as_the_rows_json_gives(target: Target) -> None:
    db = target.new_database()
    text = (f'air,room=a temp=1.5,n=2i,ok=true,s="x" {T0}000000000\n'
            f'air,room=b temp=-3,u=7u {T0}250000000')
    target.conn.run("write_lp", {"db": db, "data": text})
    q = "SELECT * FROM air ORDER BY time"
    rows = target.conn.run("query_sql", {"db": db, "q": q, "format": "json"}).data
    assert len(rows) == 2
    assert target.conn.run("query_sql", {"db": db, "q": q, "format": "parquet_rows"}).data == rows
    data = target.conn.run("query_sql", {"db": db, "q": q, "format": "parquet"}).data
    assert data[:4] == b"PAR1" and data[-4:] == b"PAR1"
    with target.conn.stream("query_influxql_v3", {"db": db, "q": "SELECT temp FROM air", "format": "parquet_rows"},
                            limit=1) as cut:
        assert [r["temp"] for r in cut] == [1.5] and cut.truncated


def test_a_partial_write_names_the_rejected_line(target: Target) -> None:
    db = target.new_database()
    text = "air,room=a temp=1 1672531200\nair,room=a temp=\nair,room=b temp=2 1672531260"
    with pytest.raises(APIError) as caught:
        target.conn.run("write_lp", {"db": db, "data": text, "precision": "second"})
    details = caught.value.details
    assert details["partial_write"] is True and details["records_written"] == 2
    assert [(r["line_number"], r["record"]) for r in details["rejected_lines"]] == [(2, 1)]
    rows = target.conn.run("query_sql", {"db": db, "q": "SELECT count(*) AS n FROM air"}).data
    assert rows == [{"n": 2}]


def test_databases_and_tables(target: Target) -> None:
    db = target.new_database()
    names = [r["iox::database"] for r in target.conn.run("list_databases").data]
    assert db in names
    target.conn.run("create_table", {"db": db, "table": "meter", "tags": ["site"],
                                     "fields": [{"name": "kwh", "type": "float64"}]})
    assert target.conn.run("query_sql", {"db": db, "q": "SELECT * FROM meter"}).data == []
    target.conn.run("delete_table", {"db": db, "table": "meter", "hard_delete_at": "now"})
    target.conn.run("delete_database", {"db": db, "hard_delete_at": "now"})
    target.made.remove(db)
    with pytest.raises(APIError) as caught:
        target.conn.run("query_sql", {"db": db, "q": "SELECT 1"})
    assert caught.value.status == 404


def test_a_v2_operation_is_refused_before_sending(target: Target) -> None:
    with pytest.raises(ValidationError) as caught:
        target.conn.run("list_buckets")
    assert "speaks API v3" in " ".join(caught.value.by_field()["api"])


def test_live_opt_in_needs_every_setting() -> None:
    assert live_settings({}) is None
    with pytest.raises(RuntimeError, match="INFLUX3_TOKEN"):
        live_settings({OPT_IN: "1", "INFLUX3_HOST": "http://localhost:8181"})
    settings = live_settings({OPT_IN: "1", "INFLUX3_HOST": "https://db.example.com:8181", "INFLUX3_TOKEN": "apiv3_x"})
    assert settings is not None
    assert (settings["host"], settings["port"], settings["protocol"], settings["api"]) == \
        ("db.example.com", 8181, "https", "v3")
