"""A small, strict checker of HTTP requests and responses against the InfluxDB OpenAPI contract.

The tests use it to prove that every request the connector sends, and every response the
project's test server sends, is what the official contract (``tests/contract/oss.yml``, a copy
of influxdata/openapi ``contracts/ref/oss.yml``) allows. It is deliberately stricter than a
server would be: a problem found here is a request a real InfluxDB might reject, or a response
shape the connector's parser was never tested against.

Usage::

    contract = Contract.load()
    contract.assert_request("POST", "/api/v2/write", [("org", "o"), ("bucket", "b")],
                            {"Authorization": "Token t", "Content-Type": "text/plain"}, b"m f=1")
    contract.assert_response("POST", "/api/v2/write", 204, {}, b"")

Every ``check_*`` method returns a list of readable problems (empty when valid); each problem
starts with ``METHOD path:`` and names the parameter, header or JSON pointer at fault. The
``assert_*`` twins raise :class:`ContractViolation` with all problems at once, so a failing
test shows everything that is wrong, not just the first thing.

Schema validation reuses the OpenAPI 3.0 keyword implementations of ``openapi-schema-validator``
(nullable, readOnly/writeOnly, OAS ``required`` semantics) on top of ``jsonschema``, with a
``referencing.Registry`` that holds the whole contract so its internal ``#/components/...``
references resolve. Three things are ours rather than the library's, each for a reason given
where it is defined: ``$ref`` siblings are ignored (OAS 3.0 rule), formats are checked by our
own checker (the library's OAS 3.0 checker does not check ``date-time``), and request bodies
may not carry properties the contract does not declare.
"""

from __future__ import annotations

import base64
import binascii
import functools
import gzip
import json
import math
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import jsonschema.validators
import referencing
import yaml
from jsonschema import FormatChecker
from jsonschema.exceptions import ValidationError, best_match
from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator

__all__ = ["Contract", "ContractViolation", "DEFAULT_CONTRACT_PATH", "V3_CONTRACT_PATH", "contract_for"]

DEFAULT_CONTRACT_PATH: Path = Path(__file__).resolve().parent / "contract" / "oss.yml"
#: InfluxDB 3 Core's contract (influxdata/docs-v2), for the /api/v3 endpoints and a v3 server's
#: /ping and /health.
V3_CONTRACT_PATH: Path = Path(__file__).resolve().parent / "contract" / "influxdb3-core-openapi.yaml"

# The contract is registered under this URI so that every schema we validate against can be
# named by a JSON pointer into the one document; the contract's own "#/components/..." refs
# then resolve against the same document wherever they are followed from.
_CONTRACT_URI = "urn:influxdb-oss-contract"

_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})

# Longest problem message we print for one schema error: jsonschema's messages embed a repr of
# the offending instance, which for a whole bucket list would drown the actual complaint.
_MAX_MESSAGE = 300


class ContractViolation(AssertionError):
    """A request or response is not allowed by the contract.

    Subclasses AssertionError so pytest reports it as a test failure with the full message,
    not as an error in the test's own machinery.
    """


# ---------------------------------------------------------------------------------------------
# Known contract quirks. Each is a place where the contract and the real InfluxDB OSS server
# disagree; the server is what the connector has to live with, so the checker tolerates exactly
# these cases and nothing wider. Keep every such exception in these tables.
# ---------------------------------------------------------------------------------------------

# Response media types the contract does not list but the real server sends, keyed by
# (method, path template, status) -> {declared media type: accepted alternatives}.
#   POST /api/v2/query 200: the contract says "application/csv"; InfluxDB OSS answers
#   "text/csv; charset=utf-8" (flux csv encoder), so a test server that mimics OSS must be
#   allowed to send it.
RESPONSE_MEDIA_TYPE_ALIASES: dict[tuple[str, str, str], dict[str, frozenset[str]]] = {
    ("post", "/api/v2/query", "200"): {"application/csv": frozenset({"text/csv"})},
}

# Response body values that break a schema keyword in the contract but are what OSS really
# sends, keyed by (method, path template, status) -> {JSON pointer: tolerated values}.
#   413 on write: LineProtocolLengthError.code is enum ["invalid"], but OSS sends
#   {"code": "request too large", ...} (kit/transport/http/error_handler.go maps
#   ERequestTooLarge to 413). Both the v2 and the v1-compatible write endpoints share the schema.
RESPONSE_ENUM_QUIRKS: dict[tuple[str, str, str], dict[str, frozenset[Any]]] = {
    ("post", "/api/v2/write", "413"): {"/code": frozenset({"request too large"})},
    ("post", "/write", "413"): {"/code": frozenset({"request too large"})},
}

# Operations whose missing Authorization header is accepted although the contract's global
# `security: [TokenAuthentication]` applies to them (they declare no `security: []` override).
# InfluxDB OSS serves /health and /ping without authentication (they are used by load balancers
# and readiness probes), and the connector's connection check calls them before it has a token
# to trust. A *malformed* Authorization header is still reported on them.
AUTH_OPTIONAL_OPERATIONS: frozenset[tuple[str, str]] = frozenset(
    {("get", "/health"), ("get", "/ping"), ("head", "/ping")}
)

# Flux AST schemas whose `oneOf` cannot be satisfied: every AST node type is an object whose
# properties are all optional and whose `type` is a free string, with no discriminator, so any
# real node (an ExpressionStatement, a PipeExpression...) matches several branches and `oneOf`
# fails on the real server's /api/v2/query/ast answers. The checker reads them as `anyOf`.
ONE_OF_READ_AS_ANY_OF: frozenset[str] = frozenset({"Expression", "Node", "PropertyKey", "Statement"})

# InfluxqlJsonResponse puts `oneOf: [required [statement_id, error], required [statement_id, series]]`
# on the `results` array, where `required` never applies, so both branches always match and the
# `oneOf` fails every answer. Moved onto the items it would still be wrong: the real server answers
# `{"statement_id": 0}` alone for a statement with no rows (CREATE DATABASE, an empty SELECT). The
# checker drops it; the items' own properties are still checked.
DROPPED_ARRAY_ONE_OF: frozenset[str] = frozenset({"InfluxqlJsonResponse"})

# Query parameters the real server writes into its own paging links (links.next/prev) though
# the operation does not declare them; a client following those links sends them back.
#   GET /api/v2/buckets: OSS builds its links with `descending=false` (kit/platform paging).
LINK_QUERY_QUIRKS: dict[tuple[str, str], frozenset[str]] = {
    ("get", "/api/v2/buckets"): frozenset({"descending"}),
}

# Other quirks handled in code, listed here so they are all in one place:
#   * Response headers are not validated (only Content-Type is compared with the declared media
#     types): e.g. /ping declares X-Influxdb-Version as `type: integer` while servers send
#     version strings such as "v2.7.1", and Retry-After/Trace-Id add nothing we test.
#   * `format: uri` (the `Link` schema used by every `links` object) is checked as a URI
#     *reference*: OSS sends relative links such as "/api/v2/buckets?limit=20&offset=0".
#   * The write body is `type: string, format: byte` (base64) in the contract, but the body is
#     raw line protocol; text bodies are checked as UTF-8 text, not as base64.
#   * Schema keywords next to a `$ref` are ignored, as OAS 3.0 requires; the contract relies on
#     it: `DBRPGet.content` carries `required: true` (a boolean, not a list) beside its `$ref`.


# Request headers that HTTP clients add on their own (or that carry auth/tracing handled
# elsewhere); they are accepted without being declared by the operation. A header that the
# operation *does* declare is validated against its schema even when it is in this set
# (e.g. Accept and Content-Type on POST /api/v2/write, Accept-Encoding on POST /api/v2/query).
# Content-Type is governed by the requestBody's media types and Transfer-Encoding is body
# framing chosen by the HTTP client, so both are in the set too. Any other undeclared header is
# reported: the connector should not send headers the contract does not know.
STANDARD_REQUEST_HEADERS: frozenset[str] = frozenset(
    {
        "authorization",
        "user-agent",
        "accept-encoding",
        "connection",
        "content-length",
        "host",
        "accept",
        "content-encoding",
        "zap-trace-span",
        "content-type",
        "transfer-encoding",
    }
)

# Security scheme -> required prefix of the Authorization header value. The contract describes
# the "Token <API token>" syntax only in prose (the apiKey scheme cannot express it), so it is
# written down here; "Token" is case-sensitive on the server.
_AUTH_PREFIXES: dict[str, str] = {"TokenAuthentication": "Token ", "BasicAuthentication": "Basic ",
                                   "BearerAuthentication": "Bearer "}

# The InfluxDB 3 contract lists Bearer, Token, Basic and query-string schemes globally, but its
# Authentication section says Token works only with the v1 and v2 endpoints and Basic and the
# query string only with v1: the native /api/v3 endpoints take Bearer alone. Kept here, where
# the checker reads it, since the schemes' objects cannot say it.
BEARER_ONLY_PREFIX = "/api/v3/"

# InfluxDB 3 answers a query in JSON as an array of row objects (one per row, column -> value),
# but the contract gives these endpoints QueryResponse, the v1 {"results": [...]} shape, and the
# database list ShowDatabasesResponse {"databases": [...]}, while the server runs SHOW DATABASES
# and answers its rows ([{"iox::database": "..."}]). For these the checker asks for an array of
# objects instead. And the contract declares no content for most v3 error statuses although the
# server sends {"error": "...", "data": ...} (its ErrorMessage schema): a JSON error body on an
# /api/v3 path is checked against ErrorMessage, whose data is one object, except that a partial
# write's lists every rejected line ({original_line, line_number, error_message} each).
# Query values a parameter's schema does not allow but its description does, keyed by
# (method, template) -> {parameter: values}. InfluxDB 3's hard_delete_at is `format: date-time`
# and "also accepts special string values: now, never, default".
QUERY_VALUE_QUIRKS: dict[tuple[str, str], dict[str, frozenset[str]]] = {
    ("delete", "/api/v3/configure/database"): {"hard_delete_at": frozenset({"now", "never", "default"})},
    ("delete", "/api/v3/configure/table"): {"hard_delete_at": frozenset({"now", "never", "default"})},
}

V3_ROW_ANSWERS: frozenset[tuple[str, str]] = frozenset({
    ("get", "/api/v3/query_sql"), ("post", "/api/v3/query_sql"), ("get", "/api/v3/query_influxql"),
    ("post", "/api/v3/query_influxql"), ("get", "/api/v3/configure/database"),
})


# ---------------------------------------------------------------------------------------------
# Formats. openapi-schema-validator's OAS 3.0 format checker knows only the OAS-specific
# formats (int32, int64, byte, ...) and would let any string pass as `date-time`, which is the
# format the connector most needs checked (createdAt/updatedAt, Query.now), so we build one.
# ---------------------------------------------------------------------------------------------

# RFC 3339 section 5.6 `date-time`: full-date "T" full-time, with a mandatory offset. "t"/"z"
# are allowed lower-case by the RFC; a space instead of "T" is not.
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))"
)
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _is_rfc3339(value: object) -> bool:
    # Formats only constrain strings; the `type` keyword reports anything else.
    if not isinstance(value, str):
        return True
    m = _RFC3339.fullmatch(value)
    if not m:
        return False
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    if not 1 <= month <= 12 or not 1 <= day <= _DAYS_IN_MONTH[month - 1]:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if month == 2 and day == 29 and not leap:
        return False
    # Second 60 is a leap second, which RFC 3339 allows.
    if hour > 23 or minute > 59 or second > 60:
        return False
    return not (m.group(9) is not None and (int(m.group(9)) > 23 or int(m.group(10)) > 59))


def _int_in_bits(bits: int) -> Callable[[object], bool]:
    # int32/int64 bound integers; booleans are Python ints but not JSON integers, and `type`
    # already reports them, so they are not this checker's business.
    low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1

    def check(value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, int):
            return True
        return low <= value <= high

    return check


def _is_base64(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return False
    return True


def _is_uri_reference(value: object) -> bool:
    # Lenient on purpose (see the quirks list): any URI reference, but never whitespace or
    # control characters, which would mean a broken link was built.
    if not isinstance(value, str):
        return True
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return False
    try:
        urlsplit(value)
    except ValueError:
        return False
    return True


def _is_finite_number(value: object) -> bool:
    # float/double: JSON cannot carry NaN or infinities, so a value that parsed to one came from
    # a non-standard encoder.
    if isinstance(value, float):
        return math.isfinite(value)
    return True


_FORMAT_CHECKER = FormatChecker(formats=())
_FORMAT_CHECKER.checks("date-time")(_is_rfc3339)
_FORMAT_CHECKER.checks("int32")(_int_in_bits(32))
_FORMAT_CHECKER.checks("int64")(_int_in_bits(64))
_FORMAT_CHECKER.checks("byte")(_is_base64)
_FORMAT_CHECKER.checks("uri")(_is_uri_reference)
_FORMAT_CHECKER.checks("float")(_is_finite_number)
_FORMAT_CHECKER.checks("double")(_is_finite_number)
# Other formats in the contract ("binary", "duration", "Go runtime profile", ...) are
# descriptive only and pass, as the JSON Schema spec says unknown formats must.


# ---------------------------------------------------------------------------------------------
# Validator classes
# ---------------------------------------------------------------------------------------------


def _ignore_ref_siblings(schema: Mapping[str, Any]) -> Iterable[tuple[str, Any]]:
    # OAS 3.0 (like JSON Schema draft 4) says a Schema Object with `$ref` is replaced by the
    # referenced one and its other keys are ignored. openapi-schema-validator applies them;
    # the contract has `required: true` beside a `$ref` (DBRPGet.content), which would crash a
    # `required` keyword expecting a list, so we follow the specification instead.
    if "$ref" in schema:
        return [("$ref", schema["$ref"])]
    return schema.items()


def _no_id(_schema: Any) -> str:
    # OAS 3.0 schemas have no `id`/`$id`; a property *named* "id" must never be taken for one.
    return ""


def _build_validator_class(
    base: Any, keyword_overrides: Mapping[str, Callable[..., Iterator[ValidationError]]]
) -> Any:
    # `create` (rather than `extend`) because only it accepts `applicable_validators`; the
    # keyword functions themselves are openapi-schema-validator's, so nullable, readOnly and the
    # OAS flavour of `required` behave as that library implements them.
    validators = dict(base.VALIDATORS)
    validators.update(keyword_overrides)
    return jsonschema.validators.create(
        meta_schema=base.META_SCHEMA,
        validators=validators,
        type_checker=base.TYPE_CHECKER,
        format_checker=_FORMAT_CHECKER,
        id_of=_no_id,
        applicable_validators=_ignore_ref_siblings,
    )


def _make_strict_properties(
    base_properties: Callable[..., Iterator[ValidationError]], exempt_schema_ids: frozenset[int]
) -> Callable[..., Iterator[ValidationError]]:
    """The `properties` keyword for request bodies: also report properties not declared.

    OAS 3.0 defaults `additionalProperties` to true, so a request body with a misspelled key
    (or a server-assigned `id` in a PostBucketRequest, which does not declare one) would pass
    unnoticed while the server silently ignores it. The connector builds these bodies itself,
    so anything the contract does not name is a bug. A schema that declares
    `additionalProperties` keeps its declared behaviour, and schemas taking part in composition
    (allOf branches, or schemas with allOf/anyOf/oneOf next to `properties`) are exempt, because
    each branch only names part of the object.
    """

    def properties(
        validator: Any, props: Mapping[str, Any], instance: Any, schema: Mapping[str, Any]
    ) -> Iterator[ValidationError]:
        yield from base_properties(validator, props, instance, schema)
        if not validator.is_type(instance, "object"):
            return
        if "additionalProperties" in schema or id(schema) in exempt_schema_ids:
            return
        if any(key in schema for key in ("allOf", "anyOf", "oneOf")):
            return
        for name in sorted(set(instance) - set(props)):
            yield ValidationError(
                f"property {name!r} is not declared by the contract",
                validator="additionalProperties",
                path=(name,),
            )

    return properties


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------


def _escape_pointer_token(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _pointer(*tokens: str | int) -> str:
    return "".join("/" + _escape_pointer_token(str(t)) for t in tokens)


def _json_pointer_of(error: ValidationError) -> str:
    # Rendered as a URI fragment ("#/retentionRules/0/everySeconds", "#" for the whole body)
    # so the root is visible and unambiguous in a message.
    return "#" + _pointer(*error.absolute_path)


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _normalise_content_type(content_type: str) -> str:
    # "text/plain;charset=UTF-8" and "text/plain; charset=utf-8" name the same thing.
    parts = [p.strip().lower() for p in content_type.split(";")]
    return "; ".join(p for p in parts if p)


def _media_type_matches(sent: str, declared: str) -> bool:
    """Does a Content-Type header value match one media-type key of a `content` map?"""
    declared_norm = _normalise_content_type(declared)
    if ";" in declared_norm and _normalise_content_type(sent) == declared_norm:
        return True
    sent_type, declared_type = _media_type(sent), _media_type(declared)
    if declared_type in ("*/*", sent_type):
        return True
    # OAS allows ranges such as "text/*".
    if declared_type.endswith("/*"):
        return sent_type.startswith(declared_type[:-1])
    return False


def _is_json_media_type(media_type: str) -> bool:
    mt = _media_type(media_type)
    return mt == "application/json" or mt.endswith("+json")


def _is_text_media_type(media_type: str) -> bool:
    mt = _media_type(media_type)
    return mt.startswith("text/") or mt in {
        "application/csv",
        "application/vnd.flux",
        "application/vnd.influxql",
        "application/x-jsonnet",
        "application/x-yaml",
        "application/toml",
    }


def _match_and_decode(
    what: str,
    content: Mapping[str, Any],
    content_type: str,
    aliases: Mapping[str, frozenset[str]],
    body: bytes,
    hdrs: _CaseInsensitiveHeaders,
) -> tuple[str, bytes, list[str]]:
    """The declared media type a body's Content-Type matches, and the body with its encoding undone.

    Shared by requests and responses; ``aliases`` holds the response media-type quirks.
    """
    declared = next(
        (mt for mt in content
         if _media_type_matches(content_type, mt) or _media_type(content_type) in aliases.get(mt, frozenset())),
        None,
    )
    if declared is None:
        return "", b"", [f"{what} Content-Type {content_type!r} is not one of the declared "
                         f"media types ({', '.join(content)})"]
    decoded, problem = _decode_content(body, hdrs.get("Content-Encoding"))
    if problem or decoded is None:
        return declared, b"", [f"{what}: {problem}"]
    return declared, decoded, []


def _decode_content(body: bytes, encoding: str | None) -> tuple[bytes | None, str | None]:
    """Undo Content-Encoding; returns (decoded body, problem)."""
    coding = (encoding or "identity").strip().lower()
    if coding == "identity":
        return body, None
    if coding == "gzip":
        try:
            return gzip.decompress(body), None
        except (OSError, EOFError, zlib.error) as exc:
            return None, f"Content-Encoding gzip but the body is not valid gzip ({exc})"
    return None, f"Content-Encoding {encoding!r} cannot be decoded by the checker"


class _CaseInsensitiveHeaders:
    """Header lookup by lower-cased name; HTTP header names are case-insensitive."""

    def __init__(self, headers: Mapping[str, str] | None) -> None:
        self._items: dict[str, tuple[str, str]] = {}
        for name, value in (headers or {}).items():
            # `requests` lets callers set bytes values; HTTP/1.1 header bytes are latin-1.
            text = value.decode("latin-1") if isinstance(value, bytes) else value
            self._items[name.lower()] = (name, text)

    def get(self, name: str) -> str | None:
        item = self._items.get(name.lower())
        return None if item is None else item[1]

    def names(self) -> list[str]:
        return [original for original, _ in self._items.values()]


def _query_pairs(query: Iterable[tuple[str, str]] | Mapping[str, Any] | None) -> list[tuple[str, str]]:
    if query is None:
        return []
    if isinstance(query, Mapping):
        pairs: list[tuple[str, str]] = []
        for name, value in query.items():
            # Mirror `requests`: a None value means "not sent", a list means a repeated key.
            if value is None:
                continue
            values = value if isinstance(value, (list, tuple)) else [value]
            pairs.extend((name, _query_value_str(v)) for v in values)
        return pairs
    return [(name, _query_value_str(value)) for name, value in query]


def _query_value_str(value: Any) -> str:
    # Booleans are rendered the way `requests` would put them on the wire ("True"), so a
    # connector passing a Python bool is caught by the `true`/`false` check, not excused here.
    return value if isinstance(value, str) else str(value)


# ---------------------------------------------------------------------------------------------
# Path templates
# ---------------------------------------------------------------------------------------------

_PARAM_SEGMENT = re.compile(r"\{([^{}/]+)\}")


class _PathTemplate:
    """One `paths` key, split into literal segments and `{param}` segments."""

    def __init__(self, template: str) -> None:
        self.template = template
        self.segments: list[tuple[bool, str]] = []  # (is_param, literal text or param name)
        for segment in template.split("/"):
            m = _PARAM_SEGMENT.fullmatch(segment)
            self.segments.append((True, m.group(1)) if m else (False, segment))
        # Sort key for "most specific first": at the first segment where two templates differ,
        # a literal beats a parameter (/api/v2/query/suggestions before .../{name}).
        self.specificity: tuple[int, ...] = tuple(int(is_param) for is_param, _ in self.segments)

    def match(self, decoded_segments: list[str]) -> dict[str, str] | None:
        if len(decoded_segments) != len(self.segments):
            return None
        params: dict[str, str] = {}
        for (is_param, text), actual in zip(self.segments, decoded_segments):
            if is_param:
                # An empty segment ("/buckets//labels") is not a value for a path parameter.
                if not actual:
                    return None
                params[text] = actual
            elif text != actual:
                return None
        return params


def _split_path(path: str) -> tuple[str, str]:
    """Accept a bare path, a path with a query string, or a full URL; return (path, query)."""
    parts = urlsplit(path)
    return parts.path or "/", parts.query


# ---------------------------------------------------------------------------------------------
# The contract
# ---------------------------------------------------------------------------------------------


class Contract:
    """The parsed contract plus the request/response checks built on it."""

    def __init__(self, spec: dict[str, Any], source: Path | None = None) -> None:
        self.spec = spec
        self.source = source
        schemas = spec.get("components", {}).get("schemas", {})
        for name in ONE_OF_READ_AS_ANY_OF:
            if "oneOf" in schemas.get(name, {}):
                schemas[name] = {**schemas[name], "anyOf": schemas[name]["oneOf"]}
                del schemas[name]["oneOf"]
        for name in DROPPED_ARRAY_ONE_OF:
            results = schemas.get(name, {}).get("properties", {}).get("results", {})
            results.pop("oneOf", None)
        resource = referencing.Resource(contents=spec, specification=referencing.Specification.OPAQUE)
        self._registry: referencing.Registry[Any] = referencing.Registry().with_resource(
            _CONTRACT_URI, resource
        )
        self._templates = sorted(
            (_PathTemplate(t) for t in spec.get("paths", {})), key=lambda t: t.specificity
        )
        exempt = frozenset(self._allof_branch_ids())
        self._request_validator_cls = _build_validator_class(
            OAS30WriteValidator,
            {"properties": _make_strict_properties(OAS30WriteValidator.VALIDATORS["properties"], exempt)},
        )
        self._response_validator_cls = _build_validator_class(OAS30ReadValidator, {})
        # Validators are built once per (direction, schema pointer): construction resolves the
        # registry, and the connector's tests check the same few schemas many times.
        self._validators: dict[tuple[str, str], Any] = {}

    # -- loading ------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path = DEFAULT_CONTRACT_PATH) -> Contract:
        """Parse the contract once per test session (per resolved path)."""
        return _load_contract(str(Path(path).resolve()))

    # -- spec navigation ----------------------------------------------------------------------

    def _lookup(self, pointer: str) -> Any:
        node: Any = self.spec
        for token in pointer.split("/")[1:]:
            token = token.replace("~1", "/").replace("~0", "~")
            node = node[int(token)] if isinstance(node, list) else node[token]
        return node

    def _deref(self, obj: Any, pointer: str) -> tuple[Any, str]:
        """Follow `$ref`s of non-schema objects (parameters, request bodies, responses).

        Returns the target and its JSON pointer, so schemas inside it can be validated by
        pointer. Siblings of `$ref` are ignored, as OAS 3.0 says (the contract puts a
        `description` beside some response refs).
        """
        seen: set[str] = set()
        while isinstance(obj, Mapping) and "$ref" in obj:
            ref = obj["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/") or ref in seen:
                raise ContractViolation(f"contract: unsupported or cyclic $ref {ref!r} at {pointer}")
            seen.add(ref)
            pointer = ref[1:]
            obj = self._lookup(pointer)
        return obj, pointer

    def _deref_schema(self, schema: Any) -> Any:
        # Only for reading a schema's `type`/`items` when converting parameter strings.
        obj, _ = self._deref(schema, "")
        return obj

    def _allof_branch_ids(self) -> Iterator[int]:
        """ids of every schema object used as an allOf branch (directly or through $ref)."""
        stack: list[Any] = [self.spec]
        while stack:
            node = stack.pop()
            if isinstance(node, Mapping):
                branches = node.get("allOf")
                if isinstance(branches, list):
                    for branch in branches:
                        yield id(branch)
                        if isinstance(branch, Mapping) and "$ref" in branch:
                            yield id(self._deref(branch, "")[0])
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)

    def _validator(self, direction: str, pointer: str) -> Any:
        key = (direction, pointer)
        validator = self._validators.get(key)
        if validator is None:
            cls = self._request_validator_cls if direction == "request" else self._response_validator_cls
            # quote(): media-type keys ("text/plain; charset=utf-8") put spaces and ';' in the
            # pointer; referencing unquotes the fragment before walking it.
            ref = f"{_CONTRACT_URI}#{quote(pointer, safe='/~')}"
            validator = cls({"$ref": ref}, registry=self._registry, format_checker=_FORMAT_CHECKER)
            self._validators[key] = validator
        return validator

    def _schema_errors(self, direction: str, pointer: str, instance: Any) -> list[ValidationError]:
        return list(self._validator(direction, pointer).iter_errors(instance))

    # -- routing ------------------------------------------------------------------------------

    def declares(self, method: str, path: str) -> bool:
        """True when the contract has an operation for ``method`` on ``path``."""
        try:
            self.find_operation(method, path)
        except ContractViolation:
            return False
        return True

    def find_operation(self, method: str, path: str) -> tuple[str, dict[str, Any], dict[str, str]]:
        """Return (path template, operation object, decoded path params) for a request.

        Raises ContractViolation when no path template matches, or when templates match but
        none declares the method. Among matching templates the most specific one that declares
        the method wins (literal segments before parameters, compared segment by segment), as
        OpenAPI asks. The one overlap in this contract is POST .../secrets/delete (literal)
        against DELETE .../secrets/{secretID}: a DELETE of a secret named "delete" is a valid
        request for the templated path, so we fall through to it rather than report it.
        """
        method_l = method.lower()
        raw_path, _ = _split_path(path)
        try:
            decoded = [unquote(segment, errors="strict") for segment in raw_path.split("/")]
        except UnicodeDecodeError:
            raise ContractViolation(
                f"{method.upper()} {raw_path}: a path segment is not valid percent-encoded UTF-8"
            ) from None
        matched: list[str] = []
        for template in self._templates:
            params = template.match(decoded)
            if params is None:
                continue
            operation = self.spec["paths"][template.template].get(method_l)
            if method_l in _HTTP_METHODS and isinstance(operation, dict):
                return template.template, operation, params
            matched.append(template.template)
        if not matched:
            raise ContractViolation(f"{method.upper()} {raw_path}: no path in the contract matches")
        declared = sorted(
            {m.upper() for t in matched for m in self.spec["paths"][t] if m in _HTTP_METHODS}
        )
        raise ContractViolation(
            f"{method.upper()} {raw_path}: method {method.upper()} is not declared for "
            f"{' or '.join(matched)} (declared: {', '.join(declared)})"
        )

    def _parameters(self, template: str, method: str) -> list[tuple[dict[str, Any], str]]:
        """Effective parameters with their pointers; operation-level ones override path-level."""
        path_item_ptr = _pointer("paths", template)
        path_item = self.spec["paths"][template]
        merged: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
        for base_ptr, params in (
            (path_item_ptr + "/parameters", path_item.get("parameters", [])),
            (path_item_ptr + _pointer(method, "parameters"), path_item[method].get("parameters", [])),
        ):
            for index, raw in enumerate(params):
                param, ptr = self._deref(raw, f"{base_ptr}/{index}")
                name = param["name"].lower() if param["in"] == "header" else param["name"]
                merged[(param["in"], name)] = (param, ptr)
        return list(merged.values())

    # -- parameter values ---------------------------------------------------------------------

    def _convert(self, raw: str, schema: Any) -> tuple[Any, str | None]:
        """Turn a wire string into the value the schema describes; (value, problem)."""
        resolved = self._deref_schema(schema) if isinstance(schema, Mapping) else {}
        kind = resolved.get("type")
        if kind == "integer":
            # Go's strconv accepts a leading '+', but nothing in the contract needs it; a strict
            # decimal form keeps "1e3", " 5" and "0x10" out.
            if re.fullmatch(r"-?\d+", raw):
                return int(raw), None
            return None, f"{raw!r} is not an integer"
        if kind == "number":
            if re.fullmatch(r"-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", raw):
                return float(raw), None
            return None, f"{raw!r} is not a number"
        if kind == "boolean":
            if raw in ("true", "false"):
                return raw == "true", None
            return None, f"{raw!r} is not a boolean (expected 'true' or 'false')"
        return raw, None

    def _check_value(
        self, prefix: str, label: str, raws: list[str], param: dict[str, Any], pointer: str
    ) -> list[str]:
        schema = param.get("schema")
        if schema is None:
            # `content`-style parameters do not occur in this contract; nothing to check.
            return []
        resolved = self._deref_schema(schema)
        if resolved.get("type") == "array":
            # Form style with explode (the OAS default for query): one key per element.
            values: list[Any] = []
            for raw in raws:
                value, problem = self._convert(raw, resolved.get("items", {}))
                if problem:
                    return [f"{prefix} {label}: {problem}"]
                values.append(value)
            instance: Any = values
        else:
            if len(raws) > 1:
                return [f"{prefix} {label}: sent {len(raws)} times but the contract allows one value"]
            instance, problem = self._convert(raws[0], schema)
            if problem:
                return [f"{prefix} {label}: {problem}"]
        return [
            f"{prefix} {label}: {_shorten(error.message)}"
            for error in self._schema_errors("request", pointer + "/schema", instance)
        ]

    # -- requests -----------------------------------------------------------------------------

    def check_request(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]] | Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        body: bytes | None,
        body_complete: bool = True,
    ) -> list[str]:
        """Problems with one request, [] if the contract allows it. ``body_complete=False``
        says ``body`` is only what a recording kept of it (the sandbox does not read, or keep
        whole, every body): everything but the body is checked."""
        raw_path, inline_query = _split_path(path)
        prefix = f"{method.upper()} {raw_path}:"
        try:
            template, operation, path_params = self.find_operation(method, raw_path)
        except ContractViolation as exc:
            return [str(exc)]
        method_l = method.lower()
        problems: list[str] = []

        # An encoded '/' inside a segment routes differently on servers that decode the path
        # before routing (Go's net/http does), so a name containing '/' must not be sent there.
        for segment in raw_path.split("/"):
            if "/" in unquote(segment):
                problems.append(f"{prefix} path segment {segment!r} contains an encoded '/'")

        pairs = _query_pairs(parse_qsl(inline_query, keep_blank_values=True)) + _query_pairs(query)
        sent_query: dict[str, list[str]] = {}
        for name, value in pairs:
            sent_query.setdefault(name, []).append(value)
        hdrs = _CaseInsensitiveHeaders(headers)

        declared_query: set[str] = set()
        declared_headers: set[str] = set()
        for param, pointer in self._parameters(template, method_l):
            name, where = param["name"], param["in"]
            required = bool(param.get("required")) or where == "path"
            if where == "path":
                raws = [path_params[name]] if name in path_params else []
                label = f"path parameter {name!r}"
            elif where == "query":
                declared_query.add(name)
                raws = sent_query.get(name, [])
                label = f"query parameter {name!r}"
            elif where == "header":
                declared_headers.add(name.lower())
                value = hdrs.get(name)
                raws = [] if value is None else [value]
                label = f"header {name!r}"
            else:
                # Cookie parameters: the connector sends no cookies and none are required here.
                continue
            if not raws:
                if required:
                    problems.append(f"{prefix} required {label} is missing")
                continue
            words = QUERY_VALUE_QUIRKS.get((method.lower(), template), {}).get(name, frozenset())
            if where == "query" and raws and all(raw in words for raw in raws):
                continue
            problems.extend(self._check_value(prefix, label, raws, param, pointer))

        link_quirks = LINK_QUERY_QUIRKS.get((method.lower(), template), frozenset())
        for name in sent_query:
            if name not in declared_query and name not in link_quirks:
                problems.append(f"{prefix} query parameter {name!r} is not declared for {method.upper()} {template}")
        for name in hdrs.names():
            if name.lower() not in declared_headers and name.lower() not in STANDARD_REQUEST_HEADERS:
                problems.append(f"{prefix} header {name!r} is not declared for {method.upper()} {template}")

        problems.extend(self._check_security(prefix, template, method_l, operation, hdrs))
        if body_complete:
            problems.extend(self._check_request_body(prefix, template, method_l, operation, hdrs, body))
        return problems

    def _check_security(
        self, prefix: str, template: str, method: str, operation: dict[str, Any], hdrs: _CaseInsensitiveHeaders
    ) -> list[str]:
        requirements = operation.get("security", self.spec.get("security", []))
        # `security: []`, or an empty alternative `{}`, means anonymous access is allowed.
        anonymous_ok = not requirements or any(not alt for alt in requirements)
        schemes = self.spec.get("components", {}).get("securitySchemes", {})
        accepted_prefixes: list[tuple[str, str]] = []
        for alternative in requirements:
            for scheme_name in alternative:
                scheme = schemes.get(scheme_name, {})
                header_based = (scheme.get("type") == "apiKey" and scheme.get("in") == "header"
                                and scheme.get("name", "").lower() == "authorization")
                http_based = scheme.get("type") == "http" and scheme.get("scheme") in ("basic", "bearer")
                if template.startswith(BEARER_ONLY_PREFIX) and scheme_name != "BearerAuthentication":
                    continue
                if header_based or http_based:
                    accepted_prefixes.append((scheme_name, _AUTH_PREFIXES.get(scheme_name, "")))

        value = hdrs.get("Authorization")
        if value is None:
            if anonymous_ok or (method, template) in AUTH_OPTIONAL_OPERATIONS or not accepted_prefixes:
                return []
            names = " or ".join(sorted({name for name, _ in accepted_prefixes}))
            return [f"{prefix} header 'Authorization' is missing (security requires {names})"]
        for _scheme_name, required_prefix in accepted_prefixes:
            if value.startswith(required_prefix) and value[len(required_prefix):].strip():
                return []
        if not accepted_prefixes:
            return []
        # Name only the scheme word the client used; the credential itself must never be
        # copied into a test log.
        used = value.split(" ", 1)[0] if value else ""
        expected = " or ".join(repr(p + "<credential>") for _, p in accepted_prefixes)
        return [f"{prefix} header 'Authorization' must be {expected}, got scheme {used!r}"]

    def _check_request_body(
        self,
        prefix: str,
        template: str,
        method: str,
        operation: dict[str, Any],
        hdrs: _CaseInsensitiveHeaders,
        body: bytes | None,
    ) -> list[str]:
        op_ptr = _pointer("paths", template, method)
        if "requestBody" not in operation:
            if body:
                return [f"{prefix} request body sent but the operation declares none"]
            return []
        request_body, rb_ptr = self._deref(operation["requestBody"], op_ptr + "/requestBody")
        if not body:
            if request_body.get("required"):
                return [f"{prefix} request body is required but missing"]
            return []

        content: dict[str, Any] = request_body.get("content", {})
        content_type = hdrs.get("Content-Type")
        if content_type is None:
            return [
                f"{prefix} request body sent without a Content-Type header "
                f"(declared: {', '.join(content)})"
            ]
        declared, decoded, problems = _match_and_decode(f"{prefix} request", content, content_type, {}, body, hdrs)
        if problems:
            return problems
        schema_ptr = rb_ptr + _pointer("content", declared, "schema")
        has_schema = "schema" in content[declared]
        return self._check_body_payload(
            prefix, "request", "request body", declared, decoded, schema_ptr, has_schema, None
        )

    def _check_body_payload(
        self,
        prefix: str,
        direction: str,
        what: str,
        media_type: str,
        payload: bytes,
        schema_ptr: str,
        has_schema: bool,
        enum_quirks: Mapping[str, frozenset[Any]] | None,
    ) -> list[str]:
        """Check a decoded body against a declared media type's schema.

        `direction` picks the validator (request: readOnly forbidden; response: writeOnly
        forbidden); `what` is how the body is named in messages.
        """
        if _is_json_media_type(media_type):
            try:
                document = json.loads(payload.decode("utf-8"), parse_constant=_reject_constant)
            except (UnicodeDecodeError, ValueError) as exc:
                return [f"{prefix} {what} is not valid UTF-8 JSON ({exc})"]
            if not has_schema:
                return []
            problems = []
            for error in self._schema_errors(direction, schema_ptr, document):
                pointer = _json_pointer_of(error)
                if (enum_quirks and error.validator == "enum"
                        and error.instance in enum_quirks.get(pointer[1:], frozenset())):
                    continue
                problems.append(f"{prefix} {what} {pointer}: {_describe(error)}")
            return problems
        if _is_text_media_type(media_type):
            # Line protocol, Flux and CSV are text; the schemas say only `type: string` (or the
            # misleading `format: byte`, see the quirks list), so valid UTF-8 is the check.
            try:
                payload.decode("utf-8")
            except UnicodeDecodeError as exc:
                return [f"{prefix} {what} ({media_type}) is not valid UTF-8 ({exc})"]
            return []
        # Binary media types (application/octet-stream, msgpack, ...): nothing to parse.
        return []

    # -- responses ----------------------------------------------------------------------------

    def check_response(
        self,
        method: str,
        path: str,
        status: int,
        headers: Mapping[str, str] | None,
        body: bytes | None,
    ) -> list[str]:
        """Problems with one response to `method path`, [] if the contract allows it."""
        raw_path, _ = _split_path(path)
        # Every problem starts "METHOD path:", like request problems, then names the status.
        prefix = f"{method.upper()} {raw_path}:"
        resp = f"{prefix} {status} response"
        try:
            template, operation, _params = self.find_operation(method, raw_path)
        except ContractViolation as exc:
            return [str(exc)]
        method_l = method.lower()
        op_ptr = _pointer("paths", template, method_l)
        responses: dict[str, Any] = operation.get("responses", {})
        status_key = next(
            (key for key in (str(status), f"{status // 100}XX", "default") if key in responses), None
        )
        if status_key is None:
            return [
                f"{prefix} status {status} is not declared for {method.upper()} {template} "
                f"(declared: {', '.join(responses)})"
            ]
        response, resp_ptr = self._deref(responses[status_key], op_ptr + _pointer("responses", status_key))
        hdrs = _CaseInsensitiveHeaders(headers)
        body = body or b""

        # HTTP itself forbids a body on these, whatever the contract's content map says.
        if status in (204, 304) or method_l == "head" or 100 <= status < 200:
            if body:
                return [f"{resp} body must be empty ({len(body)} bytes sent)"]
            return []

        content: dict[str, Any] = response.get("content", {})
        content_type = hdrs.get("Content-Type")
        v3_quirk = self._v3_answer_quirk(prefix, template, method_l, status, content_type, body)
        if v3_quirk is not None:
            return v3_quirk
        if not content:
            if body:
                return [f"{resp} body sent but the contract declares no content for {status_key}"]
            return []
        if not body:
            # An empty body can still be a valid string (an empty CSV result), never valid JSON.
            if any(_is_json_media_type(mt) for mt in content) and not any(
                _is_text_media_type(mt) for mt in content
            ):
                return [f"{resp} body is empty but the contract declares {', '.join(content)}"]
            return []
        if content_type is None:
            return [f"{resp} has a body but no Content-Type (declared: {', '.join(content)})"]

        aliases = RESPONSE_MEDIA_TYPE_ALIASES.get((method_l, template, status_key), {})
        declared, decoded, problems = _match_and_decode(resp, content, content_type, aliases, body, hdrs)
        if problems:
            return problems
        schema_ptr = resp_ptr + _pointer("content", declared, "schema")
        quirks = RESPONSE_ENUM_QUIRKS.get((method_l, template, status_key))
        return self._check_body_payload(
            prefix, "response", f"{status} response body", declared, decoded, schema_ptr,
            "schema" in content[declared], quirks,
        )

    def _v3_answer_quirk(self, prefix: str, template: str, method: str, status: int, content_type: str | None,
                         body: bytes) -> list[str] | None:
        """Problems with an InfluxDB 3 answer the contract misdescribes (see V3_ROW_ANSWERS and
        V3 error bodies above), or None when the contract's own description applies."""
        if not template.startswith(BEARER_ONLY_PREFIX) or not content_type or not _is_json_media_type(content_type):
            return None
        try:
            document = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
        except (UnicodeDecodeError, ValueError) as exc:
            return [f"{prefix} {status} response body is not valid UTF-8 JSON ({exc})"]
        if status >= 400:
            # ErrorMessage requires no property, so any object would pass it (a v2 server's
            # {"code", "message"} too); InfluxDB 3 always words its error in "error".
            if not isinstance(document, dict) or not isinstance(document.get("error"), str):
                return [f"{prefix} {status} response body is not InfluxDB 3's error "
                        f"{{\"error\": \"...\"}}: {body[:120]!r}"]
            data = document.get("data")
            if template == "/api/v3/write_lp" and isinstance(data, list):
                # A partial write lists every rejected line: ErrorMessage's data is one object.
                if not all(isinstance(e, dict) and {"original_line", "line_number", "error_message"} <= set(e)
                           for e in data):
                    return [f"{prefix} {status} response body #/data: not a list of rejected lines"]
                document = {**document, "data": None}
            return [f"{prefix} {status} response body {_json_pointer_of(e)}: {_describe(e)}"
                    for e in self._schema_errors("response", "/components/schemas/ErrorMessage", document)]
        if status == 200 and (method, template) in V3_ROW_ANSWERS:
            if not isinstance(document, list) or not all(isinstance(row, dict) for row in document):
                return [f"{prefix} 200 response body is not a JSON array of row objects"]
            return []
        return None

    # -- assertions ---------------------------------------------------------------------------

    def assert_request(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]] | Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        body: bytes | None,
    ) -> None:
        problems = self.check_request(method, path, query, headers, body)
        if problems:
            raise ContractViolation("\n".join(problems))

    def assert_response(
        self,
        method: str,
        path: str,
        status: int,
        headers: Mapping[str, str] | None,
        body: bytes | None,
    ) -> None:
        problems = self.check_response(method, path, status, headers, body)
        if problems:
            raise ContractViolation("\n".join(problems))


def contract_for(path: str, v3_server: bool = False) -> Contract:
    """The contract an exchange on ``path`` is checked against: InfluxDB 3's for its /api/v3
    endpoints, and for /ping and /health of an InfluxDB 3 server (``v3_server``); the v2 one
    for everything else (the v1 compatibility endpoints included)."""
    bare = _split_path(path)[0]
    if bare.startswith("/api/v3/") or (v3_server and bare in ("/ping", "/health")):
        return Contract.load(V3_CONTRACT_PATH)
    return Contract.load()


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN/Infinity, which are not JSON; a server would reject them.
    raise ValueError(f"{name} is not valid JSON")


def _describe(error: ValidationError) -> str:
    """A readable message for one schema error."""
    if error.validator == "readOnly":
        return "read-only property must not be sent in a request"
    if error.validator == "writeOnly":
        return "write-only property must not appear in a response"
    message = error.message
    if error.context:
        # oneOf/anyOf failures: the top message says only "is not valid under any of the given
        # schemas"; the closest branch's complaint is what a reader needs.
        message += f" (closest: {best_match(error.context).message})"
    return _shorten(message)


@functools.cache
def _load_contract(resolved_path: str) -> Contract:
    # Parsing the 665 KB contract takes a large fraction of a second even with libyaml, so it is
    # done once per process; the Contract is read-only after construction, so sharing is safe.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(resolved_path, "rb") as handle:
        spec = yaml.load(handle, Loader=loader)  # noqa: S506 - a safe loader, chosen above
    if not isinstance(spec, dict) or not str(spec.get("openapi", "")).startswith("3.0"):
        raise ContractViolation(f"{resolved_path}: not an OpenAPI 3.0 document")
    return Contract(spec, Path(resolved_path))
