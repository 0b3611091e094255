"""The official Python client, influxdb-client, driven through its public API end to end.

Host apps test their own code against the sandbox, and that code often uses the official
client rather than this connector. Every test here makes the client calls such code makes
(ping, health, organisations, writes of points, text, dicts, dataclasses and data frames, the
batching writer with gzip, each query method, parameters, buckets, deletes, a wrong token)
and checks the values that come back.

Targets: the sandbox, always; a real InfluxDB 2.x when ``INFLUX_E2E_LIVE=1`` and
INFLUX_HOST/TOKEN/ORG name one (see ``tests/official_clients.py``). The assertions hold on
both; on the sandbox every request the client sent and every answer is also checked against
the official OpenAPI contract.
"""
from __future__ import annotations

import gzip
import logging
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from influxdb_client import BucketRetentionRules, InfluxDBClient, Point, WriteOptions, WritePrecision
from influxdb_client.client.query_api import QueryOptions
from influxdb_client.client.warnings import MissingPivotFunction
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.domain import Identifier, IntegerLiteral, ModelProperty, ObjectExpression, StringLiteral
from influxdb_client.rest import ApiException

from influx_connector.sandbox import Sandbox

from .conftest import assert_contract_kept
from .helpers import TOKEN
from .official_clients import BUCKET_PREFIX, Server, live_server, targets

ORG = "client-org"
T0 = datetime(2023, 1, 1, tzinfo=UTC)
RANGE = "range(start: 2023-01-01T00:00:00Z, stop: 2024-01-01T00:00:00Z)"


@dataclass
class Target:
    """The server under test, a client for it, and the buckets this test made there."""

    kind: str
    server: Server
    client: InfluxDBClient
    sandbox: Sandbox | None
    made: list[str] = field(default_factory=list)
    others: list[InfluxDBClient] = field(default_factory=list)  # clients made by connect()
    requests_off_contract: bool = False  # set by a test whose client call sends a body that is not JSON

    def new_bucket(self, **options: Any) -> Any:
        name = options.pop("bucket_name", None) or BUCKET_PREFIX + uuid.uuid4().hex[:12]
        bucket = self.client.buckets_api().create_bucket(bucket_name=name, org=self.server.org, **options)
        self.made.append(bucket.id)
        return bucket

    def connect(self, **options: Any) -> InfluxDBClient:
        """Another client for the same server (closed with the target)."""
        options = {"url": self.server.url, "token": self.server.token, "org": self.server.org, **options}
        client = InfluxDBClient(**options)
        self.others.append(client)
        return client

    def query(self, flux: str, **kwargs: Any) -> list[Any]:
        """The records of every table the query answered."""
        tables = self.client.query_api().query(flux, **kwargs)
        return [record for table in tables for record in table.records]

    def write(self, bucket: str, record: Any, **kwargs: Any) -> None:
        with self.client.write_api(write_options=SYNCHRONOUS) as writer:
            writer.write(bucket=bucket, record=record, **kwargs)

    def cleanup(self) -> None:
        buckets = self.client.buckets_api()
        for bucket_id in self.made:
            try:
                buckets.delete_bucket(bucket_id)
            except ApiException as exc:
                if exc.status != 404:  # the test deleted it itself
                    raise
        for client in self.others:
            client.close()
        self.client.close()


@pytest.fixture(autouse=True)
def logging_levels_restored() -> Iterator[None]:
    """Each InfluxDBClient sets the level of the "urllib3" logger and of its own (WARNING unless
    debug); put them back, so tests that capture debug records afterwards still get them."""
    def touched() -> list[logging.Logger]:
        names = ["urllib3", *(n for n in logging.root.manager.loggerDict if n.startswith("influxdb_client"))]
        return [logging.getLogger(n) for n in names]

    before = {logger.name: logger.level for logger in touched()}
    yield
    for logger in touched():
        logger.setLevel(before.get(logger.name, logging.NOTSET))


@pytest.fixture(params=targets())
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    sandbox = None
    if request.param == "live":
        server = live_server()
        assert server is not None
    else:
        sandbox = Sandbox(token=TOKEN, org=ORG, bucket=None).start()
        server = Server(sandbox.url, TOKEN, ORG)
    tgt = Target(request.param, server, InfluxDBClient(url=server.url, token=server.token, org=server.org), sandbox)
    try:
        yield tgt
        tgt.cleanup()
    finally:
        if sandbox is not None:
            sandbox.stop()
    if sandbox is not None:
        assert_contract_kept(sandbox, requests=not tgt.requests_off_contract)


def by(records: list[Any], *keys: str) -> dict[Any, Any]:
    """``{(record[k1], record[k2], ...): _value}`` (a 1-tuple key is unwrapped)."""
    out = {}
    for r in records:
        key = tuple(r.values[k] for k in keys)
        out[key[0] if len(key) == 1 else key] = r.get_value()
    return out


# --- the server --------------------------------------------------------------------------------------


def test_ping_health_ready_and_version(target: Target) -> None:
    client = target.client
    assert client.ping() is True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the client prefers ping(); hosts still call it
        health = client.health()
    assert (health.name, health.status) == ("influxdb", "pass")
    assert client.version() == health.version and client.version().startswith("v2.")
    assert client.build() == "OSS"
    ready = client.ready()
    assert ready.status == "ready" and ready.started is not None and ready.up


def test_organizations_are_found_by_name_and_id(target: Target) -> None:
    orgs = target.client.organizations_api()
    named = orgs.find_organizations(org=target.server.org)
    assert [o.name for o in named] == [target.server.org]
    assert target.server.org in [o.name for o in orgs.find_organizations()]
    assert orgs.find_organization(named[0].id).name == target.server.org
    with pytest.raises(ApiException) as caught:
        orgs.find_organizations(org="no-such-org-" + uuid.uuid4().hex[:8])
    assert caught.value.status == 404


def test_a_wrong_token_is_refused_everywhere_but_ping(target: Target) -> None:
    wrong = target.connect(token="wrong-token-" + uuid.uuid4().hex)
    bucket = target.new_bucket().name
    calls = {
        "query": lambda: wrong.query_api().query(f'from(bucket: "{bucket}") |> {RANGE}'),
        "write": lambda: wrong.write_api(write_options=SYNCHRONOUS).write(bucket=bucket, record="m v=1"),
        "buckets": lambda: wrong.buckets_api().find_buckets(),
        "orgs": lambda: wrong.organizations_api().find_organizations(),
    }
    for name, call in calls.items():
        with pytest.raises(ApiException) as caught:
            call()
        assert caught.value.status == 401, name
        assert "unauthorized" in caught.value.message, (name, caught.value.message)
    assert wrong.ping() is True
    # Nothing was written by the refused write.
    assert target.query(f'from(bucket: "{bucket}") |> range(start: 0)') == []


# --- writes ------------------------------------------------------------------------------------------


@dataclass
class Reading:
    room: str
    temp: float
    when: datetime


def test_points_text_dicts_and_dataclasses_read_back_typed(target: Target) -> None:
    bucket = target.new_bucket().name
    target.write(bucket, [
        Point("env").tag("room", "hall").field("temp", 21.5).field("count", 3).field("ok", True)
        .field("note", 'say "hi"\nbye').time(T0, WritePrecision.NS),
        Point("env").tag("room", "attic").field("temp", -1.25).field("count", -4).field("ok", False)
        .field("note", "a,b=c d").time(T0 + timedelta(seconds=1), WritePrecision.NS),
    ])
    target.write(bucket, "env,room=cellar temp=9.5,count=7i,big=9223372036854775807i,u=18446744073709551615u "
                 f"{int((T0 + timedelta(seconds=2)).timestamp())}", write_precision=WritePrecision.S)
    target.write(bucket, [f"env,room=garage temp=4 {int((T0 + timedelta(seconds=3)).timestamp() * 1000) + 7}"],
                 write_precision=WritePrecision.MS)
    target.write(bucket, {"measurement": "env", "tags": {"room": "kitchen"}, "fields": {"temp": 23.0},
                          "time": T0 + timedelta(seconds=4)})
    target.write(bucket, Reading("porch", 5.5, T0 + timedelta(seconds=5)), record_measurement_name="env",
                 record_tag_keys=["room"], record_field_keys=["temp"], record_time_key="when")

    records = target.query(f'from(bucket: "{bucket}") |> {RANGE}')
    values = by(records, "room", "_field")
    assert values == {
        # InfluxDB's CSV writer (Go encoding/csv, CRLF line ends) sends a newline inside a quoted
        # cell as CRLF, and the client keeps it: a real server reads back the same.
        ("hall", "temp"): 21.5, ("hall", "count"): 3, ("hall", "ok"): True, ("hall", "note"): 'say "hi"\r\nbye',
        ("attic", "temp"): -1.25, ("attic", "count"): -4, ("attic", "ok"): False, ("attic", "note"): "a,b=c d",
        ("cellar", "temp"): 9.5, ("cellar", "count"): 7, ("cellar", "big"): 2**63 - 1,
        ("cellar", "u"): 2**64 - 1, ("garage", "temp"): 4.0, ("kitchen", "temp"): 23.0, ("porch", "temp"): 5.5,
    }
    kinds = {(r["room"], r.get_field()): type(r.get_value()) for r in records}
    assert kinds[("hall", "count")] is int and kinds[("hall", "ok")] is bool and kinds[("garage", "temp")] is float
    times = {r["room"]: r.get_time() for r in records}
    assert times == {"hall": T0, "attic": T0 + timedelta(seconds=1), "cellar": T0 + timedelta(seconds=2),
                     "garage": T0 + timedelta(seconds=3, milliseconds=7), "kitchen": T0 + timedelta(seconds=4),
                     "porch": T0 + timedelta(seconds=5)}
    assert {r.get_measurement() for r in records} == {"env"}
    assert {r["result"] for r in records} == {"_result"}
    assert {r.get_start() for r in records} == {T0}


def test_a_data_frame_is_written_and_read_back_as_one(target: Target) -> None:
    bucket = target.new_bucket().name
    frame = pd.DataFrame(
        {"host": ["a", "a", "b"], "load": [0.5, 1.5, 7.25], "procs": [10, 11, 12]},
        index=pd.DatetimeIndex([T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)]))
    target.write(bucket, frame, data_frame_measurement_name="cpu", data_frame_tag_columns=["host"])

    with warnings.catch_warnings():
        # The client suggests pivot() for frame-shaped answers; the long form is what is checked here.
        warnings.simplefilter("ignore", MissingPivotFunction)
        got = target.client.query_api().query_data_frame(
            f'from(bucket: "{bucket}") |> {RANGE} |> filter(fn: (r) => r._field == "load")'
            ' |> keep(columns: ["_time", "_value", "host"])')
    got = pd.concat(got) if isinstance(got, list) else got
    got = got.sort_values("_time")
    assert list(got["host"]) == ["a", "a", "b"]
    assert list(got["_value"]) == [0.5, 1.5, 7.25]
    assert [t.to_pydatetime() for t in got["_time"]] == list(frame.index.to_pydatetime())
    assert str(got["_value"].dtype) == "float64"


def test_the_batching_writer_with_gzip_lands_every_point(target: Target) -> None:
    bucket = target.new_bucket().name
    client = target.connect(enable_gzip=True)
    errors: list[Any] = []
    options = WriteOptions(batch_size=400, flush_interval=10_000, max_retries=0)
    with client.write_api(write_options=options, error_callback=lambda conf, data, exc: errors.append(exc)) as w:
        w.write(bucket=bucket, record=[f"m,host=h{i % 4} v={i}i {1_672_531_200 + i}" for i in range(1_000)],
                write_precision=WritePrecision.S)
        w.write(bucket=bucket, record=[Point("m").tag("host", "p").field("v", i).time(T0 + timedelta(hours=1, seconds=i))
                                       for i in range(600)])
    assert errors == []

    counts = client.query_api().query(f'from(bucket: "{bucket}") |> {RANGE} |> count()')
    assert {t.records[0]["host"]: t.records[0].get_value() for t in counts} == {
        "h0": 250, "h1": 250, "h2": 250, "h3": 250, "p": 600}
    if target.sandbox is not None:
        writes = [r for r in target.sandbox.requests if r.path == "/api/v2/write"]
        # Batches are per bucket, org and precision: 1,000 points in seconds, 600 in nanoseconds.
        assert sorted(gzip.decompress(r.body).count(b"\n") + 1 for r in writes) == [200, 200, 400, 400, 400]
        assert all(r.headers.get("Content-Encoding") == "gzip" for r in writes)
        queries = [r for r in target.sandbox.responses if r.path == "/api/v2/query"]
        assert queries[-1].headers.get("Content-Encoding") == "gzip"


def test_a_missing_bucket_is_404_for_writes_and_queries(target: Target) -> None:
    missing = BUCKET_PREFIX + "missing-" + uuid.uuid4().hex[:8]
    with pytest.raises(ApiException) as caught:
        target.write(missing, "m v=1")
    assert caught.value.status == 404 and f'bucket "{missing}" not found' in caught.value.message
    with pytest.raises(ApiException) as caught:
        target.query(f'from(bucket: "{missing}") |> range(start: -1h)')
    assert caught.value.status == 404 and f'could not find bucket "{missing}"' in caught.value.message


def test_an_org_given_by_id_works_for_writes_and_queries(target: Target) -> None:
    bucket = target.new_bucket().name
    org_id = target.client.organizations_api().find_organizations(org=target.server.org)[0].id
    target.write(bucket, f"m v=2.5 {1_672_531_200}", write_precision=WritePrecision.S, org=org_id)
    assert [r.get_value() for r in target.query(f'from(bucket: "{bucket}") |> {RANGE}', org=org_id)] == [2.5]


# --- queries -----------------------------------------------------------------------------------------


def _load(target: Target) -> str:
    bucket = target.new_bucket().name
    rows = [("a", 1.0, 0), ("a", 3.0, 30), ("a", 5.0, 90), ("b", 10.0, 10), ("b", 20.0, 70)]
    target.write(bucket, [f"cpu,host={h} load={v} {1_672_531_200 + t}" for h, v, t in rows],
                 write_precision=WritePrecision.S)
    return bucket


def test_every_query_method_reads_the_same_answer(target: Target) -> None:
    bucket = _load(target)
    flux = f'from(bucket: "{bucket}") |> {RANGE} |> filter(fn: (r) => r.host == "b")'
    api = target.client.query_api()

    tables = api.query(flux)
    assert len(tables) == 1
    columns = {c.label: c.data_type for c in tables[0].columns}
    assert columns == {"result": "string", "table": "long", "_start": "dateTime:RFC3339",
                       "_stop": "dateTime:RFC3339", "_time": "dateTime:RFC3339", "_value": "double",
                       "_field": "string", "_measurement": "string", "host": "string"}
    assert [c.label for c in tables[0].get_group_key()] == ["_start", "_stop", "_field", "_measurement", "host"]
    assert [r.get_value() for r in tables[0].records] == [10.0, 20.0]

    streamed = list(api.query_stream(flux))
    assert [(r.get_time(), r.get_value()) for r in streamed] == [
        (T0 + timedelta(seconds=10), 10.0), (T0 + timedelta(seconds=70), 20.0)]

    rows = list(api.query_csv(flux))
    assert rows[0] == ["#datatype", "string", "long", "dateTime:RFC3339", "dateTime:RFC3339", "dateTime:RFC3339",
                       "double", "string", "string", "string"]
    assert rows[1] == ["#group", "false", "false", "true", "true", "false", "false", "true", "true", "true"]
    assert rows[2] == ["#default", "_result", "", "", "", "", "", "", "", ""]
    assert rows[3] == ["", "result", "table", "_start", "_stop", "_time", "_value", "_field", "_measurement", "host"]
    assert [row[5:] for row in rows[4:] if row] == [
        ["2023-01-01T00:00:10Z", "10", "load", "cpu", "b"], ["2023-01-01T00:01:10Z", "20", "load", "cpu", "b"]]

    raw = api.query_raw(flux).data.decode("utf-8")  # an urllib3 response, read whole
    assert raw.splitlines()[0] == ",".join(rows[0])
    assert "\r\n" in raw and raw.endswith("\r\n\r\n")
    assert ",,0,2023-01-01T00:00:00Z,2024-01-01T00:00:00Z,2023-01-01T00:00:10Z,10,load,cpu,b\r\n" in raw


def test_aggregates_windows_and_named_results(target: Target) -> None:
    bucket = _load(target)
    base = f'from(bucket: "{bucket}") |> {RANGE}'
    assert by(target.query(base + " |> mean()"), "host") == {"a": 3.0, "b": 15.0}
    assert by(target.query(base + " |> sum()"), "host") == {"a": 9.0, "b": 30.0}
    assert by(target.query(base + " |> count()"), "host") == {"a": 3, "b": 2}
    assert by(target.query(base + " |> max()"), "host") == {"a": 5.0, "b": 20.0}
    windows = target.query(
        f'from(bucket: "{bucket}") |> range(start: 2023-01-01T00:00:00Z, stop: 2023-01-01T00:03:00Z)'
        ' |> filter(fn: (r) => r.host == "a") |> aggregateWindow(every: 1m, fn: mean, createEmpty: true)')
    assert [(r.get_time(), r.get_value()) for r in windows] == [
        (T0 + timedelta(minutes=1), 2.0), (T0 + timedelta(minutes=2), 5.0), (T0 + timedelta(minutes=3), None)]
    two = target.client.query_api().query(
        base + ' |> first() |> yield(name: "first")\n' + base + ' |> last() |> yield(name: "last")')
    assert sorted((r["result"], r["host"], r.get_value()) for t in two for r in t.records) == [
        ("first", "a", 1.0), ("first", "b", 10.0), ("last", "a", 5.0), ("last", "b", 20.0)]


def test_query_parameters_of_every_type_reach_the_query(target: Target) -> None:
    bucket = _load(target)
    params = {
        "bucket": bucket,
        "host": "a",
        "start": T0,
        "stop": datetime(2023, 1, 1, 0, 1, 30, tzinfo=UTC),
        "floor": 1.5,
        "n": 1,
        "sorted": True,
        "hosts": ["b", "a"],
        "limits": ObjectExpression("ObjectExpression", properties=[
            ModelProperty("Property", key=Identifier("Identifier", "low"), value=IntegerLiteral("IntegerLiteral", "2")),
            ModelProperty("Property", key=Identifier("Identifier", "name"), value=StringLiteral("StringLiteral", "a")),
        ]),
    }
    flux = ('from(bucket: bucket) |> range(start: start, stop: stop)'
            ' |> filter(fn: (r) => r.host == host and r._value > floor and r.host == limits.name)'
            ' |> sort(columns: ["_value"], desc: sorted) |> limit(n: n)')
    assert [r.get_value() for r in target.query(flux, params=params)] == [3.0]

    # An int compares with a float field; the array's element picks the host.
    picked = target.query('from(bucket: bucket) |> range(start: start) |> filter(fn: (r) => r.host == hosts[0]'
                          ' and r._value >= threshold)', params={**params, "threshold": 15})
    assert [r.get_value() for r in picked] == [20.0]

    relative = target.query(
        'from(bucket: bucket) |> range(start: date, stop: 2023-01-01T00:01:00Z) |> count()',
        params={"bucket": bucket, "date": T0 + timedelta(seconds=20)})
    assert by(relative, "host") == {"a": 1}
    window = target.query(
        'from(bucket: bucket) |> range(start: start, stop: stop) |> aggregateWindow(every: every, fn: sum)',
        params={"bucket": bucket, "start": T0, "stop": T0 + timedelta(minutes=2), "every": timedelta(minutes=1)})
    assert by(window, "host", "_time") == {
        ("a", T0 + timedelta(minutes=1)): 4.0, ("a", T0 + timedelta(minutes=2)): 5.0,
        ("b", T0 + timedelta(minutes=1)): 10.0, ("b", T0 + timedelta(minutes=2)): 20.0}


def test_a_negative_duration_parameter_is_a_relative_start(target: Target) -> None:
    bucket = target.new_bucket().name
    now = datetime.now(UTC).replace(microsecond=0)
    target.write(bucket, [f"m v=1 {int((now - timedelta(hours=2)).timestamp())}",
                          f"m v=2 {int((now - timedelta(minutes=5)).timestamp())}"], write_precision=WritePrecision.S)
    got = target.query('from(bucket: bucket) |> range(start: since)',
                       params={"bucket": bucket, "since": timedelta(hours=-1)})
    assert [r.get_value() for r in got] == [2.0]


@pytest.mark.parametrize("value, message", [
    ([1, "a"], "array"),
    (float("nan"), "invalid character"),
    (2**70, "1180591620717411303424"),
])
def test_a_parameter_the_server_cannot_take_is_a_400(target: Target, value: Any, message: str) -> None:
    bucket = target.new_bucket().name
    if isinstance(value, float):
        # The client writes NaN into the JSON body, which is not JSON: only the answer is checked.
        target.requests_off_contract = True
    with pytest.raises(ApiException) as caught:
        target.query(f'from(bucket: "{bucket}") |> range(start: -1h)', params={"p": value})
    assert caught.value.status == 400
    if target.kind == "sandbox":  # the real server's wording differs by version
        assert message in caught.value.message


# --- buckets and deletes -----------------------------------------------------------------------------


def test_a_bucket_is_created_read_updated_and_deleted(target: Target) -> None:
    api = target.client.buckets_api()
    name = BUCKET_PREFIX + uuid.uuid4().hex[:12]
    made = target.new_bucket(bucket_name=name, description="first",
                             retention_rules=BucketRetentionRules(type="expire", every_seconds=3600))
    assert (made.name, made.description) == (name, "first")
    assert [(r.type, r.every_seconds) for r in made.retention_rules] == [("expire", 3600)]
    assert made.org_id == target.client.organizations_api().find_organizations(org=target.server.org)[0].id

    assert api.find_bucket_by_id(made.id).name == name
    assert api.find_bucket_by_name(name).id == made.id
    assert [b.id for b in api.find_buckets(name=name).buckets] == [made.id]
    assert made.id in [b.id for b in api.find_buckets_iter(org=target.server.org, limit=2)]

    made.description = "second"
    made.retention_rules = [BucketRetentionRules(type="expire", every_seconds=7200)]
    updated = api.update_bucket(made)
    assert (updated.id, updated.description) == (made.id, "second")
    assert [r.every_seconds for r in api.find_bucket_by_id(made.id).retention_rules] == [7200]

    api.delete_bucket(made)
    with pytest.raises(ApiException) as caught:
        api.find_bucket_by_id(made.id)
    assert caught.value.status == 404
    assert api.find_bucket_by_name(name) is None

    with pytest.raises(ApiException) as caught:
        target.new_bucket(bucket_name="_reserved-" + uuid.uuid4().hex[:6])
    assert caught.value.status == 400


def test_the_delete_api_removes_only_matching_points(target: Target) -> None:
    bucket = target.new_bucket().name
    target.write(bucket, [f"cpu,host={h} v={i} {1_672_531_200 + i}" for i in range(4) for h in ("a", "b")]
                 + [f"mem,host=a v=9 {1_672_531_200}"], write_precision=WritePrecision.S)
    target.client.delete_api().delete(T0, T0 + timedelta(seconds=2), '_measurement="cpu" AND host="a"',
                                      bucket=bucket, org=target.server.org)
    left = target.query(f'from(bucket: "{bucket}") |> {RANGE}')
    assert sorted((r.get_measurement(), r["host"], r.get_value()) for r in left) == [
        ("cpu", "a", 3.0), ("cpu", "b", 0.0), ("cpu", "b", 1.0), ("cpu", "b", 2.0), ("cpu", "b", 3.0),
        ("mem", "a", 9.0)]


# --- the sandbox's own limits ------------------------------------------------------------------------


def test_profilers_are_refused_by_name_on_the_sandbox(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    # The client asks for profiles through an "import profiler" in the extern file; the sandbox
    # has no Flux packages and says so (a real server adds the profiler's tables to the answer).
    with InfluxDBClient(url=sandbox.url, token=sandbox.token, org=sandbox.org.name) as client:
        api = client.query_api(query_options=QueryOptions(profilers=["query", "operator"]))
        with pytest.raises(ApiException) as caught:
            api.query(f'from(bucket: "{sandbox.bucket.name}") |> range(start: -1h)')
    assert caught.value.status == 400
    assert caught.value.message == 'extern.imports[0]: unsupported import "profiler": the sandbox has no Flux packages'
    assert "Profiler: query" in capsys.readouterr().out  # the client did ask
