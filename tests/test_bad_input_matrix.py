"""Bad input, kind by kind, for every operation and for the connection form.

test_bad_input.py covers one bad value per declared constraint. This file widens that: every
JSON type a parameter does not take, null and blank values, empty lists and objects, numbers a
JSON document or the server cannot carry, text that is not valid Unicode, write records over
InfluxDB's size limits or with line breaks in names, and injection attempts in path
parameters, query strings, JSON bodies, headers and the connection's host and base path.

Each case has one of two acceptable outcomes:

* a ``ValidationError`` whose ``by_field()`` names the field and says what is wrong, raised
  before anything is sent (the sandbox's request count does not move), or
* a request that is well-formed and carries the value exactly: the path is the declared one,
  the query string round-trips, the JSON body parses (strictly) to what was given, header
  values hold no control characters, requests sends the URL it was given, and the contract
  accepts it. Where such a request is also sent, what the sandbox received is checked too.

Cases are derived from the declarations (``api.load().operations`` and the connection
fields), so an operation or field added later is covered without editing this file.
"""
from __future__ import annotations

import gzip
import json
import math
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import pytest
import requests

from influx_connector import api
from influx_connector.connection import Connection
from influx_connector.errors import APIError, DecodeError, ValidationError
from influx_connector.render import Request
from influx_connector.sandbox import Sandbox

from .conftest import BUCKET, CHECKED, ORG
from .helpers import TOKEN
from .openapi_contract import contract_for

CONNECTOR = api.load()
OPERATIONS = list(CONNECTOR.operations.values())
CONNECTION_FIELDS = CONNECTOR.connection.fields
VALID = {op.id: dict(op.examples[0]["params"]) for op in OPERATIONS}
_PATH_FIELD = re.compile(r"\{([^{}]*)\}")
# A JSON value of each type, for "wrong type" cases.
SAMPLES: dict[str, Any] = {"string": "text", "integer": 7, "number": 7.5, "boolean": True,
                           "array": ["x"], "object": {"k": "v"}}
# A header field value as RFC 9110 allows it: visible ASCII, inner spaces and tabs, no CR/LF/NUL.
_FIELD_VALUE = re.compile(r"^([\x21-\x7e]([\x20-\x7e\t]*[\x21-\x7e])?)?$")
_TOKEN_CHARS = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


# --- what the declarations say -----------------------------------------------------------------


def types_of(schema: Mapping[str, Any]) -> list[str]:
    declared = schema.get("type")
    if declared is None:
        return []
    return [declared] if isinstance(declared, str) else list(declared)


def accepts(types: list[str], kind: str) -> bool:
    return kind in types or (kind == "integer" and "number" in types)


def path_params(op: Any) -> list[str]:
    return _PATH_FIELD.findall(op.request.path)


def line_protocol_param(op: Any) -> str | None:
    """The parameter an operation encodes to line protocol (write_data's ``data``), if any."""
    body = op.request.body or {}
    value = body.get("value")
    if body.get("encode") == "line_protocol" and isinstance(value, Mapping):
        return value.get("$param")
    return None


def free_text(param: Any) -> bool:
    """A text parameter without a pattern, enum or format: whatever is typed must get through."""
    s = param.schema
    return "string" in types_of(s) and not ({"pattern", "enum", "format"} & set(s)) and param.coerce != "json"


def base_params(op: Any, field: str) -> dict[str, Any]:
    """The operation's first example with one field about to change. A raw body would make the
    structured fields optional, so it is kept only when the body itself is tested."""
    params = dict(VALID[op.id])
    if field != "body" and op.param("body") is not None and any(len(g) > 1 or g != ("body",)
                                                                for g in op.requires_one_of):
        params.pop("body", None)
    return params


# --- cases ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    kind: str  # e.g. "wrong-type", "text-injection"
    target: str  # operation id, or "connection"
    field: str
    value: Any
    variant: str = ""

    @property
    def id(self) -> str:
        return "-".join(p for p in (self.target, self.field, self.kind, self.variant) if p)


# Values that try to leave the place they are put in: a path segment, a query value, a string in
# a JSON body, in Flux or in InfluxQL.
NASTY = {
    "dotdot": "v/../../api/v2/orgs",
    "pct2F": "v..%2F..%2Forgs",
    "query": "v?org=other&bucket=x",
    "fragment": "v#fragment",
    "quotes": "v\"double\" 'single' `back`",
    "backslash": "v\\\"\\\\n\\",
    "newlines": "v\nline2\r\nline3\rend",
    "flux": 'v") |> drop(columns: ["_value"]) // ',
    "influxql": 'v"; DROP DATABASE "x"; --',
    "unicode": "v\u00fcn\u00ef \u2713 \u65e5\u672c \u2028 \U0001f600",
    "controls": "v\ttab\x00nul\x07bell\x1bescape",
    "percent": "v 100% %zz %41+plus",
}
PATH_INJECTIONS = {"dotdot": "../../orgs", "slash": "a/b", "pct2F": "..%2F..%2Forgs", "query": "a?b=c",
                   "fragment": "a#b", "dot": ".", "dotdot-only": "..", "space": "a b"}


def op_cases() -> Iterator[Case]:
    for op in OPERATIONS:
        required = [p for p in op.params if p.required]
        if required or op.requires_one_of:
            yield Case("missing-all", op.id, "*", {})
        lp = line_protocol_param(op)
        for p in op.params:
            types = types_of(p.schema)
            if p.required:
                yield Case("null", op.id, p.name, None)
            for kind, sample in SAMPLES.items():
                if types and not accepts(types, kind):
                    yield Case("wrong-type", op.id, p.name, sample, kind)
            if types == ["integer"]:
                yield Case("integral-float", op.id, p.name, 7.0)
                if "maximum" not in p.schema:
                    yield Case("int64-overflow", op.id, p.name, 2**63)
            if "string" in types:
                yield Case("blank", op.id, p.name, " \t\n ")
                yield Case("lone-surrogate", op.id, p.name, "ok\ud800ok")
            if "array" in types:
                yield Case("empty", op.id, p.name, [], "list")
            if "object" in types:
                yield Case("empty", op.id, p.name, {}, "object")
                if p.coerce == "json":
                    yield Case("empty", op.id, p.name, "{}", "json-text")
                if p.name != lp:
                    yield Case("lone-surrogate", op.id, p.name, {"k": "ok\ud800"}, "in-object")
                    yield Case("non-finite", op.id, p.name, {"k": math.nan}, "nan")
                    yield Case("non-finite", op.id, p.name, {"k": math.inf}, "inf")
                    yield Case("non-json", op.id, p.name, {"k": b"bytes"}, "bytes")
                    for variant, text in NASTY.items():
                        yield Case("object-injection", op.id, p.name, {"k": text, text: "key"}, variant)
            if p.name in path_params(op):
                for variant, text in PATH_INJECTIONS.items():
                    yield Case("path-injection", op.id, p.name, text, variant)
            elif free_text(p) and p.name != lp:
                for variant, text in NASTY.items():
                    yield Case("text-injection", op.id, p.name, text, variant)
        if lp:
            yield from record_cases(op.id, lp)


def record_cases(op_id: str, field: str) -> Iterator[Case]:
    """Write records with line breaks in names and over InfluxDB's size limits."""
    def rec(**parts: Any) -> list[dict[str, Any]]:
        return [{"measurement": "m", "fields": {"v": 1}, **parts}]

    # A line feed ends a line wherever it stands in a name (CR and TAB are ordinary characters
    # there: see the within-limit cases).
    newline = {
        "measurement-LF": (rec(measurement="m\nx"), f"{field}[0].measurement"),
        "measurement-CRLF": (rec(measurement="m\r\ninjected v=1"), f"{field}[0].measurement"),
        "tag-key-LF": (rec(tags={"t\nk": "v"}), f"{field}[0].tags"),
        "tag-value-CRLF": (rec(tags={"t": "v\r\ninjected v=1"}), f"{field}[0].tags.t"),
        "field-key-LF": (rec(fields={"f\nk": 1}), f"{field}[0].fields"),
        "field-key-CRLF": (rec(fields={"f\r\nk": 1}), f"{field}[0].fields"),
    }
    for variant, (records, path) in newline.items():
        yield Case("record-newline", op_id, field, (records, path), variant)
    big = 65_536  # the documented limit of a string field value, in UTF-8 bytes
    oversize = {
        "string-field-over-64KiB": (rec(fields={"x": "s" * (big + 1)}), f"{field}[0].fields.x"),
        "string-field-over-64KiB-multibyte": (rec(fields={"x": "\u20ac" * 21_846}), f"{field}[0].fields.x"),
        "string-field-over-64KiB-second-record": (
            [rec()[0], rec(fields={"x": "s" * (big + 1)})[0]], f"{field}[1].fields.x"),
        "measurement-over-65535": (rec(measurement="m" * 65_536), f"{field}[0]"),
        "measurement-over-65535-multibyte": (rec(measurement="\U0001f600" * 16_384), f"{field}[0]"),
        "tag-value-series-key-over-65535": (rec(tags={"t": "v" * 70_000}), f"{field}[0]"),
        "tag-key-series-key-over-65535": (rec(tags={"k" * 70_000: "v"}), f"{field}[0]"),
    }
    for variant, (records, path) in oversize.items():
        yield Case("oversize", op_id, field, (records, path), variant)
    within = {
        "string-field-64KiB": rec(fields={"x": "s" * big}),
        "string-field-64KiB-multibyte": rec(fields={"x": "\u20ac" * 21_845}),
        "series-key-near-65535": rec(measurement="m" * 65_000),
        "measurement-CR-and-TAB": rec(measurement="m\rx\ty"),
        "tag-CR-and-TAB": rec(tags={"t\rk\t": "v\rw\t"}),
        "field-key-CR-and-TAB": rec(fields={"f\rk\t": 1}),
    }
    for variant, records in within.items():
        yield Case("within-limit", op_id, field, records, variant)


def connection_cases() -> Iterator[Case]:
    for p in CONNECTION_FIELDS:
        s = p.schema
        types = types_of(s)
        if p.required:
            yield Case("missing", "connection", p.name, None, "absent")
            yield Case("null", "connection", p.name, None)
            yield Case("blank", "connection", p.name, " \t\n ")
        for kind, sample in SAMPLES.items():
            if types and not accepts(types, kind):
                yield Case("wrong-type", "connection", p.name, sample, kind)
        if "minimum" in s:
            yield Case("below-minimum", "connection", p.name, s["minimum"] - 1)
        if "exclusiveMinimum" in s:
            yield Case("at-exclusive-minimum", "connection", p.name, s["exclusiveMinimum"])
        if "maximum" in s:
            yield Case("above-maximum", "connection", p.name, s["maximum"] + 1)
        if "maxLength" in s:
            yield Case("too-long", "connection", p.name, "h" * (s["maxLength"] + 1))
        if "enum" in s:
            yield Case("not-in-enum", "connection", p.name, "ftp")
        if types == ["number"]:
            for variant, number in (("nan", math.nan), ("inf", math.inf), ("-inf", -math.inf)):
                yield Case("non-finite", "connection", p.name, number, variant)
        if types == ["integer"]:
            yield Case("integral-float", "connection", p.name, float(s.get("default", s.get("minimum", 1)) or 1))
    yield Case("unknown-field", "connection", "tokn", "x", "did-you-mean")
    injections = {
        "host": {"CRLF": "h\r\nX-Evil: 1", "LF": "h\nx", "slash": "h/../x", "query": "h?x=1", "fragment": "h#x",
                 "userinfo": "user:pw@h", "port": "h:80", "scheme": "http://h", "space": "h x",
                 "pct2F": "h%2F..%2Fx", "surrogate": "h\ud800"},
        "base_path": {"dotdot": "/x/..", "dot": "/x/.", "dotdot-only": "/..", "query": "/a?b", "fragment": "/a#b",
                      "space": "/a b", "CRLF": "/a\r\nb", "relative": "influx", "trailing-slash": "/influx/",
                      "double-slash": "//x", "pct2F": "/a%2Fb"},
        "token": {"CRLF": "tok\r\nX-Evil: 1", "LF": "tok\nen", "trailing-space": "token ", "NUL": "tok\x00en",
                  "non-latin1": "t\u00f6k\u20acn", "surrogate": "tok\ud800en"},
    }
    for name, variants in injections.items():
        for variant, text in variants.items():
            yield Case("injection", "connection", name, text, variant)
    headers = {
        "name-CRLF": {"X-A\r\nX-B": "v"}, "name-space": {"X A": "v"}, "name-colon": {"X:A": "v"},
        "name-empty": {"": "v"}, "value-CRLF": {"Zap-Trace-Span": "v\r\nX-Evil: 1"},
        "value-LF": {"Zap-Trace-Span": "v\nw"}, "value-CR": {"Zap-Trace-Span": "v\rw"},
        "value-NUL": {"Zap-Trace-Span": "v\x00w"}, "value-VT": {"Zap-Trace-Span": "v\x0bw"},
        "value-leading-space": {"Zap-Trace-Span": " v"}, "value-leading-tab": {"Zap-Trace-Span": "\tv"},
        "value-non-latin1": {"Zap-Trace-Span": "v\u20ac"},
        "framing-content-length": {"Content-Length": "5"},
        "framing-transfer-encoding": {"Transfer-Encoding": "chunked"},
        "value-inner-space": {"Zap-Trace-Span": "a b\tc"},
    }
    for variant, value in headers.items():
        yield Case("injection", "connection", "headers", value, variant)


CASES = [*op_cases(), *connection_cases()]


def params_for(kinds: tuple[str, ...], target: str) -> list[Any]:
    """The cases of these kinds for the operations (target "op") or the connection form."""
    chosen = [c for c in CASES if c.kind in kinds and (c.target == "connection") == (target == "connection")]
    return [pytest.param(c, id=c.id)
            for c in chosen]


# --- fixtures: one sandbox for the module, each test's exchanges checked against the contract ----------


@dataclass
class Box:
    sandbox: Sandbox
    conn: Connection  # connected with the sandbox's org and bucket as defaults
    bare: Connection  # no default org or bucket
    start: int = 0

    def sent(self) -> int:
        return len(self.sandbox.requests)


@pytest.fixture(scope="module")
def module_box() -> Iterator[Box]:
    with Sandbox(token=TOKEN, org=ORG, bucket=BUCKET) as sb:
        settings = {**sb.connection_settings, "retries": 0, "timeout": 10}
        bare = {k: v for k, v in settings.items() if k not in ("org", "bucket")}
        with api.connect(settings) as conn, api.connect(bare) as bare_conn:
            yield Box(sb, conn, bare_conn)


@pytest.fixture
def box(module_box: Box) -> Iterator[Box]:
    module_box.start = module_box.sent()
    yield module_box
    problems = exchange_problems(module_box.sandbox, module_box.start)
    assert not problems, "the contract was broken:\n" + "\n".join(problems)


def exchange_problems(sb: Sandbox, start: int) -> list[str]:
    """Contract problems in the exchanges the sandbox recorded from ``start`` on."""
    problems: list[str] = []
    for req in sb.requests[start:]:
        problems += contract_for(req.path, sb.api == "v3").check_request(req.method, req.path, list(req.query), req.headers, req.body,
                                             body_complete=not req.truncated)
    for resp in sb.responses[start:]:
        problems += contract_for(resp.path, sb.api == "v3").check_response(resp.method, resp.path, resp.status, resp.headers, resp.body)
    CHECKED["requests"] += len(sb.requests) - start
    CHECKED["responses"] += len(sb.responses) - start
    return problems


# --- checks --------------------------------------------------------------------------------------------


def names_field(exc: ValidationError, field: str) -> list[str]:
    """The messages for ``field`` or anything under it; fails when there are none."""
    found = {f: m for f, m in exc.by_field().items()
             if f == field or f.startswith(field + ".") or f.startswith(field + "[")}
    assert found, f"no error names {field!r}: {exc.by_field()}"
    messages = [m for ms in found.values() for m in ms]
    assert all(m.strip() for m in messages), f"an empty message for {field!r}"
    return messages


def refused_before_sending(box: Box, conn: Connection, op_id: str, params: Mapping[str, Any],
                           field: str) -> list[str]:
    """Run; it must raise a ValidationError naming ``field`` with nothing sent. Returns the messages."""
    before = box.sent()
    with pytest.raises(ValidationError) as caught:
        conn.run(op_id, params)
    assert box.sent() == before, f"{box.sent() - before} request(s) sent despite bad input"
    with pytest.raises(ValidationError):
        conn.render(op_id, params)  # the dry run refuses it the same way
    return names_field(caught.value, field)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def strict_json(body: bytes) -> Any:
    return json.loads(body.decode("utf-8"), parse_constant=_reject_constant)


def prepared(request: Request) -> requests.PreparedRequest:
    """The request exactly as requests would put it on the wire (its defaults included)."""
    return requests.Session().prepare_request(
        requests.Request(request.method, request.url, headers=dict(request.headers), data=request.body))


def segments_match(path: str, template: str, prefix: str = "") -> bool:
    """True when the raw ``path`` is ``prefix`` + ``template`` with each {field} one non-empty segment."""
    if not path.startswith(prefix):
        return False
    got = path[len(prefix):].split("/")
    want = template.split("/")
    if len(got) != len(want):
        return False
    return all(g == w if not _PATH_FIELD.fullmatch(w) else (g != "" and "/" not in unquote(g) and g not in (".", ".."))
               for g, w in zip(got, want))


def header_problems(headers: Mapping[str, str]) -> list[str]:
    problems = []
    for name, value in headers.items():
        if not _TOKEN_CHARS.match(str(name)):
            problems.append(f"header name {name!r} is not an HTTP token")
        if not _FIELD_VALUE.match(str(value)):
            problems.append(f"header {name}: value has characters HTTP cannot carry exactly ({value!r:.60})")
    framing = {k.lower(): v for k, v in headers.items()}
    if "transfer-encoding" in framing and "content-length" in framing:
        problems.append("both Transfer-Encoding and Content-Length are set")
    return problems


def refused_or_well_formed(box: Box, op: Any, params: Mapping[str, Any], field: str) -> Request | None:
    """Either of the two right outcomes: refused naming ``field`` before anything is sent (None),
    or rendered to a well-formed request that is valid against the contract (returned)."""
    try:
        request = box.conn.render(op.id, params)
    except ValidationError:
        refused_before_sending(box, box.conn, op.id, params, field)
        return None
    assert_well_formed(op, request)
    return request


def assert_well_formed(op: Any, request: Request, prefix: str = "") -> requests.PreparedRequest:
    """The rendered request is what its declaration says, and valid against the contract."""
    url = urlsplit(request.url)
    assert segments_match(url.path, op.request.path, prefix), f"path {url.path!r} is not {prefix + op.request.path!r}"
    assert not url.fragment, f"the URL has a fragment: {url.fragment!r}"
    pairs = parse_qsl(url.query, keep_blank_values=True, strict_parsing=bool(url.query))
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), f"a query parameter is repeated: {keys}"
    assert urlencode(pairs) == url.query, "the query string does not round-trip"
    wire = prepared(request)
    assert wire.url == request.url, f"requests would send {wire.url!r}, not the rendered {request.url!r}"
    problems = header_problems(wire.headers)
    assert not problems, problems
    if request.json is not None:
        body = request.body or b""
        if request.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        assert strict_json(body) == request.json
    body = wire.body.encode() if isinstance(wire.body, str) else wire.body
    found = contract_for(url.path).check_request(request.method, url.path, pairs, dict(wire.headers), body)
    assert found == [], found
    return wire


def json_nodes(doc: Any) -> Iterator[Any]:
    """Every value in a JSON document, and every object key."""
    yield doc
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield key
            yield from json_nodes(value)
    elif isinstance(doc, list):
        for item in doc:
            yield from json_nodes(item)


def carries(query: list[tuple[str, str]], document: Any, value: Any) -> bool:
    if isinstance(value, str) and any(v == value for _, v in query):
        return True
    return document is not None and any(node == value and type(node) is type(value) for node in json_nodes(document))


def rendered_carries(request: Request, value: Any) -> bool:
    query = parse_qsl(urlsplit(request.url).query, keep_blank_values=True)
    return carries(query, request.json, value)


def received_carries(req: Any, value: Any) -> bool:
    body = req.body
    if req.headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    document = strict_json(body) if body and "json" in req.headers.get("Content-Type", "") else None
    return carries(list(req.query), document, value)


def run_and_collect(box: Box, op_id: str, params: Mapping[str, Any]) -> list[Any]:
    """Run against the sandbox (an error answer is fine) and return what the sandbox received."""
    before = box.sent()
    try:
        box.conn.run(op_id, params)
    except (APIError, DecodeError):
        pass
    return box.sandbox.requests[before:]


def refused_or_carried(box: Box, op: Any, field: str, params: dict[str, Any], value: Any) -> str:
    """Either outcome the module docstring allows; says which one happened."""
    try:
        request = box.conn.render(op.id, params)
    except ValidationError:
        refused_before_sending(box, box.conn, op.id, params, field)
        return "refused"
    assert_well_formed(op, request)
    assert rendered_carries(request, value), f"the rendered request does not carry {value!r} exactly"
    received = run_and_collect(box, op.id, params)
    assert received, "nothing was sent"
    assert any(received_carries(r, value) for r in received), "the sandbox did not receive the value exactly"
    for r in received:
        assert any(segments_match(r.path, t) for t in (op.request.path, "/api/v2/orgs")), r.path
    return "carried"


# --- the operations ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case", params_for(("missing-all",), "op"))
def test_nothing_given_names_every_required_field(box: Box, case: Case) -> None:
    """With no parameters and no connection defaults, one error lists every missing field."""
    op = CONNECTOR.operations[case.target]
    before = box.sent()
    with pytest.raises(ValidationError) as caught:
        box.bare.run(op.id, {})
    assert box.sent() == before
    fields = caught.value.by_field()
    for p in op.params:
        if p.required and not p.has_default:
            assert any("required" in m or "empty" in m for m in fields.get(p.name, [])), (p.name, fields)
            if p.default_from:
                assert f"set '{p.default_from}' on the connection" in fields[p.name][0]
    if op.requires_one_of:
        grouped = {n for g in op.requires_one_of for n in g}
        assert grouped & set(fields), fields


@pytest.mark.parametrize("case", params_for(("null",), "op"))
def test_null_is_missing(box: Box, case: Case) -> None:
    params = {**base_params(CONNECTOR.operations[case.target], case.field), case.field: None}
    conn = box.bare  # no connection default may stand in for the null
    messages = refused_before_sending(box, conn, case.target, params, case.field)
    assert any("required" in m for m in messages), messages


@pytest.mark.parametrize("case", params_for(("wrong-type",), "op"))
def test_wrong_type(box: Box, case: Case) -> None:
    params = {**base_params(CONNECTOR.operations[case.target], case.field), case.field: case.value}
    messages = refused_before_sending(box, box.conn, case.target, params, case.field)
    assert any("must be" in m for m in messages), messages


@pytest.mark.parametrize("case", params_for(("integral-float",), "op"))
def test_integral_float_renders_as_the_integer(box: Box, case: Case) -> None:
    op = CONNECTOR.operations[case.target]
    params = base_params(op, case.field)
    try:
        as_float = box.conn.render(op.id, {**params, case.field: case.value})
    except ValidationError as exc:
        names_field(exc, case.field)
        return
    as_int = box.conn.render(op.id, {**params, case.field: int(case.value)})
    assert (as_float.url, as_float.body) == (as_int.url, as_int.body)
    assert_well_formed(op, as_float)


@pytest.mark.parametrize("case", params_for(("int64-overflow",), "op"))
def test_integer_beyond_int64(box: Box, case: Case) -> None:
    op = CONNECTOR.operations[case.target]
    refused_or_well_formed(box, op, {**base_params(op, case.field), case.field: case.value}, case.field)


@pytest.mark.parametrize("case", params_for(("blank",), "op"))
def test_blank_text_is_not_given(box: Box, case: Case) -> None:
    """Whitespace only counts as not given: refused when required, else as if left out. A field
    of listed values holds one of them or nothing (""), as a form's select does: spaces are
    neither."""
    op = CONNECTOR.operations[case.target]
    param = op.param(case.field)
    params = base_params(op, case.field)
    blank = {**params, case.field: case.value}
    if "enum" in param.schema:
        messages = refused_before_sending(box, box.bare, op.id, blank, case.field)
        assert any("must be one of" in m for m in messages), messages
        return
    if param.required and not param.has_default:
        messages = refused_before_sending(box, box.bare, op.id, blank, case.field)
        assert any("must not be empty" in m for m in messages), messages
        return
    without = {k: v for k, v in params.items() if k != case.field}
    try:
        left_out = box.conn.render(op.id, without)
    except ValidationError as exc:  # the field was the only one of a required group
        with pytest.raises(ValidationError) as caught:
            box.conn.render(op.id, blank)
        assert caught.value.by_field() == exc.by_field()
        return
    rendered = box.conn.render(op.id, blank)
    assert (rendered.url, rendered.body) == (left_out.url, left_out.body)
    assert_well_formed(op, rendered)


@pytest.mark.parametrize("case", params_for(("empty",), "op"))
def test_empty_list_or_object(box: Box, case: Case) -> None:
    op = CONNECTOR.operations[case.target]
    refused_or_well_formed(box, op, {**base_params(op, case.field), case.field: case.value}, case.field)


@pytest.mark.parametrize("case", params_for(("lone-surrogate", "non-json"), "op"))
def test_text_that_cannot_be_encoded_is_refused(box: Box, case: Case) -> None:
    """A lone surrogate (JSON can carry one as an escape, UTF-8 cannot) or a value that is not
    JSON data is refused naming the field, not raised as UnicodeEncodeError or TypeError."""
    params = {**base_params(CONNECTOR.operations[case.target], case.field), case.field: case.value}
    refused_before_sending(box, box.conn, case.target, params, case.field)


@pytest.mark.parametrize("case", params_for(("non-finite",), "op"))
def test_non_finite_numbers(box: Box, case: Case) -> None:
    op = CONNECTOR.operations[case.target]
    # The body must be JSON, which has no NaN or Infinity.
    refused_or_well_formed(box, op, {**base_params(op, case.field), case.field: case.value}, case.field)


@pytest.mark.parametrize("case", params_for(("path-injection",), "op"))
def test_path_parameter_injection(box: Box, case: Case) -> None:
    """'../', '%2F', '?' and '#' in a path parameter: refused, or one percent-encoded segment."""
    op = CONNECTOR.operations[case.target]
    request = refused_or_well_formed(box, op, {**base_params(op, case.field), case.field: case.value}, case.field)
    if request is None:
        return
    index = op.request.path.split("/").index("{" + case.field + "}")
    assert unquote(urlsplit(request.url).path.split("/")[index]) == case.value


def test_every_path_parameter_declares_a_pattern_that_keeps_it_one_segment() -> None:
    """A path parameter's pattern must refuse what would move the request: the contract forbids
    an encoded '/' in a segment, and '.'/'..' segments are removed before sending."""
    found = 0
    for op in OPERATIONS:
        for name in path_params(op):
            found += 1
            pattern = op.param(name).schema.get("pattern")
            assert pattern, f"{op.id}.{name} has no pattern"
            for bad in PATH_INJECTIONS.values():
                assert not re.search(pattern, bad), f"{op.id}.{name} accepts {bad!r}"
    assert found >= 4


def test_a_path_parameter_without_a_pattern_stays_one_segment(tmp_path: Path) -> None:
    """The engine's fallback: a value is percent-encoded whole, so it cannot add segments; a
    value that is itself '.' or '..' has no encoding every server leaves alone, and is refused."""
    (tmp_path / "probe.yaml").write_text(
        "id: probe_path\ntitle: Probe\nparams:\n  x: {type: string, title: X, required: true, minLength: 1}\n"
        "request: {method: GET, path: '/api/v2/buckets/{x}/labels'}\nresponse: {codec: json}\n", encoding="utf-8")
    connector = api.load(extra_operation_dirs=[tmp_path])
    with Connection(connector, {"host": "localhost", "token": TOKEN}) as conn:
        for text in (*PATH_INJECTIONS.values(), *NASTY.values()):
            if not text.strip():
                continue
            if text in (".", ".."):
                with pytest.raises(ValidationError) as caught:
                    conn.render("probe_path", {"x": text})
                assert "x" in caught.value.by_field()
                continue
            url = urlsplit(conn.render("probe_path", {"x": text}).url)
            parts = url.path.split("/")
            assert len(parts) == 6 and parts[-1] == "labels" and not url.query and not url.fragment, url
            assert unquote(parts[4]) == text


@pytest.mark.parametrize("case", params_for(("text-injection",), "op"))
def test_text_injection(box: Box, case: Case) -> None:
    """Quotes, backslashes, line breaks, '&', '?', '#', '%' and Flux/InfluxQL syntax in free text:
    the value reaches the server exactly, in a request that keeps its form."""
    op = CONNECTOR.operations[case.target]
    params = {**base_params(op, case.field), case.field: case.value}
    refused_or_carried(box, op, case.field, params, case.value)


@pytest.mark.parametrize("case", params_for(("object-injection",), "op"))
def test_object_injection(box: Box, case: Case) -> None:
    """The same text as keys and values of an object parameter (Flux params, a raw body)."""
    op = CONNECTOR.operations[case.target]
    params = {**base_params(op, case.field), case.field: case.value}
    if case.field == "body" and not op.request.path.startswith("/api/v2/buckets"):  # a Flux query body
        params[case.field] = {"query": case.value["k"]}
        value = params[case.field]
    elif case.field == "body":  # a raw body must still be a bucket body: give it the fields it needs
        params[case.field] = {"orgID": box.sandbox.org.id, "name": "b-" + str(len(box.sandbox.requests)),
                              "description": case.value["k"]}
        if op.id == "update_bucket":
            params[case.field].pop("orgID")
        value = params[case.field]
    else:
        value = case.value
    refused_or_carried(box, op, case.field, params, value)


@pytest.mark.parametrize("case", params_for(("record-newline", "oversize"), "op"))
def test_bad_write_records(box: Box, case: Case) -> None:
    """Line breaks in names and over-limit records are refused with the record's path, even when
    the write would go in several batches (nothing of it is sent)."""
    records, path = case.value
    op = CONNECTOR.operations[case.target]
    params = {**base_params(op, case.field), case.field: records, "batch_size": 1}
    messages = refused_before_sending(box, box.conn, op.id, params, path)
    if case.kind == "record-newline":
        assert any("contains a line feed (\\n) at index" in m or "expected form" in m for m in messages), messages
    else:
        assert any("bytes" in m for m in messages), messages


@pytest.mark.parametrize("case", params_for(("within-limit",), "op"))
def test_records_within_the_limits_are_written(box: Box, case: Case) -> None:
    op = CONNECTOR.operations[case.target]
    db = {"db": BUCKET} if op.param("db") else {"bucket": BUCKET}
    params = {**base_params(op, case.field), **db, case.field: case.value}
    params.pop("org", None)
    request = box.conn.render(op.id, params)
    assert_well_formed(op, request)
    result = box.conn.run(op.id, params)
    assert result.status == 204 and result.data["points"] == 1


def test_string_values_with_quotes_backslashes_and_newlines_round_trip(box: Box) -> None:
    """A string field and a Flux parameter carry quotes, backslashes and line breaks exactly: what
    is written is what a query filtering on params.v returns."""
    tricky = ['say "hi"', "back\\slash", "ends in backslash\\", 'q\\"uote', "two\nlines", "cr\r\nlf", "tab\tend",
              "\u00fcn\u00ef\u2028\U0001f600", 'x") |> drop(columns: ["_value"]']
    records = [{"measurement": "rt", "tags": {"i": str(i)}, "fields": {"s": text}, "time": 1_700_000_000 + i}
               for i, text in enumerate(tricky)]
    box.conn.run("write_data", {"bucket": BUCKET, "precision": "s", "data": records})
    for text in tricky:
        query = (f'from(bucket: "{BUCKET}") |> range(start: 2023-01-01T00:00:00Z, stop: 2024-12-31T00:00:00Z) '
                 '|> filter(fn: (r) => r._measurement == "rt" and r._value == params.v)')
        rows = box.conn.run("query_data", {"query": query, "params": {"v": text}}).data
        # The server compared the stored value with params.v: one row means both arrived exactly.
        # (Its CSV answer, Go's encoding/csv with CRLF endings, drops every CR inside quoted cells
        # and writes LF as CRLF, which the decoder reads back as LF: only the CRs are lost.)
        assert [row["_value"] for row in rows] == [text.replace("\r", "")]
        sent = box.sandbox.requests[-1]
        assert strict_json(sent.body)["params"] == {"v": text}


# --- the connection form -----------------------------------------------------------------------------------


def connection_values(box: Box, case: Case) -> dict[str, Any]:
    values = {**box.sandbox.connection_settings, "retries": 0, "timeout": 5}
    if case.kind == "missing":
        values.pop(case.field, None)
    elif case.kind == "integral-float":
        values[case.field] = float(values.get(case.field, case.value))
    else:
        values[case.field] = case.value
    return values


def _refused_connection(box: Box, values: Mapping[str, Any], field: str) -> list[str]:
    before = box.sent()
    with pytest.raises(ValidationError) as caught:
        api.connect(values)
    assert box.sent() == before
    assert caught.value.subject == "connection"
    return names_field(caught.value, field)


WORDS = {"missing": "required", "null": "required", "blank": "must not be empty", "wrong-type": "must be",
         "below-minimum": "at least", "at-exclusive-minimum": "greater than", "above-maximum": "at most",
         "too-long": "at most", "not-in-enum": "one of", "unknown-field": "did you mean 'token'",
         "non-finite": ""}


@pytest.mark.parametrize("case", params_for(tuple(WORDS), "connection"))
def test_connection_form_refuses(box: Box, case: Case) -> None:
    messages = _refused_connection(box, connection_values(box, case), case.field)
    assert any(WORDS[case.kind] in m for m in messages), messages


@pytest.mark.parametrize("case", params_for(("integral-float", "injection"), "connection"))
def test_connection_values_refused_or_well_formed(box: Box, case: Case) -> None:
    """Host, base path, token and extra headers that try to change the request, and numbers
    that are not what they seem: refused naming the field, or every request is well-formed
    and carries the value exactly."""
    values = connection_values(box, case)
    before = box.sent()
    try:
        conn = api.connect(values)
    except ValidationError as exc:
        assert box.sent() == before
        names_field(exc, case.field)
        return
    with conn:
        prefix = conn.values.get("base_path", "")
        for op_id, params in (("health", {}), ("generate_ast", {"query": "x"}), ("list_buckets", {"name": "b"})):
            op = CONNECTOR.operations[op_id]
            wire = prepared(conn.render(op_id, params))  # requests' own checks must pass too
            assert segments_match(urlsplit(wire.url).path, op.request.path, prefix), wire.url
            problems = header_problems(wire.headers)
            assert not problems, problems
            if "content-length" in {k.lower() for k in wire.headers}:
                assert int(wire.headers["Content-Length"]) == len(wire.body or b"")
        if case.field in ("host", "base_path"):
            # A made-up host cannot be reached, and the sandbox serves no path prefix: what
            # requests would send is what can be checked.
            return
        try:
            conn.run("health")
        except APIError:
            pass
        received = box.sandbox.requests[before:]
        assert received and received[-1].path == prefix + "/health"
        if case.field == "headers":
            for name, value in case.value.items():
                assert received[-1].headers.get(name) == value
        if case.field == "token":
            assert received[-1].headers.get("Authorization") == f"Token {case.value}"


# --- how many, of what -------------------------------------------------------------------------------------------


def test_matrix_covers_every_operation_and_the_connection(capsys: pytest.CaptureFixture[str]) -> None:
    targets = {c.target for c in CASES}
    assert targets == {op.id for op in OPERATIONS if op.params} | {"connection"}
    by_kind = Counter(c.kind for c in CASES)
    by_target = Counter(c.target for c in CASES)
    with capsys.disabled():
        print(f"\nbad-input matrix: {len(CASES)} cases")
        print("  by kind:      " + ", ".join(f"{k} {n}" for k, n in sorted(by_kind.items())))
        print("  by operation: " + ", ".join(f"{k} {n}" for k, n in sorted(by_target.items())))
