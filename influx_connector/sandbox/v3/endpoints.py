"""The handlers of InfluxDB 3's endpoints in the sandbox (see the package's docstring)."""
from __future__ import annotations

import json
import logging
import re
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from influx_connector.sandbox import influxql
from influx_connector.sandbox import line_protocol_parser as lineproto
from influx_connector.sandbox.gzip_body import GzipBodyError, inflate
from influx_connector.sandbox.store import Bucket

from . import answers, sql
from .answers import TAG, Answer

logger = logging.getLogger(__name__)

VERSION = "3.8.0"
BUILD = "Core"
JSON = "application/json"
#: Names InfluxDB 3 accepts for a database: letters and digits, '-' inside (no '_').
_DB_NAME = re.compile(r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,62}[a-zA-Z0-9])?")
#: InfluxDB 3 Core's field types, as the sandbox's store names them.
_FIELD_TYPES = {"utf8": "string", "int64": "long", "uint64": "unsignedLong", "float64": "double", "bool": "boolean"}
_FORMATS = answers.MEDIA_TYPES
_ACCEPT_FORMATS = {"application/jsonl": "jsonl", "application/json": "json", "text/csv": "csv",
                   "application/vnd.apache.parquet": "parquet"}
_PRECISIONS = {"nanosecond": 1, "microsecond": 1_000, "millisecond": 1_000_000, "second": 1_000_000_000}
_DURATION = re.compile(r"([0-9]+)(ns|us|ms|s|m|h|d|w|y)")
_TOO_LARGE = "the request body is larger than the server accepts"


class V3Error(Exception):
    """An InfluxDB 3 error answer: ``{"error": message[, "data": data]}`` with a status."""

    def __init__(self, status: int, message: str, data: Any = None, with_data: bool = False):
        super().__init__(message)
        self.status, self.message, self.data, self.with_data = status, message, data, with_data


@dataclass
class State:
    """What InfluxDB 3 keeps beside the buckets: deleted databases and tables made empty."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    deleted: dict[str, dict[str, Any]] = field(default_factory=dict)  # shown name -> row
    retention: dict[str, str] = field(default_factory=dict)
    # (database, table) -> (tags, fields)
    tables: dict[tuple[str, str], tuple[tuple[str, ...], dict[str, str]]] = field(default_factory=dict)


# Per store, and gone with it (a new store that happened to reuse an old one's id must not
# inherit its deleted databases).
_STATES: weakref.WeakKeyDictionary[Any, State] = weakref.WeakKeyDictionary()
_STATES_LOCK = threading.Lock()


def _state(sandbox: Any) -> State:
    with _STATES_LOCK:
        state = _STATES.get(sandbox.store)
        if state is None:
            state = _STATES[sandbox.store] = State()
        return state


@dataclass(frozen=True)
class Answer3:
    """An answer of InfluxDB 3's endpoints, which the server sends as it sends its own replies."""

    status: int
    headers: dict[str, str]
    body: bytes
    chunked: bool = False


def handle(api: Any, req: Any) -> Answer3 | None:
    """The answer to ``req`` when InfluxDB 3 owns its path on this sandbox, else None."""
    sandbox = api.sandbox
    route = _ROUTES.get(req.path)
    if route is None and getattr(sandbox, "api", "v2") == "v3":
        route = _V3_SERVER_ROUTES.get(req.path)
    if route is None:
        return None
    handler = route.get(req.method)
    if handler is None:
        allow = ", ".join(route)
        return Answer3(405, {"Allow": allow, "Content-Type": JSON}, _error_body("method not allowed", None, False))
    try:
        status, headers, body = handler(sandbox, req)
    except V3Error as exc:
        return Answer3(exc.status, {"Content-Type": JSON}, _error_body(exc.message, exc.data, exc.with_data))
    return Answer3(status, headers, body, chunked=headers.get("Content-Type", "") in _FORMATS.values() and bool(body))


def refusal(sandbox: Any, path: str, status: int, message: str) -> Answer3 | None:
    """A refusal the server made before any route ran (a token, a size, Host or Origin, an
    unreadable body) in InfluxDB 3's shape, when its path is InfluxDB 3's; else None."""
    if not (path.startswith("/api/v3/") or (getattr(sandbox, "api", "v2") == "v3" and path in _V3_SERVER_ROUTES)):
        return None
    words = _TOO_LARGE if status == 413 else message
    return Answer3(status, {"Content-Type": JSON}, _error_body(words, None, False))


def _error_body(message: str, data: Any, with_data: bool) -> bytes:
    payload: dict[str, Any] = {"error": message}
    if with_data:
        payload["data"] = data
    return json.dumps(payload, separators=(",", ":")).encode()


Handled = tuple[int, dict[str, str], bytes]  # what a handler returns: status, headers, body


def _json(status: int, payload: Any) -> Handled:
    return status, {"Content-Type": JSON}, json.dumps(payload, separators=(",", ":")).encode()


# --- server information ------------------------------------------------------------------------


def ping(sandbox: Any, req: Any) -> Handled:
    status, headers, body = _json(200, {"version": VERSION, "revision": "sandbox", "process_id": _process_id})
    return status, {**headers, "X-Influxdb-Version": VERSION, "X-Influxdb-Build": BUILD}, body


_process_id = "00000000-0000-4000-8000-" + f"{int(time.time()) & 0xFFFFFFFFFFFF:012x}"


def ping_head(sandbox: Any, req: Any) -> Handled:
    raise V3Error(404, "use GET for /ping: HEAD is not served")


def health(sandbox: Any, req: Any) -> Handled:
    return 200, {"Content-Type": "text/plain; charset=utf-8"}, b"OK"


# --- databases and tables ------------------------------------------------------------------------


def _buckets(sandbox: Any) -> list[Bucket]:
    with sandbox.store.lock:
        return sorted((b for b in sandbox.store.buckets.values()
                       if b.org_id == sandbox.org.id and b.type != "system"), key=lambda b: b.name)


def _database(sandbox: Any, name: str | None) -> Bucket:
    if not name:
        raise V3Error(400, "missing query parameter: db" if name is None else "database name is empty")
    bucket = sandbox.store.find_bucket(name, sandbox.org.id)
    if bucket is None or bucket.type == "system":
        raise V3Error(404, f"database not found: {name}")
    return bucket


def _flag(req: Any, name: str) -> bool:
    value = req.param(name)
    if value is None:
        return False
    if value not in ("true", "false"):
        raise V3Error(400, f"invalid value for query parameter {name}: {value!r} is not true or false")
    return value == "true"


def list_databases(sandbox: Any, req: Any) -> Handled:
    fmt = req.param("format")
    if fmt is None:
        raise V3Error(400, "missing query parameter: format")
    if fmt not in ("json", "jsonl", "json_lines", "csv"):
        raise V3Error(400, f"unsupported format for the sandbox: {fmt}")
    rows: list[dict[str, Any]] = [{"iox::database": b.name} for b in _buckets(sandbox)]
    if _flag(req, "show_deleted"):
        rows = [{**r, "deleted": False} for r in rows]
        with _state(sandbox).lock:
            rows += list(_state(sandbox).deleted.values())
    return _rows_answer(Answer(rows), fmt)


def _json_object(req: Any) -> dict[str, Any]:
    try:
        body = json.loads(req.body or b"null")
    except ValueError as exc:
        raise V3Error(400, f"the request body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise V3Error(400, "the request body must be a JSON object")
    return body


def create_database(sandbox: Any, req: Any) -> Handled:
    body = _json_object(req)
    name = body.get("db")
    if not isinstance(name, str) or not _DB_NAME.fullmatch(name):
        raise V3Error(400, "invalid database name: names start and end with a letter or digit and hold only "
                           "letters, digits and '-' (64 characters at most)")
    retention = body.get("retention_period")
    if retention is not None and (not isinstance(retention, str) or not _DURATION.fullmatch(retention)):
        raise V3Error(400, f"invalid retention period: {retention!r}")
    with sandbox.store.lock:
        if sandbox.store.find_bucket(name, sandbox.org.id) is not None:
            raise V3Error(409, "attempted to create a resource that already exists")
        sandbox.store.add_bucket(sandbox.org.id, name)
    if retention:
        with _state(sandbox).lock:
            _state(sandbox).retention[name] = retention
    return 200, {}, b""


def _hard_delete_at(req: Any) -> str:
    value = req.param("hard_delete_at") or "never"
    if value not in ("now", "never", "default") and sql._TIME_LITERAL.fullmatch(f"'{value}'") is None:
        raise V3Error(400, f"invalid hard_delete_at: {value!r}")
    return value


def delete_database(sandbox: Any, req: Any) -> Handled:
    hard = _hard_delete_at(req)
    bucket = _database(sandbox, req.param("db"))
    if _flag(req, "data_only"):
        with sandbox.store.lock:
            bucket.series.clear()
        return 200, {}, b""
    with sandbox.store.lock:
        sandbox.store.delete_bucket(bucket.id)
    state = _state(sandbox)
    with state.lock:
        if hard != "now":
            # A soft-deleted database keeps a renamed entry until it is removed for good.
            shown = f"{bucket.name}-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}"
            state.deleted[shown] = {"iox::database": shown, "deleted": True}
        for key in [k for k in state.tables if k[0] == bucket.name]:
            del state.tables[key]
    return 200, {}, b""


def create_table(sandbox: Any, req: Any) -> Handled:
    body = _json_object(req)
    bucket = _database(sandbox, body.get("db") if isinstance(body.get("db"), str) else None)
    table, tags, fields = body.get("table"), body.get("tags"), body.get("fields")
    if not isinstance(table, str) or not table:
        raise V3Error(400, "table name is required")
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        raise V3Error(400, "tags must be a list of column names")
    if not isinstance(fields, list) or not all(isinstance(f, dict) and isinstance(f.get("name"), str)
                                               and f.get("type") in _FIELD_TYPES for f in fields):
        raise V3Error(400, f"fields must be a list of {{name, type}} with a type among {', '.join(_FIELD_TYPES)}")
    key = (bucket.name, table)
    state = _state(sandbox)
    with state.lock, sandbox.store.lock:
        if key in state.tables or any(m == table for m, _t, _f in bucket.series):
            raise V3Error(409, "attempted to create a resource that already exists")
        state.tables[key] = (tuple(tags), {f["name"]: _FIELD_TYPES[f["type"]] for f in fields})
    return 200, {}, b""


def delete_table(sandbox: Any, req: Any) -> Handled:
    _hard_delete_at(req)
    bucket = _database(sandbox, req.param("db"))
    table = req.param("table")
    if table is None:
        raise V3Error(400, "missing query parameter: table")
    state = _state(sandbox)
    with state.lock, sandbox.store.lock:
        series = [k for k in bucket.series if k[0] == table]
        declared = state.tables.pop((bucket.name, table), None)
        if not series and declared is None:
            raise V3Error(404, "table not found")
        for key in series:
            del bucket.series[key]
    return 200, {}, b""


# --- writes ---------------------------------------------------------------------------------------


def write_lp(sandbox: Any, req: Any) -> Handled:
    name = req.param("db")
    if not name:
        raise V3Error(400, "missing query parameter: db")
    precision = req.param("precision") or "auto"
    if precision != "auto" and precision not in _PRECISIONS:
        raise V3Error(400, f"invalid precision: {precision} (auto, nanosecond, microsecond, millisecond or second)")
    accept_partial = True if req.param("accept_partial") is None else _flag(req, "accept_partial")
    _flag(req, "no_sync")
    api_text = _body_text(sandbox, req)
    now_ns = time.time_ns()
    points, rejected = _parse(api_text, precision, now_ns)
    if rejected and (not accept_partial or not points):
        raise V3Error(400, "parsing failed for write_lp endpoint", rejected[0], with_data=True)
    bucket = _database_for_write(sandbox, name)
    state = _state(sandbox)
    with state.lock:
        declared = {t: f for (db, t), (_tags, f) in state.tables.items() if db == bucket.name}
    conflicts = _store(sandbox, bucket, points, declared)
    rejected += conflicts
    if rejected:
        rejected.sort(key=lambda e: e["line_number"])
        raise V3Error(400, "partial write of line protocol occurred", rejected, with_data=True)
    return 204, {}, b""


def _body_text(sandbox: Any, req: Any) -> str:
    limit = sandbox.max_body_bytes
    data = _gunzip(req.body, limit) if req.header("Content-Encoding").strip().lower() == "gzip" else req.body
    if len(data) > limit:
        raise V3Error(413, _TOO_LARGE)
    return data.decode("utf-8", errors="replace")


def _gunzip(body: bytes, limit: int) -> bytes:
    try:
        return inflate(body, limit)
    except GzipBodyError as exc:
        if exc.kind == "too large":
            raise V3Error(413, _TOO_LARGE) from None
        words = "the gzip body ends early" if exc.kind == "truncated" else "the gzip body cannot be read"
        raise V3Error(400, words) from None


def _database_for_write(sandbox: Any, name: str) -> Bucket:
    """The database written to: made on first write, as InfluxDB 3 does."""
    with sandbox.store.lock:
        bucket = sandbox.store.find_bucket(name, sandbox.org.id)
        if bucket is None:
            if not _DB_NAME.fullmatch(name):
                raise V3Error(400, f"invalid database name: {name!r}")
            bucket = sandbox.store.add_bucket(sandbox.org.id, name)
        return bucket


def _parse(text: str, precision: str, now_ns: int) -> tuple[list[tuple[int, Any]], list[dict[str, Any]]]:
    """(line number, point) for every line that parses, and InfluxDB 3's entry for each that does not."""
    multiplier = 1 if precision == "auto" else _PRECISIONS[precision]
    points, rejected = [], []
    position = 0
    for line_text in lineproto.split_points(text):
        at = text.find(line_text, position)
        position = at + len(line_text) if at >= 0 else position
        number = text.count("\n", 0, at) + 1 if at >= 0 else 0
        try:
            point = lineproto.parse_point(line_text, multiplier=multiplier, default_time_ns=now_ns)
        except lineproto.LineError as exc:
            rejected.append({"original_line": line_text, "line_number": number, "error_message": exc.reason})
            continue
        if precision == "auto" and point.time != now_ns:
            point = replace(point, time=_auto_ns(point.time))
        points.append((number, point))
    return points, rejected


def _auto_ns(value: int) -> int:
    """A timestamp's nanoseconds by its size, as InfluxDB 3's ``precision=auto`` reads it."""
    size = abs(value)
    if size < 5_000_000_000:
        return value * 1_000_000_000
    if size < 5_000_000_000_000:
        return value * 1_000_000
    if size < 5_000_000_000_000_000:
        return value * 1_000
    return value


def _store(sandbox: Any, bucket: Bucket, points: list[tuple[int, Any]],
           declared: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    """Write the points whose fields keep their table's types; an entry for each other one."""
    rejected = []
    accepted = []
    with sandbox.store.lock:
        known = bucket.field_types()
        for (measurement, fields) in declared.items():
            for name, ftype in fields.items():
                known.setdefault((measurement, name), ftype)
        for number, point in points:
            clash = next(((k, t, known[(point.measurement, k)]) for k, (t, _v) in point.fields.items()
                          if known.get((point.measurement, k), t) != t), None)
            if clash is not None:
                rejected.append({"original_line": point.line, "line_number": number,
                                 "error_message": f"invalid column type for column '{clash[0]}', expected "
                                                  f"{_v3_type(clash[2])}, got {_v3_type(clash[1])}"})
                continue
            for key, (ftype, _value) in point.fields.items():
                known.setdefault((point.measurement, key), ftype)
            accepted.extend(point.field_points())
        sandbox.store.write(bucket, accepted)
    return rejected


def _v3_type(flux_type: str) -> str:
    return {v: k for k, v in _FIELD_TYPES.items()}.get(flux_type, flux_type)


# --- queries -------------------------------------------------------------------------------------


def _query_request(req: Any) -> dict[str, Any]:
    """db, q, format and params of a query, from the JSON body (POST) or the query string (GET)."""
    if req.method == "POST":
        body = _json_object(req)
    else:
        body = {}
        for key in ("db", "q", "format", "params"):
            if req.param(key) is not None:
                body[key] = req.param(key)
        if isinstance(body.get("params"), str):
            try:
                body["params"] = json.loads(body["params"])
            except ValueError:
                raise V3Error(400, "params is not a JSON object") from None
    if not isinstance(body.get("q"), str) or not body["q"].strip():
        raise V3Error(400, "missing query: q")
    params = body.get("params") or {}
    if not isinstance(params, dict):
        raise V3Error(400, "params must be a JSON object")
    fmt = body.get("format")
    if fmt is None:
        accept = req.header("Accept").split(",")[0].split(";")[0].strip().lower()
        fmt = _ACCEPT_FORMATS.get(accept, "json")
    if fmt not in _FORMATS:
        raise V3Error(400, f"unsupported format: {fmt} (json, jsonl, csv or parquet)")
    return {"db": body.get("db"), "q": body["q"], "format": fmt, "params": params}


def query_sql(sandbox: Any, req: Any) -> Handled:
    query = _query_request(req)
    bucket = _database(sandbox, query["db"] if isinstance(query["db"], str) else None)
    state = _state(sandbox)
    with state.lock:
        declared = {t: v for (db, t), v in state.tables.items() if db == bucket.name}
    with sandbox.store.lock:
        tables = sql.tables_of(bucket, declared)
    try:
        answer = sql.run(query["q"], tables, query["params"], time.time_ns())
    except sql.Unsupported as exc:
        raise V3Error(400, f"not supported by the sandbox's SQL: {exc}") from None
    except sql.QueryError as exc:
        raise V3Error(400, str(exc)) from None
    return _rows_answer(answer, query["format"])


def query_influxql(sandbox: Any, req: Any) -> Handled:
    query = _query_request(req)
    bucket = _database(sandbox, query["db"] if isinstance(query["db"], str) else None)
    text = _bind_influxql(query["q"], query["params"])
    ctx = influxql.Context(store=sandbox.store, org_id=sandbox.org.id, database=bucket.name, rp=None,
                           now_ns=time.time_ns(), read_only=True)
    try:
        results = influxql.run(text, ctx)
    except influxql.ParseError as exc:
        raise V3Error(400, f"error parsing query: {exc}") from None
    rows: list[dict[str, Any]] = []
    kinds = {"iox::measurement": TAG}
    for result in results:
        if result.error:
            raise V3Error(400, result.error)
        for series in result.series:
            kinds.update(dict.fromkeys(series.tags or {}, TAG))
            for values in series.rows:
                row: dict[str, Any] = {"iox::measurement": series.name, **(series.tags or {})}
                for column, value in zip(series.columns, values):
                    if value is not None:
                        row[column] = value
                rows.append(row)
    # The first column of a timed series is its time, in nanoseconds (the sandbox's InfluxQL
    # engine names it "time").
    return _rows_answer(Answer(rows, frozenset({"time"}), kinds), query["format"])


_PLACEHOLDER = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\$([A-Za-z_][A-Za-z0-9_]*)")


def _bind_influxql(text: str, params: dict[str, Any]) -> str:
    """The query with each ``$name`` outside quotes replaced by its value as an InfluxQL literal:
    the server binds parameters, so this is the server's side of it."""
    def literal(m: re.Match[str]) -> str:
        if m.group(1) is None:
            return m.group(0)
        if m.group(1) not in params:
            raise V3Error(400, f"missing parameter: ${m.group(1)}")
        value = params[m.group(1)]
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return repr(value)
        if isinstance(value, str):
            return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
        raise V3Error(400, f"parameter ${m.group(1)} must be a string, a number or a boolean")

    return _PLACEHOLDER.sub(literal, text)


def _rows_answer(answer: Answer, fmt: str) -> Handled:
    try:
        media_type, body = answers.write(answer, fmt)
    except answers.ParquetUnavailable as exc:
        raise V3Error(400, f"not supported by the sandbox: {exc}") from None
    return 200, {"Content-Type": media_type}, body


Handler = Callable[[Any, Any], Handled]
_ROUTES: dict[str, dict[str, Handler]] = {
    "/api/v3/query_sql": {"GET": query_sql, "POST": query_sql},
    "/api/v3/query_influxql": {"GET": query_influxql, "POST": query_influxql},
    "/api/v3/write_lp": {"POST": write_lp},
    "/api/v3/configure/database": {"GET": list_databases, "POST": create_database, "DELETE": delete_database},
    "/api/v3/configure/table": {"POST": create_table, "DELETE": delete_table},
}
#: Paths a v2 server answers in its own way, answered as InfluxDB 3 does when the sandbox plays one.
_V3_SERVER_ROUTES: dict[str, dict[str, Handler]] = {
    "/ping": {"GET": ping, "POST": ping, "HEAD": ping_head},
    "/health": {"GET": health},
}
