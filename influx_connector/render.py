"""Render an operation and its validated parameters into an HTTP request. Pure: no I/O.

Because rendering sends nothing, the same function serves runs, dry-runs, curl export, the
examples in the YAML files and the contract tests.

Internal to the engine (not part of what hosts use; see ``influx_connector.__all__``).
"""
from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import quote, urlencode, urlsplit

from urllib3.util import parse_url

from .batch import Batch, BatchPlan, Payload, Sent
from .errors import FieldError, ValidationError
from .model import Connector, RequestSpec
from .secrets import Redactor
from .template import OMIT, Context, references, render

USER_AGENT = "influx-connector/0.1"
MASK = "****"
_FIELD = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True)
class Request:
    """A rendered request. Its repr and ``to_dict`` never show credentials."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None = None
    json: Any = None
    summary: Mapping[str, Any] = field(default_factory=dict)
    timeout: float = 10.0  # read timeout, seconds
    redactor: Redactor = field(default_factory=Redactor, repr=False, compare=False)
    secret_headers: tuple[str, ...] = ()
    connect_timeout: float | None = None  # the read timeout when None
    #: Set when the body goes in batches; ``body`` is then the first batch in a dry-run (``preview``)
    #: and None in a run, whose batch writer prepares each batch.
    batch: BatchPlan | None = field(default=None, repr=False, compare=False)

    @property
    def timeouts(self) -> tuple[float, float]:
        """(connect, read) seconds, as requests takes them."""
        return (self.connect_timeout or self.timeout, self.timeout)

    def masked_headers(self) -> dict[str, str]:
        secret = {h.lower() for h in self.secret_headers}
        out = {}
        for name, value in self.headers.items():
            if name.lower() in secret:
                scheme = value.split(" ", 1)[0] if " " in value else ""
                out[name] = f"{scheme} {MASK}".strip()
            else:
                out[name] = self.redactor.mask(value)
        return out

    def body_text(self) -> str | None:
        if self.body is None:
            return None
        if self.headers.get("Content-Encoding") == "gzip":
            return f"<{len(self.body)} bytes, gzip-compressed>"
        return self.redactor.mask(self.body.decode("utf-8", "replace"))

    def to_dict(self) -> dict[str, Any]:
        """Method, URL, masked headers and body: what a dry-run shows."""
        out: dict[str, Any] = {"method": self.method, "url": self.redactor.mask(self.url),
                               "headers": self.masked_headers()}
        if self.json is not None:
            out["json"] = json.loads(self.redactor.mask(json.dumps(self.json)))
        elif self.body is not None:
            out["body"] = self.body_text()
        if self.summary:
            out["summary"] = dict(self.summary)
        return out

    def curl(self) -> str:
        """The request as a curl command, with the credentials masked."""
        parts = ["curl", "--request", self.method, self.redactor.mask(self.url)]
        for name, value in self.masked_headers().items():
            parts += ["--header", f"{name}: {value}"]
        if self.body is not None:
            if self.headers.get("Content-Encoding") == "gzip":
                parts += ["--data-binary", "@body.gz"]
            else:
                parts += ["--data-binary", self.body_text() or ""]
        return " ".join(shlex.quote(p) for p in parts)

    def __repr__(self) -> str:
        return f"Request({self.method} {self.redactor.mask(self.url)})"


def _query_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(text: str, values: Mapping[str, Any], encode: bool) -> str:
    def sub(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        value = "" if value is None else _query_text(value)
        if not encode:
            return value
        # A path value is one segment: '/' and '%' are encoded, so '../' or '%2F' cannot move the
        # request; a segment that is '.' or '..' itself would, and there is no encoding of it that
        # every server leaves alone.
        if value in (".", ".."):
            raise ValidationError([FieldError(match.group(1), f"cannot be '{value}': in the request's path it would "
                                                               "move the request up a level")])
        return quote(value, safe="")

    return _FIELD.sub(sub, text)


def base_url(connector: Connector, conn: Mapping[str, Any]) -> str:
    return _fill(connector.connection.base_url, conn, encode=False).rstrip("/")


def connection_headers(connector: Connector, conn: Mapping[str, Any]) -> dict[str, str]:
    """The headers of every request: the engine's, the auth header, then the extra headers
    (which ``connection_problems`` has checked may be sent, and replace a header of the same name)."""
    spec = connector.connection
    headers = {"User-Agent": USER_AGENT}
    if spec.auth is not None:
        headers[spec.auth.header] = _fill(spec.auth.value, conn, encode=False)
    if spec.headers_from:
        for name, value in (conn.get(spec.headers_from) or {}).items():
            for same in [h for h in headers if h.lower() == str(name).lower()]:
                del headers[same]
            headers[str(name)] = str(value)
    return headers


# --- connection values that are valid alone but not together --------------------------------------------

#: Headers that frame the request or the connection: set by the HTTP client for each request,
#: so a value given among the connection's extra headers would make the request malformed.
FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive", "te", "trailer",
                             "upgrade"})
#: A host every URL parser reads alike: a name or IPv4 address, or an IPv6 address in brackets.
_PLAIN_HOST = re.compile(r"[A-Za-z0-9_.-]+|[0-9A-Fa-f:.]+")
#: A '.' or '..' path segment, as it is or percent-encoded: a server (or the HTTP client) removes
#: it together with the segment before, so the request leaves the path it was given.
_DOT_SEGMENT = re.compile(r"(?:^|/)(?:\.|%2e){1,2}(?=/|$)", re.IGNORECASE)
#: What a connection value may hold without changing the shape of the URL it goes into.
_URL_SHAPED = re.compile(r"[A-Za-z0-9._~/:\[\]-]*")


def connection_problems(connector: Connector, conn: Mapping[str, Any]) -> list[FieldError]:
    """What is wrong with connection values that are each valid, once they are put together:
    a base URL that URL parsers read differently (so requests could go to another host than
    the one shown), a base path that climbs out of itself, extra headers that would replace
    the ones the data source sets."""
    return [*_base_url_problems(connector, conn), *_header_problems(connector, conn)]


def _base_url_problems(connector: Connector, conn: Mapping[str, Any]) -> list[FieldError]:
    template = connector.connection.base_url
    names = [name for name in dict.fromkeys(_FIELD.findall(template)) if isinstance(conn.get(name), str)]
    url = base_url(connector, conn)
    try:
        ours, theirs = urlsplit(url), parse_url(url)  # the standard library's reading, and the HTTP client's
        host = ours.hostname or ""
        same = ((ours.scheme, host, ours.port) == (theirs.scheme, (theirs.host or "").strip("[]").lower(), theirs.port)
                and ours.username is None and theirs.auth is None and _PLAIN_HOST.fullmatch(host) is not None)
    except ValueError:  # a port that is not a number, a name that is not a host name...
        same = False
    if not same:
        culprits = [n for n in names if not _URL_SHAPED.fullmatch(conn[n]) or "@" in conn[n]] or names
        return [FieldError(n, "makes the server address ambiguous: use only letters, digits, '.', '-' and '_' in a "
                              "host name (an IPv6 address in brackets), and no '@', '\\', '%' or spaces")
                for n in culprits]
    inside = _field_cut_by(template, conn, len(ours.scheme) + 3 + len(ours.netloc))
    if inside is not None:  # a value ends the server address early: the rest of it became the path
        return [FieldError(inside, "must not hold '/', '?' or '#': part of it would be read as the path, and "
                                   "requests would go to another address")]
    if _DOT_SEGMENT.search(ours.path):
        culprits = [n for n in names if _DOT_SEGMENT.search(conn[n])] or names
        return [FieldError(n, "has a '.' or '..' segment (perhaps percent-encoded): it would move requests out of "
                              "the path") for n in culprits]
    return []


def _field_cut_by(template: str, conn: Mapping[str, Any], at: int) -> str | None:
    """The field of ``template`` whose rendered value position ``at`` falls strictly inside."""
    done = 0
    for index, piece in enumerate(_FIELD.split(template)):
        if index % 2:  # a field's name
            value = conn.get(piece)
            length = len("" if value is None else _query_text(value))
            if done < at < done + length:
                return piece
        else:
            length = len(piece)
        done += length
    return None


def _header_problems(connector: Connector, conn: Mapping[str, Any]) -> list[FieldError]:
    spec = connector.connection
    extra = conn.get(spec.headers_from) if spec.headers_from else None
    protected = {"host", *((spec.auth.header.lower(),) if spec.auth else ())} - {
        h.lower() for h in spec.override_headers}
    problems = []
    for name in extra or {}:
        lowered = str(name).lower()
        if lowered in FRAMING_HEADERS:
            problems.append(FieldError(f"{spec.headers_from}.{name}", "is set for each request by the HTTP client; "
                                                                       "remove it"))
        elif lowered in protected:
            problems.append(FieldError(f"{spec.headers_from}.{name}",
                                       f"would replace the {name} header the data source sets, which it does not "
                                       "allow; remove it"))
    return problems


@dataclass(frozen=True)
class RenderContext:
    """What rendering may use besides the operation: plugins' tables and a resolver."""

    connector: Connector
    conn: Mapping[str, Any]
    rules: Mapping[str, Callable[..., Any]]
    encoders: Mapping[str, Callable[..., Any]]
    redactor: Redactor
    resolve: Callable[[str, Any], Any] = lambda name, value: value
    #: The connection's base URL and headers, when already worked out (they do not change).
    base: str | None = None
    headers: Mapping[str, str] | None = None

    def __repr__(self) -> str:
        # The connection's values and headers hold the token: only their names are shown.
        base = self.redactor.mask(self.base) if self.base is not None else None
        return f"RenderContext({self.connector.id}, base={base!r}, conn={sorted(self.conn)})"


def render_request(spec: RequestSpec, params: Mapping[str, Any], rc: RenderContext, *,
                   preview: bool = True) -> Request:
    """The request for validated ``params``; bad input raises ValidationError.

    A body in batches comes with its plan (``Request.batch``). With ``preview`` (a dry-run), the
    request also holds the first batch as it would be sent; without it (a run), the body is
    left to the batch writer, which prepares each batch once, just before sending it."""
    try:
        return _render_request(spec, params, rc, preview)
    except ValidationError as exc:
        # The frames below hold the connection's headers (the token) in local variables, which
        # a traceback printed with its locals (pytest --showlocals, an error tracker) would show.
        # Input errors need no trace of the renderer's insides: they start here.
        raise exc.with_traceback(None) from None


def _render_request(spec: RequestSpec, params: Mapping[str, Any], rc: RenderContext, preview: bool) -> Request:
    ctx = Context(params=params, conn=rc.conn, rules=rc.rules, resolve=rc.resolve)
    path = _fill(spec.path, params, encode=True) if "{" in spec.path else spec.path
    url = (rc.base if rc.base is not None else base_url(rc.connector, rc.conn)) + path
    query = render(spec.query, ctx) if spec.query is not None else {}
    if query:
        url += "?" + urlencode([(k, _query_text(v)) for k, v in query.items()])
    headers = dict(rc.headers) if rc.headers is not None else connection_headers(rc.connector, rc.conn)
    auth = rc.connector.connection.auth
    if spec.auth and auth is not None:  # the manifest checks the scheme exists
        headers[auth.header] = _fill(auth.schemes[spec.auth], rc.conn, encode=False)
    for name, tpl in spec.headers.items():
        value = render(tpl, ctx)
        if value is not OMIT:
            headers[name] = _query_text(value)
    body, json_value, summary, plan = _render_body(spec, ctx, rc, headers, preview)
    return Request(method=spec.method, url=url, headers=headers, body=body, json=json_value,
                   summary=summary, timeout=spec.timeout or _conn_seconds(rc, "timeout_from") or 10.0,
                   redactor=rc.redactor, secret_headers=(auth.header,) if auth else (),
                   connect_timeout=spec.connect_timeout or _conn_seconds(rc, "connect_timeout_from"), batch=plan)


def _conn_seconds(rc: RenderContext, mapping: str) -> float | None:
    name = getattr(rc.connector.connection, mapping)
    value = rc.conn.get(name) if name else None
    return float(value) if value else None


def _json_culprit(template: Any, params: Mapping[str, Any]) -> str:
    """The parameter of a JSON body template whose value json cannot write."""
    for _, kind, name in references(template):
        if kind == "param" and name in params:
            try:
                json.dumps(params[name], allow_nan=False)
            except (TypeError, ValueError):
                return name
    return "body"


def _param_name(template: Any) -> str:
    return template.get("$param", "body") if isinstance(template, Mapping) else "body"


def _render_body(spec: RequestSpec, ctx: Context, rc: RenderContext, headers: dict[str, str],
                 preview: bool) -> tuple[bytes | None, Any, dict[str, Any], BatchPlan | None]:
    body_spec = spec.body
    if not body_spec:
        return None, None, {}, None
    json_value: Any = None
    summary: dict[str, Any] = {}
    if "json" in body_spec:
        json_value = render(body_spec["json"], ctx)
        if json_value is OMIT:
            return None, None, {}, None
        try:
            raw = json.dumps(json_value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
        except (TypeError, ValueError) as exc:  # a value JSON cannot hold (bytes, a set, a datetime...)
            raise ValidationError([FieldError(_json_culprit(body_spec["json"], ctx.params),
                                              f"cannot be sent as JSON: {exc}")]) from None
    elif "text" in body_spec:
        text = render(body_spec["text"], ctx)
        if text is OMIT:
            return None, None, {}, None
        raw = str(text).encode("utf-8")
    else:
        value = render(body_spec["value"], ctx)
        if value is OMIT:
            raise ValidationError([FieldError(_param_name(body_spec["value"]), "is required")])
        options = render(body_spec.get("options") or {}, ctx)  # a plain mapping: absent options drop out
        raw, summary = rc.encoders[body_spec["encode"]](value, field=_param_name(body_spec["value"]), **options)
        summary = dict(summary)
    threshold = body_spec.get("gzip_above")
    batch = body_spec.get("batch") or {}
    size = render(batch["size"], ctx) if batch else OMIT
    if size is OMIT:
        payload = Payload.of(raw, threshold)
    else:
        plan = BatchPlan.of(raw, cast(int, size), batch.get("separator", "\n"), batch.get("split_on") or (), threshold)
        summary.update({"records": plan.records, "batches": len(plan.ranges())})
        if not preview:
            # The batch writer prepares every batch, the first included, and counts what it sent.
            summary["bytes"] = len(raw)
            return None, json_value, summary, plan
        # A dry-run shows the first batch as it would go (a point without a time has none yet).
        payload = plan.payload(Batch(*plan.ranges()[0])) if plan.records else Payload.of(raw, None)
    if payload.compressed:
        headers["Content-Encoding"] = "gzip"
    summary.update(Sent(len(raw)).plus(payload).figures())
    return payload.data, json_value, summary, plan if size is not OMIT else None
