"""``POST /api/v2/delete`` on the sandbox, over real loopback sockets.

Messages are InfluxDB 2.x's (http/delete_handler.go, predicate/parser.go); the predicate rules
are the documented ones for OSS ("Delete predicate syntax"): ``key="value"`` comparisons joined
with AND, on ``_measurement`` and tags; no OR, no regular expressions, no ``!=``, and no
``_time``/``_value``/``_field``. The time range includes both ``start`` and ``stop``.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from influx_connector.sandbox import Sandbox

from .conftest import BUCKET, ORG, assert_contract_kept
from .helpers import TOKEN as CONFTEST_TOKEN

TOKEN = "delete-token"
AUTH = {"Authorization": f"Token {TOKEN}"}
JSON_ERROR_TYPE = "application/json; charset=utf-8"
JSON_PREFIX = "invalid request; error parsing request json: "

T0 = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z
SECOND = 1_000_000_000
POINTS = (
    f"cpu,host=a,region=eu v=1 {T0}\n"
    f"cpu,host=a,region=eu v=2 {T0 + SECOND}\n"
    f"cpu,host=a,region=eu v=3 {T0 + 2 * SECOND}\n"
    f"cpu,host=b v=4 {T0 + SECOND}\n"
    f"mem,host=a free=5i,used=6i {T0 + SECOND}\n"
    f'weird\\ m,tag\\ k=x\\ y v=7 {T0 + SECOND}\n'
)


@pytest.fixture
def seeded_sandbox(make_sandbox) -> Callable[..., Sandbox]:
    """Sandboxes (answers checked against the contract) holding POINTS in acme/metrics."""

    def make(**options: Any) -> Sandbox:
        sb = make_sandbox(**{"token": TOKEN, "org": "acme", "bucket": "metrics", **options})
        resp = requests.post(sb.url + "/api/v2/write", params={"org": "acme", "bucket": "metrics"}, data=POINTS,
                             headers=AUTH, timeout=10)
        assert resp.status_code == 204, resp.text
        return sb

    return make


@pytest.fixture
def sb(seeded_sandbox) -> Sandbox:
    return seeded_sandbox()


def delete(sb: Sandbox, body: Any, *, raw: bytes | None = None, headers: dict[str, str] | None = None,
           **params: str | None) -> requests.Response:
    query = {"org": "acme", "bucket": "metrics", **params}
    query = {k: v for k, v in query.items() if v is not None}
    if raw is not None:
        return requests.post(sb.url + "/api/v2/delete", params=query, data=raw,
                             headers={**AUTH, "Content-Type": "application/json", **(headers or {})}, timeout=10)
    return requests.post(sb.url + "/api/v2/delete", params=query, json=body, headers={**AUTH, **(headers or {})},
                         timeout=10)


def body(start: str = "2023-11-14T22:13:20Z", stop: str = "2023-11-14T22:13:22Z", predicate: str | None = None) -> dict[str, str]:
    out = {"start": start, "stop": stop}
    if predicate is not None:
        out["predicate"] = predicate
    return out


def remaining(sb: Sandbox) -> list[tuple[str, dict[str, str], str, Any, int]]:
    """What is left in the bucket: (measurement, tags, field, value, seconds after T0)."""
    bucket = sb.store.find_bucket("metrics")
    assert bucket is not None
    return [(p.measurement, dict(p.tags), p.field, p.value, (p.time - T0) // SECOND) for p in bucket.points()]


def values_left(sb: Sandbox) -> list[Any]:
    return sorted(v for _, _, _, v, _ in remaining(sb))


def assert_error(resp: requests.Response, status: int, code: str, message: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"] == JSON_ERROR_TYPE
    assert resp.json() == {"code": code, "message": message}


# --- what is deleted ---------------------------------------------------------------------------------


def test_without_a_predicate_the_whole_range_goes(sb):
    resp = delete(sb, body("2023-11-14T22:13:21Z", "2023-11-14T22:13:21Z"))
    assert resp.status_code == 204
    assert resp.content == b""
    assert values_left(sb) == [1, 3]  # only what was exactly at 22:13:21 went: start and stop both count


def test_start_and_stop_are_both_inclusive(sb):
    assert delete(sb, body("2023-11-14T22:13:20Z", "2023-11-14T22:13:22Z", '_measurement="cpu"')).status_code == 204
    assert [r for r in remaining(sb) if r[0] == "cpu"] == []
    assert delete(sb, body("2023-11-14T22:13:21.000000001Z", "2023-11-14T22:13:22Z")).status_code == 204
    assert values_left(sb) == [5, 6, 7]  # at 22:13:21, one nanosecond before the range


def test_an_empty_or_blank_predicate_matches_everything(sb):
    assert delete(sb, body(predicate="")).status_code == 204
    assert delete(sb, body(predicate="   ")).status_code == 204
    assert remaining(sb) == []


def test_delete_by_measurement(sb):
    assert delete(sb, body(predicate='_measurement="mem"')).status_code == 204
    assert values_left(sb) == [1, 2, 3, 4, 7]


def test_delete_by_tag_and_measurement(sb):
    assert delete(sb, body(predicate='_measurement="cpu" AND host="a"')).status_code == 204
    assert values_left(sb) == [4, 5, 6, 7]


@pytest.mark.parametrize(
    "predicate",
    [
        'host="a" and region="eu"',
        'host="a" AnD region="eu"',
        '(host="a") and (region="eu")',
        'host=a and (region="eu" AND _measurement="cpu")',
        '"host"="a" and region = eu',
    ],
)
def test_and_in_any_case_with_parentheses_and_quoting(sb, predicate):
    assert delete(sb, body(predicate=predicate)).status_code == 204
    assert values_left(sb) == [4, 5, 6, 7]


def test_a_missing_tag_compares_as_empty(sb):
    assert delete(sb, body(predicate='region=""')).status_code == 204
    assert values_left(sb) == [1, 2, 3]  # everything without a region tag went


def test_escaped_names_and_values(sb):
    assert delete(sb, body(predicate='_measurement="weird m" and "tag k"="x y"')).status_code == 204
    assert values_left(sb) == [1, 2, 3, 4, 5, 6]


def test_a_predicate_that_matches_nothing_deletes_nothing(sb):
    assert delete(sb, body(predicate='host="zzz"')).status_code == 204
    assert values_left(sb) == [1, 2, 3, 4, 5, 6, 7]


def test_emptied_series_leave_the_schema(sb):
    assert delete(sb, body(predicate='_measurement="mem"')).status_code == 204
    resp = requests.get(sb.url + "/query", params={"db": "metrics", "q": "SHOW MEASUREMENTS"}, headers=AUTH, timeout=10)
    assert resp.json()["results"][0]["series"][0]["values"] == [["cpu"], ["weird m"]]


def test_other_buckets_are_untouched(sb):
    other = sb.store.add_bucket(sb.org.id, "other")
    resp = requests.post(sb.url + "/api/v2/write", params={"org": "acme", "bucket": "other"}, data=f"cpu v=9 {T0}",
                         headers=AUTH, timeout=10)
    assert resp.status_code == 204
    assert delete(sb, body()).status_code == 204
    assert [p.value for p in other.points()] == [9.0]


def test_org_and_bucket_by_id_and_bucket_id_wins(sb):
    bucket = sb.store.find_bucket("metrics")
    resp = delete(sb, body(predicate='host="b"'), org=None, orgID=sb.org.id, bucket="nope", bucketID=bucket.id)
    assert resp.status_code == 204
    assert values_left(sb) == [1, 2, 3, 5, 6, 7]
    resp = delete(sb, body(predicate='_measurement="mem"'), org=sb.org.id, bucket=bucket.id)  # IDs in org/bucket
    assert resp.status_code == 204
    assert values_left(sb) == [1, 2, 3, 7]


def test_org_and_org_id_may_both_be_given_when_they_agree(sb):
    assert delete(sb, body(), orgID=sb.org.id).status_code == 204
    assert remaining(sb) == []


# --- predicate errors -------------------------------------------------------------------------------------

PREDICATE_ERRORS = [
    ('host="a" or host="b"', "the logical operator OR is not supported yet at position 9"),
    ('tag1="v1" and (tag2="v2" or tag3="v3")', "the logical operator OR is not supported yet at position 25"),
    (' abc="opq" Or gender="male"', "the logical operator OR is not supported yet at position 11"),
    (' abc != "opq"', 'operator: "!=" at position: 5 is not supported yet'),
    ('abc<>"opq"', 'operator: "!=" at position: 3 is not supported yet'),
    ("abc=~/^payments/", 'operator: "=~" at position: 3 is not supported yet'),
    ("abc!~/^payments/", 'operator: "!~" at position: 3 is not supported yet'),
    ("abc>1000", 'invalid operator ">" at position: 3'),
    ('(t1="v1" and t2="v2"', "extra ( seen"),
    ('t1="v1" and t2="v2")', "extra ) seen"),
    ("host='a'", 'bad tag value: "a", at position 5'),
    ("host=", 'bad tag value: "", at position 5'),
    ('host="a" region="b"', "bad logical expression, at position 9"),
    ('="a"', "bad logical expression, at position 0"),
    ('select="a"', "bad logical expression, at position 0"),
]


@pytest.mark.parametrize("predicate, message", PREDICATE_ERRORS, ids=[p for p, _ in PREDICATE_ERRORS])
def test_unsupported_predicates_are_400_and_delete_nothing(sb, predicate, message):
    assert_error(delete(sb, body(predicate=predicate)), 400, "invalid", JSON_PREFIX + message)
    assert values_left(sb) == [1, 2, 3, 4, 5, 6, 7]


@pytest.mark.parametrize("key", ["_field", "_time", "_value"])
def test_field_time_and_value_cannot_be_used(sb, key):
    # The OSS docs: "InfluxDB 2.x does not support deleting data by field" (and never by _time or
    # _value). A real OSS server accepts _field and then deletes nothing (influxdb#22415); the
    # sandbox says so instead of succeeding silently.
    resp = delete(sb, body(predicate=f'_measurement="cpu" AND {key}="v"'))
    assert_error(resp, 400, "invalid",
                 f"invalid request; error parsing predicate: {key} cannot be used in a delete predicate: "
                 "InfluxDB OSS deletes by time range, _measurement and tags only")
    assert values_left(sb) == [1, 2, 3, 4, 5, 6, 7]


# --- body errors ------------------------------------------------------------------------------------------

START_FORMAT = ("invalid RFC3339Nano for field start, please format your time with RFC3339Nano format, "
                "example: 2009-01-02T23:00:00Z")
STOP_FORMAT = ("invalid RFC3339Nano for field stop, please format your time with RFC3339Nano format, "
               "example: 2009-01-01T23:00:00Z")


@pytest.mark.parametrize(
    "payload, message",
    [
        ({}, START_FORMAT),
        ({"stop": "2023-11-14T22:13:22Z"}, START_FORMAT),
        ({"start": "2023-11-14T22:13:20Z"}, STOP_FORMAT),
        ({"start": "yesterday", "stop": "2023-11-14T22:13:22Z"}, START_FORMAT),
        ({"start": "2023-11-14T22:13:20Z", "stop": "2023-02-30T00:00:00Z"}, STOP_FORMAT),
        ({"start": "1600-01-01T00:00:00Z", "stop": "2023-11-14T22:13:22Z"},
         "invalid start time, start time must not be before 1677-09-21T00:12:43.145224194Z"),
        ({"start": "2023-11-14T22:13:20Z", "stop": "2300-01-01T00:00:00Z"},
         "invalid stop time, stop time must not be after 2262-04-11T23:47:16.854775806Z"),
        ({"start": 1700000000, "stop": "2023-11-14T22:13:22Z"},
         "json: cannot unmarshal number into Go struct field deleteRequestDecode.start of type string"),
        ({"start": "2023-11-14T22:13:20Z", "stop": "2023-11-14T22:13:22Z", "predicate": 1},
         "json: cannot unmarshal number into Go struct field deleteRequestDecode.predicate of type string"),
    ],
)
def test_body_errors_are_400(sb, payload, message):
    assert_error(delete(sb, payload), 400, "invalid", JSON_PREFIX + message)


def test_start_after_stop_is_400(sb):
    resp = delete(sb, body("2023-11-14T22:13:22Z", "2023-11-14T22:13:20Z"))
    assert_error(resp, 400, "invalid",
                 "invalid request; start time 2023-11-14T22:13:22Z must not be after stop time 2023-11-14T22:13:20Z")
    assert values_left(sb) == [1, 2, 3, 4, 5, 6, 7]


@pytest.mark.parametrize("raw, detail", [(b"", "EOF"), (b"[1]", "json: cannot unmarshal array into a delete request object")])
def test_a_body_that_is_no_json_object_is_400(sb, raw, detail):
    assert_error(delete(sb, None, raw=raw), 400, "invalid", JSON_PREFIX + detail)


def test_malformed_json_is_400(sb):
    resp = delete(sb, None, raw=b'{"start": ')
    assert resp.status_code == 400
    assert resp.json()["message"].startswith(JSON_PREFIX + "invalid JSON: ")


def test_offsets_and_fractions_are_read_as_rfc3339(sb):
    # 22:13:21 UTC written as 23:13:21+01:00, and a stop with nanoseconds.
    assert delete(sb, body("2023-11-14T23:13:21+01:00", "2023-11-14T22:13:21.000000000Z")).status_code == 204
    assert values_left(sb) == [1, 3]


# --- org and bucket errors ------------------------------------------------------------------------------


def test_org_errors(sb):
    assert_error(delete(sb, body(), org=None), 400, "invalid", "Please provide either orgID or org")
    assert_error(delete(sb, body(), org="nope"), 404, "not found", 'organization name "nope" not found')
    assert_error(delete(sb, body(), org=None, orgID="0123456789abcdef"), 404, "not found", "organization not found")
    assert_error(delete(sb, body(), org=None, orgID="xyz"), 400, "invalid", "id must have a length of 16 bytes")
    # Both given: both must be valid, and name the same organization.
    assert_error(delete(sb, body(), orgID="0123456789abcdef"), 404, "not found", "organization not found")
    assert_error(delete(sb, body(), org="nope", orgID=sb.org.id), 404, "not found", 'organization name "nope" not found')
    assert values_left(sb) == [1, 2, 3, 4, 5, 6, 7]


def test_bucket_errors(seeded_sandbox):
    sb = seeded_sandbox(extra_orgs=("other",))
    other_org = next(o for o in sb.store.orgs.values() if o.name == "other")
    foreign = sb.store.add_bucket(other_org.id, "elsewhere")
    assert_error(delete(sb, body(), bucket=None), 400, "invalid", "Please provide either bucketID or bucket")
    assert_error(delete(sb, body(), bucket="nope"), 404, "not found", 'bucket "nope" not found')
    assert_error(delete(sb, body(), bucket=None, bucketID="0123456789abcdef"), 404, "not found", "bucket not found")
    assert_error(delete(sb, body(), bucketID="nothex"), 400, "invalid", "id must have a length of 16 bytes")
    assert_error(delete(sb, body(), bucket=None, bucketID=foreign.id), 404, "not found", "bucket not found")
    assert_error(delete(sb, body(), bucket=foreign.name), 404, "not found", 'bucket "elsewhere" not found')
    assert values_left(sb) == [1, 2, 3, 4, 5, 6, 7]


def test_the_body_is_checked_before_the_org_and_bucket(sb):
    resp = delete(sb, {}, org="nope", bucket="nope")
    assert_error(resp, 400, "invalid", JSON_PREFIX + START_FORMAT)


def test_a_token_is_needed(sb):
    resp = requests.post(sb.url + "/api/v2/delete", params={"org": "acme", "bucket": "metrics"}, json=body(), timeout=10)
    assert_error(resp, 401, "unauthorized", "unauthorized access")
    assert values_left(sb) == [1, 2, 3, 4, 5, 6, 7]


@pytest.mark.off_contract
def test_only_post_is_allowed(sb):
    resp = requests.get(sb.url + "/api/v2/delete", headers=AUTH, timeout=10)
    assert_error(resp, 405, "method not allowed", "allow: POST")


def test_a_well_formed_delete_keeps_the_request_contract_too(sandbox):
    # The conftest fixture checks requests as well as answers.
    resp = requests.post(sandbox.url + "/api/v2/delete", params={"org": ORG, "bucket": BUCKET},
                         json={"start": "2023-01-01T00:00:00Z", "stop": "2024-01-01T00:00:00Z",
                               "predicate": '_measurement="cpu" AND host="a"'},
                         headers={"Authorization": f"Token {CONFTEST_TOKEN}"}, timeout=10)
    assert resp.status_code == 204
    assert_contract_kept(sandbox)
