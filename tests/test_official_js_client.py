"""The official JavaScript client (@influxdata/influxdb-client and -apis 1.35.0) from Node.

Most low-code hosts run on Node, so the sandbox must serve the official JavaScript client as
it serves this connector. ``tests/js/official_client.mjs`` makes the client's calls (ping,
health, ready, organisations, bucket create/read/list/update/delete, batched gzip'd writes
of points and line protocol, rows, iterators, observers, lines, raw CSV, the ``flux``
template, an ``extern`` file through QueryAPI.postQuery, ``now``, AST and analyze, deletes,
missing buckets and a wrong token) and prints what came back as JSON; these tests assert it.

Targets: the sandbox always; a real InfluxDB 2.x on the explicit opt-in described in
``tests/official_clients.py``. On the sandbox every request and answer is also checked
against the official OpenAPI contract. Node.js and the npm packages are required: without
them the tests fail and say how to install them.
"""
from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from influx_connector.sandbox import Sandbox

from .conftest import contract_problems
from .helpers import TOKEN
from .official_clients import BUCKET_PREFIX, Server, live_server, targets

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tests" / "js" / "official_client.mjs"
PACKAGES = ("@influxdata/influxdb-client", "@influxdata/influxdb-client-apis")
ORG = "js-client-org"
#: What QueryApi (influxdb-client 1.35.0) sends that the contract does not declare. InfluxDB
#: reads only the media type of Content-Type, and its JSON decoder ignores unknown fields.
CLIENT_DEVIATIONS = (
    "POST /api/v2/query: header 'Content-Type': 'application/json; encoding=utf-8' is not one of "
    "['application/json', 'application/vnd.flux']",
    "POST /api/v2/query: request body #/dialect/quoteChar: property 'quoteChar' is not declared by the contract",
)


def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.fail("Node.js is needed for the JavaScript client tests: install it (Debian: "
                    "apt-get install -y nodejs npm), then run: npm ci --prefix frontend")
    for package in PACKAGES:
        if not (ROOT / "frontend" / "node_modules" / package / "package.json").is_file():
            pytest.fail(f"{package} is not installed: run npm ci --prefix frontend")
    return found


def run_script(server: Server) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFLUX_")}
    env.update(INFLUX_HOST=server.url, INFLUX_TOKEN=server.token, INFLUX_ORG=server.org)
    done = subprocess.run([node(), str(SCRIPT)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout)
    assert "fatal" not in out and "cleanup" not in out, out
    return out


@pytest.fixture(scope="module", params=targets())
def js(request: pytest.FixtureRequest) -> Iterator[tuple[dict[str, Any], Sandbox | None]]:
    """One run of the script per target; the sandbox's exchanges are checked afterwards."""
    if request.param == "live":
        server = live_server()
        assert server is not None
        yield run_script(server), None
        return
    sandbox = Sandbox(token=TOKEN, org=ORG, bucket=None).start()
    try:
        yield run_script(Server(sandbox.url, TOKEN, ORG)), sandbox
    finally:
        sandbox.stop()
    problems = contract_problems(sandbox)
    # The client's own departures from the contract, which servers accept: each must be seen
    # (so this list cannot go stale) and nothing else may appear.
    for deviation in CLIENT_DEVIATIONS:
        assert deviation in problems, f"the client no longer sends: {deviation}"
    left = [p for p in problems if p not in CLIENT_DEVIATIONS]
    assert not left, "the contract was broken:\n" + "\n".join(left)
    assert [b.name for b in sandbox.store.buckets.values() if b.name.startswith(BUCKET_PREFIX)] == []


def test_server_endpoints_answer(js: tuple[dict[str, Any], Sandbox | None]) -> None:
    out, _ = js
    assert out["ping"] == {"ping": None}  # 204: the promise resolves to nothing
    assert out["health"]["name"] == "influxdb" and out["health"]["status"] == "pass"
    assert out["health"]["version"].startswith("v2.")
    assert out["ready"] == {"status": "ready"}
    assert len(out["orgs"]) == 1 and out["orgs"][0]["idLength"] == 16


def test_a_bucket_is_created_read_listed_updated_and_deleted(js: tuple[dict[str, Any], Sandbox | None]) -> None:
    out, _ = js
    assert out["buckets"] == {
        "created": {"description": "first", "every": [3600], "orgMatches": True},
        "read": {"sameName": True},
        "listed": [True],
        "patched": {"description": "second", "every": [7200]},
        "afterDelete": {"error": "HttpError", "status": 404, "code": "not found", "message": "bucket not found"},
    }


def test_points_and_lines_are_written_and_read_back_typed(js: tuple[dict[str, Any], Sandbox | None]) -> None:
    out, sandbox = js
    assert out["write"] == {"failed": []}
    values = {(r["room"], r["_field"]): (r["_value"], r["type"]) for r in out["rows"]}
    assert values == {
        ("hall", "temp"): (21.5, "number"), ("hall", "count"): (3, "number"), ("hall", "ok"): (True, "boolean"),
        ("hall", "note"): ('say "hi"', "string"), ("hall", "u"): (7, "number"),
        ("attic", "temp"): (-1.25, "number"), ("attic", "count"): (-4, "number"), ("attic", "ok"): (False, "boolean"),
        ("attic", "note"): ("a,b=c d", "string"), ("attic", "u"): (0, "number"),
    }
    assert {r["room"]: r["_time"] for r in out["rows"]} == {"hall": "2023-01-01T00:00:00Z", "attic": "2023-01-01T00:00:01Z"}
    assert {r["result"] for r in out["rows"]} == {"_result"}
    assert sorted(r["table"] for r in out["rows"]) == list(range(10))  # one table per series and field
    assert out["counts"] == {"h0": 250, "h1": 250, "h2": 250, "h3": 250}
    if sandbox is not None:
        # 1,002 points in batches of 300, each body above the client's 1,000-byte gzip threshold.
        writes = [r for r in sandbox.requests if r.path == "/api/v2/write" and b"h1" in _body(r)]
        assert len(writes) == 4 and all(_header(r, "Content-Encoding") == "gzip" for r in writes)
        assert sorted(len(_body(r).split(b"\n")) for r in writes) == [102, 300, 300, 300]


def _header(req: Any, name: str) -> str | None:
    return next((v for k, v in req.headers.items() if k.lower() == name.lower()), None)


def _body(req: Any) -> bytes:
    return gzip.decompress(req.body) if _header(req, "Content-Encoding") == "gzip" else req.body


def test_aggregates_and_windows(js: tuple[dict[str, Any], Sandbox | None]) -> None:
    out, _ = js
    # host h1 holds v = 1, 5, 9, ... 997 at seconds 1, 5, 9, ...
    assert out["aggregates"]["mean"] == 499 and out["aggregates"]["max"] == 997
    assert out["aggregates"]["windows"] == [
        ["2023-01-01T00:01:00Z", sum(range(1, 60, 4))], ["2023-01-01T00:02:00Z", sum(range(61, 120, 4))]]


def test_every_reader_sees_the_same_answer(js: tuple[dict[str, Any], Sandbox | None]) -> None:
    readers = js[0]["readers"]
    assert readers["iterated"] == [-1.25]
    assert readers["observed"] == ["2023-01-01T00:00:01Z"]
    header = ["#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,double,string,string,string",
              "#group,false,false,true,true,false,false,true,true,true",
              "#default,_result,,,,,,,,",
              ",result,table,_start,_stop,_time,_value,_field,_measurement,room"]
    row = ",,0,2023-01-01T00:00:00Z,2024-01-01T00:00:00Z,2023-01-01T00:00:01Z,-1.25,temp,env,attic"
    assert readers["lines"] == [*header, row, ""]
    assert readers["raw"] == "\r\n".join([*header, row]) + "\r\n\r\n"


def test_parameters_reach_the_query(js: tuple[dict[str, Any], Sandbox | None]) -> None:
    out, sandbox = js
    assert out["template"] == [-1.25]  # time(v:), duration(v:), a string and a float from flux``
    [counted] = out["extern"]
    assert (counted["host"], counted["_value"], counted["_start"]) == ("h2", 125, "2023-01-01T00:00:00Z")
    assert out["now"] == [["2023-01-01T00:00:08Z", 8]]
    if sandbox is not None:
        sent = [json.loads(r.body) for r in sandbox.requests if r.path == "/api/v2/query" and b'"extern"' in r.body]
        assert [[s["assignment"]["id"]["name"] if "assignment" in s else s["id"]["name"]
                 for s in body["extern"]["body"]] for body in sent] == [["bucket", "start", "stop", "hosts", "floor"]]


def test_ast_analyze_and_delete(js: tuple[dict[str, Any], Sandbox | None]) -> None:
    out, _ = js
    assert out["ast"] == {"body": "PipeExpression", "errors": 1}
    assert out["delete"] == {"h1": 250, "h2": 250, "h3": 250}


def test_missing_buckets_and_a_wrong_token_are_refused(js: tuple[dict[str, Any], Sandbox | None]) -> None:
    out, _ = js
    missing = out["missingBucket"]
    assert out["queryMissing"]["status"] == 404 and out["queryMissing"]["code"] == "not found"
    assert f'could not find bucket "{missing}"' in out["queryMissing"]["message"]
    assert out["writeMissing"] == {"error": "HttpError", "status": 404, "code": "not found",
                                   "message": f'bucket "{missing}" not found'}
    unauthorized = {"error": "HttpError", "status": 401, "code": "unauthorized", "message": "unauthorized access"}
    assert out["wrongTokenQuery"] == out["wrongTokenBuckets"] == unauthorized
    assert out["wrongTokenPing"] == {"ping": None}
