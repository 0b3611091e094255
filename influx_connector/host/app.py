"""The reference host as a WSGI application: the page, and JSON over HTTP for host programs.

No framework: a table of routes, each a small function from a ``Call`` (the parsed request) to
an ``Answer``. Every request passes the ``Guard`` first (Host, Origin, access key, body cap).
The API is described by ``openapi.document()``, served at ``/api/openapi.json``; the routes
below and that document are checked against each other by the tests.

Nothing here knows a data source: forms, operations and chart hints come from the manifests.
"""
from __future__ import annotations

import json
import logging
import mimetypes
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from urllib.parse import parse_qs

from ..binary import file_name, is_bytes, json_default, media_type, result_json
from ..connection import Connection, Result, TestReport
from ..errors import ConnectorError, FieldError, ValidationError
from . import openapi
from .catalog import Catalog
from .problems import Missing, Problem, Refused, describe
from .security import SECURITY_HEADERS, Guard
from .store import Store
from .streaming import NDJSON, progress_ndjson, rows_ndjson

log = logging.getLogger(__name__)

JSON = "application/json"
_STATUS = {200: "200 OK", 201: "201 Created", 204: "204 No Content", 303: "303 See Other", 400: "400 Bad Request",
           401: "401 Unauthorized", 403: "403 Forbidden", 404: "404 Not Found", 405: "405 Method Not Allowed",
           409: "409 Conflict", 413: "413 Content Too Large", 415: "415 Unsupported Media Type",
           422: "422 Unprocessable Content", 500: "500 Internal Server Error", 502: "502 Bad Gateway",
           504: "504 Gateway Timeout"}


@dataclass
class Call:
    """One request, as the routes see it."""

    environ: Mapping[str, Any]
    method: str
    path: str
    args: Mapping[str, str]
    guard: Guard
    _body: Any = field(default=None, repr=False)
    _read: bool = False

    def json(self) -> dict[str, Any]:
        """The body as a JSON object (a 415 for another media type, a 400 for bad JSON)."""
        if not self._read:
            self._read = True
            raw = self.guard.read_body(self.environ)
            kind = (self.environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
            if raw and kind != JSON:
                raise Problem("unsupported_media_type", f"send the body as {JSON}, not {kind or 'no type'}",
                              status=415)
            try:
                self._body = json.loads(raw) if raw else {}
            except ValueError as exc:
                raise Problem("bad_json", f"the body is not JSON: {exc}") from None
            if not isinstance(self._body, dict):
                raise Problem("bad_json", "the body must be a JSON object")
        return self._body


@dataclass
class Answer:
    status: int
    body: Iterable[bytes]
    content_type: str = JSON
    headers: list[tuple[str, str]] = field(default_factory=list)


def json_answer(payload: Any, status: int = 200, mask: Callable[[str], str] | None = None) -> Answer:
    text = json.dumps(payload, ensure_ascii=False, default=json_default)
    if mask is not None:
        text = mask(text)
    return Answer(status, [text.encode()])


def error_answer(error: BaseException, mask: Callable[[str], str] | None = None) -> Answer:
    described = describe(error)
    return json_answer({"error": described}, described["status"], mask)


def _text(body: Mapping[str, Any], name: str, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationError([FieldError(name, "is required: text that is not blank")], "request")
    return value.strip()


def _mapping(body: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = body.get(name, {})
    if not isinstance(value, dict):
        raise ValidationError([FieldError(name, "must be a JSON object")], "request")
    return value


class App:
    """The service: routes, the store, the hosted data sources. ``__call__`` is the WSGI entry."""

    def __init__(self, store: Store, catalog: Catalog, guard: Guard):
        self.store = store
        self.catalog = catalog
        self.guard = guard
        self.routes: list[tuple[str, re.Pattern[str], Callable[..., Answer]]] = []
        for method, pattern, handler in self._table():
            self.routes.append((method, re.compile(f"^{pattern}$"), handler))

    def __repr__(self) -> str:
        return f"App({self.store!r}, {self.guard!r})"

    def _table(self) -> list[tuple[str, str, Callable[..., Answer]]]:
        ident = "(?P<id>[A-Za-z0-9_-]{1,64})"
        return [
            ("GET", "/", self.page),
            ("GET", "/static/(?P<name>[A-Za-z0-9_.-]{1,64})", self.static),
            ("GET", "/api/openapi.json", self.openapi),
            ("GET", "/api/data-source-types", self.list_types),
            ("GET", f"/api/data-source-types/{ident}", self.get_type),
            ("GET", "/api/data-sources", self.list_sources),
            ("POST", "/api/data-sources", self.add_source),
            ("GET", f"/api/data-sources/{ident}", self.get_source),
            ("PUT", f"/api/data-sources/{ident}", self.update_source),
            ("DELETE", f"/api/data-sources/{ident}", self.delete_source),
            ("POST", f"/api/data-sources/{ident}/test", self.test_source),
            ("GET", f"/api/data-sources/{ident}/operations", self.source_operations),
            ("POST", "/api/run", self.run),
            ("POST", "/api/render", self.render),
            ("POST", "/api/stream", self.stream),
            ("GET", "/api/queries", self.list_queries),
            ("POST", "/api/queries", self.add_query),
            ("GET", f"/api/queries/{ident}", self.get_query),
            ("PUT", f"/api/queries/{ident}", self.update_query),
            ("DELETE", f"/api/queries/{ident}", self.delete_query),
            ("POST", f"/api/queries/{ident}/run", self.run_query),
        ]

    # --- WSGI -------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO", "/") or "/"
        origin = None
        try:
            host = self.guard.check_host(environ)
            origin = self.guard.check_origin(environ, host)
            args = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
            call = Call(environ, method, path, args, self.guard)
            if method == "OPTIONS":
                answer = Answer(204, [], headers=[])
            else:
                answer = self._dispatch(call)
        except Problem as exc:
            answer = error_answer(exc)
        except Exception:
            log.exception("%s %s failed", method, path)
            answer = error_answer(RuntimeError())
        headers = [("Content-Type", answer.content_type), *SECURITY_HEADERS, *answer.headers,
                   *self.guard.cors_headers(origin)]
        if not any(name == "Cache-Control" for name, _ in headers):
            headers.append(("Cache-Control", "no-store"))
        start_response(_STATUS.get(answer.status, f"{answer.status} Status"), headers)
        return answer.body

    def _dispatch(self, call: Call) -> Answer:
        allowed = []
        for method, pattern, handler in self.routes:
            match = pattern.match(call.path)
            if match is None:
                continue
            if method != call.method:
                allowed.append(method)
                continue
            if handler != self.page and not self.guard.has_key(call.environ):
                raise Problem("access_key_required", "give the access key printed when the service started "
                                                     "(Authorization: Bearer <key>, or open the printed URL)",
                              status=401)
            try:
                return handler(call, **match.groupdict())
            except (ConnectorError, Problem) as exc:
                return error_answer(exc)
        if allowed:
            return Answer(405, [json.dumps({"error": {"status": 405, "code": "method_not_allowed",
                                                      "message": f"{call.path} takes {', '.join(allowed)}"}}).encode()],
                          headers=[("Allow", ", ".join(allowed))])
        raise Missing("no_such_path", f"nothing is served at {call.path}")

    # --- the page ---------------------------------------------------------------------------

    def page(self, call: Call) -> Answer:
        given = call.args.get("key")
        if given is not None:
            if not self.guard.key_matches(given):
                raise Refused("wrong_access_key", "that access key is not this service's")
            # The key leaves the address bar (and the history) at once; the cookie carries it.
            return Answer(303, [], "text/plain", [("Location", "/"), self.guard.cookie_header()])
        if not self.guard.has_key(call.environ):
            text = ("<!doctype html><meta charset=utf-8><title>influx-connector</title>"
                    "<p>Open the address with <code>?key=</code> that <code>influx-connector serve</code> "
                    "printed when it started.</p>")
            return Answer(401, [text.encode()], "text/html; charset=utf-8")
        return Answer(200, [_static("index.html")], "text/html; charset=utf-8")

    def static(self, call: Call, name: str) -> Answer:
        try:
            data = _static(name)
        except FileNotFoundError:
            raise Missing("no_such_file", f"no static file {name}") from None
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind.endswith("javascript"):
            kind += "; charset=utf-8"
        return Answer(200, [data], kind, [("Cache-Control", "no-cache")])

    def openapi(self, call: Call) -> Answer:
        return json_answer(openapi.document())

    # --- data source types --------------------------------------------------------------------

    def list_types(self, call: Call) -> Answer:
        return json_answer([self.catalog.describe(ds) for ds in self.catalog.all()])

    def get_type(self, call: Call, id: str) -> Answer:
        return json_answer(self.catalog.describe(self.catalog.get(id, fresh=True)))

    # --- saved data sources -------------------------------------------------------------------

    def list_sources(self, call: Call) -> Answer:
        return json_answer([s.public() for s in self.store.sources()])

    def get_source(self, call: Call, id: str) -> Answer:
        return json_answer(self.store.source(id).public())

    def split_values(self, type_id: str, values: Mapping[str, Any],
               kept: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Plain and secret values, checked as a connection would take them. A secret left out
        (or empty) keeps its saved value: the page never has it to send back."""
        ds = self.catalog.get(type_id)
        secret_names = set(ds.connection.secret_fields)
        plain = {k: v for k, v in values.items() if k not in secret_names}
        secrets = {k: v for k, v in kept.items() if k in secret_names}
        secrets.update({k: v for k, v in values.items() if k in secret_names and v not in (None, "")})
        Connection(ds, {**plain, **secrets}, self.catalog.host).close()  # raises for bad values, names each
        return plain, secrets

    def add_source(self, call: Call) -> Answer:
        body = call.json()
        name, type_id = _text(body, "name"), _text(body, "type")
        assert name is not None and type_id is not None
        plain, secrets = self.split_values(type_id, _mapping(body, "values"), {})
        return json_answer(self.store.add_source(name, type_id, plain, secrets).public(), 201)

    def update_source(self, call: Call, id: str) -> Answer:
        body = call.json()
        saved = self.store.source(id)
        name = _text(body, "name", required=False) or saved.name
        plain, secrets = self.split_values(saved.type, _mapping(body, "values"), saved.secrets)
        # The same values reach the same server: what a test found out of it still holds.
        same = {**plain, **secrets} == saved.values()
        updated = self.store.update_source(id, name, plain, secrets, keep_detected=same)
        self.catalog.forget(id)
        return json_answer(updated.public())

    def delete_source(self, call: Call, id: str) -> Answer:
        self.store.delete_source(id)
        self.catalog.forget(id)
        return Answer(204, [])

    def tested(self, id: str) -> tuple[TestReport, Connection]:
        """Test a saved data source; what the test found out of its server is remembered, so
        the operations listed for it (in every process) are its server's."""
        saved = self.store.source(id)
        conn = self.catalog.connection(saved)
        report = conn.test()
        if dict(conn.detected) != dict(saved.detected):
            self.store.remember_detected(id, saved.revision, conn.detected)
        return report, conn

    def test_source(self, call: Call, id: str) -> Answer:
        report, conn = self.tested(id)
        return json_answer(report.to_dict(), mask=conn.redactor.mask)

    def source_operations(self, call: Call, id: str) -> Answer:
        saved = self.store.source(id)
        conn = self.catalog.connection(saved)
        return json_answer(self.catalog.operations_for(saved, conn))

    # --- running ------------------------------------------------------------------------------

    def _target(self, body: Mapping[str, Any]) -> tuple[Connection, str, dict[str, Any]]:
        source_id, operation = _text(body, "data_source"), _text(body, "operation")
        assert source_id is not None and operation is not None
        conn = self.catalog.cached_connection(self.store, source_id, operation)
        return conn, operation, _mapping(body, "params")

    def _run(self, call: Call, conn: Connection, operation: str, params: dict[str, Any], progress: bool) -> Answer:
        try:
            if progress:
                work = lambda report: result_json(conn.run(operation, params, progress=report))  # noqa: E731
                return Answer(200, progress_ndjson(work, conn.redactor), NDJSON)
            result = conn.run(operation, params)
        except ConnectorError as exc:
            return error_answer(exc, conn.redactor.mask)
        if is_bytes(result.data) and _accepts_raw(call.environ.get("HTTP_ACCEPT", ""), result):
            return _raw_answer(conn.connector.operation(operation).id, result)
        return json_answer(result_json(result), mask=conn.redactor.mask)

    def run(self, call: Call) -> Answer:
        body = call.json()
        conn, operation, params = self._target(body)
        return self._run(call, conn, operation, params, body.get("progress") is True)

    def render(self, call: Call) -> Answer:
        conn, operation, params = self._target(call.json())
        try:
            request = conn.render(operation, params)
        except ConnectorError as exc:
            return error_answer(exc, conn.redactor.mask)
        return json_answer({"request": request.to_dict(), "curl": request.curl()}, mask=conn.redactor.mask)

    def stream(self, call: Call) -> Answer:
        body = call.json()
        conn, operation, params = self._target(body)
        limit = body.get("limit")
        if limit is not None and (type(limit) is not int or limit < 0):
            raise ValidationError([FieldError("limit", "must be a whole number of rows, 0 or more")], "request")
        try:
            rows = conn.stream(operation, params, limit=limit)
        except ConnectorError as exc:
            return error_answer(exc, conn.redactor.mask)
        return Answer(200, rows_ndjson(rows, conn.redactor), NDJSON)

    # --- saved queries ------------------------------------------------------------------------

    def list_queries(self, call: Call) -> Answer:
        return json_answer([q.public() for q in self.store.queries()])

    def get_query(self, call: Call, id: str) -> Answer:
        return json_answer(self.store.query(id).public())

    def _query_fields(self, body: Mapping[str, Any]) -> tuple[str, str, str, dict[str, Any]]:
        name, source_id, operation = _text(body, "name"), _text(body, "data_source"), _text(body, "operation")
        assert name is not None and source_id is not None and operation is not None
        params = _mapping(body, "params")
        conn = self.catalog.cached_connection(self.store, source_id, operation)
        conn.validate(operation, params)  # a query that cannot run is not saved
        return name, source_id, conn.connector.operation(operation).id, params

    def add_query(self, call: Call) -> Answer:
        return json_answer(self.store.add_query(*self._query_fields(call.json())).public(), 201)

    def update_query(self, call: Call, id: str) -> Answer:
        self.store.query(id)
        return json_answer(self.store.update_query(id, *self._query_fields(call.json())).public())

    def delete_query(self, call: Call, id: str) -> Answer:
        self.store.delete_query(id)
        return Answer(204, [])

    def run_query(self, call: Call, id: str) -> Answer:
        saved = self.store.query(id)
        body = call.json()
        conn = self.catalog.cached_connection(self.store, saved.data_source, saved.operation)
        return self._run(call, conn, saved.operation, dict(saved.params), body.get("progress") is True)


#: What an Accept header names to have an answer given as bytes as those bytes (besides its own type).
RAW = "application/octet-stream"


def _accepts_raw(accept: str, result: Result) -> bool:
    """Whether the client asked for the bytes themselves: its Accept header names
    application/octet-stream or the answer's own media type (without q=0). Anything else,
    a browser's */* included, gets JSON, where the bytes are base64."""
    wanted = {RAW, media_type(result.meta.get("content_type"))} - {""}
    for item in accept.split(","):
        kind, *options = (part.strip().lower() for part in item.split(";"))
        if kind in wanted and not any(o.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000") for o in options):
            return True
    return False


#: A bare media type as RFC 9110 spells one (type "/" subtype, token characters only).
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")
#: Words in a media type a browser renders or runs (HTML, XHTML, SVG and other XML, scripts).
_ACTIVE = ("html", "xml", "script")


def _served_type(content_type: str | None) -> str:
    """The media type the service gives the bytes under: the data source's own, bare, unless a
    browser would render or run it, or it is malformed. The data source's server chose it, and the
    bytes go out from the service's origin, where a page or a script must not come from it."""
    kind = media_type(content_type)
    if not _MEDIA_TYPE.fullmatch(kind) or any(word in kind for word in _ACTIVE):
        return RAW
    return kind


def _raw_answer(operation: str, result: Result) -> Answer:
    """The bytes of an answer as they came, with their media type and a file name. They are not
    masked as JSON answers are: they are the server's answer, and masking would corrupt them."""
    kind = _served_type(result.meta.get("content_type"))
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", file_name(operation, kind))
    data = bytes(result.data)
    return Answer(200, [data], kind, [("Content-Disposition", f'attachment; filename="{name}"'),
                                      ("Content-Length", str(len(data))),
                                      ("X-Result-Status", str(result.status))])


def _static(name: str) -> bytes:
    return resources.files(__package__).joinpath("static", name).read_bytes()
