"""One end-to-end suite: every operation through the connector, against every target at hand.

Targets:
- ``sandbox``: the built-in sandbox server, always.
- ``sandbox-https``: the same over https, with a certificate signed by a CA the tests make and
  trusted through the connection's CA bundle (verification stays on).
- ``live``: a real InfluxDB 2.x or Cloud, only when asked explicitly: ``INFLUX_E2E_LIVE=1``
  together with ``INFLUX_HOST``, ``INFLUX_TOKEN`` and ``INFLUX_ORG`` pointing at one (the token
  needs read/write on buckets in that org), the same opt-in as the official clients' suites
  (``official_clients.live_server``). An ``INFLUX_HOST`` exported for other reasons never sends
  the suite there. The suite creates its own buckets, named ``influx-connector-e2e-<random>``,
  and deletes them afterwards; it reads and writes nothing else.

The tests observe only what the API returns, never the sandbox's memory, so the same assertions
hold on a real server. Every exchange is captured at the connector's send hook and checked
against the official OpenAPI contract on both targets; on the sandbox, what the server itself
received and answered is checked too.
"""
from __future__ import annotations

import calendar
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from influx_connector import api, cli
from influx_connector.connection import Connection
from influx_connector.errors import APIError
from influx_connector.hookspecs import hookimpl
from influx_connector.plugins import create_host
from influx_connector.sandbox import Sandbox

from .certs import Certs, make_certs
from .conftest import CHECKED, assert_contract_kept
from .helpers import TOKEN
from .official_clients import live_server
from .openapi_contract import contract_for

# A target that is not configured is not collected at all (rather than skipped): the sandbox
# run is the one that always happens, the live run is an addition, asked for explicitly.
TARGETS = ["sandbox", "sandbox-https"] + (["live"] if live_server() is not None else [])
E2E_PREFIX = "influx-connector-e2e-"

# Times inside 2023, so the data sits well inside a new bucket's infinite retention.
T0 = 1_672_531_200  # 2023-01-01T00:00:00Z
RANGE = "range(start: 2023-01-01T00:00:00Z, stop: 2024-01-01T00:00:00Z)"


class ContractRecorder:
    """A send-hook wrapper that keeps every request and response the connector exchanged."""

    def __init__(self) -> None:
        self.exchanges: list[tuple[requests.PreparedRequest, requests.Response]] = []

    @hookimpl(wrapper=True)
    def influx_connector_send(self, request: requests.PreparedRequest) -> Iterator[Any]:
        response = yield
        _ = response.content  # read it now; requests replays the cached bytes to the decoder
        self.exchanges.append((request, response))
        return response

    def problems(self, v3_server: bool = False) -> list[str]:
        found: list[str] = []
        for req, resp in self.exchanges:
            url = urlsplit(req.url or "")
            path = url.path
            contract = contract_for(path, v3_server)
            query = parse_qsl(url.query, keep_blank_values=True)
            body = req.body.encode() if isinstance(req.body, str) else req.body
            found += contract.check_request(req.method, path, query, dict(req.headers), body)
            # requests has already undone any Content-Encoding; check the decoded body as such.
            headers = {k: v for k, v in resp.headers.items() if k.lower() != "content-encoding"}
            found += contract.check_response(req.method, path, resp.status_code, headers, resp.content)
        CHECKED["send_hook"] += len(self.exchanges)
        return found


@dataclass
class Target:
    """A connection to the server under test, and the buckets this test made there."""

    settings: dict[str, Any]
    conn: Connection
    made: list[str] = field(default_factory=list)

    def new_bucket(self, **params: Any) -> dict[str, Any]:
        """Create a bucket with a unique name through the connector, and remember to delete it."""
        name = params.pop("name", None) or E2E_PREFIX + uuid.uuid4().hex[:12]
        bucket = self.conn.run("create_bucket", {"name": name, **params}).data
        self.made.append(bucket["id"])
        return bucket

    def cleanup(self) -> None:
        for bucket_id in self.made:
            try:
                self.conn.run("delete_bucket", {"bucket_id": bucket_id})
            except APIError as exc:
                if exc.status != 404:  # already deleted by the test itself
                    raise


def _live_settings() -> dict[str, Any]:
    server = live_server()
    assert server is not None
    # The URL is read as the command line reads INFLUX_HOST; no default bucket: the suite
    # writes only to buckets it created.
    environ = {"INFLUX_HOST": server.url, "INFLUX_TOKEN": server.token, "INFLUX_ORG": server.org}
    return cli.env_values(environ, api.load())


@pytest.fixture(scope="session")
def e2e_certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("e2e-tls"))


def _start_sandbox(kind: str, certs: Certs) -> tuple[Sandbox | None, dict[str, Any]]:
    if kind == "live":
        return None, _live_settings()
    tls = {"tls_cert": certs.cert, "tls_key": certs.key} if kind == "sandbox-https" else {}
    sandbox = Sandbox(token=TOKEN, org="e2e-org", bucket=None, **tls).start()
    settings = dict(sandbox.connection_settings)
    if tls:
        settings["ca_bundle"] = str(certs.ca)
    return sandbox, settings


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest, e2e_certs: Certs) -> Iterator[Target]:
    sandbox, settings = _start_sandbox(request.param, e2e_certs)
    recorder = ContractRecorder()
    conn = api.connect(settings, host=create_host(extra=(recorder,)))
    tgt = Target(settings, conn)
    try:
        yield tgt
        tgt.cleanup()
    finally:
        conn.close()
        if sandbox is not None:
            sandbox.stop()
    problems = recorder.problems()
    assert not problems, "the contract was broken:\n" + "\n".join(problems)
    if sandbox is not None:
        assert_contract_kept(sandbox)


def query(tgt: Target, flux: str, **params: Any) -> Any:
    return tgt.conn.run("query_data", {"query": flux, **params}).data


# --- connection -------------------------------------------------------------------------------------


def test_test_connection_passes_every_step(target: Target) -> None:
    report = target.conn.test()
    steps = {s.name: s.status for s in report.steps}
    assert report.ok, report.to_dict()
    assert steps["reachable"] == steps["token"] == steps["org"] == "passed"


def test_a_wrong_token_is_401_and_never_shown(target: Target) -> None:
    wrong = {**target.settings, "token": "e2e-wrong-token-" + uuid.uuid4().hex}
    with api.connect(wrong) as bad, pytest.raises(APIError) as caught:
        bad.run("list_buckets")
    assert (caught.value.status, caught.value.code) == (401, "unauthorized")
    assert wrong["token"] not in str(caught.value) and wrong["token"] not in repr(caught.value)


# --- write and query ----------------------------------------------------------------------------------


RECORDS = [
    {"measurement": "air quality", "tags": {"room": "living room", "floor": "1,a=b"},
     "fields": {"temp": 21.5, "count": 3, "ok": True, "note": 'say "hi" \\ bye'}, "time": T0},
    {"measurement": "air quality", "tags": {"room": "kitchen", "floor": "1,a=b"},
     "fields": {"temp": -19.25, "count": -4, "ok": False, "note": "a,b=c d"}, "time": T0 + 60},
]


def test_records_written_are_read_back_equal(target: Target) -> None:
    bucket = target.new_bucket()["name"]
    written = target.conn.run("write_data", {"bucket": bucket, "data": RECORDS, "precision": "s"})
    assert written.status == 204 and written.data["points"] == 2

    rows = query(target, f'from(bucket: "{bucket}") |> {RANGE}')
    got = {(r["room"], r["_field"]): r["_value"] for r in rows}
    assert got == {
        ("living room", "temp"): 21.5, ("living room", "count"): 3, ("living room", "ok"): True,
        ("living room", "note"): 'say "hi" \\ bye',
        ("kitchen", "temp"): -19.25, ("kitchen", "count"): -4, ("kitchen", "ok"): False,
        ("kitchen", "note"): "a,b=c d",
    }
    assert {r["_measurement"] for r in rows} == {"air quality"}
    assert {r["floor"] for r in rows} == {"1,a=b"}
    assert {r["_time"] for r in rows} == {"2023-01-01T00:00:00Z", "2023-01-01T00:01:00Z"}
    assert {r["result"] for r in rows} == {"_result"}


def test_line_protocol_in_each_precision(target: Target) -> None:
    bucket = target.new_bucket()["name"]
    for precision, stamp in (("s", T0), ("ms", T0 * 10**3 + 1), ("us", T0 * 10**6 + 2), ("ns", T0 * 10**9 + 3)):
        target.conn.run("write_data", {"bucket": bucket, "precision": precision,
                                       "data": f"cpu,precision={precision} v={len(precision)}i {stamp}"})
    rows = query(target, f'from(bucket: "{bucket}") |> {RANGE}')
    times = {r["precision"]: r["_time"] for r in rows}
    assert times == {"s": "2023-01-01T00:00:00Z", "ms": "2023-01-01T00:00:00.001Z",
                     "us": "2023-01-01T00:00:00.000002Z", "ns": "2023-01-01T00:00:00.000000003Z"}


def test_a_large_write_is_compressed_and_lands_whole(target: Target) -> None:
    bucket = target.new_bucket()["name"]
    lines = "\n".join(f"m,host=h{i % 5} v={i}i {T0 + i}" for i in range(3000))
    result = target.conn.run("write_data", {"bucket": bucket, "data": lines, "precision": "s"})
    assert result.data["compressed"] is True and result.data["points"] == 3000
    counts = query(target, f'from(bucket: "{bucket}") |> {RANGE} |> count()')
    assert {r["host"]: r["_value"] for r in counts} == {f"h{i}": 600 for i in range(5)}


def test_flux_transformations_and_aggregates(target: Target) -> None:
    bucket = target.new_bucket()["name"]
    data = "\n".join(f"cpu,host={h} load={v} {T0 + t}" for h, v, t in
                     [("a", 1.0, 0), ("a", 3.0, 30), ("a", 5.0, 90), ("b", 10.0, 10), ("b", 20.0, 70)])
    target.conn.run("write_data", {"bucket": bucket, "data": data, "precision": "s"})
    base = f'from(bucket: "{bucket}") |> {RANGE} |> filter(fn: (r) => r._measurement == "cpu" and r._field == "load")'

    means = query(target, base + " |> mean()")
    assert {r["host"]: r["_value"] for r in means} == {"a": 3.0, "b": 15.0}
    top = query(target, base + ' |> group() |> sort(columns: ["_value"], desc: true) |> limit(n: 2)')
    assert [r["_value"] for r in top] == [20.0, 10.0]
    kept = query(target, base + ' |> filter(fn: (r) => r.host == "b") |> keep(columns: ["_time", "_value"])')
    assert [set(r) - {"result", "table"} for r in kept] == [{"_time", "_value"}] * 2
    windows = query(target, f'from(bucket: "{bucket}") |> range(start: 2023-01-01T00:00:00Z, stop: 2023-01-01T00:03:00Z)'
                    ' |> filter(fn: (r) => r._field == "load" and r.host == "a")'
                    " |> aggregateWindow(every: 1m, fn: sum, createEmpty: true)")
    assert [(r["_time"], r["_value"]) for r in windows] == [
        ("2023-01-01T00:01:00Z", 4.0), ("2023-01-01T00:02:00Z", 5.0), ("2023-01-01T00:03:00Z", None)]
    two = query(target, base + ' |> last() |> yield(name: "last")\n' + base + ' |> first() |> yield(name: "first")')
    assert sorted((r["result"], r["host"], r["_value"]) for r in two) == [
        ("first", "a", 1.0), ("first", "b", 10.0), ("last", "a", 5.0), ("last", "b", 20.0)]


def test_query_with_now_and_shapes(target: Target) -> None:
    # (Query params are left to the sandbox-only tests: InfluxDB OSS does not support them, Cloud does.)
    bucket = target.new_bucket()["name"]
    target.conn.run("write_data", {"bucket": bucket, "data": f"m v=1 {T0}\nm v=2 {T0 + 10}", "precision": "s"})
    rows = query(target, f'from(bucket: "{bucket}") |> range(start: -5s)', now="2023-01-01T00:00:12Z")
    assert [r["_value"] for r in rows] == [2.0]

    tables = query(target, f'from(bucket: "{bucket}") |> {RANGE}', shape="tables")
    assert len(tables) == 1 and tables[0]["group_key"]["_measurement"] == "m"
    assert {c["name"]: c["datatype"] for c in tables[0]["columns"]}["_value"] == "double"
    raw = query(target, f'from(bucket: "{bucket}") |> {RANGE}', shape="csv")
    assert raw.startswith("#datatype,string,long,") and "\r\n" in raw


def test_query_errors_name_the_problem(target: Target) -> None:
    with pytest.raises(APIError) as caught:
        query(target, f'from(bucket: "{E2E_PREFIX}absent-{uuid.uuid4().hex}") |> range(start: -1h)')
    assert (caught.value.status, caught.value.code) == (404, "not found")
    assert "could not find bucket" in caught.value.message
    bucket = target.new_bucket()["name"]
    with pytest.raises(APIError) as caught:
        query(target, f'from(bucket: "{bucket}") |> range(start: -1h) |> nosuchfunction()')
    assert caught.value.status == 400 and "nosuchfunction" in caught.value.message


def test_write_errors_list_rejected_lines_and_dropped_points(target: Target) -> None:
    bucket = target.new_bucket()["name"]
    with pytest.raises(APIError) as caught:
        target.conn.run("write_data", {"bucket": bucket, "data": "cpu v=1 1\ncpu value=\n"})
    assert (caught.value.status, caught.value.code) == (400, "invalid")
    assert [r["line"] for r in caught.value.details["rejected_lines"]] == ["cpu value="]

    target.conn.run("write_data", {"bucket": bucket, "data": f"m v=1 {T0}", "precision": "s"})
    with pytest.raises(APIError) as caught:
        target.conn.run("write_data", {"bucket": bucket, "precision": "s",
                                       "data": f'm v="text" {T0 + 1}\nm v=3 {T0 + 2}'})
    assert (caught.value.status, caught.value.code) == (422, "unprocessable entity")
    assert caught.value.details["partial_write"] is True
    values = [r["_value"] for r in query(target, f'from(bucket: "{bucket}") |> {RANGE}')]
    assert values == [1.0, 3.0]  # the conflicting point was dropped, the other one landed

    with pytest.raises(APIError) as caught:
        target.conn.run("write_data", {"bucket": f"{E2E_PREFIX}absent-{uuid.uuid4().hex}", "data": "m v=1"})
    assert (caught.value.status, caught.value.code) == (404, "not found")


# --- the Flux helpers ---------------------------------------------------------------------------------


def test_ast_analyze_and_suggestions(target: Target) -> None:
    ast = target.conn.run("generate_ast", {"query": 'from(bucket: "b") |> range(start: -1h)'}).data["ast"]
    statement = ast["files"][0]["body"][0]
    assert (ast["type"], statement["type"], statement["expression"]["type"]) == (
        "Package", "ExpressionStatement", "PipeExpression")
    call = statement["expression"]["call"]
    assert call["callee"]["name"] == "range"

    assert target.conn.run("analyze_query", {"query": 'from(bucket: "b") |> range(start: -1h)'}).data == {"errors": []}
    errors = target.conn.run("analyze_query", {"query": 'from(bucket: "b")\n  |> range(start: -1h'}).data["errors"]
    assert errors and all(e["line"] >= 1 and e["column"] >= 1 and e["message"] for e in errors)

    names = {f["name"] for f in target.conn.run("query_suggestions").data["funcs"]}
    assert {"from", "range", "filter", "aggregateWindow", "yield"} <= names
    one = target.conn.run("query_suggestions_name", {"name": "range"}).data
    assert one["name"] == "range" and {"start", "stop"} <= set(one["params"])
    with pytest.raises(APIError) as caught:
        target.conn.run("query_suggestions_name", {"name": "noSuchFunction"})
    assert caught.value.status == 500


# --- deleting data, organizations, health ----------------------------------------------------------------


def _stamp(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def test_delete_data_by_range_and_predicate(target: Target) -> None:
    bucket = target.new_bucket()["name"]
    lines = [f"air,room=attic temp={i}.5 {T0 + i}" for i in range(6)] + [f"air,room=hall temp={i}.5 {T0 + i}" for i in range(6)]
    target.conn.run("write_data", {"bucket": bucket, "data": "\n".join(lines), "precision": "s"})

    def times(room: str) -> list[int]:
        rows = query(target, f'from(bucket: "{bucket}") |> {RANGE} |> filter(fn: (r) => r.room == "{room}")')
        return [calendar.timegm(time.strptime(r["_time"], "%Y-%m-%dT%H:%M:%SZ")) - T0 for r in rows]

    done = target.conn.run("delete_data", {"bucket": bucket, "start": _stamp(T0 + 1), "stop": _stamp(T0 + 3),
                                           "predicate": '_measurement="air" AND room="attic"'})
    assert done.status == 204 and done.data["deleted"] is True
    assert times("attic") == [0, 4, 5]  # start and stop are both inclusive
    assert times("hall") == [0, 1, 2, 3, 4, 5]  # the predicate kept the other room

    target.conn.run("delete_data", {"bucket": bucket, "start": _stamp(T0), "stop": _stamp(T0 + 3600)})
    assert times("hall") == [] and times("attic") == []


def test_delete_data_errors_name_the_problem(target: Target) -> None:
    bucket = target.new_bucket()["name"]
    missing = E2E_PREFIX + "missing-" + uuid.uuid4().hex[:8]
    with pytest.raises(APIError) as caught:
        target.conn.run("delete_data", {"bucket": missing, "start": _stamp(T0), "stop": _stamp(T0 + 1)})
    assert caught.value.status == 404
    with pytest.raises(APIError) as caught:
        target.conn.run("delete_data", {"bucket": bucket, "start": _stamp(T0), "stop": _stamp(T0 + 1),
                                        "predicate": 'room="a" OR room="b"'})
    assert caught.value.status == 400 and caught.value.message


def test_list_organizations_finds_the_connections_org(target: Target) -> None:
    org = target.settings["org"]
    everything = target.conn.run("list_organizations", {"all_pages": True}).data["orgs"]
    assert org in {o["name"] for o in everything}
    one = target.conn.run("list_organizations", {"org": org}).data["orgs"]
    assert [o["name"] for o in one] == [org]
    by_id = target.conn.run("list_organizations", {"org_id": one[0]["id"]}).data["orgs"]
    assert [o["id"] for o in by_id] == [one[0]["id"]]


def test_health_reports_the_server_passing(target: Target) -> None:
    health = target.conn.run("health")
    assert health.status == 200 and health.data["status"] == "pass" and health.data["name"]


# --- buckets ----------------------------------------------------------------------------------------


def test_bucket_lifecycle(target: Target) -> None:
    created = target.new_bucket(description="e2e", retention_seconds=7200)
    assert created["retentionRules"][0]["everySeconds"] == 7200 and created["description"] == "e2e"
    got = target.conn.run("retrieve_bucket", {"bucket_id": created["id"]}).data
    assert (got["id"], got["name"], got["orgID"]) == (created["id"], created["name"], created["orgID"])

    renamed = created["name"] + "-renamed"
    updated = target.conn.run("update_bucket", {"bucket_id": created["id"], "name": renamed,
                                                "description": "changed", "retention_seconds": 0}).data
    assert (updated["name"], updated["description"]) == (renamed, "changed")
    assert all(r.get("everySeconds", 0) == 0 for r in updated["retentionRules"])  # 0: keep forever

    listed = target.conn.run("list_buckets", {"name": renamed}).data["buckets"]
    assert [b["id"] for b in listed] == [created["id"]]

    deleted = target.conn.run("delete_bucket", {"bucket_id": created["id"]})
    assert deleted.status == 204 and deleted.data == {"deleted": True, "bucket_id": created["id"]}
    with pytest.raises(APIError) as caught:
        target.conn.run("retrieve_bucket", {"bucket_id": created["id"]})
    assert (caught.value.status, caught.value.code) == (404, "not found")


def test_a_duplicate_bucket_name_is_a_conflict(target: Target) -> None:
    first = target.new_bucket()
    with pytest.raises(APIError) as caught:
        target.new_bucket(name=first["name"])
    assert (caught.value.status, caught.value.code) == (422, "conflict")


def test_list_buckets_pages_through_everything(target: Target) -> None:
    made = {target.new_bucket()["id"] for _ in range(5)}
    page = target.conn.run("list_buckets", {"limit": 2}).data
    assert len(page["buckets"]) == 2 and page["links"].get("next")
    everything = target.conn.run("list_buckets", {"limit": 2, "all_pages": True})
    ids = [b["id"] for b in everything.data["buckets"]]
    assert made <= set(ids) and len(ids) == len(set(ids))
    assert everything.meta["pages"] == -(-len(ids) // 2)
    after = target.conn.run("list_buckets", {"after": min(made), "limit": 100}).data["buckets"]
    assert all(b["id"] > min(made) for b in after) and (made - {min(made)}) <= {b["id"] for b in after}


def test_the_recorder_reports_what_the_contract_forbids() -> None:
    """The send-hook check above is the only contract check on a live server: prove it can fail."""
    recorder = ContractRecorder()
    with Sandbox(token=TOKEN) as sb:
        host = create_host(extra=(recorder,))
        with api.connect(sb.connection_settings, host=host) as conn, pytest.raises(APIError):
            conn.get_json("/api/v2/buckets", {"limit": "500"})  # the contract caps limit at 100
    problems = recorder.problems()
    assert any("limit" in p and "100" in p for p in problems), problems
