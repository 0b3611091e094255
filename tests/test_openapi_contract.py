"""Tests of the OpenAPI contract checker itself (tests/openapi_contract.py).

The other contract tests trust this checker to catch a request or response the InfluxDB
contract does not allow, so here each kind of violation it claims to catch is shown to be caught
(and named in the message), and each valid exchange the connector relies on is shown to pass.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Mapping
from typing import Any

import pytest

from .openapi_contract import DEFAULT_CONTRACT_PATH, Contract, ContractViolation

TOKEN = "Token s3cr3t-t0ken"
AUTH = {"Authorization": TOKEN}
JSON = {"Content-Type": "application/json"}
BUCKET_ID = "0123456789abcdef"
ORG_ID = "fedcba9876543210"

# The dialect the connector always sends, so the server returns annotated CSV (reference doc §1).
QUERY_BODY: dict[str, Any] = {
    "query": 'from(bucket: "b") |> range(start: -1h)',
    "type": "flux",
    "dialect": {
        "header": True,
        "delimiter": ",",
        "annotations": ["datatype", "group", "default"],
        "commentPrefix": "#",
        "dateTimeFormat": "RFC3339",
    },
}
LINE_PROTOCOL = b"air,sensor=a temp=21.5,ok=true 1700000000000000000\nair,sensor=b temp=19i\n"


def _json(value: Any) -> bytes:
    return json.dumps(value).encode("utf-8")


def _bucket(**overrides: Any) -> dict[str, Any]:
    """A Bucket as InfluxDB OSS returns it."""
    bucket: dict[str, Any] = {
        "id": BUCKET_ID,
        "orgID": ORG_ID,
        "type": "user",
        "name": "b",
        "retentionRules": [{"type": "expire", "everySeconds": 0, "shardGroupDurationSeconds": 604800}],
        "createdAt": "2024-01-31T05:41:24.001Z",
        "updatedAt": "2024-01-31T05:41:24.001234567+01:00",
        "labels": [],
        "links": {
            "self": f"/api/v2/buckets/{BUCKET_ID}",
            "org": f"/api/v2/orgs/{ORG_ID}",
            "labels": f"/api/v2/buckets/{BUCKET_ID}/labels",
        },
    }
    bucket.update(overrides)
    return bucket


@pytest.fixture(scope="module")
def contract() -> Contract:
    return Contract.load()


# --------------------------------------------------------------------------------- loading


def test_load_parses_the_bundled_contract_once() -> None:
    started = time.perf_counter()
    first = Contract.load()
    # Same object for the default, an explicit str path and a Path: one parse per session.
    assert Contract.load(str(DEFAULT_CONTRACT_PATH)) is first
    assert Contract.load(DEFAULT_CONTRACT_PATH) is first
    assert first.spec["openapi"].startswith("3.0")
    assert "/api/v2/write" in first.spec["paths"]
    # Generous bound: libyaml parses it in ~0.15 s; the pure-Python loader would take seconds.
    assert time.perf_counter() - started < 5


# --------------------------------------------------------------------------------- routing


def test_literal_path_beats_template(contract: Contract) -> None:
    template, operation, params = contract.find_operation("GET", "/api/v2/query/suggestions")
    assert (template, operation["operationId"], params) == (
        "/api/v2/query/suggestions",
        "GetQuerySuggestions",
        {},
    )
    template, operation, params = contract.find_operation("get", "/api/v2/query/suggestions/range")
    assert template == "/api/v2/query/suggestions/{name}"
    assert operation["operationId"] == "GetQuerySuggestionsName"
    assert params == {"name": "range"}


def test_literal_path_beats_template_of_same_length(contract: Contract) -> None:
    # The contract's one overlap: POST .../secrets/delete (literal) vs DELETE .../secrets/{secretID}.
    template, operation, params = contract.find_operation("POST", f"/api/v2/orgs/{ORG_ID}/secrets/delete")
    assert (template, operation["operationId"], params) == (
        "/api/v2/orgs/{orgID}/secrets/delete",
        "PostOrgsIDSecrets",
        {"orgID": ORG_ID},
    )
    # A secret that happens to be named "delete" still routes to the templated DELETE.
    template, operation, params = contract.find_operation("DELETE", f"/api/v2/orgs/{ORG_ID}/secrets/delete")
    assert template == "/api/v2/orgs/{orgID}/secrets/{secretID}"
    assert params == {"orgID": ORG_ID, "secretID": "delete"}


def test_literal_segment_wins_when_both_templates_declare_the_method() -> None:
    # oss.yml has no overlap where both templates declare the same method, so the precedence
    # rule is pinned on a minimal contract of our own.
    def op(operation_id: str) -> dict[str, Any]:
        return {"operationId": operation_id, "responses": {"200": {"description": "ok"}}}

    tiny = Contract(
        {
            "openapi": "3.0.0",
            "paths": {
                "/things/{thingID}/{part}": {"get": op("ByIDAndPart")},
                "/things/{thingID}/labels": {"get": op("ThingLabels")},
                "/things/mine/{part}": {"get": op("MinePart")},
                "/things/{thingID}": {"get": op("ByID")},
                "/things/mine": {"get": op("Mine")},
            },
        }
    )
    assert tiny.find_operation("GET", "/things/mine")[1]["operationId"] == "Mine"
    assert tiny.find_operation("GET", "/things/other")[1]["operationId"] == "ByID"
    # The first differing segment decides: "mine" (literal) beats {thingID} even though the
    # competitor has a literal later on.
    assert tiny.find_operation("GET", "/things/mine/labels")[1]["operationId"] == "MinePart"
    assert tiny.find_operation("GET", "/things/x/labels")[1]["operationId"] == "ThingLabels"
    assert tiny.find_operation("GET", "/things/x/y")[1]["operationId"] == "ByIDAndPart"


def test_path_params_are_percent_decoded_and_query_string_ignored(contract: Contract) -> None:
    template, operation, params = contract.find_operation("GET", "/api/v2/query/suggestions/my%20fn?x=1")
    assert template == "/api/v2/query/suggestions/{name}"
    assert params == {"name": "my fn"}
    template, operation, params = contract.find_operation("DELETE", f"/api/v2/buckets/{BUCKET_ID}")
    assert (template, operation["operationId"], params) == (
        "/api/v2/buckets/{bucketID}",
        "DeleteBucketsID",
        {"bucketID": BUCKET_ID},
    )


def test_find_operation_rejects_unknown_path_and_method(contract: Contract) -> None:
    with pytest.raises(ContractViolation, match=r"^GET /api/v2/nothing: no path"):
        contract.find_operation("GET", "/api/v2/nothing")
    # A trailing slash is a different path (the server answers 301/404).
    with pytest.raises(ContractViolation, match="no path"):
        contract.find_operation("GET", "/api/v2/buckets/")
    with pytest.raises(ContractViolation, match=r"method PUT is not declared for /api/v2/buckets \(declared: GET, POST\)"):
        contract.find_operation("PUT", "/api/v2/buckets")


# --------------------------------------------------------------------------------- valid requests

VALID_REQUESTS: list[tuple[str, str, str, Any, Mapping[str, str], bytes | None]] = [
    (
        "write",
        "POST",
        "/api/v2/write",
        {"org": "my-org", "bucket": "b", "precision": "ns"},
        {**AUTH, "Content-Type": "text/plain; charset=utf-8", "Accept": "application/json"},
        LINE_PROTOCOL,
    ),
    (
        "write-gzip",
        "POST",
        "/api/v2/write",
        [("org", "my-org"), ("bucket", "b"), ("precision", "ns")],
        {**AUTH, "Content-Type": "text/plain", "Content-Encoding": "gzip", "User-Agent": "influx-connector"},
        gzip.compress(LINE_PROTOCOL),
    ),
    (
        "write-query-string-in-path",
        "POST",
        "/api/v2/write?org=my-org&bucket=b",
        None,
        {**AUTH, "Content-Type": "text/plain; charset=utf-8", "Content-Length": str(len(LINE_PROTOCOL))},
        LINE_PROTOCOL,
    ),
    (
        "query",
        "POST",
        "/api/v2/query",
        {"org": "o"},
        {**AUTH, **JSON, "Accept-Encoding": "gzip", "Accept": "application/csv"},
        _json(QUERY_BODY),
    ),
    (
        "query-flux-text",
        "POST",
        "/api/v2/query",
        {"orgID": ORG_ID},
        {**AUTH, "Content-Type": "application/vnd.flux"},
        b'from(bucket: "b") |> range(start: -1h)',
    ),
    ("query-ast", "POST", "/api/v2/query/ast", {}, {**AUTH, **JSON}, _json({"query": "1 + 1"})),
    (
        "query-analyze",
        "POST",
        "/api/v2/query/analyze",
        {},
        {**AUTH, **JSON, "Zap-Trace-Span": "abc"},
        _json({"query": 'from(bucket: "b")', "type": "flux"}),
    ),
    ("suggestions", "GET", "/api/v2/query/suggestions", {}, AUTH, None),
    ("suggestion-range", "GET", "/api/v2/query/suggestions/range", {}, AUTH, None),
    ("list-buckets", "GET", "/api/v2/buckets", {"limit": "10", "offset": "0", "org": "o"}, AUTH, None),
    ("list-buckets-int-values", "GET", "/api/v2/buckets", {"limit": 100, "offset": 0, "name": "b"}, AUTH, None),
    (
        "create-bucket",
        "POST",
        "/api/v2/buckets",
        None,
        {**AUTH, **JSON},
        _json({"orgID": BUCKET_ID, "name": "b", "retentionRules": [{"type": "expire", "everySeconds": 0}]}),
    ),
    ("get-bucket", "GET", f"/api/v2/buckets/{BUCKET_ID}", None, AUTH, None),
    (
        "patch-bucket",
        "PATCH",
        f"/api/v2/buckets/{BUCKET_ID}",
        None,
        {**AUTH, **JSON},
        _json({"name": "b2", "description": "d", "retentionRules": [{"type": "expire", "everySeconds": 3600}]}),
    ),
    ("delete-bucket", "DELETE", f"/api/v2/buckets/{BUCKET_ID}", None, AUTH, None),
    ("orgs-by-name", "GET", "/api/v2/orgs", {"org": "x"}, AUTH, None),
    ("health", "GET", "/health", None, {}, None),
    ("ping", "GET", "/ping", None, {}, None),
    ("ping-head-with-token", "HEAD", "/ping", None, AUTH, None),
]


@pytest.mark.parametrize(
    ("method", "path", "query", "headers", "body"),
    [case[1:] for case in VALID_REQUESTS],
    ids=[case[0] for case in VALID_REQUESTS],
)
def test_valid_requests_pass(
    contract: Contract, method: str, path: str, query: Any, headers: Mapping[str, str], body: bytes | None
) -> None:
    assert contract.check_request(method, path, query, headers, body) == []
    contract.assert_request(method, path, query, headers, body)


# --------------------------------------------------------------------------------- invalid requests

WRITE_HEADERS = {**AUTH, "Content-Type": "text/plain; charset=utf-8"}
WRITE_QUERY = {"org": "my-org", "bucket": "b"}

# (id, method, path, query, headers, body, fragments one problem must contain)
INVALID_REQUESTS: list[tuple[str, str, str, Any, Mapping[str, str], bytes | None, list[str]]] = [
    (
        "precision-m",
        "POST", "/api/v2/write", {**WRITE_QUERY, "precision": "m"}, WRITE_HEADERS, LINE_PROTOCOL,
        ["query parameter 'precision'", "'m' is not one of"],
    ),
    (
        "limit-0",
        "GET", "/api/v2/buckets", {"limit": "0"}, AUTH, None,
        ["query parameter 'limit'", "less than the minimum of 1"],
    ),
    (
        "limit-101",
        "GET", "/api/v2/buckets", {"limit": "101"}, AUTH, None,
        ["query parameter 'limit'", "greater than the maximum of 100"],
    ),
    (
        "limit-not-integer",
        "GET", "/api/v2/buckets", {"limit": "ten"}, AUTH, None,
        ["query parameter 'limit'", "not an integer"],
    ),
    (
        "boolean-not-true-false",
        "GET", "/api/v2/orgs", {"descending": True}, AUTH, None,
        ["query parameter 'descending'", "'True' is not a boolean"],
    ),
    (
        "unknown-query-param",
        "GET", "/api/v2/buckets", {"org": "o", "pageSize": "10"}, AUTH, None,
        ["query parameter 'pageSize' is not declared for GET /api/v2/buckets"],
    ),
    (
        "repeated-scalar-param",
        "GET", "/api/v2/buckets", [("org", "a"), ("org", "b")], AUTH, None,
        ["query parameter 'org'", "sent 2 times"],
    ),
    (
        "missing-bucket",
        "POST", "/api/v2/write", {"org": "my-org"}, WRITE_HEADERS, LINE_PROTOCOL,
        ["required query parameter 'bucket' is missing"],
    ),
    (
        "write-accept-any",
        "POST", "/api/v2/write", WRITE_QUERY, {**WRITE_HEADERS, "Accept": "*/*"}, LINE_PROTOCOL,
        ["header 'Accept'", "'*/*' is not one of"],
    ),
    (
        "write-content-type-upper-charset",
        "POST", "/api/v2/write", WRITE_QUERY, {**AUTH, "Content-Type": "text/plain; charset=latin-1"}, LINE_PROTOCOL,
        ["header 'Content-Type'", "is not one of"],
    ),
    (
        "write-not-utf8",
        "POST", "/api/v2/write", WRITE_QUERY, WRITE_HEADERS, "m f=\"é\"".encode("latin-1"),
        ["request body (text/plain) is not valid UTF-8"],
    ),
    (
        "write-corrupt-gzip",
        "POST", "/api/v2/write", WRITE_QUERY, {**WRITE_HEADERS, "Content-Encoding": "gzip"}, LINE_PROTOCOL,
        ["Content-Encoding gzip but the body is not valid gzip"],
    ),
    (
        "write-unknown-encoding",
        "POST", "/api/v2/write", WRITE_QUERY, {**WRITE_HEADERS, "Content-Encoding": "br"}, LINE_PROTOCOL,
        ["header 'Content-Encoding'", "'br' is not one of"],
    ),
    (
        "missing-body-post-buckets",
        "POST", "/api/v2/buckets", None, {**AUTH, **JSON}, None,
        ["request body is required but missing"],
    ),
    (
        "empty-body-patch-bucket",
        "PATCH", f"/api/v2/buckets/{BUCKET_ID}", None, {**AUTH, **JSON}, b"",
        ["request body is required but missing"],
    ),
    (
        "missing-name",
        "POST", "/api/v2/buckets", None, {**AUTH, **JSON}, _json({"orgID": ORG_ID}),
        ["request body #: 'name' is a required property"],
    ),
    (
        "bucket-id-in-create-body",
        "POST", "/api/v2/buckets", None, {**AUTH, **JSON}, _json({"orgID": ORG_ID, "name": "b", "id": BUCKET_ID}),
        ["request body #/id", "property 'id' is not declared"],
    ),
    (
        "bucket-id-in-patch-body",
        "PATCH", f"/api/v2/buckets/{BUCKET_ID}", None, {**AUTH, **JSON}, _json({"id": BUCKET_ID, "name": "b"}),
        ["request body #/id", "property 'id' is not declared"],
    ),
    (
        "read-only-user-id",
        "POST", "/api/v2/users", None, {**AUTH, **JSON}, _json({"name": "u", "id": BUCKET_ID}),
        ["request body #/id: read-only property must not be sent"],
    ),
    (
        "negative-every-seconds",
        "POST", "/api/v2/buckets", None, {**AUTH, **JSON},
        _json({"orgID": ORG_ID, "name": "b", "retentionRules": [{"type": "expire", "everySeconds": -1}]}),
        ["request body #/retentionRules/0/everySeconds", "-1 is less than the minimum of 0"],
    ),
    (
        "every-seconds-float",
        "PATCH", f"/api/v2/buckets/{BUCKET_ID}", None, {**AUTH, **JSON},
        _json({"retentionRules": [{"everySeconds": 1.5}]}),
        ["request body #/retentionRules/0/everySeconds", "is not of type 'integer'"],
    ),
    (
        "bad-dialect",
        "POST", "/api/v2/query", {"org": "o"}, {**AUTH, **JSON},
        _json({**QUERY_BODY, "dialect": {"delimiter": ",,", "annotations": ["datatype", "datatype"]}}),
        ["request body #/dialect/delimiter", "is too long"],
    ),
    (
        "query-now-not-rfc3339",
        "POST", "/api/v2/query", {"org": "o"}, {**AUTH, **JSON}, _json({**QUERY_BODY, "now": "2024-01-31 05:41:24"}),
        ["request body #/now", "is not a 'date-time'"],
    ),
    (
        "query-wrong-content-type",
        "POST", "/api/v2/query", {"org": "o"}, {**AUTH, "Content-Type": "text/plain"}, _json(QUERY_BODY),
        ["request Content-Type 'text/plain' is not one of the declared media types"],
    ),
    (
        "query-json-without-content-type",
        "POST", "/api/v2/query", {"org": "o"}, AUTH, _json(QUERY_BODY),
        ["request body sent without a Content-Type header"],
    ),
    (
        "query-invalid-json",
        "POST", "/api/v2/query", {"org": "o"}, {**AUTH, **JSON}, b'{"query": NaN}',
        ["request body is not valid UTF-8 JSON"],
    ),
    (
        "query-accept-encoding-list",
        "POST", "/api/v2/query", {"org": "o"}, {**AUTH, **JSON, "Accept-Encoding": "gzip, deflate"}, _json(QUERY_BODY),
        ["header 'Accept-Encoding'", "is not one of"],
    ),
    (
        "body-on-get",
        "GET", "/api/v2/buckets", None, {**AUTH, **JSON}, b"{}",
        ["request body sent but the operation declares none"],
    ),
    (
        "undeclared-header",
        "GET", "/api/v2/buckets", None, {**AUTH, "Prefer": "return-no-content"}, None,
        ["header 'Prefer' is not declared for GET /api/v2/buckets"],
    ),
    (
        "unknown-path",
        "GET", "/api/v2/bucket", None, AUTH, None,
        ["GET /api/v2/bucket: no path in the contract matches"],
    ),
    (
        "wrong-method",
        "PUT", f"/api/v2/buckets/{BUCKET_ID}", None, {**AUTH, **JSON}, b"{}",
        ["method PUT is not declared for /api/v2/buckets/{bucketID}"],
    ),
    (
        "encoded-slash-in-segment",
        "GET", "/api/v2/query/suggestions/a%2Fb", None, AUTH, None,
        ["path segment 'a%2Fb' contains an encoded '/'"],
    ),
    (
        "path-not-utf8",
        "GET", "/api/v2/query/suggestions/%FF", None, AUTH, None,
        ["a path segment is not valid percent-encoded UTF-8"],
    ),
    (
        "missing-authorization",
        "GET", "/api/v2/buckets", None, {}, None,
        ["header 'Authorization' is missing"],
    ),
    (
        "bearer-authorization",
        "GET", "/api/v2/buckets", None, {"Authorization": "Bearer x"}, None,
        ["header 'Authorization' must be 'Token <credential>'", "got scheme 'Bearer'"],
    ),
    (
        "lowercase-token-scheme",
        "GET", "/api/v2/buckets", None, {"authorization": "token abc"}, None,
        ["header 'Authorization' must be 'Token <credential>'", "got scheme 'token'"],
    ),
    (
        "token-without-credential",
        "GET", "/api/v2/buckets", None, {"Authorization": "Token "}, None,
        ["header 'Authorization' must be 'Token <credential>'"],
    ),
    (
        "bearer-on-health",
        "GET", "/health", None, {"Authorization": "Bearer x"}, None,
        ["header 'Authorization' must be"],
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "query", "headers", "body", "fragments"),
    [case[1:] for case in INVALID_REQUESTS],
    ids=[case[0] for case in INVALID_REQUESTS],
)
def test_invalid_requests_are_caught(
    contract: Contract,
    method: str,
    path: str,
    query: Any,
    headers: Mapping[str, str],
    body: bytes | None,
    fragments: list[str],
) -> None:
    problems = contract.check_request(method, path, query, headers, body)
    assert problems, "the checker accepted an invalid request"
    bare_path = path.split("?", 1)[0]
    assert all(p.startswith(f"{method} {bare_path}:") for p in problems), problems
    assert any(all(f in p for f in fragments) for p in problems), problems
    with pytest.raises(ContractViolation) as raised:
        contract.assert_request(method, path, query, headers, body)
    assert str(raised.value) == "\n".join(problems)


def test_every_problem_is_reported_not_just_the_first(contract: Contract) -> None:
    problems = contract.check_request(
        "GET", "/api/v2/buckets", {"limit": "0", "offset": "-1", "bogus": "1"}, {"Authorization": "Bearer x"}, None
    )
    assert len(problems) == 4, problems
    assert [p.split(":", 2)[1].strip() for p in problems] == [
        "query parameter 'offset'",
        "query parameter 'limit'",
        "query parameter 'bogus' is not declared for GET /api/v2/buckets",
        "header 'Authorization' must be 'Token <credential>', got scheme 'Bearer'",
    ]


def test_problems_never_echo_the_credential(contract: Contract) -> None:
    problems = contract.check_request("GET", "/api/v2/buckets", None, {"Authorization": "Bearer hunter2"}, None)
    assert problems
    assert not any("hunter2" in p for p in problems)


def test_auth_optional_only_where_listed(contract: Contract) -> None:
    # /health and /ping are served without a token (see AUTH_OPTIONAL_OPERATIONS) ...
    assert contract.check_request("GET", "/health", None, {}, None) == []
    assert contract.check_request("HEAD", "/ping", None, {}, None) == []
    # ... but the v1 write endpoint, also at the root, is not.
    problems = contract.check_request("POST", "/write", {"db": "d"}, {"Content-Type": "text/plain"}, LINE_PROTOCOL)
    assert any("header 'Authorization' is missing" in p for p in problems), problems


# --------------------------------------------------------------------------------- responses

JSON_UTF8 = {"Content-Type": "application/json; charset=utf-8"}


def test_valid_bucket_list_response_passes(contract: Contract) -> None:
    body = _json(
        {
            "links": {"self": "/api/v2/buckets?descending=false&limit=20&offset=0"},
            "buckets": [_bucket(), _bucket(id="1123456789abcdef", name="_monitoring", type="system")],
        }
    )
    assert contract.check_response("GET", "/api/v2/buckets?limit=20", 200, JSON_UTF8, body) == []
    contract.assert_response("GET", "/api/v2/buckets", 200, JSON_UTF8, body)


def test_bucket_without_retention_rules_fails(contract: Contract) -> None:
    bucket = _bucket()
    del bucket["retentionRules"]
    problems = contract.check_response("GET", f"/api/v2/buckets/{BUCKET_ID}", 200, JSON_UTF8, _json(bucket))
    assert problems == [
        f"GET /api/v2/buckets/{BUCKET_ID}: 200 response body #: 'retentionRules' is a required property"
    ]
    with pytest.raises(ContractViolation, match="retentionRules"):
        contract.assert_response("GET", f"/api/v2/buckets/{BUCKET_ID}", 200, JSON_UTF8, _json(bucket))


def test_nested_response_errors_name_the_json_pointer(contract: Contract) -> None:
    body = _json({"buckets": [_bucket(createdAt="yesterday", type="temporary")]})
    problems = contract.check_response("GET", "/api/v2/buckets", 200, JSON_UTF8, body)
    assert sorted(problems) == [
        "GET /api/v2/buckets: 200 response body #/buckets/0/createdAt: 'yesterday' is not a 'date-time'",
        "GET /api/v2/buckets: 200 response body #/buckets/0/type: 'temporary' is not one of ['user', 'system']",
    ]


def test_created_bucket_response(contract: Contract) -> None:
    assert contract.check_response("POST", "/api/v2/buckets", 201, JSON_UTF8, _json(_bucket())) == []
    # The contract declares 201, not 200, for POST /api/v2/buckets.
    # 200 is not declared there, so it falls to `default`, whose body is an Error.
    problems = contract.check_response("POST", "/api/v2/buckets", 200, JSON_UTF8, _json(_bucket()))
    assert problems == ["POST /api/v2/buckets: 200 response body #: 'code' is a required property"]


def test_204_with_body_fails(contract: Contract) -> None:
    path = f"/api/v2/buckets/{BUCKET_ID}"
    assert contract.check_response("DELETE", path, 204, {}, b"") == []
    assert contract.check_response("DELETE", path, 204, {}, None) == []
    problems = contract.check_response("DELETE", path, 204, JSON_UTF8, b"{}")
    assert problems == [f"DELETE {path}: 204 response body must be empty (2 bytes sent)"]


def test_undeclared_status_without_default_fails(contract: Contract) -> None:
    # GET /api/v2/query/suggestions/{name} declares only 200 and 500, no default.
    problems = contract.check_response(
        "GET", "/api/v2/query/suggestions/nope", 404, JSON_UTF8, _json({"code": "not found"})
    )
    assert problems == [
        "GET /api/v2/query/suggestions/nope: status 404 is not declared for "
        "GET /api/v2/query/suggestions/{name} (declared: 200, 500)"
    ]
    # With a default response the same status is accepted when its body is an Error.
    assert contract.check_response("GET", "/api/v2/buckets", 404, JSON_UTF8, _json({"code": "not found"})) == []


def test_error_response_codes_are_checked(contract: Contract) -> None:
    ok = _json({"code": "unauthorized", "message": "unauthorized access"})
    assert contract.check_response("GET", "/api/v2/buckets", 401, JSON_UTF8, ok) == []
    problems = contract.check_response("GET", "/api/v2/buckets", 401, JSON_UTF8, _json({"code": "nope"}))
    assert any("response body #/code: 'nope' is not one of ['unauthorized']" in p for p in problems), problems


def test_response_media_type_must_match(contract: Contract) -> None:
    problems = contract.check_response("GET", "/api/v2/buckets", 200, {"Content-Type": "text/html"}, b"<html/>")
    assert problems == [
        "GET /api/v2/buckets: 200 response Content-Type 'text/html' is not one of the declared media "
        "types (application/json)"
    ]
    problems = contract.check_response("GET", "/api/v2/buckets", 200, {}, b"{}")
    assert problems and "no Content-Type" in problems[0]
    problems = contract.check_response("GET", "/api/v2/buckets", 200, JSON_UTF8, b"")
    assert problems and "response body is empty" in problems[0]


def test_query_csv_response_accepts_text_csv_alias(contract: Contract) -> None:
    csv = b"#datatype,string,long\r\n#group,false,false\r\n#default,_result,\r\n,result,table\r\n,,0\r\n\r\n"
    for content_type in ("application/csv", "text/csv; charset=utf-8"):
        assert contract.check_response("POST", "/api/v2/query", 200, {"Content-Type": content_type}, csv) == []
    gz = {"Content-Type": "text/csv; charset=utf-8", "Content-Encoding": "gzip"}
    assert contract.check_response("POST", "/api/v2/query", 200, gz, gzip.compress(csv)) == []
    # The alias is for the query endpoint's 200 only, and only text/csv.
    problems = contract.check_response("POST", "/api/v2/query", 200, JSON_UTF8, b"{}")
    assert problems and "is not one of the declared media types (application/csv)" in problems[0]
    problems = contract.check_response("GET", "/api/v2/buckets", 200, {"Content-Type": "text/csv"}, b"a\r\n")
    assert problems and "is not one of the declared media types" in problems[0]


def test_write_413_tolerates_oss_code_only(contract: Contract) -> None:
    oss_body = _json({"code": "request too large", "message": "unable to read data: points batch is too large"})
    assert contract.check_response("POST", "/api/v2/write", 413, JSON_UTF8, oss_body) == []
    assert contract.check_response("POST", "/api/v2/write", 413, JSON_UTF8, _json({"code": "invalid", "message": "x"})) == []
    # The tolerance is one value at one pointer: other codes and a missing message still fail ...
    problems = contract.check_response("POST", "/api/v2/write", 413, JSON_UTF8, _json({"code": "conflict"}))
    assert any("#/code: 'conflict' is not one of ['invalid']" in p for p in problems), problems
    assert any("'message' is a required property" in p for p in problems), problems
    # ... and on other statuses "request too large" is judged by the contract as written.
    problems = contract.check_response("POST", "/api/v2/write", 400, JSON_UTF8, oss_body)
    assert any("#/code: 'request too large' is not one of" in p for p in problems), problems


def test_ping_response_headers_not_validated(contract: Contract) -> None:
    headers = {"X-Influxdb-Version": "v2.7.1", "X-Influxdb-Build": "OSS"}
    assert contract.check_response("GET", "/ping", 204, headers, b"") == []
    assert contract.check_response("HEAD", "/ping", 204, headers, b"") == []
    problems = contract.check_response("GET", "/ping", 200, headers, b"")
    assert problems and "status 200 is not declared" in problems[0]


def test_health_response(contract: Contract) -> None:
    healthy = {"name": "influxdb", "message": "ready for queries and writes", "status": "pass",
               "checks": [], "version": "v2.7.1", "commit": "407fa622e9"}
    assert contract.check_response("GET", "/health", 200, JSON_UTF8, _json(healthy)) == []
    problems = contract.check_response("GET", "/health", 503, JSON_UTF8, _json({**healthy, "status": "degraded"}))
    assert problems == [
        "GET /health: 503 response body #/status: 'degraded' is not one of ['pass', 'fail']"
    ]


def test_response_checks_route_like_requests(contract: Contract) -> None:
    problems = contract.check_response("GET", "/api/v2/bucket", 200, JSON_UTF8, b"{}")
    assert problems == ["GET /api/v2/bucket: no path in the contract matches"]
    with pytest.raises(ContractViolation, match="method PUT is not declared"):
        contract.assert_response("PUT", "/api/v2/buckets", 200, JSON_UTF8, b"{}")


def test_ref_siblings_are_ignored(contract: Contract) -> None:
    # DBRPGet.content is {"$ref": DBRP, "required": true}; OAS 3.0 ignores the sibling (a JSON
    # Schema `required` must be a list), so the DBRP schema alone decides.
    dbrp = {"id": "0a3cbb5dd526a000", "orgID": ORG_ID, "bucketID": BUCKET_ID, "database": "db",
            "retention_policy": "autogen", "default": True}
    path = "/api/v2/dbrps/0a3cbb5dd526a000"
    assert contract.check_response("GET", path, 200, JSON_UTF8, _json({"content": dbrp})) == []
    problems = contract.check_response("GET", path, 200, JSON_UTF8, _json({"content": {**dbrp, "default": "yes"}}))
    assert problems == [f"GET {path}: 200 response body #/content/default: 'yes' is not of type 'boolean'"]


@pytest.mark.parametrize(
    ("now", "valid"),
    [
        ("2024-01-31T05:41:24Z", True),
        ("2024-01-31t05:41:24.123456789+05:30", True),
        ("2024-02-29T23:59:60Z", True),  # leap day and leap second are both allowed
        ("2023-02-29T00:00:00Z", False),  # not a leap year
        ("2024-04-31T00:00:00Z", False),
        ("2024-13-01T00:00:00Z", False),
        ("2024-01-31T24:00:00Z", False),
        ("2024-01-31T05:41:24", False),  # RFC 3339 requires an offset
        ("2024-01-31T05:41:24+25:00", False),
        ("1706679684", False),
    ],
)
def test_date_time_format_is_rfc3339(contract: Contract, now: str, valid: bool) -> None:
    problems = contract.check_request("POST", "/api/v2/query", {"org": "o"}, {**AUTH, **JSON}, _json({**QUERY_BODY, "now": now}))
    if valid:
        assert problems == []
    else:
        assert problems == [f"POST /api/v2/query: request body #/now: {now!r} is not a 'date-time'"]


@pytest.mark.parametrize("body, ok", [
    ({"results": [{"statement_id": 0, "series": [{"name": "m", "columns": ["time", "v"], "values": [[1, 2]]}]}]}, True),
    ({"results": [{"statement_id": 0}]}, True),  # what 1.x answers to CREATE DATABASE
    ({"results": [{"statement_id": 0, "error": "database not found: x"}]}, True),
    ({"results": [{"statement_id": "zero", "series": []}]}, False),
    ({"results": [{"statement_id": 0, "series": [{"name": 7}]}]}, False),
])
def test_influxql_answers_are_checked_without_the_array_level_one_of(contract: Contract, body, ok) -> None:
    problems = contract.check_response("GET", "/query", 200, {"Content-Type": "application/json"},
                                       json.dumps(body).encode())
    assert (problems == []) is ok, problems
