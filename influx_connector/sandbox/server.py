"""A loopback HTTP server that speaks enough of the InfluxDB v2 API for a connector to do real work.

Besides the v2 API it serves ``/api/v2/delete`` and the v1 compatibility endpoints ``/write`` and
``/query`` (a documented InfluxQL subset, see ``sandbox.influxql``), and can serve https.

It is a development and test server, not a database: state lives in ``store.Store``, requests are
served one thread per connection (a bounded number), and recent requests and responses are
recorded so a test can check exactly what a client sent. Who may ask is checked on a request's
head before its body is read (``sandbox.guard``). Statuses and error bodies are the
real OSS server's answers, because a connector tested here must behave the same against a
real InfluxDB.

Only the standard library is used. Query endpoints delegate the Flux work to
``influx_connector.sandbox.flux`` (written separately), imported lazily so the rest of the server
works before, or without, that engine.
"""
from __future__ import annotations

import base64
import calendar
import csv
import gzip
import importlib
import io
import json
import logging
import re
import secrets
import socket
import ssl
import threading
import time
import warnings
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qsl, quote, unquote, urlencode

from influx_connector.sandbox import dbrp, guard, influxql, lineproto, suggestions
from influx_connector.sandbox import delete as deletion
from influx_connector.sandbox.store import Bucket, Org, Store, now_rfc3339

logger = logging.getLogger(__name__)

VERSION = "v2.7.0-sandbox"
JSON_TYPE = "application/json; charset=utf-8"
CSV_TYPE = "text/csv; charset=utf-8"
FLUX_MODULE = "influx_connector.sandbox.flux"

#: Paths served without a token, as on the real server.
PUBLIC_PATHS = frozenset({"/health", "/ping", "/ready"})
#: The v1 compatibility paths, which also take v1 credentials (Basic auth, or ``u``/``p``).
V1_PATHS = frozenset({"/write", "/query"})
#: Nanoseconds per timestamp unit for v1 ``/write``; an unknown precision means ns, as on 1.x.
V1_PRECISION_NS = {"n": 1, "ns": 1, "u": 1_000, "us": 1_000, "µ": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
                   "m": 60_000_000_000, "h": 3_600_000_000_000}
INFLUXQL_JSON_TYPE = "application/json"  # what InfluxDB sends for /query answers (no charset)
INFLUXQL_CSV_TYPE = "text/csv"

DAY = 86_400
HOUR = 3_600
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
CHUNK_BYTES = 16 * 1024  # size of each chunk of a streamed (chunked) answer
#: Bodies sent to the public paths (health, ping) are read up to this size, not max_body_bytes:
#: anyone may call them.
PUBLIC_BODY_BYTES = 64 * 1024
#: An unread body up to this size is read and dropped after a refusal, so the connection stays
#: usable; a larger one is not read: the answer goes out and the connection is closed.
DISCARD_BYTES = 64 * 1024
#: After answering a request whose body was not read, this much of it (at most, in at most
#: LINGER_SECONDS) is read and dropped before closing, so the client sees the answer rather
#: than a reset.
LINGER_BYTES = 1024 * 1024
LINGER_SECONDS = 1.0

_ID_RE = re.compile(r"[0-9a-f]{16}", re.ASCII)
_RFC3339_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)
#: The annotation rows the query endpoint can send, in the order the real server uses by default.
ANNOTATIONS = ("datatype", "group", "default")


# --- recording ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    """A request as received: raw path, decoded query pairs, headers, raw body.

    ``body`` holds at most the sandbox's ``record_body_bytes``; ``body_size`` is the whole
    body's length. The body of a request refused on its head is not read: it is recorded
    empty, with the length the client declared (-1 for a chunked body).
    """

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: dict[str, str]
    body: bytes
    body_size: int = 0

    @property
    def truncated(self) -> bool:
        return len(self.body) != self.body_size


@dataclass(frozen=True)
class RecordedResponse:
    method: str
    path: str
    status: int
    headers: dict[str, str]
    body: bytes
    body_size: int = 0

    @property
    def truncated(self) -> bool:
        return len(self.body) < self.body_size


class SandboxExposedWarning(UserWarning):
    """The sandbox listens on an address other machines can reach."""


# --- the request/response model the API handlers work with ---------------------------------------


@dataclass
class Request:
    method: str
    path: str  # raw, still percent-encoded
    query: tuple[tuple[str, str], ...]
    headers: Message
    body: bytes

    def param(self, name: str) -> str | None:
        """First value of a query parameter; an empty value counts as absent, as on the server."""
        for key, value in self.query:
            if key == name and value != "":
                return value
        return None

    def header(self, name: str) -> str:
        return self.headers.get(name, "") or ""


@dataclass
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    #: Send with ``Transfer-Encoding: chunked`` instead of a Content-Length, the way the real
    #: server streams query answers (so clients meet the framing they will meet in use).
    chunked: bool = False


class Problem(Exception):
    """An error answer: raised anywhere in a handler, turned into the server's JSON error body."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def invalid(message: str) -> Problem:
    return Problem(400, "invalid", message)


def not_found(message: str) -> Problem:
    return Problem(404, "not found", message)


def unprocessable(message: str) -> Problem:
    return Problem(422, "unprocessable entity", message)


def json_reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
    # Compact JSON with a trailing newline: what Go's json.Encoder writes.
    body = (json.dumps(payload, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")
    return Reply(status, {"Content-Type": JSON_TYPE, **(headers or {})}, body)


def error_reply(problem: Problem) -> Reply:
    headers = {"X-Platform-Error-Code": problem.code, **problem.headers}
    return json_reply(problem.status, {"code": problem.code, "message": problem.message}, headers)


# --- small parsers ------------------------------------------------------------------------------


def check_id(value: str) -> str:
    """An InfluxDB ID must be 16 lowercase hex digits; anything else is a 400 on the server."""
    if not _ID_RE.fullmatch(value):
        raise invalid("id must have a length of 16 bytes")
    return value


def parse_rfc3339_ns(text: str) -> int:
    """Nanoseconds since the epoch for an RFC 3339 timestamp (fraction up to 9 digits)."""
    m = _RFC3339_RE.fullmatch(text)
    if not m:
        raise ValueError(f"cannot parse {text!r} as RFC3339")
    parts = [int(g) for g in m.groups()[:6]]
    datetime(*parts)  # raises ValueError for a month 13, a February 30th and the like
    seconds = calendar.timegm((*parts, 0, 0, 0))
    fraction = int((m.group(7) or "0").ljust(9, "0"))
    zone = m.group(8)
    offset = 0 if zone in ("Z", "z") else (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * HOUR + int(zone[4:6]) * 60)
    return (seconds - offset) * 1_000_000_000 + fraction


def json_object(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 worded like the server's decode failure."""
    if not body.strip():
        raise invalid("failed to decode request body: EOF")
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_not_json)
    except ValueError as exc:  # also UnicodeDecodeError and json.JSONDecodeError
        raise invalid(f"failed to decode request body: {exc}") from None
    if not isinstance(data, dict):
        raise invalid("failed to decode request body: expected a JSON object")
    return data


def _not_json(constant: str) -> Any:
    # Python's json module reads NaN and Infinity; JSON, and the real server's decoder, do not
    # (influxdb-client sends them for float('nan') query parameters).
    raise ValueError(f"invalid character {constant[0]!r} looking for beginning of value")


_JSON_TYPE_NAMES = {str: "a string", int: "an integer", list: "an array", dict: "an object", bool: "a boolean"}


def typed(data: dict[str, Any], key: str, kind: type, default: Any = None) -> Any:
    """``data[key]`` if present and of the right JSON type (bools are not ints here), else 400."""
    value = data.get(key, default)
    if value is None:
        return default
    wrong_bool = isinstance(value, bool) and kind is int
    if wrong_bool or not isinstance(value, kind):
        raise invalid(f"failed to decode request body: {key} must be {_JSON_TYPE_NAMES.get(kind, 'valid')}")
    return value


def gunzip(body: bytes, limit: int) -> bytes:
    """Decompress a (possibly multi-member) gzip body, refusing to inflate past ``limit`` bytes."""
    out = bytearray()
    data = body
    while data:
        inflater = zlib.decompressobj(wbits=31)
        try:
            out += inflater.decompress(data, limit + 1 - len(out))
        except zlib.error:
            reason = "gzip: invalid header" if not data.startswith(b"\x1f\x8b") else "flate: corrupt input"
            raise invalid(f"unable to read data: {reason}") from None
        if len(out) > limit:
            raise too_large()
        if not inflater.eof:
            raise invalid("unable to read data: unexpected EOF")
        data = inflater.unused_data
    return bytes(out)


def query_reply(req: "Request", body: bytes, content_type: str) -> Reply:
    """A query answer as the real server sends one: chunked, and gzip-compressed for clients that
    accept it (requests always says it does), so a client's decoding is exercised as in use."""
    headers = {"Content-Type": content_type}
    if accepts_gzip(req.header("Accept-Encoding")):
        body = gzip.compress(body, compresslevel=1)
        headers["Content-Encoding"] = "gzip"
    return Reply(200, headers, body, chunked=True)


def accepts_gzip(header: str) -> bool:
    """True when an ``Accept-Encoding`` value lists gzip (or ``*``) with a non-zero q-value."""
    for item in header.split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() not in ("gzip", "x-gzip", "*"):
            continue
        q = params.strip().lower()
        if q.startswith("q="):
            try:
                return float(q[2:]) > 0
            except ValueError:
                return False
        return True
    return False


def go_duration(seconds: float) -> str:
    """A span written the way Go prints a time.Duration (``14m45.911966424s``, ``2.5ms``)."""
    ns = max(0, round(seconds * 1e9))
    if ns < 1_000_000_000:
        return f"{ns / 1e6:.6f}".rstrip("0").rstrip(".") + "ms" if ns else "0s"
    hours, rest = divmod(ns, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    secs = f"{rest // 1_000_000_000}.{rest % 1_000_000_000:09d}".rstrip("0").rstrip(".")
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if hours or minutes else "") + secs + "s"


def too_large() -> Problem:
    return Problem(413, "request too large", "unable to read data: points batch is too large")


def default_shard_group_seconds(retention_seconds: int) -> int:
    """The shard-group duration InfluxDB picks for a retention period."""
    if retention_seconds == 0:
        return 7 * DAY
    if retention_seconds <= 2 * DAY:
        return HOUR
    if retention_seconds <= 180 * DAY:
        return DAY
    return 7 * DAY


# --- JSON shapes ----------------------------------------------------------------------------------


def org_json(org: Org) -> dict[str, Any]:
    base = f"/api/v2/orgs/{org.id}"
    named = quote(org.name, safe="")
    return {
        "id": org.id,
        "name": org.name,
        "description": org.description,
        "status": "active",
        "createdAt": org.created_at,
        "updatedAt": org.created_at,
        "links": {
            "self": base,
            "members": f"{base}/members",
            "owners": f"{base}/owners",
            "labels": f"{base}/labels",
            "secrets": f"{base}/secrets",
            "buckets": f"/api/v2/buckets?org={named}",
            "tasks": f"/api/v2/tasks?org={named}",
            "dashboards": f"/api/v2/dashboards?org={named}",
        },
    }


def bucket_json(bucket: Bucket) -> dict[str, Any]:
    base = f"/api/v2/buckets/{bucket.id}"
    rules: list[dict[str, Any]] = []
    # The contract marks retentionRules required, so it is always sent; "keep forever" is [].
    if bucket.retention_seconds > 0:
        rules.append(
            {
                "type": "expire",
                "everySeconds": bucket.retention_seconds,
                "shardGroupDurationSeconds": bucket.shard_group_seconds,
            }
        )
    return {
        "id": bucket.id,
        "orgID": bucket.org_id,
        "type": bucket.type,
        "name": bucket.name,
        "description": bucket.description,
        "rp": bucket.rp,
        "schemaType": "implicit",
        "createdAt": bucket.created_at,
        "updatedAt": bucket.updated_at,
        "retentionRules": rules,
        "labels": [],
        "links": {
            "self": base,
            "org": f"/api/v2/orgs/{bucket.org_id}",
            "members": f"{base}/members",
            "owners": f"{base}/owners",
            "labels": f"{base}/labels",
            "write": f"/api/v2/write?org={bucket.org_id}&bucket={bucket.id}",
        },
    }


# --- paging -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Paging:
    limit: int
    offset: int
    descending: bool
    after: str | None

    @classmethod
    def from_request(cls, req: Request) -> "Paging":
        return cls(
            limit=_int_param(req, "limit", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE, f"limit must be between 1 and {MAX_PAGE_SIZE}"),
            offset=_int_param(req, "offset", 0, 0, None, "offset must be greater than or equal to 0"),
            descending=_bool_param(req, "descending"),
            after=check_id(after) if (after := req.param("after")) else None,
        )

    def query(self, *, offset: int | None = None, after: str | None = None) -> dict[str, str]:
        params = {"descending": str(self.descending).lower(), "limit": str(self.limit)}
        params["offset"] = str(self.offset if offset is None else offset)
        if after or self.after:
            params["after"] = after or self.after or ""
        return params


def _int_param(req: Request, name: str, default: int, low: int, high: int | None, message: str) -> int:
    raw = req.param(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(message) from None
    if value < low or (high is not None and value > high):
        raise invalid(message)
    return value


def _bool_param(req: Request, name: str) -> bool:
    raw = req.param(name)
    if raw is None:
        return False
    # The server parses with Go's strconv.ParseBool, which takes these spellings.
    if raw in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if raw in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    raise invalid(f"{name} must be true or false")


def page_links(base: str, paging: Paging, filters: dict[str, str], page_ids: list[str], more: bool) -> dict[str, str]:
    """``self``, and ``next``/``prev`` when those pages exist; keys sorted as Go's url.Values does."""

    def link(params: dict[str, str]) -> str:
        return f"{base}?{urlencode(sorted({**filters, **params}.items()))}"

    links = {"self": link(paging.query())}
    if more and page_ids:
        if paging.after:
            # Seek paging continues after the last ID of this page; the offset already applied.
            links["next"] = link(paging.query(offset=0, after=page_ids[-1]))
        else:
            links["next"] = link(paging.query(offset=paging.offset + paging.limit))
    if paging.offset > 0 and not paging.after:
        links["prev"] = link(paging.query(offset=max(0, paging.offset - paging.limit)))
    return links


# --- query dialect ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dialect:
    header: bool = True
    delimiter: str = ","
    annotations: tuple[str, ...] = ()

    def is_engine_default(self) -> bool:
        """True when the engine's own output (every annotation, header, commas) is the answer."""
        return self.header and self.delimiter == "," and self.annotations == ANNOTATIONS


def read_dialect(raw: Any) -> Dialect:
    """Validate a ``dialect`` object the way the server does; an absent one means no annotations."""
    if raw is None:
        return Dialect()
    if not isinstance(raw, dict):
        raise invalid("failed to decode request body: dialect must be an object")
    header = typed(raw, "header", bool, True)
    delimiter = typed(raw, "delimiter", str, ",") or ","
    if len(delimiter) != 1:
        raise invalid("invalid dialect delimeter: must be length 1")  # sic, the server's spelling
    annotations: list[str] = []
    for name in typed(raw, "annotations", list, []):
        if name not in ANNOTATIONS:
            raise invalid(f"unknown dialect annotation type: {name}")
        if name not in annotations:
            annotations.append(name)
    if len(typed(raw, "commentPrefix", str, "#")) > 1:
        raise invalid("invalid dialect comment prefix: must be length 0 or 1")
    if (typed(raw, "dateTimeFormat", str, "RFC3339") or "RFC3339") not in ("RFC3339", "RFC3339Nano"):
        raise invalid("invalid dialect date time format")
    return Dialect(header=header, delimiter=delimiter, annotations=tuple(annotations))


def shape_csv(text: str, dialect: Dialect) -> str:
    """Rewrite the engine's fully annotated CSV for the dialect the client asked for.

    The real server sends only the annotation rows the dialect names (none by default), in the
    dialect's order, and the header row only when ``header`` is true. When ``#default`` is left
    out its values are written into the empty cells instead, so no information is lost (that is
    how the real server writes the result name into each row when there are no annotations).
    """
    if dialect.is_engine_default():
        return text
    out: list[list[str]] = []
    for block in _csv_blocks(text):
        if not block:
            out.append([])  # the empty line between tables and results
            continue
        out.extend(_shape_block(block, dialect))
    return "".join(_csv_line(row, dialect.delimiter) for row in out)


def _csv_blocks(text: str) -> list[list[list[str]]]:
    """Rows grouped into blocks (annotations, header, records); an empty list marks a blank line."""
    blocks: list[list[list[str]]] = []
    current: list[list[str]] = []
    for row in csv.reader(io.StringIO(text, newline="")):
        if row:
            current.append(row)
            continue
        if current:
            blocks.append(current)
            current = []
        blocks.append([])
    if current:
        blocks.append(current)
    return blocks


def _shape_block(block: list[list[str]], dialect: Dialect) -> list[list[str]]:
    annotations: dict[str, list[str]] = {}
    rest: list[list[str]] = []
    for row in block:
        if not rest and row[0].startswith("#"):
            annotations[row[0][1:]] = row
        else:
            rest.append(row)
    out = [annotations[name] for name in dialect.annotations if name in annotations]
    header, records = (rest[0], rest[1:]) if rest else (None, [])
    defaults = annotations.get("default")
    if defaults is not None and "default" not in dialect.annotations:
        records = [_fill_defaults(row, defaults) for row in records]
    if header is not None and dialect.header:
        out.append(header)
    return out + records


def _fill_defaults(row: list[str], defaults: list[str]) -> list[str]:
    return [cell if cell or i == 0 or i >= len(defaults) else defaults[i] for i, cell in enumerate(row)]


def _csv_line(row: list[str], delimiter: str) -> str:
    return delimiter.join(_csv_cell(cell, delimiter) for cell in row) + "\r\n"


def _csv_cell(cell: str, delimiter: str) -> str:
    # Go's encoding/csv quoting rule, which the real server's encoder uses.
    needs_quotes = cell != "" and (
        delimiter in cell or '"' in cell or "\r" in cell or "\n" in cell or cell[0] in " \t"
    )
    return '"' + cell.replace('"', '""') + '"' if needs_quotes else cell


# --- the API ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    methods: dict[str, str]  # HTTP method -> handler method name on Api


def _route(pattern: str, **methods: str) -> Route:
    return Route(re.compile(pattern), methods)


ROUTES: tuple[Route, ...] = (
    _route(r"/health", GET="health"),
    _route(r"/ping", GET="ping", HEAD="ping"),
    _route(r"/ready", GET="ready"),
    _route(r"/api/v2/orgs", GET="list_orgs"),
    _route(r"/api/v2/orgs/(?P<org_id>[^/]+)", GET="get_org"),
    _route(r"/api/v2/buckets", GET="list_buckets", POST="create_bucket"),
    _route(r"/api/v2/buckets/(?P<bucket_id>[^/]+)", GET="get_bucket", PATCH="patch_bucket", DELETE="delete_bucket"),
    _route(r"/api/v2/write", POST="write"),
    _route(r"/api/v2/delete", POST="delete_data"),
    _route(r"/write", POST="v1_write"),
    _route(r"/query", GET="v1_query", POST="v1_query"),
    _route(r"/api/v2/query", POST="query"),
    _route(r"/api/v2/query/ast", POST="query_ast"),
    _route(r"/api/v2/query/analyze", POST="query_analyze"),
    _route(r"/api/v2/query/suggestions", GET="list_suggestions"),
    _route(r"/api/v2/query/suggestions/(?P<name>[^/]+)", GET="get_suggestion"),
)


def find_route(path: str) -> tuple[Route, dict[str, str]] | None:
    for route in ROUTES:
        match = route.pattern.fullmatch(path)
        if match:
            return route, {k: unquote(v) for k, v in match.groupdict().items()}
    return None


class Api:
    """The endpoint handlers. Each takes a ``Request`` and returns a ``Reply`` or raises ``Problem``."""

    def __init__(self, sandbox: "Sandbox"):
        self.sandbox = sandbox
        self.started = (now_rfc3339(), time.monotonic())  # for /ready

    @property
    def store(self) -> Store:
        return self.sandbox.store

    def handle(self, req: Request) -> Reply:
        try:
            return self._dispatch(req)
        except Problem as problem:
            return error_reply(problem)
        except Exception as exc:  # a sandbox bug must still give the client an answer
            logger.exception("sandbox handler failed for %s %s", req.method, req.path)
            return error_reply(Problem(500, "internal error", f"sandbox error: {exc}"))

    def admit(self, req: Request) -> Reply | None:
        """The refusal for a request whose head alone rules it out (a cross-site page, a foreign
        Host, a missing or wrong token), or None. Called before the body is read."""
        why = guard.host_refusal(req.headers.get("Host"), self.sandbox.allowed_hosts) or guard.origin_refusal(
            req.headers.get("Origin"), req.headers.get("Sec-Fetch-Site"), req.headers.get("Host"))
        try:
            if why is not None:
                raise Problem(403, "forbidden", why)
            if req.path not in PUBLIC_PATHS:
                self._authorize(req)
        except Problem as problem:
            return error_reply(problem)
        return None

    def _dispatch(self, req: Request) -> Reply:
        if req.path not in PUBLIC_PATHS:
            self._authorize(req)
        found = find_route(req.path)
        if found is None:
            return self._redirect_or_404(req)
        route, args = found
        handler = route.methods.get(req.method)
        if handler is None:
            allow = ", ".join(route.methods)
            raise Problem(405, "method not allowed", f"allow: {allow}", {"Allow": allow})
        return getattr(self, handler)(req, **args)

    def _authorize(self, req: Request) -> None:
        # compare_digest keeps response timing from leaking the tokens.
        ok = any(
            secrets.compare_digest(presented.encode(), t.encode())
            for presented in self._presented_tokens(req)
            for t in self.sandbox.tokens
        )
        if not ok:
            raise Problem(401, "unauthorized", "unauthorized access")

    @staticmethod
    def _presented_tokens(req: Request) -> list[str]:
        """The tokens a request offers: ``Authorization: Token`` everywhere ("Token" is
        case-sensitive on the server); on the v1 paths also a v1 password, which the sandbox
        takes as a token (``Authorization: Basic`` or the ``p`` query parameter)."""
        scheme, _, value = req.header("Authorization").partition(" ")
        if scheme == "Token":
            return [value]
        presented: list[str] = []
        if req.path in V1_PATHS:
            if scheme == "Basic":
                try:
                    presented.append(base64.b64decode(value, validate=True).decode("utf-8").partition(":")[2])
                except (ValueError, UnicodeDecodeError):
                    pass
            if (password := req.param("p")) is not None:
                presented.append(password)
        return presented

    def _redirect_or_404(self, req: Request) -> Reply:
        """Known paths with a trailing slash redirect, as the server's router does; others are 404."""
        if req.path.endswith("/") and len(req.path) > 1 and find_route(req.path[:-1]):
            target = req.path[:-1] + (f"?{urlencode(req.query)}" if req.query else "")
            status = 301 if req.method in ("GET", "HEAD") else 307
            text = "Moved Permanently" if status == 301 else "Temporary Redirect"
            body = f'<a href="{target}">{text}</a>.\n\n'.encode()
            return Reply(status, {"Location": target, "Content-Type": "text/html; charset=utf-8"}, body)
        raise not_found("path not found")

    # --- health and ping ---

    def health(self, req: Request) -> Reply:
        return json_reply(
            200,
            {
                "name": "influxdb",
                "message": "ready for queries and writes",
                "status": "pass",
                "checks": [],
                "version": VERSION,
                "commit": "sandbox",
            },
        )

    def ping(self, req: Request) -> Reply:
        return Reply(204)

    def ready(self, req: Request) -> Reply:
        started, since = self.started
        return json_reply(200, {"status": "ready", "started": started, "up": go_duration(time.monotonic() - since)})

    # --- orgs ---

    def list_orgs(self, req: Request) -> Reply:
        paging = Paging.from_request(req)
        with self.store.lock:
            orgs = sorted(self.store.orgs.values(), key=lambda o: o.id, reverse=paging.descending)
        if (org_id := req.param("orgID")) is not None:
            check_id(org_id)
            orgs = [o for o in orgs if o.id == org_id]
            if not orgs:
                raise not_found("organization not found")
        if (name := req.param("org")) is not None:
            # The contract says a name; an ID is accepted too, like everywhere else ``org`` appears.
            orgs = [o for o in orgs if name in (o.name, o.id)]
            if not orgs:
                raise not_found(f'organization name "{name}" not found')
        page = orgs[paging.offset : paging.offset + paging.limit]
        return json_reply(200, {"links": {"self": "/api/v2/orgs"}, "orgs": [org_json(o) for o in page]})

    def get_org(self, req: Request, org_id: str) -> Reply:
        org = self.store.orgs.get(check_id(org_id))
        if org is None:
            raise not_found("organization not found")
        return json_reply(200, org_json(org))

    def _org_by_name_or_id(self, name_or_id: str) -> Org:
        org = self.store.find_org(name_or_id)
        if org is None:
            raise not_found(f'organization name "{name_or_id}" not found')
        return org

    def _org_by_id(self, org_id: str) -> Org:
        org = self.store.orgs.get(check_id(org_id))
        if org is None:
            raise not_found("organization not found")
        return org

    # --- buckets ---

    def list_buckets(self, req: Request) -> Reply:
        paging = Paging.from_request(req)
        filters = {k: v for k in ("org", "orgID", "name", "id") if (v := req.param(k)) is not None}
        buckets = self._filtered_buckets(filters)
        if paging.after:
            buckets = [b for b in buckets if (b.id < paging.after if paging.descending else b.id > paging.after)]
        if paging.descending:
            buckets.reverse()
        page = buckets[paging.offset : paging.offset + paging.limit]
        more = len(buckets) > paging.offset + paging.limit
        links = page_links("/api/v2/buckets", paging, filters, [b.id for b in page], more)
        return json_reply(200, {"links": links, "buckets": [bucket_json(b) for b in page]})

    def _filtered_buckets(self, filters: dict[str, str]) -> list[Bucket]:
        """Buckets matching the list filters, sorted by ID so offsets and ``after`` page stably."""
        org_ids: set[str] | None = None
        if "orgID" in filters:
            org_ids = {self._org_by_id(filters["orgID"]).id}
        if "org" in filters:
            org = self._org_by_name_or_id(filters["org"])
            org_ids = {org.id} if org_ids is None else org_ids & {org.id}
        if "id" in filters:
            check_id(filters["id"])
        with self.store.lock:
            buckets = sorted(self.store.buckets.values(), key=lambda b: b.id)
        return [
            b
            for b in buckets
            if (org_ids is None or b.org_id in org_ids)
            and filters.get("name", b.name) == b.name
            and filters.get("id", b.id) == b.id
        ]

    def create_bucket(self, req: Request) -> Reply:
        data = json_object(req.body)
        org_id = typed(data, "orgID", str)
        name = typed(data, "name", str)
        if not org_id:
            raise invalid("organization id must be provided")
        check_id(org_id)
        self._check_bucket_name(name)
        description = typed(data, "description", str, "")
        rp = typed(data, "rp", str, "0") or "0"
        schema_type = typed(data, "schemaType", str, "implicit")
        if schema_type not in ("implicit", "explicit"):
            raise invalid(f'failed to decode request body: unknown schema type "{schema_type}"')
        if schema_type == "explicit":
            raise invalid("explicit bucket schemas are not supported by InfluxDB OSS")
        retention, shard = self._retention(typed(data, "retentionRules", list, []))
        with self.store.lock:
            org = self._org_by_id(org_id)
            if self._bucket_named(org.id, name) is not None:
                raise Problem(422, "conflict", f"bucket with name {name} already exists")
            bucket = self.store.add_bucket(
                org.id, name, description=description, rp=rp, retention_seconds=retention, shard_group_seconds=shard
            )
        logger.debug("created bucket %s (%s) in org %s", bucket.name, bucket.id, org.id)
        return json_reply(201, bucket_json(bucket))

    def get_bucket(self, req: Request, bucket_id: str) -> Reply:
        return json_reply(200, bucket_json(self._bucket_by_id(bucket_id)))

    def patch_bucket(self, req: Request, bucket_id: str) -> Reply:
        check_id(bucket_id)
        data = json_object(req.body)
        name = typed(data, "name", str)
        description = typed(data, "description", str)
        rules = typed(data, "retentionRules", list)
        if name is not None:
            self._check_bucket_name(name)
        retention = self._retention(rules) if rules is not None else None
        with self.store.lock:
            bucket = self._bucket_by_id(bucket_id)
            if name is not None and name != bucket.name:
                if bucket.type == "system":
                    raise invalid("system buckets cannot be renamed")
                if self._bucket_named(bucket.org_id, name) is not None:
                    raise Problem(422, "conflict", "bucket name is not unique")
                bucket.name = name
            if description is not None:
                bucket.description = description
            if retention is not None:
                bucket.retention_seconds, bucket.shard_group_seconds = retention
            bucket.updated_at = now_rfc3339()
        return json_reply(200, bucket_json(bucket))

    def delete_bucket(self, req: Request, bucket_id: str) -> Reply:
        with self.store.lock:
            bucket = self._bucket_by_id(bucket_id)
            if bucket.type == "system":
                raise invalid("system buckets cannot be deleted")
            self.store.delete_bucket(bucket.id)
        logger.debug("deleted bucket %s (%s)", bucket.name, bucket.id)
        return Reply(204)

    def _bucket_by_id(self, bucket_id: str) -> Bucket:
        bucket = self.store.buckets.get(check_id(bucket_id))
        if bucket is None:
            raise not_found("bucket not found")
        return bucket

    def _bucket_named(self, org_id: str, name: str) -> Bucket | None:
        with self.store.lock:
            return next((b for b in self.store.buckets.values() if b.org_id == org_id and b.name == name), None)

    @staticmethod
    def _check_bucket_name(name: str | None) -> None:
        if not name:
            raise invalid("bucket name is required")
        if name.startswith("_"):
            raise invalid(f"bucket name {name} is invalid. Buckets may not start with underscore")
        if '"' in name or "'" in name:
            raise invalid(f"bucket name {name} is invalid. Bucket names may not include quotation marks")

    @staticmethod
    def _retention(rules: list[Any]) -> tuple[int, int]:
        """(retention seconds, shard-group seconds) from ``retentionRules``; no rule keeps forever."""
        if not rules:
            return 0, default_shard_group_seconds(0)
        rule = rules[0]  # OSS buckets have a single expire rule
        if not isinstance(rule, dict):
            raise invalid("failed to decode request body: retentionRules must hold objects")
        if typed(rule, "type", str, "expire") != "expire":
            raise invalid('retention rule type must be "expire"')
        every = typed(rule, "everySeconds", int)
        if every is None:
            raise invalid("failed to decode request body: everySeconds is required")
        if every < 0:
            raise unprocessable("expiration seconds must be greater than or equal to 0")
        if 0 < every < HOUR:
            raise unprocessable("expiration seconds must be greater than or equal to one hour")
        shard = typed(rule, "shardGroupDurationSeconds", int, 0)
        if shard < 0:
            raise unprocessable("shard-group duration seconds must be greater than or equal to 0")
        return every, shard or default_shard_group_seconds(every)

    # --- write ---

    def write(self, req: Request) -> Reply:
        precision = req.param("precision") or "ns"
        if precision not in lineproto.PRECISION_NS:
            raise invalid("invalid precision; valid precision units are ns, us, ms, and s")
        bucket_ref = req.param("bucket")
        if bucket_ref is None:
            raise not_found("bucket not found")
        org = self._request_org(req, on_missing=lambda ref, by_id: not_found(
            "organization not found" if by_id else f'organization name "{ref}" not found'))
        bucket = self.store.find_bucket(bucket_ref, org.id)
        if bucket is None:
            raise not_found(f'bucket "{bucket_ref}" not found')
        return self._write_points(req, bucket, precision=precision)

    def _request_org(self, req: Request, on_missing: Callable[[str, bool], Problem]) -> Org:
        """The org a write or query names; ``orgID`` wins over ``org`` when both are given."""
        org_id, org_ref = req.param("orgID"), req.param("org")
        if org_id is None and org_ref is None:
            raise invalid("Please provide either orgID or org")
        org = self.store.orgs.get(check_id(org_id)) if org_id is not None else self.store.find_org(org_ref or "")
        if org is None:
            raise on_missing(org_id or org_ref or "", org_id is not None)
        return org

    def _write_body(self, req: Request) -> str:
        limit = self.sandbox.max_body_bytes
        # Only gzip is decoded, as on the server; any other Content-Encoding is read as plain text.
        if req.header("Content-Encoding").strip().lower() == "gzip":
            data = gunzip(req.body, limit)
        else:
            data = req.body
        if len(data) > limit:
            raise too_large()
        return data.decode("utf-8", errors="replace")

    def _store_points(self, bucket: Bucket, points: list[lineproto.ParsedPoint], now_ns: int) -> tuple[int, str]:
        """Write what the bucket accepts; return how many points were dropped and the last reason.

        Like the storage engine, a point is dropped whole when one of its fields has a type other
        than the one already stored (or written earlier in this batch), or when it is older than
        the bucket's retention period. Everything else is written.
        """
        dropped, reason = 0, ""
        accepted = []
        with self.store.lock:
            known = bucket.field_types()
            oldest = now_ns - bucket.retention_seconds * 1_000_000_000 if bucket.retention_seconds else None
            for point in points:
                problem = _retention_problem(point, oldest) or _type_conflict(point, known)
                if problem:
                    dropped, reason = dropped + 1, problem
                    continue
                for key, (ftype, _value) in point.fields.items():
                    known.setdefault((point.measurement, key), ftype)
                accepted.extend(point.field_points())
            self.store.write(bucket, accepted)
        logger.debug("wrote %d field values to bucket %s, dropped %d points", len(accepted), bucket.name, dropped)
        return dropped, reason

    # --- delete ---

    def delete_data(self, req: Request) -> Reply:
        """``POST /api/v2/delete``: the body is checked first, then the org, then the bucket."""
        try:
            request = deletion.decode_request(req.body, parse_rfc3339_ns)
        except deletion.DeleteError as exc:
            raise invalid(str(exc)) from None
        org = self._delete_org(req)
        bucket = self._delete_bucket(req, org)
        with self.store.lock:
            removed = deletion.delete_points(bucket, request)
        logger.debug("deleted %d field values from bucket %s", removed, bucket.name)
        return Reply(204)

    def _delete_org(self, req: Request) -> Org:
        """The org of a delete: ``org`` (name or ID) and ``orgID``; when both are given both must
        name it (the contract: "If you pass both orgID and org, they must both be valid")."""
        org_id, org_ref = req.param("orgID"), req.param("org")
        if org_id is None and org_ref is None:
            raise invalid("Please provide either orgID or org")
        by_id = self._org_by_id(org_id) if org_id is not None else None
        by_ref = self._org_by_name_or_id(org_ref) if org_ref is not None else None
        if by_id is not None and by_ref is not None and by_id.id != by_ref.id:
            raise not_found("organization not found")
        org = by_id or by_ref
        assert org is not None  # one of the two was given, and each either resolves or raised
        return org

    def _delete_bucket(self, req: Request, org: Org) -> Bucket:
        bucket_id, bucket_ref = req.param("bucketID"), req.param("bucket")
        if bucket_id is not None:  # bucketID takes precedence over bucket
            bucket = self.store.buckets.get(check_id(bucket_id))
            if bucket is None or bucket.org_id != org.id:
                raise not_found("bucket not found")
            return bucket
        if bucket_ref is None:
            raise invalid("Please provide either bucketID or bucket")
        bucket = self.store.find_bucket(bucket_ref, org.id)
        if bucket is None:
            raise not_found(f'bucket "{bucket_ref}" not found')
        return bucket

    # --- v1 compatibility: /write and /query ---
    #
    # Errors keep InfluxDB 2.x's {"code", "message"} shape, which the contract declares for these
    # paths, with InfluxDB 1.x's words in the message (1.x itself answers {"error": "..."}).
    # Databases are the buckets of the sandbox's first org, mapped by name (see sandbox.dbrp).

    def v1_write(self, req: Request) -> Reply:
        database = req.param("db")
        if database is None:
            raise invalid("database is required")
        try:
            bucket = dbrp.find_bucket(self.store, self.sandbox.org.id, database, req.param("rp"))
        except dbrp.DbrpError as exc:
            shown = f'"{exc.name}"' if exc.kind == "database" else exc.name
            raise not_found(f"{exc.kind} not found: {shown}") from None
        return self._write_points(req, bucket, v1=True,
                                  multiplier=V1_PRECISION_NS.get(req.param("precision") or "ns", 1))

    def _write_points(self, req: Request, bucket: Bucket, v1: bool = False, **units: Any) -> Reply:
        """Parse the body's line protocol and store it: the part both writes share.

        ``/api/v2/write`` is all or nothing: a line it cannot parse fails the whole body. The v1
        ``/write`` does as InfluxDB 1.6.7 does: it stores the points it could parse and answers
        400 "partial write: <the parse errors> dropped=0"; when the storage also refused points,
        its answer names only that ("partial write: <why> dropped=<how many>").
        """
        text = self._write_body(req)
        now_ns = time.time_ns()
        points, errors = lineproto.parse_points(text, default_time_ns=now_ns, **units)
        if errors and not (v1 and points):
            raise invalid("\n".join(errors))
        if not points:
            raise invalid("writing requires points")
        dropped, reason = self._store_points(bucket, points, now_ns)
        if v1 and (dropped or errors):
            raise invalid(f"partial write: {reason if dropped else chr(10).join(errors)} dropped={dropped}")
        if dropped:
            raise unprocessable(f"failure writing points to database: partial write: {reason} dropped={dropped}")
        return Reply(204)

    def v1_query(self, req: Request) -> Reply:
        params = self._v1_query_params(req)
        query_text = params.get("q", "").strip()
        if not query_text:
            raise invalid('missing required parameter "q"')
        ctx = influxql.Context(
            store=self.store, org_id=self.sandbox.org.id, database=params.get("db") or None,
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

    @staticmethod
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

    # --- query ---

    def query(self, req: Request) -> Reply:
        body = self._query_body(req)
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
        now_ns = self._query_now(body.get("now"))
        org = self._request_org(req, on_missing=lambda ref, by_id: invalid(
            "failed to decode request body: organization not found"))
        engine = self._engine()
        text = self._run_engine(
            engine, "run_query", query_text, store=self.store, org=org, now_ns=now_ns, params=params,
            extern=extern, midstream_error=self.sandbox.midstream_error,
        )
        if "return-no-content" in req.header("Prefer"):
            return Reply(204)
        return query_reply(req, shape_csv(text, dialect).encode("utf-8"), CSV_TYPE)

    @staticmethod
    def _query_body(req: Request) -> dict[str, Any]:
        media_type = req.header("Content-Type").split(";")[0].strip().lower()
        if media_type == "application/vnd.flux":
            return {"query": req.body.decode("utf-8", errors="replace")}
        # A missing Content-Type, application/json and anything else are all decoded as JSON.
        body = json_object(req.body)
        typed(body, "query", str)
        typed(body, "type", str)
        return body

    @staticmethod
    def _query_now(raw: Any) -> int:
        if raw is None or raw == "":
            return time.time_ns()
        if not isinstance(raw, str):
            raise invalid("failed to decode request body: now must be an RFC3339 string")
        try:
            return parse_rfc3339_ns(raw)
        except ValueError as exc:
            raise invalid(f"failed to decode request body: {exc}") from None

    def query_ast(self, req: Request) -> Reply:
        query_text = typed(json_object(req.body), "query", str, "")
        return json_reply(200, {"ast": self._run_engine(self._engine(), "parse_ast", query_text)})

    def query_analyze(self, req: Request) -> Reply:
        query_text = typed(json_object(req.body), "query", str, "")
        return json_reply(200, {"errors": self._run_engine(self._engine(), "analyze", query_text)})

    def _engine(self) -> Any:
        """The Flux engine: the one given to the Sandbox, else the package module, else 501."""
        if self.sandbox.flux is not None:
            return self.sandbox.flux
        try:
            return importlib.import_module(FLUX_MODULE)
        except ModuleNotFoundError as exc:
            # Only the engine package itself being absent means "not written yet"; a missing
            # module deeper inside it is a bug in the engine and should surface as a 500.
            if exc.name != FLUX_MODULE:
                raise
            raise Problem(501, "not implemented", "the sandbox's Flux engine is not available") from None

    @staticmethod
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

    # --- suggestions ---

    def list_suggestions(self, req: Request) -> Reply:
        return json_reply(200, {"funcs": suggestions.all_suggestions()})

    def get_suggestion(self, req: Request, name: str) -> Reply:
        found = suggestions.suggestion(name)
        if found is None:
            # The real server answers 500 (not 404) for an unknown function name.
            raise Problem(500, "internal error", f'function "{name}" not found')
        return json_reply(200, found)


def _retention_problem(point: lineproto.ParsedPoint, oldest_ns: int | None) -> str | None:
    if oldest_ns is not None and point.time < oldest_ns:
        return "points beyond retention policy"
    return None


# The server's names for field types in partial-write messages.
_LP_TYPE_NAMES = {"double": "float", "long": "integer", "unsignedLong": "unsigned", "boolean": "boolean", "string": "string"}


def _type_conflict(point: lineproto.ParsedPoint, known: dict[tuple[str, str], str]) -> str | None:
    for key, (ftype, _value) in point.fields.items():
        existing = known.get((point.measurement, key))
        if existing is not None and existing != ftype:
            return (
                f'field type conflict: input field "{key}" on measurement "{point.measurement}" '
                f"is type {_LP_TYPE_NAMES[ftype]}, already exists as type {_LP_TYPE_NAMES.get(existing, existing)}"
            )
    return None


# --- HTTP plumbing ------------------------------------------------------------------------------------


class _TooLarge(Exception):
    """A request body over the size the sandbox reads."""


class _HTTPServer(ThreadingHTTPServer):
    """Adds the sandbox reference, tracks open connections so ``stop`` can cut them, and bounds
    the threads: at most ``max_connections`` connections are served at once. When all are taken,
    the connection that has waited longest for its next request gives its place up (so idle or
    half-open connections cannot lock clients out); when none waits, the newcomer gets a 503."""

    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog is 5: a client opening its whole pool at once (32
    # connections) would get some of them reset.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], sandbox: "Sandbox", api: Api):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.sandbox = sandbox
        self.api = api
        #: Open connections, and since when each has been waiting for a request (None: busy).
        self._open: dict[socket.socket, float | None] = {}
        self._open_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(sandbox.max_connections)
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self._evict_idle()
            if not self._slots.acquire(timeout=1.0):
                logger.warning("sandbox: %d connections are busy; refusing one from %s", self.sandbox.max_connections,
                               client_address[0])
                self._turn_away(request)
                return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def _evict_idle(self) -> None:
        with self._open_lock:
            waiting = [(since, conn) for conn, since in self._open.items() if since is not None]
        if waiting:
            _, conn = min(waiting, key=lambda item: item[0])
            logger.debug("sandbox: all %d connections taken; closing the longest idle one",
                         self.sandbox.max_connections)
            _cut(conn)

    def _turn_away(self, request: socket.socket) -> None:
        try:
            request.setblocking(False)
            request.send(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        except OSError:
            pass
        self.shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver prints these tracebacks to stderr; most are clients hanging up mid-answer.
        logger.debug("connection from %s failed", client_address, exc_info=True)

    def track(self, conn: socket.socket, waiting_since: float | None) -> None:
        with self._open_lock:
            self._open[conn] = waiting_since

    def untrack(self, conn: socket.socket) -> None:
        with self._open_lock:
            self._open.pop(conn, None)

    def close_connections(self) -> None:
        # Keep-alive connections outlive serve_forever(); without this a client could keep
        # talking to a "stopped" sandbox over a pooled connection.
        with self._open_lock:
            conns, self._open = list(self._open), {}
        for conn in conns:
            _cut(conn)


def _cut(conn: socket.socket) -> None:
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "influxdb-sandbox"
    server: _HTTPServer

    def setup(self) -> None:
        # Every read waits at most this long: a client that stops sending (between requests,
        # or half-way through one) gives its thread back instead of holding it forever.
        self.timeout = self.server.sandbox.read_timeout
        super().setup()
        # Headers and body go out in separate writes; without TCP_NODELAY, Nagle's algorithm
        # plus the client's delayed ACK adds ~40 ms to every response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if isinstance(self.connection, ssl.SSLSocket):
            # The TLS handshake happens here, in the connection's own thread (under the handler's
            # timeout), so a slow or failing client cannot hold up the accept loop. A failed
            # handshake (a client that rejects the certificate) ends only this connection.
            self.connection.do_handshake()

    def handle_one_request(self) -> None:
        self.server.track(self.connection, time.monotonic())  # waiting for a request line
        super().handle_one_request()

    def parse_request(self) -> bool:
        self.server.track(self.connection, None)  # a request has started
        return super().parse_request()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def version_string(self) -> str:
        return self.server_version  # no Python version in the Server header

    def do_GET(self) -> None:
        self._serve()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def _serve(self) -> None:
        raw_path, _, query_string = self.path.partition("?")
        query = tuple(parse_qsl(query_string, keep_blank_values=True))
        head = Request(self.command, raw_path, query, self.headers, b"")
        try:
            length = self._body_length()
        except ValueError as exc:
            self.close_connection = True  # the framing is unknown, so the connection is unusable
            self._answer(head, error_reply(invalid(f"unable to read request body: {exc}")))
            return
        # Who is asking, before a byte of the body is read: an unauthenticated client cannot make
        # the sandbox read (or keep) a body.
        refusal = self.server.api.admit(head)
        if refusal is not None:
            self._refuse(head, refusal, length)
            return
        limit = PUBLIC_BODY_BYTES if raw_path in PUBLIC_PATHS else self.server.sandbox.max_body_bytes
        if length is not None and length > limit:
            self._refuse(head, error_reply(too_large()), length)
            return
        try:
            body = self._read_body(length, limit)
        except ConnectionError:
            # The client hung up before sending the whole body: acting on a truncated write
            # would store half a batch, so nothing is done and nothing is recorded.
            logger.debug("%s %s: client closed the connection mid-body", self.command, raw_path)
            self.close_connection = True
            return
        except _TooLarge:
            self._refuse(head, error_reply(too_large()), None)
            return
        except ValueError as exc:
            self.close_connection = True
            self._answer(head, error_reply(invalid(f"unable to read request body: {exc}")))
            return
        req = Request(self.command, raw_path, query, self.headers, body)
        self._answer(req, self.server.api.handle(req))

    def _body_length(self) -> int | None:
        """The body's declared length, or None for a chunked body."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return None
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        return length

    def _read_body(self, length: int | None, limit: int) -> bytes:
        if length is None:
            return self._read_chunked(limit)
        return self._read_exactly(length) if length else b""

    def _read_exactly(self, size: int) -> bytes:
        data = self.rfile.read(size)
        if len(data) < size:
            raise ConnectionError("connection closed before the body was complete")
        return data

    def _read_chunked(self, limit: int) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(65_537)
            if not line:
                raise ConnectionError("connection closed inside a chunked body")
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(65_537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers carry nothing the sandbox needs
                return b"".join(chunks)
            total += size
            if total > limit:
                raise _TooLarge()
            chunks.append(self._read_exactly(size))
            self.rfile.readline()  # the CRLF after each chunk

    def _refuse(self, head: Request, reply: Reply, length: int | None) -> None:
        """Answer a request whose body was not read. A small body is read and dropped, so the
        connection can carry the next request; a larger or chunked one is left unread, and the
        connection closed once the answer is out."""
        if length is not None and length <= DISCARD_BYTES:
            try:
                self._read_exactly(length)
            except (ConnectionError, OSError):
                self.close_connection = True
                return
            self._answer(head, reply, unread=length)
            return
        self.close_connection = True
        reply.headers["Connection"] = "close"
        self._answer(head, reply, unread=-1 if length is None else length)
        self._linger()

    def _linger(self) -> None:
        """Read and drop what the client is still sending, for a moment, before the connection
        closes: closing with unread data would reset it, and the client could lose the answer."""
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + LINGER_SECONDS
            dropped = 0
            while dropped < LINGER_BYTES and (left := deadline - time.monotonic()) > 0:
                self.connection.settimeout(left)
                chunk = self.connection.recv(65536)
                if not chunk:
                    break
                dropped += len(chunk)
        except OSError:
            pass

    def _answer(self, req: Request, reply: Reply, unread: int | None = None) -> None:
        reply.headers.setdefault("X-Influxdb-Build", "OSS")
        reply.headers.setdefault("X-Influxdb-Version", VERSION)
        # No body on 204 or HEAD; a 204 also carries no Content-Length (RFC 9110 section 8.6).
        sent_body = b"" if reply.status == 204 or req.method == "HEAD" else reply.body
        chunked = reply.chunked and reply.status != 204 and req.method != "HEAD"
        if chunked:
            reply.headers["Transfer-Encoding"] = "chunked"
        elif reply.status != 204:
            reply.headers["Content-Length"] = str(len(reply.body))
        self.server.sandbox.record(req, reply, sent_body, unread)
        self._log(req, reply)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if chunked:
            for start in range(0, len(sent_body), CHUNK_BYTES):
                piece = sent_body[start : start + CHUNK_BYTES]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        elif sent_body:
            self.wfile.write(sent_body)

    def _log(self, req: Request, reply: Reply) -> None:
        # Never log the token itself: only whether one was sent.
        scheme = req.header("Authorization").partition(" ")[0]
        auth = f"{scheme} ***" if scheme else "none"
        logger.debug("%s %s -> %d (auth: %s)", req.method, self.server.sandbox.mask(req.path), reply.status, auth)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        # BaseHTTPRequestHandler writes every request to stderr; route it to logging instead,
        # with the request line's password (the v1 "p" parameter) and any token masked.
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("http.server: %s", self.server.sandbox.mask(format % args))


# --- the public object ------------------------------------------------------------------------------


class Sandbox:
    """An InfluxDB v2 look-alike on loopback: an org with a bucket, any extra orgs, system buckets in each.

    Every token in ``token`` and ``extra_tokens`` may do everything, like an operator token. The
    v1 endpoints (``/write``, ``/query``) see the first org's buckets as databases. With
    ``tls_cert`` and ``tls_key`` (PEM files) it serves https and ``url`` starts with ``https://``.

    On a shared machine: the token is checked, and the body's size against ``max_body_bytes``,
    before a body is read; requests a web page sends from another site (``Origin``,
    ``Sec-Fetch-Site``) and requests naming a host other than an IP address, ``localhost`` or
    ``allowed_hosts`` (DNS rebinding) are refused with 403; at most ``max_connections`` are served
    at once, each read waiting at most ``read_timeout`` seconds. ``requests``/``responses`` keep
    the last ``record_limit`` exchanges, each body cut to ``record_body_bytes`` and all bodies
    together within ``record_bytes``. Binding an address other machines can reach warns
    (``SandboxExposedWarning``).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str = "sandbox-token",
        org: str = "sandbox-org",
        org_id: str | None = None,
        bucket: str | None = "sandbox-bucket",
        extra_tokens: tuple[str, ...] | list[str] = (),
        extra_orgs: tuple[str, ...] | list[str] = (),
        max_body_bytes: int = 25 * 1024 * 1024,
        flux: Any = None,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        allowed_hosts: tuple[str, ...] | list[str] = (),
        max_connections: int = 128,
        read_timeout: float = 60.0,
        record_limit: int = 10_000,
        record_body_bytes: int = 1024 * 1024,
        record_bytes: int = 64 * 1024 * 1024,
    ):
        self.host = host
        #: Host names (besides IP addresses and localhost) that requests may name in ``Host``:
        #: those given, and the name the sandbox was told to listen on.
        self.allowed_hosts = (*allowed_hosts, *(() if guard.is_ip(host) else (host,)))
        self.max_connections = max_connections
        self.read_timeout = read_timeout
        self.record_limit = record_limit
        self.record_body_bytes = record_body_bytes
        self.record_bytes = record_bytes
        self._recorded_bytes = 0
        #: The PEM certificate (chain) and private key to serve https with; None serves http.
        self.tls_cert = str(tls_cert) if tls_cert is not None else None
        self.tls_key = str(tls_key) if tls_key is not None else None
        self._tls_context = self._make_tls_context()
        self.port = port
        self.token = token
        self.tokens: tuple[str, ...] = (token, *extra_tokens)
        #: Hides the tokens and any v1 password in a text (what the log shows of a request).
        self.mask = guard.masker(self.tokens)
        self.max_body_bytes = max_body_bytes
        #: A Flux engine object (with run_query, parse_ast, analyze, FluxError) to use instead of
        #: importing influx_connector.sandbox.flux; lets tests drive the query endpoints.
        self.flux = flux
        self.midstream_error: str | None = None
        self.url = ""
        self._bound_host = ""
        self._bound_port = 0
        self.store = Store()
        self.org = self.store.add_org(org, org_id)
        self._add_system_buckets(self.org)
        for name in extra_orgs:
            self._add_system_buckets(self.store.add_org(name))
        self.bucket: Bucket | None = None
        if bucket is not None:
            self.bucket = self.store.add_bucket(self.org.id, bucket, shard_group_seconds=default_shard_group_seconds(0))
        self.requests: list[RecordedRequest] = []
        self.responses: list[RecordedResponse] = []
        self._record_lock = threading.Lock()
        self._server: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _make_tls_context(self) -> ssl.SSLContext | None:
        """The server's TLS context, built at once so a bad certificate or key fails here."""
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together: give both to serve https, or neither")
        if self.tls_cert is None:
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            context.load_cert_chain(self.tls_cert, self.tls_key)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"cannot serve https with {self.tls_cert} and {self.tls_key}: {exc}") from exc
        return context

    @property
    def scheme(self) -> str:
        return "https" if self._tls_context is not None else "http"

    def _add_system_buckets(self, org: Org) -> None:
        # A real server creates these in every org; clients listing buckets see them.
        for name, retention in (("_monitoring", 7 * DAY), ("_tasks", 3 * DAY)):
            self.store.add_bucket(
                org.id,
                name,
                type="system",
                retention_seconds=retention,
                shard_group_seconds=default_shard_group_seconds(retention),
                description=f"System bucket for {name[1:]} logs",
            )

    def start(self) -> "Sandbox":
        if self._server is not None:
            return self
        server = _HTTPServer((self.host, self.port), self, Api(self))
        if self._tls_context is not None:
            server.socket = self._tls_context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        host, port = server.server_address[:2]
        self._bound_host = f"[{host}]" if ":" in str(host) else str(host)
        self._bound_port = int(port)
        self.url = f"{self.scheme}://{self._bound_host}:{port}"
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"influx-sandbox-{port}", daemon=True
        )
        self._thread.start()
        logger.debug("sandbox listening on %s", self.url)
        if not guard.is_loopback(str(host)):
            text = (f"the sandbox listens on {self.url}, which other machines can reach: anyone who can connect "
                    f"and knows a token{' (the default one is public)' if 'sandbox-token' in self.tokens else ''} "
                    "can read and change its data. It is a test server: bind 127.0.0.1 unless this is meant")
            warnings.warn(text, SandboxExposedWarning, stacklevel=2)
        return self

    @property
    def connection_settings(self) -> dict[str, Any]:
        """The connector's connection values for this sandbox (started), as a connection form holds them."""
        if not self.url:
            raise RuntimeError("the sandbox has not been started, so it has no address yet")
        settings: dict[str, Any] = {"protocol": self.scheme, "host": self._bound_host, "port": self._bound_port,
                                    "token": self.token, "org": self.org.name}
        if self.bucket is not None:
            settings["bucket"] = self.bucket.name
        if self.tls_cert is not None:
            # A self-signed certificate (the usual sandbox case) is its own CA: trusting it is
            # what lets a client verify the connection instead of turning verification off.
            settings["ca_bundle"] = self.tls_cert
        return settings

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        logger.debug("sandbox on %s stopped", self.url)

    def __enter__(self) -> "Sandbox":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def record(self, req: Request, reply: Reply, sent_body: bytes, body_size: int | None = None) -> None:
        """Keep the request and the response in arrival order (called from handler threads),
        within the recording limits: the oldest exchanges go first. ``body_size`` is the
        declared length of a body that was not read."""
        cap = self.record_body_bytes
        request = RecordedRequest(req.method, req.path, req.query, dict(req.headers.items()), req.body[:cap],
                                  len(req.body) if body_size is None else body_size)
        response = RecordedResponse(req.method, req.path, reply.status, dict(reply.headers), sent_body[:cap],
                                    len(sent_body))
        with self._record_lock:
            self.requests.append(request)
            self.responses.append(response)
            self._recorded_bytes += len(request.body) + len(response.body)
            drop = 0
            while drop < len(self.requests) and (len(self.requests) - drop > self.record_limit
                                                  or self._recorded_bytes > self.record_bytes):
                self._recorded_bytes -= len(self.requests[drop].body) + len(self.responses[drop].body)
                drop += 1
            if drop:
                del self.requests[:drop], self.responses[:drop]


__all__ = ["Sandbox", "RecordedRequest", "RecordedResponse", "SandboxExposedWarning"]
