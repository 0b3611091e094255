"""``/api/v2/query`` and its helpers (``/ast``, ``/analyze``): the Flux work is the engine's.

The engine is ``influx_connector.sandbox.flux``, imported when first asked for, so the rest of
the server works before, or without, it; a ``Sandbox`` may also be given another engine object.
"""
from __future__ import annotations

import importlib
import time
from typing import TYPE_CHECKING, Any

from influx_connector.sandbox.server import lookup
from influx_connector.sandbox.server.dialect import read_dialect, shape_csv
from influx_connector.sandbox.server.messages import CSV_TYPE, Problem, Reply, Request, invalid, json_reply, query_reply
from influx_connector.sandbox.server.parsing import json_object, parse_rfc3339_ns, typed

if TYPE_CHECKING:
    from influx_connector.sandbox.server.sandbox import Sandbox

FLUX_MODULE = "influx_connector.sandbox.flux"


def query(sandbox: Sandbox, req: Request) -> Reply:
    body = _query_body(req)
    query_text = body.get("query")
    if not query_text:
        if body.get("ast") is not None:
            raise Problem(501, "not implemented", "the sandbox runs Flux text only, not a query AST")
        raise invalid("request body requires either query or AST")
    query_type = body.get("type") or "flux"
    if query_type != "flux":
        if query_type == "influxql":
            raise Problem(501, "not implemented", "the sandbox runs InfluxQL only through the v1 /query endpoint")
        raise invalid(f"unknown query type: {query_type}")
    dialect = read_dialect(body.get("dialect"))
    params = typed(body, "params", dict)
    extern = body.get("extern")
    if params and isinstance(extern, dict) and (extern.get("body") or extern.get("imports")):
        raise invalid("params and extern cannot be used together")
    now_ns = _query_now(body.get("now"))
    org = lookup.request_org(sandbox.store, req, on_missing=lambda ref, by_id: invalid(
        "failed to decode request body: organization not found"))
    engine = _engine(sandbox)
    text = _run_engine(
        engine, "run_query", query_text, store=sandbox.store, org=org, now_ns=now_ns, params=params,
        extern=extern, midstream_error=sandbox.midstream_error,
    )
    if "return-no-content" in req.header("Prefer"):
        return Reply(204)
    return query_reply(req, shape_csv(text, dialect).encode("utf-8"), CSV_TYPE)


def _query_body(req: Request) -> dict[str, Any]:
    media_type = req.header("Content-Type").split(";")[0].strip().lower()
    if media_type == "application/vnd.flux":
        return {"query": req.body.decode("utf-8", errors="replace")}
    # A missing Content-Type, application/json and anything else are all decoded as JSON.
    body = json_object(req.body)
    typed(body, "query", str)
    typed(body, "type", str)
    return body


def _query_now(raw: Any) -> int:
    if raw is None or raw == "":
        return time.time_ns()
    if not isinstance(raw, str):
        raise invalid("failed to decode request body: now must be an RFC3339 string")
    try:
        return parse_rfc3339_ns(raw)
    except ValueError as exc:
        raise invalid(f"failed to decode request body: {exc}") from None


def query_ast(sandbox: Sandbox, req: Request) -> Reply:
    query_text = typed(json_object(req.body), "query", str, "")
    return json_reply(200, {"ast": _run_engine(_engine(sandbox), "parse_ast", query_text)})


def query_analyze(sandbox: Sandbox, req: Request) -> Reply:
    query_text = typed(json_object(req.body), "query", str, "")
    return json_reply(200, {"errors": _run_engine(_engine(sandbox), "analyze", query_text)})


def _engine(sandbox: Sandbox) -> Any:
    """The Flux engine: the one given to the Sandbox, else the package module, else 501."""
    if sandbox.flux is not None:
        return sandbox.flux
    try:
        return importlib.import_module(FLUX_MODULE)
    except ModuleNotFoundError as exc:
        # Only the engine package itself being absent means "not written yet"; a missing
        # module deeper inside it is a bug in the engine and should surface as a 500.
        if exc.name != FLUX_MODULE:
            raise
        raise Problem(501, "not implemented", "the sandbox's Flux engine is not available") from None


def _run_engine(engine: Any, function: str, query_text: str, **kwargs: Any) -> Any:
    func = getattr(engine, function, None)
    if func is None:
        raise Problem(501, "not implemented", f"the sandbox's Flux engine has no {function}()")
    flux_error = getattr(engine, "FluxError", None)
    try:
        return func(query_text, **kwargs)
    except Exception as exc:
        if isinstance(flux_error, type) and isinstance(exc, flux_error):
            # An engine error may carry the server's status and code (404 for a missing bucket).
            raise Problem(getattr(exc, "status", 400), getattr(exc, "code", "invalid"), str(exc)) from None
        raise
