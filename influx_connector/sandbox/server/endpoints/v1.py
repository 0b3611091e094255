"""The v1 compatibility endpoints: ``/write`` and ``/query`` (an InfluxQL subset, ``sandbox.influxql``).

Errors keep InfluxDB 2.x's {"code", "message"} shape, which the contract declares for these
paths, with InfluxDB 1.x's words in the message (1.x itself answers {"error": "..."}).
Databases are the buckets of the sandbox's first org, mapped by name (see sandbox.dbrp).
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from influx_connector.sandbox import dbrp, influxql
from influx_connector.sandbox.server.endpoints.write import write_points
from influx_connector.sandbox.server.messages import Reply, Request, invalid, not_found, query_reply

if TYPE_CHECKING:
    from influx_connector.sandbox.server.sandbox import Sandbox

V1_PRECISION_NS = {"n": 1, "ns": 1, "u": 1_000, "us": 1_000, "µ": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
                   "m": 60_000_000_000, "h": 3_600_000_000_000}
INFLUXQL_JSON_TYPE = "application/json"  # what InfluxDB sends for /query answers (no charset)
INFLUXQL_CSV_TYPE = "text/csv"


def v1_write(sandbox: Sandbox, req: Request) -> Reply:
    database = req.param("db")
    if database is None:
        raise invalid("database is required")
    try:
        bucket = dbrp.find_bucket(sandbox.store, sandbox.org.id, database, req.param("rp"))
    except dbrp.DbrpError as exc:
        shown = f'"{exc.name}"' if exc.kind == "database" else exc.name
        raise not_found(f"{exc.kind} not found: {shown}") from None
    return write_points(sandbox, req, bucket, v1=True,
                        multiplier=V1_PRECISION_NS.get(req.param("precision") or "ns", 1))


def v1_query(sandbox: Sandbox, req: Request) -> Reply:
    params = _v1_query_params(req)
    query_text = params.get("q", "").strip()
    if not query_text:
        raise invalid('missing required parameter "q"')
    ctx = influxql.Context(
        store=sandbox.store, org_id=sandbox.org.id, database=params.get("db") or None,
        rp=params.get("rp") or None, now_ns=time.time_ns(), read_only=req.method == "GET",
    )
    try:
        results = influxql.run(query_text, ctx)
    except influxql.ParseError as exc:
        raise invalid(f"error parsing query: {exc}") from None
    epoch = params.get("epoch") or None
    accept = req.header("Accept").split(",")[0].split(";")[0].strip().lower()
    if accept in ("application/csv", "text/csv"):
        body, content_type = influxql.to_csv(results, epoch), INFLUXQL_CSV_TYPE
    else:
        body, content_type = influxql.to_json(results, epoch), INFLUXQL_JSON_TYPE
    return query_reply(req, body, content_type)


def _v1_query_params(req: Request) -> dict[str, str]:
    """Query-string values, overridden by a form body's (Go's ``FormValue`` order); a body of
    type ``application/vnd.influxql`` is the query text, as InfluxDB 2.x accepts."""
    params: dict[str, str] = {}
    for key, value in req.query:
        params.setdefault(key, value)
    media_type = req.header("Content-Type").split(";")[0].strip().lower()
    if req.method == "POST" and media_type == "application/x-www-form-urlencoded":
        form: dict[str, str] = {}
        for key, value in parse_qsl(req.body.decode("utf-8", errors="replace"), keep_blank_values=True):
            form.setdefault(key, value)
        params.update(form)
    elif req.method == "POST" and media_type == "application/vnd.influxql" and not params.get("q", "").strip():
        params["q"] = req.body.decode("utf-8", errors="replace")
    return params
