"""The main job, end to end: every operation against a server, printed step by step.

Without connection settings it starts the built-in sandbox on loopback, so a new user sees the
connector work with no InfluxDB installed.
"""
from __future__ import annotations

import json
import time
from typing import Any, Callable, Mapping, TextIO

from . import api
from .connection import Connection
from .errors import ConnectorError

DEMO_TOKEN = "demo-token-not-secret"
DEMO_ORG = "demo-org"


def _short(value: Any, limit: int = 400) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


def _records(now_s: int) -> list[dict[str, Any]]:
    rooms = ["living room", "kitchen", "attic, north"]
    return [
        {"measurement": "air", "tags": {"room": room}, "fields": {"temp": 19.5 + i + r, "humidity": 40 + i, "ok": True},
         "time": now_s - 60 * (5 - i)}
        for r, room in enumerate(rooms) for i in range(5)
    ]


def run_demo(conn: Connection, out: TextIO, bucket: str = "demo-bucket") -> bool:
    """Run every operation once; return True when all of them did what they should."""
    failures = 0
    ran: set[str] = set()

    def step(title: str, op_id: str, params: Mapping[str, Any] | None = None,
             show: Callable[[Any], Any] = lambda d: d) -> Any:
        nonlocal failures
        ran.add(op_id)
        try:
            result = conn.run(op_id, params or {})
        except ConnectorError as exc:
            failures += 1
            out.write(f"✗ {title} [{op_id}]: {exc}\n")
            return None
        out.write(f"✓ {title} [{op_id}] HTTP {result.status}: {_short(show(result.data))}\n")
        return result.data

    report = conn.test()
    out.write("Test connection: " + ", ".join(f"{s.title}: {s.status}" for s in report.steps) + "\n")
    created = step("Create a bucket", "create_bucket", {"name": bucket, "description": "made by the demo",
                                                         "retention_seconds": 0})
    if created is None:
        return False
    bucket_id = created["id"]
    now_s = int(time.time())
    step("Write data (JSON records)", "write_data", {"bucket": bucket, "data": _records(now_s), "precision": "s"})
    step("Write data (line protocol)", "write_data",
         {"bucket": bucket, "data": f"air,room=cellar temp=12.5,humidity=80i {now_s}", "precision": "s"})
    query = (f'from(bucket: "{bucket}") |> range(start: -1h) '
             '|> filter(fn: (r) => r._measurement == "air" and r._field == "temp") '
             '|> mean() |> yield(name: "mean_temp")')
    step("Query data", "query_data", {"query": query},
         show=lambda rows: [{k: r.get(k) for k in ("result", "room", "_field", "_value")} for r in rows])
    step("Generate an AST", "generate_ast", {"query": query},
         show=lambda d: [s["type"] for s in d["ast"]["files"][0]["body"]])
    step("Retrieve query suggestions", "query_suggestions", show=lambda d: f"{len(d['funcs'])} functions")
    step("Retrieve query suggestions for a branching suggestion", "query_suggestions_name", {"name": "range"})
    step("Analyze a Flux query", "analyze_query", {"query": 'from(bucket: "x") |> range(start: -1h'})
    step("Write data (v1 compatibility)", "write_data_v1",
         {"db": bucket, "data": f"air,room=porch temp=8.25 {now_s}", "precision": "s"})
    step("InfluxQL query (v1 compatibility)", "query_influxql",
         {"db": bucket, "q": 'SELECT "temp" FROM "air" WHERE "room" = \'porch\'', "epoch": "s"})
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now_s - 3600))
    stop = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now_s + 60))
    step("Delete data", "delete_data", {"bucket": bucket, "start": start, "stop": stop,
                                         "predicate": '_measurement="air" AND room="cellar"'})
    step("List organizations", "list_organizations", show=lambda d: [o["name"] for o in d["orgs"]])
    step("Health", "health", show=lambda d: {k: d.get(k) for k in ("status", "message", "version")})
    step("List buckets", "list_buckets", {"all_pages": True, "limit": 2},
         show=lambda d: [b["name"] for b in d["buckets"]])
    step("Retrieve a bucket", "retrieve_bucket", {"bucket_id": bucket_id},
         show=lambda d: {k: d.get(k) for k in ("id", "name", "description")})
    step("Update a bucket", "update_bucket", {"bucket_id": bucket_id, "retention_seconds": 7 * 86400},
         show=lambda d: d.get("retentionRules"))
    step("Delete a bucket", "delete_bucket", {"bucket_id": bucket_id})
    out.write(f"{len(ran)} of {len(conn.connector.operations)} operations ran; {failures} calls failed\n")
    return failures == 0 and report.ok


def demo(values: Mapping[str, Any] | None, out: TextIO) -> bool:
    """Run the demo against the given connection, or against a fresh sandbox when none is given."""
    if values:
        with api.connect(values) as conn:
            return run_demo(conn, out, bucket=f"demo-{int(time.time())}")
    from .sandbox import Sandbox

    with Sandbox(token=DEMO_TOKEN, org=DEMO_ORG, bucket=None) as sandbox:
        out.write(f"Started the sandbox InfluxDB API at {sandbox.url} (in memory, for trying things out)\n")
        with api.connect(sandbox.connection_settings) as conn:
            return run_demo(conn, out)
