"""The sandbox server over a real loopback socket, driven with ``requests``.

Statuses and bodies are the real OSS server's.
"""
from __future__ import annotations

import gzip
import http.client
import json
import socket
import sys
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from influx_connector.sandbox import RecordedRequest, RecordedResponse, Sandbox
from influx_connector.sandbox.server.endpoints.query import FLUX_MODULE
from influx_connector.sandbox.server.parsing import parse_rfc3339_ns

TOKEN = "sandbox-token"
JSON_TYPE = "application/json; charset=utf-8"


@pytest.fixture
def sandbox(make_sandbox) -> Sandbox:
    return make_sandbox(extra_tokens=("second-token",))


@pytest.fixture
def api() -> Iterator[requests.Session]:
    session = requests.Session()
    session.headers["Authorization"] = f"Token {TOKEN}"
    yield session
    session.close()


def url(sb: Sandbox, path: str) -> str:
    return sb.url + path


def assert_error(resp: requests.Response, status: int, code: str, message: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"] == JSON_TYPE
    assert resp.headers["X-Platform-Error-Code"] == code
    assert resp.json() == {"code": code, "message": message}


def write(api: requests.Session, sb: Sandbox, body: str | bytes, **params: str) -> requests.Response:
    params = {"org": sb.org.name, "bucket": sb.bucket.name, **params}
    return api.post(url(sb, "/api/v2/write"), params=params, data=body)


def values(sb: Sandbox, bucket=None) -> list[tuple[str, Any, int]]:
    return [(p.field, p.value, p.time) for p in (bucket or sb.bucket).points()]


# --- health, ping, auth, routing -----------------------------------------------------------------


def test_health_needs_no_token(sandbox):
    resp = requests.get(url(sandbox, "/health"))
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == JSON_TYPE
    assert resp.json() == {
        "name": "influxdb",
        "message": "ready for queries and writes",
        "status": "pass",
        "checks": [],
        "version": "v2.7.0-sandbox",
        "commit": "sandbox",
    }


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_ping(sandbox, method):
    resp = requests.request(method, url(sandbox, "/ping"))
    assert resp.status_code == 204
    assert resp.content == b""
    assert resp.headers["X-Influxdb-Build"] == "OSS"
    assert resp.headers["X-Influxdb-Version"] == "v2.7.0-sandbox"
    assert "Content-Length" not in resp.headers


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Token wrong"}, {"Authorization": f"token {TOKEN}"}, {"Authorization": f"Bearer {TOKEN}"}],
)
def test_missing_or_wrong_token_is_401(sandbox, headers):
    resp = requests.get(url(sandbox, "/api/v2/buckets"), headers=headers)
    assert_error(resp, 401, "unauthorized", "unauthorized access")


def test_extra_tokens_are_accepted(sandbox):
    resp = requests.get(url(sandbox, "/api/v2/orgs"), headers={"Authorization": "Token second-token"})
    assert resp.status_code == 200


@pytest.mark.off_contract
def test_unknown_path_is_404_after_auth(sandbox, api):
    assert_error(api.get(url(sandbox, "/api/v2/nope")), 404, "not found", "path not found")
    assert requests.get(url(sandbox, "/api/v2/nope")).status_code == 401


@pytest.mark.off_contract
def test_wrong_method_is_405_with_allow(sandbox, api):
    resp = api.put(url(sandbox, "/api/v2/buckets"))
    assert_error(resp, 405, "method not allowed", "allow: GET, POST")
    assert resp.headers["Allow"] == "GET, POST"
    assert_error(api.get(url(sandbox, "/api/v2/write")), 405, "method not allowed", "allow: POST")


def test_keep_alive_serves_several_requests_on_one_connection(sandbox):
    parts = urlsplit(sandbox.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        for _ in range(3):
            conn.request("GET", "/api/v2/orgs", headers={"Authorization": f"Token {TOKEN}"})
            resp = conn.getresponse()
            assert resp.status == 200
            assert resp.version == 11
            assert resp.read()
        sock_id = id(conn.sock)
        conn.request("GET", "/ping")
        conn.getresponse().read()
        assert id(conn.sock) == sock_id  # still the same socket: nothing was reconnected
    finally:
        conn.close()


# --- orgs ----------------------------------------------------------------------------------------


def test_list_orgs(sandbox, api):
    resp = api.get(url(sandbox, "/api/v2/orgs"))
    assert resp.status_code == 200
    body = resp.json()
    assert body["links"] == {"self": "/api/v2/orgs"}
    [org] = body["orgs"]
    assert (org["id"], org["name"]) == (sandbox.org.id, "sandbox-org")
    assert {"description", "createdAt", "updatedAt", "links"} <= set(org)
    assert org["links"]["self"] == f"/api/v2/orgs/{sandbox.org.id}"


def test_org_lookup_by_name_and_id(sandbox, api):
    by_name = api.get(url(sandbox, "/api/v2/orgs"), params={"org": "sandbox-org"}).json()
    assert by_name["orgs"][0]["id"] == sandbox.org.id
    by_id = api.get(url(sandbox, "/api/v2/orgs"), params={"orgID": sandbox.org.id}).json()
    assert by_id["orgs"][0]["name"] == "sandbox-org"
    single = api.get(url(sandbox, f"/api/v2/orgs/{sandbox.org.id}"))
    assert single.json()["name"] == "sandbox-org"


def test_org_errors(sandbox, api):
    orgs = url(sandbox, "/api/v2/orgs")
    assert_error(api.get(orgs, params={"org": "x"}), 404, "not found", 'organization name "x" not found')
    assert_error(api.get(orgs, params={"orgID": "0123456789abcdef"}), 404, "not found", "organization not found")
    assert_error(api.get(orgs, params={"orgID": "short"}), 400, "invalid", "id must have a length of 16 bytes")
    assert_error(api.get(orgs, params={"limit": "0"}), 400, "invalid", "limit must be between 1 and 100")
    assert_error(api.get(url(sandbox, "/api/v2/orgs/0123456789abcdef")), 404, "not found", "organization not found")


def test_configured_org_id_is_used(make_sandbox):
    sb = make_sandbox(org="acme", org_id="00000000000000aa", bucket=None)
    assert sb.org.id == "00000000000000aa"
    assert sb.bucket is None
    resp = requests.get(sb.url + "/api/v2/buckets", headers={"Authorization": f"Token {TOKEN}"})
    assert {b["name"] for b in resp.json()["buckets"]} == {"_monitoring", "_tasks"}


# --- bucket listing ------------------------------------------------------------------------------


def test_list_buckets_includes_system_buckets_with_full_shape(sandbox, api):
    resp = api.get(url(sandbox, "/api/v2/buckets"))
    assert resp.status_code == 200
    body = resp.json()
    assert body["links"] == {"self": "/api/v2/buckets?descending=false&limit=20&offset=0"}
    by_name = {b["name"]: b for b in body["buckets"]}
    assert set(by_name) == {"sandbox-bucket", "_monitoring", "_tasks"}
    assert [b["id"] for b in body["buckets"]] == sorted(b["id"] for b in body["buckets"])
    monitoring, tasks, user = by_name["_monitoring"], by_name["_tasks"], by_name["sandbox-bucket"]
    assert (monitoring["type"], tasks["type"], user["type"]) == ("system", "system", "user")
    assert monitoring["retentionRules"] == [{"type": "expire", "everySeconds": 604800, "shardGroupDurationSeconds": 86400}]
    assert tasks["retentionRules"][0]["everySeconds"] == 259200
    bid, oid = sandbox.bucket.id, sandbox.org.id
    assert user == {
        "id": bid,
        "orgID": oid,
        "type": "user",
        "name": "sandbox-bucket",
        "description": "",
        "rp": "0",
        "schemaType": "implicit",
        "createdAt": user["createdAt"],
        "updatedAt": user["updatedAt"],
        "retentionRules": [],
        "labels": [],
        "links": {
            "self": f"/api/v2/buckets/{bid}",
            "org": f"/api/v2/orgs/{oid}",
            "members": f"/api/v2/buckets/{bid}/members",
            "owners": f"/api/v2/buckets/{bid}/owners",
            "labels": f"/api/v2/buckets/{bid}/labels",
            "write": f"/api/v2/write?org={oid}&bucket={bid}",
        },
    }
    assert user["createdAt"].endswith("Z")


def make_buckets(sb: Sandbox, count: int) -> set[str]:
    return {sb.store.add_bucket(sb.org.id, f"b{i}").id for i in range(count)}


def follow(api: requests.Session, sb: Sandbox, first: str) -> tuple[list[str], list[dict[str, str]]]:
    """Walk links.next from ``first``; return every bucket ID seen and every page's links."""
    ids: list[str] = []
    pages: list[dict[str, str]] = []
    link: str | None = first
    while link:
        resp = api.get(url(sb, link))
        assert resp.status_code == 200, resp.text
        body = resp.json()
        ids += [b["id"] for b in body["buckets"]]
        pages.append(body["links"])
        link = body["links"].get("next")
        assert len(pages) < 20, "paging does not terminate"
    return ids, pages


def test_offset_paging_follows_next_to_the_end(sandbox, api):
    expected = make_buckets(sandbox, 7) | set(sandbox.store.buckets)
    ids, pages = follow(api, sandbox, "/api/v2/buckets?limit=3")
    assert ids == sorted(expected)  # every bucket once, in ID order
    assert len(pages) == 4  # 10 buckets in pages of 3
    assert pages[0]["self"] == "/api/v2/buckets?descending=false&limit=3&offset=0"
    assert pages[0]["next"] == "/api/v2/buckets?descending=false&limit=3&offset=3"
    assert "prev" not in pages[0]
    assert pages[1]["prev"] == "/api/v2/buckets?descending=false&limit=3&offset=0"
    assert "next" not in pages[-1]


def test_exactly_full_last_page_has_no_next(sandbox, api):
    make_buckets(sandbox, 3)  # 6 buckets with the sandbox's three
    ids, pages = follow(api, sandbox, "/api/v2/buckets?limit=3")
    assert len(ids) == 6 and len(pages) == 2


def test_after_paging_follows_next_to_the_end(sandbox, api):
    everything = sorted(make_buckets(sandbox, 5) | set(sandbox.store.buckets))
    start = everything[1]
    ids, pages = follow(api, sandbox, f"/api/v2/buckets?limit=2&after={start}")
    assert ids == everything[2:]
    assert pages[0]["next"] == f"/api/v2/buckets?after={ids[1]}&descending=false&limit=2&offset=0"


def test_paging_keeps_filters_in_links(sandbox, api):
    make_buckets(sandbox, 4)
    ids, pages = follow(api, sandbox, f"/api/v2/buckets?orgID={sandbox.org.id}&limit=2")
    assert len(ids) == 7
    assert all(f"orgID={sandbox.org.id}" in p["self"] for p in pages)
    assert f"orgID={sandbox.org.id}" in pages[0]["next"]


def test_descending_listing(sandbox, api):
    body = api.get(url(sandbox, "/api/v2/buckets"), params={"descending": "true"}).json()
    ids = [b["id"] for b in body["buckets"]]
    assert ids == sorted(ids, reverse=True)
    assert body["links"]["self"] == "/api/v2/buckets?descending=true&limit=20&offset=0"


def test_bucket_list_filters(sandbox, api):
    other_org = sandbox.store.add_org("other")
    sandbox.store.add_bucket(other_org.id, "sandbox-bucket")
    buckets = url(sandbox, "/api/v2/buckets")

    def names(**params: str) -> list[tuple[str, str]]:
        resp = api.get(buckets, params=params)
        assert resp.status_code == 200, resp.text
        return sorted((b["name"], b["orgID"]) for b in resp.json()["buckets"])

    assert names(name="sandbox-bucket") == sorted([("sandbox-bucket", sandbox.org.id), ("sandbox-bucket", other_org.id)])
    assert names(org="other") == [("sandbox-bucket", other_org.id)]
    assert names(org=other_org.id) == [("sandbox-bucket", other_org.id)]  # org takes an ID too
    assert names(orgID=sandbox.org.id, name="_tasks") == [("_tasks", sandbox.org.id)]
    assert names(id=sandbox.bucket.id) == [("sandbox-bucket", sandbox.org.id)]
    assert names(name="missing") == []


def test_bucket_list_errors(sandbox, api):
    buckets = url(sandbox, "/api/v2/buckets")
    assert_error(api.get(buckets, params={"org": "nope"}), 404, "not found", 'organization name "nope" not found')
    assert_error(api.get(buckets, params={"orgID": "0123456789abcdef"}), 404, "not found", "organization not found")
    for limit in ("0", "101", "abc"):
        assert_error(api.get(buckets, params={"limit": limit}), 400, "invalid", "limit must be between 1 and 100")
    assert_error(api.get(buckets, params={"offset": "-1"}), 400, "invalid", "offset must be greater than or equal to 0")
    assert_error(api.get(buckets, params={"after": "xyz"}), 400, "invalid", "id must have a length of 16 bytes")
    assert_error(api.get(buckets, params={"descending": "maybe"}), 400, "invalid", "descending must be true or false")


# --- bucket create / read / update / delete ------------------------------------------------------


def create(api: requests.Session, sb: Sandbox, **body: Any) -> requests.Response:
    return api.post(url(sb, "/api/v2/buckets"), json={"orgID": sb.org.id, **body})


def test_create_bucket(sandbox, api):
    resp = create(
        api, sandbox, name="metrics", description="d", rp="autogen",
        retentionRules=[{"type": "expire", "everySeconds": 86400}],
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert (body["name"], body["description"], body["rp"], body["orgID"], body["type"]) == (
        "metrics", "d", "autogen", sandbox.org.id, "user",
    )
    assert body["retentionRules"] == [{"type": "expire", "everySeconds": 86400, "shardGroupDurationSeconds": 3600}]
    stored = sandbox.store.buckets[body["id"]]
    assert (stored.name, stored.retention_seconds) == ("metrics", 86400)
    fetched = api.get(url(sandbox, f"/api/v2/buckets/{body['id']}"))
    assert fetched.status_code == 200 and fetched.json() == body


def test_create_bucket_without_retention_keeps_forever(sandbox, api):
    resp = create(api, sandbox, name="forever", retentionRules=[])
    assert resp.status_code == 201
    assert resp.json()["retentionRules"] == []
    assert create(api, sandbox, name="forever2").json()["retentionRules"] == []


def test_create_bucket_explicit_shard_group(sandbox, api):
    rules = [{"everySeconds": 7200, "shardGroupDurationSeconds": 1800}]
    assert create(api, sandbox, name="x", retentionRules=rules).json()["retentionRules"] == [
        {"type": "expire", "everySeconds": 7200, "shardGroupDurationSeconds": 1800}
    ]


def test_create_bucket_errors(sandbox, api):
    buckets = url(sandbox, "/api/v2/buckets")
    resp = api.post(buckets, data="{not json", headers={"Content-Type": "application/json"})
    assert resp.status_code == 400 and resp.json()["code"] == "invalid"
    assert resp.json()["message"].startswith("failed to decode request body")
    assert_error(api.post(buckets, json=["a"]), 400, "invalid", "failed to decode request body: expected a JSON object")
    assert_error(api.post(buckets, json={"name": "x"}), 400, "invalid", "organization id must be provided")
    assert_error(create(api, sandbox), 400, "invalid", "bucket name is required")
    assert_error(create(api, sandbox, name=5), 400, "invalid", "failed to decode request body: name must be a string")
    assert_error(
        api.post(buckets, json={"orgID": "0123456789abcdef", "name": "x"}), 404, "not found", "organization not found"
    )
    assert_error(api.post(buckets, json={"orgID": "bad", "name": "x"}), 400, "invalid", "id must have a length of 16 bytes")
    assert_error(
        create(api, sandbox, name="sandbox-bucket"), 422, "conflict", "bucket with name sandbox-bucket already exists"
    )
    assert_error(
        create(api, sandbox, name="_mine"), 400, "invalid",
        "bucket name _mine is invalid. Buckets may not start with underscore",
    )


def test_create_bucket_retention_errors(sandbox, api):
    def rules(**rule: Any) -> requests.Response:
        return create(api, sandbox, name="r", retentionRules=[rule])

    assert_error(
        rules(everySeconds=-1), 422, "unprocessable entity", "expiration seconds must be greater than or equal to 0"
    )
    assert_error(
        rules(everySeconds=60), 422, "unprocessable entity", "expiration seconds must be greater than or equal to one hour"
    )
    assert_error(rules(type="keep", everySeconds=3600), 400, "invalid", 'retention rule type must be "expire"')
    assert_error(rules(everySeconds="1h"), 400, "invalid", "failed to decode request body: everySeconds must be an integer")
    assert "r" not in {b.name for b in sandbox.store.buckets.values()}


def test_bucket_id_errors(sandbox, api):
    for method in ("GET", "PATCH", "DELETE"):
        resp = api.request(method, url(sandbox, "/api/v2/buckets/not-an-id"), json={})
        assert_error(resp, 400, "invalid", "id must have a length of 16 bytes")
        resp = api.request(method, url(sandbox, "/api/v2/buckets/0123456789abcdef"), json={})
        assert_error(resp, 404, "not found", "bucket not found")


def test_patch_bucket(sandbox, api):
    bid = sandbox.bucket.id
    resp = api.patch(
        url(sandbox, f"/api/v2/buckets/{bid}"),
        json={"name": "renamed", "description": "new", "retentionRules": [{"type": "expire", "everySeconds": 3600}]},
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["id"], body["name"], body["description"]) == (bid, "renamed", "new")
    assert body["retentionRules"] == [{"type": "expire", "everySeconds": 3600, "shardGroupDurationSeconds": 3600}]
    assert sandbox.bucket.name == "renamed"
    cleared = api.patch(url(sandbox, f"/api/v2/buckets/{bid}"), json={"retentionRules": []}).json()
    assert (cleared["retentionRules"], cleared["name"]) == ([], "renamed")


def test_patch_bucket_errors(sandbox, api):
    create(api, sandbox, name="taken")
    target = url(sandbox, f"/api/v2/buckets/{sandbox.bucket.id}")
    assert_error(api.patch(target, json={"name": "taken"}), 422, "conflict", "bucket name is not unique")
    resp = api.patch(target, data="nope")
    assert resp.status_code == 400 and resp.json()["code"] == "invalid"
    system = next(b for b in sandbox.store.buckets.values() if b.name == "_tasks")
    assert_error(
        api.patch(url(sandbox, f"/api/v2/buckets/{system.id}"), json={"name": "tasks"}),
        400, "invalid", "system buckets cannot be renamed",
    )
    assert sandbox.bucket.name == "sandbox-bucket" and system.name == "_tasks"


def test_delete_bucket(sandbox, api):
    bid = sandbox.bucket.id
    resp = api.delete(url(sandbox, f"/api/v2/buckets/{bid}"))
    assert resp.status_code == 204
    assert resp.content == b""
    assert bid not in sandbox.store.buckets
    assert_error(api.get(url(sandbox, f"/api/v2/buckets/{bid}")), 404, "not found", "bucket not found")


def test_system_buckets_cannot_be_deleted(sandbox, api):
    system = next(b for b in sandbox.store.buckets.values() if b.name == "_monitoring")
    resp = api.delete(url(sandbox, f"/api/v2/buckets/{system.id}"))
    assert_error(resp, 400, "invalid", "system buckets cannot be deleted")
    assert system.id in sandbox.store.buckets


@pytest.mark.off_contract
def test_trailing_slash_redirects(sandbox, api):
    resp = api.get(url(sandbox, "/api/v2/buckets/?limit=5"), allow_redirects=False)
    assert resp.status_code == 301
    assert resp.headers["Location"] == "/api/v2/buckets?limit=5"
    assert resp.headers["Content-Type"].startswith("text/html")


# --- write ---------------------------------------------------------------------------------------


def test_write_stores_points(sandbox, api):
    resp = write(api, sandbox, "cpu,host=a usage=1.5,count=2i 1000\ncpu,host=b usage=3 2000\n")
    assert resp.status_code == 204, resp.text
    assert resp.content == b""
    points = sandbox.bucket.points()
    assert [(p.measurement, p.tags, p.field, p.type, p.value, p.time) for p in points] == [
        ("cpu", (("host", "a"),), "count", "long", 2, 1000),
        ("cpu", (("host", "a"),), "usage", "double", 1.5, 1000),
        ("cpu", (("host", "b"),), "usage", "double", 3.0, 2000),
    ]


def test_write_without_timestamp_uses_server_time(sandbox, api):
    before = parse_rfc3339_ns("2000-01-01T00:00:00Z")
    assert write(api, sandbox, "m f=1").status_code == 204
    [(_, _, when)] = values(sandbox)
    assert when > before


def test_write_precision(sandbox, api):
    assert write(api, sandbox, "m f=1 1700000000", precision="s").status_code == 204
    assert write(api, sandbox, "m g=1 1700000000001", precision="ms").status_code == 204
    assert values(sandbox) == [("f", 1.0, 1_700_000_000_000_000_000), ("g", 1.0, 1_700_000_000_001_000_000)]


def test_write_by_ids_and_org_id_wins(sandbox, api):
    resp = write(api, sandbox, "m f=1 1", org="no-such-org", orgID=sandbox.org.id, bucket=sandbox.bucket.id)
    assert resp.status_code == 204, resp.text
    assert write(api, sandbox, "m f=2 2", org=sandbox.org.id).status_code == 204
    assert [v for _, v, _ in values(sandbox)] == [1.0, 2.0]


def test_write_into_a_created_bucket(sandbox, api):
    bucket_id = create(api, sandbox, name="fresh").json()["id"]
    assert write(api, sandbox, "m f=1 1", bucket="fresh").status_code == 204
    assert values(sandbox, sandbox.store.buckets[bucket_id]) == [("f", 1.0, 1)]


def test_write_org_and_bucket_errors(sandbox, api):
    target = url(sandbox, "/api/v2/write")
    assert_error(write(api, sandbox, "m f=1", org="nope"), 404, "not found", 'organization name "nope" not found')
    assert_error(
        write(api, sandbox, "m f=1", org="", orgID="0123456789abcdef"), 404, "not found", "organization not found"
    )
    resp = api.post(target, params={"bucket": "sandbox-bucket"}, data="m f=1")
    assert_error(resp, 400, "invalid", "Please provide either orgID or org")
    resp = api.post(target, params={"org": "sandbox-org"}, data="m f=1")
    assert_error(resp, 404, "not found", "bucket not found")
    assert_error(write(api, sandbox, "m f=1", bucket="air_sensor"), 404, "not found", 'bucket "air_sensor" not found')
    assert_error(
        write(api, sandbox, "m f=1", precision="h"), 400, "invalid",
        "invalid precision; valid precision units are ns, us, ms, and s",
    )
    assert sandbox.bucket.points() == []


def test_bucket_of_another_org_is_not_found(sandbox, api):
    other = sandbox.store.add_org("other")
    foreign = sandbox.store.add_bucket(other.id, "theirs")
    resp = write(api, sandbox, "m f=1", bucket=foreign.id)
    assert_error(resp, 404, "not found", f'bucket "{foreign.id}" not found')


def test_gzip_write(sandbox, api):
    body = gzip.compress(b"m f=1 1\nm f=2 2\n")
    resp = api.post(
        url(sandbox, "/api/v2/write"),
        params={"org": "sandbox-org", "bucket": "sandbox-bucket"},
        data=body,
        headers={"Content-Encoding": "gzip"},
    )
    assert resp.status_code == 204, resp.text
    assert values(sandbox) == [("f", 1.0, 1), ("f", 2.0, 2)]
    assert sandbox.requests[-1].body == body  # recorded still compressed


def test_multi_member_gzip_write(sandbox, api):
    body = gzip.compress(b"m f=1 1\n") + gzip.compress(b"m f=2 2\n")
    resp = write_gzip(api, sandbox, body)
    assert resp.status_code == 204, resp.text
    assert len(values(sandbox)) == 2


def write_gzip(api: requests.Session, sb: Sandbox, body: bytes) -> requests.Response:
    return api.post(
        url(sb, "/api/v2/write"),
        params={"org": sb.org.name, "bucket": sb.bucket.name},
        data=body,
        headers={"Content-Encoding": "gzip"},
    )


def test_corrupt_gzip_is_400(sandbox, api):
    resp = write_gzip(api, sandbox, b"definitely not gzip")
    assert resp.status_code == 400 and resp.json()["code"] == "invalid"
    assert resp.headers["X-Platform-Error-Code"] == "invalid"
    truncated = gzip.compress(b"m f=1 1\n" * 100)[:-12]
    assert write_gzip(api, sandbox, truncated).status_code == 400
    assert sandbox.bucket.points() == []


def test_too_large_body_is_413(make_sandbox, api):
    sb = make_sandbox(max_body_bytes=64)
    large = "m f=1 1\n" * 20  # 160 bytes
    expected = (413, "request too large", "unable to read data: points batch is too large")
    assert_error(write(api, sb, large), *expected)
    # The limit applies after decompression: a small gzip body that inflates past it fails too.
    assert len(gzip.compress(large.encode())) < 64
    assert_error(write_gzip(api, sb, gzip.compress(large.encode())), *expected)
    assert write(api, sb, "m f=1 1\n").status_code == 204
    assert len(sb.bucket.points()) == 1


@pytest.mark.parametrize("body", ["", "\n\n", "# only a comment\n"])
def test_write_without_points_is_400(sandbox, api, body):
    assert_error(write(api, sandbox, body), 400, "invalid", "writing requires points")


def test_parse_errors_are_400_and_nothing_is_written(sandbox, api):
    resp = write(api, sandbox, "good f=1 1\nbad\ngood f=2 2\nm f=tru 3\n")
    assert_error(
        resp, 400, "invalid",
        "unable to parse 'bad': missing fields\nunable to parse 'm f=tru 3': invalid boolean",
    )
    assert sandbox.bucket.points() == []


def test_type_conflict_with_stored_field_is_a_partial_write(sandbox, api):
    assert write(api, sandbox, "cpu usage=1 1").status_code == 204
    resp = write(api, sandbox, "cpu usage=2i 2\ncpu usage=3 3\nmem free=4i 4\n")
    assert_error(
        resp, 422, "unprocessable entity",
        'failure writing points to database: partial write: field type conflict: input field "usage" on '
        'measurement "cpu" is type integer, already exists as type float dropped=1',
    )
    assert values(sandbox) == [("usage", 1.0, 1), ("usage", 3.0, 3), ("free", 4, 4)]


def test_type_conflict_within_one_batch_drops_whole_points(sandbox, api):
    resp = write(api, sandbox, 'm a="x" 1\nm a=1i,b=1i 2\nm a="y",b=t 3\nm a=t 4\n')
    assert resp.status_code == 422
    assert resp.json()["message"] == (
        'failure writing points to database: partial write: field type conflict: input field "a" on '
        'measurement "m" is type boolean, already exists as type string dropped=2'
    )
    # Point 2 (a is an integer) and point 4 were dropped whole; b was never stored as an integer.
    assert values(sandbox) == [("a", "x", 1), ("a", "y", 3), ("b", True, 3)]


def test_points_beyond_retention_are_dropped(sandbox, api):
    create(api, sandbox, name="short", retentionRules=[{"everySeconds": 3600}])
    resp = write(api, sandbox, "m f=1 1\nm f=2\n", bucket="short")
    assert_error(
        resp, 422, "unprocessable entity",
        "failure writing points to database: partial write: points beyond retention policy dropped=1",
    )
    bucket = next(b for b in sandbox.store.buckets.values() if b.name == "short")
    assert [v for _, v, _ in values(sandbox, bucket)] == [2.0]


def test_chunked_request_body(sandbox, api):
    def chunks() -> Iterator[bytes]:
        yield b"m f=1 1\n"
        yield b"m f=2 2\n"

    resp = api.post(
        url(sandbox, "/api/v2/write"), params={"org": "sandbox-org", "bucket": "sandbox-bucket"}, data=chunks()
    )
    assert resp.status_code == 204, resp.text
    assert sandbox.requests[-1].headers.get("Transfer-Encoding") == "chunked"
    assert len(values(sandbox)) == 2


def raw_exchange(sb: Sandbox, data: bytes) -> bytes:
    """Send raw bytes, half-close, and read whatever the server answers until it closes."""
    parts = urlsplit(sb.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


def test_client_hanging_up_mid_body_writes_nothing(sandbox):
    head = (
        b"POST /api/v2/write?org=sandbox-org&bucket=sandbox-bucket HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Authorization: Token sandbox-token\r\n"
    )
    assert raw_exchange(sandbox, head + b"Content-Length: 100\r\n\r\nm f=1 1\n") == b""
    chunked = head + b"Transfer-Encoding: chunked\r\n\r\n8\r\nm f=1 1\n\r\n"
    assert raw_exchange(sandbox, chunked) == b""
    assert sandbox.bucket.points() == [] and sandbox.requests == []


def test_unreadable_content_length_is_400_and_closes(sandbox):
    answer = raw_exchange(sandbox, b"POST /api/v2/write HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b'"code":"invalid"' in answer


# --- query ---------------------------------------------------------------------------------------


class FakeFluxError(Exception):
    pass


ENGINE_CSV = (
    "#datatype,string,long,dateTime:RFC3339,double,string\r\n"
    "#group,false,false,false,false,true\r\n"
    "#default,_result,,,,\r\n"
    ",result,table,_time,_value,_field\r\n"
    ',,0,2023-01-01T00:00:00Z,1.5,"a,b"\r\n'
    "\r\n"
)


@pytest.fixture
def engine() -> SimpleNamespace:
    calls: list[tuple[str, Any, dict[str, Any]]] = []

    def run_query(query: str, **kwargs: Any) -> str:
        calls.append(("run_query", query, kwargs))
        if query == "boom":
            raise FakeFluxError("error calling function \"boom\"")
        return ENGINE_CSV

    def parse_ast(query: str) -> dict[str, Any]:
        calls.append(("parse_ast", query, {}))
        if query == "(":
            raise FakeFluxError("expected RPAREN")
        return {"type": "Package", "package": "main", "files": []}

    def analyze(query: str) -> list[dict[str, Any]]:
        calls.append(("analyze", query, {}))
        return [{"line": 1, "column": 2, "character": 1, "message": "bad"}] if query == "(" else []

    return SimpleNamespace(run_query=run_query, parse_ast=parse_ast, analyze=analyze, FluxError=FakeFluxError, calls=calls)


@pytest.fixture
def flux_sandbox(make_sandbox, engine) -> Sandbox:
    return make_sandbox(flux=engine)


FULL_DIALECT = {"header": True, "delimiter": ",", "annotations": ["datatype", "group", "default"],
                "commentPrefix": "#", "dateTimeFormat": "RFC3339"}


def query(api: requests.Session, sb: Sandbox, body: Any, params: dict[str, str] | None = None, **kw: Any):
    return api.post(url(sb, "/api/v2/query"), params={"org": sb.org.name} if params is None else params, json=body, **kw)


def test_query_returns_the_engine_csv(flux_sandbox, api, engine):
    flux_sandbox.midstream_error = "stop here"
    body = {"query": "from(bucket: \"b\")", "type": "flux", "dialect": FULL_DIALECT,
            "now": "2023-01-02T03:04:05.5+01:00", "params": {"x": 1}}
    resp = query(api, flux_sandbox, body)
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert resp.text == ENGINE_CSV
    [(name, text, kwargs)] = engine.calls
    assert (name, text) == ("run_query", 'from(bucket: "b")')
    assert kwargs["store"] is flux_sandbox.store and kwargs["org"] is flux_sandbox.org
    assert kwargs["now_ns"] == parse_rfc3339_ns("2023-01-02T02:04:05.5Z")
    assert (kwargs["params"], kwargs["midstream_error"]) == ({"x": 1}, "stop here")


def test_query_now_defaults_to_server_time(flux_sandbox, api, engine):
    assert query(api, flux_sandbox, {"query": "q"}, params={"orgID": flux_sandbox.org.id}).status_code == 200
    assert engine.calls[0][2]["now_ns"] > parse_rfc3339_ns("2020-01-01T00:00:00Z")
    assert engine.calls[0][2]["params"] is None


def test_query_without_dialect_has_no_annotations(flux_sandbox, api):
    resp = query(api, flux_sandbox, {"query": "q"})
    assert resp.text == ',result,table,_time,_value,_field\r\n,_result,0,2023-01-01T00:00:00Z,1.5,"a,b"\r\n\r\n'


@pytest.mark.parametrize("accept, compressed", [
    ("gzip, deflate", True), ("gzip;q=0.5", True), ("*", True),
    ("identity", False), ("gzip;q=0", False), ("deflate", False), (None, False),
])
def test_query_answer_is_gzipped_when_the_client_accepts_it(flux_sandbox, api, accept, compressed):
    headers = {"Accept-Encoding": accept} if accept is not None else {}
    if accept is None:
        api.headers.pop("Accept-Encoding")  # requests adds "gzip, deflate" unless told not to
    resp = query(api, flux_sandbox, {"query": "q", "dialect": FULL_DIALECT}, headers=headers, stream=True)
    raw = resp.raw.read(decode_content=False)
    assert resp.status_code == 200
    assert resp.headers.get("Content-Encoding") == ("gzip" if compressed else None)
    assert (gzip.decompress(raw) if compressed else raw) == ENGINE_CSV.encode()
    # Streamed like the real server's answers: chunked, so no Content-Length.
    assert resp.headers["Transfer-Encoding"] == "chunked" and "Content-Length" not in resp.headers


def test_a_large_query_answer_is_streamed_in_chunks(sandbox, api):
    assert write(api, sandbox, "\n".join(f"m,host=h{i % 3} v={i} {i}" for i in range(3000))).status_code == 204
    body = json.dumps({"query": 'from(bucket: "sandbox-bucket") |> range(start: 0)', "dialect": FULL_DIALECT})
    request = (f"POST /api/v2/query?org=sandbox-org HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token {TOKEN}\r\n"
               f"Content-Type: application/json\r\nConnection: close\r\nContent-Length: {len(body)}\r\n\r\n{body}")
    head, _, framed = raw_exchange(sandbox, request.encode()).partition(b"\r\n\r\n")
    assert b"\r\nTransfer-Encoding: chunked" in head and b"Content-Length" not in head
    sizes, payload = [], b""
    while True:
        size_line, _, framed = framed.partition(b"\r\n")
        size = int(size_line, 16)
        sizes.append(size)
        if size == 0:
            break
        payload, framed = payload + framed[:size], framed[size + 2:]
    assert framed == b"\r\n" and len(sizes) > 3 and set(sizes[:-2]) == {16 * 1024}
    text = payload.decode()
    assert text.startswith("#datatype,") and text.count("\r\n,,") == 3000
    assert payload == sandbox.responses[-1].body  # the recording holds the whole answer


def test_vnd_flux_body_is_the_query_text(flux_sandbox, api, engine):
    resp = api.post(
        url(flux_sandbox, "/api/v2/query"), params={"org": "sandbox-org"},
        data="buckets()", headers={"Content-Type": "application/vnd.flux"},
    )
    assert resp.status_code == 200
    assert engine.calls[0][1] == "buckets()"
    assert not resp.text.startswith("#")


def test_query_dialect_shapes_the_csv(flux_sandbox, api):
    dialect = {"header": False, "delimiter": ";", "annotations": ["group", "datatype"]}
    resp = query(api, flux_sandbox, {"query": "q", "dialect": dialect})
    assert resp.text == (
        "#group;false;false;false;false;true\r\n"
        "#datatype;string;long;dateTime:RFC3339;double;string\r\n"
        ";_result;0;2023-01-01T00:00:00Z;1.5;a,b\r\n"
        "\r\n"
    )


def test_query_request_errors(flux_sandbox, api, engine):
    assert_error(query(api, flux_sandbox, {"type": "flux"}), 400, "invalid", "request body requires either query or AST")
    assert_error(query(api, flux_sandbox, {"query": "q"}, params={}), 400, "invalid", "Please provide either orgID or org")
    assert_error(
        query(api, flux_sandbox, {"query": "q"}, params={"org": "nope"}),
        400, "invalid", "failed to decode request body: organization not found",
    )
    assert_error(
        query(api, flux_sandbox, {"query": "q"}, params={"orgID": "0123456789abcdef"}),
        400, "invalid", "failed to decode request body: organization not found",
    )
    assert_error(
        query(api, flux_sandbox, {"query": "q", "dialect": {"delimiter": ";;"}}),
        400, "invalid", "invalid dialect delimeter: must be length 1",
    )
    assert_error(
        query(api, flux_sandbox, {"query": "q", "dialect": {"annotations": ["extra"]}}),
        400, "invalid", "unknown dialect annotation type: extra",
    )
    assert_error(query(api, flux_sandbox, {"query": "q", "type": "sql"}), 400, "invalid", "unknown query type: sql")
    resp = query(api, flux_sandbox, {"query": "q", "now": "yesterday"})
    assert resp.status_code == 400 and resp.json()["message"].startswith("failed to decode request body")
    resp = api.post(url(flux_sandbox, "/api/v2/query"), params={"org": "sandbox-org"}, data="{")
    assert resp.status_code == 400 and resp.json()["message"].startswith("failed to decode request body")
    assert engine.calls == []


def test_flux_error_is_400_invalid(flux_sandbox, api):
    resp = query(api, flux_sandbox, {"query": "boom"})
    assert_error(resp, 400, "invalid", 'error calling function "boom"')


def test_prefer_return_no_content(flux_sandbox, api, engine):
    resp = query(api, flux_sandbox, {"query": "q"}, headers={"Prefer": "return-no-content"})
    assert resp.status_code == 204 and resp.content == b""
    assert len(engine.calls) == 1


def test_query_of_a_missing_bucket_is_404_like_the_server(sandbox, api):
    resp = query(api, sandbox, {"query": 'from(bucket: "nope") |> range(start: -1h)'})
    assert_error(resp, 404, "not found", 'failed to initialize execute state: could not find bucket "nope"')


def test_query_without_an_engine_is_501(sandbox, api, monkeypatch):
    # A None entry makes the import fail exactly as if the engine package did not exist.
    monkeypatch.setitem(sys.modules, FLUX_MODULE, None)
    for path in ("/api/v2/query", "/api/v2/query/ast", "/api/v2/query/analyze"):
        resp = api.post(url(sandbox, path), params={"org": "sandbox-org"}, json={"query": "q"})
        assert resp.status_code == 501, path
        assert resp.json()["code"] == "not implemented"
        assert resp.headers["X-Platform-Error-Code"] == "not implemented"


def test_engine_missing_a_function_is_501(make_sandbox, api):
    sb = make_sandbox(flux=SimpleNamespace())
    resp = api.post(sb.url + "/api/v2/query", params={"org": "sandbox-org"}, json={"query": "q"})
    assert resp.status_code == 501


def test_query_ast(flux_sandbox, api, engine):
    resp = api.post(url(flux_sandbox, "/api/v2/query/ast"), json={"query": "x"})
    assert resp.status_code == 200
    assert resp.json() == {"ast": {"type": "Package", "package": "main", "files": []}}
    assert_error(api.post(url(flux_sandbox, "/api/v2/query/ast"), json={"query": "("}), 400, "invalid", "expected RPAREN")


def test_query_analyze(flux_sandbox, api):
    analyze = url(flux_sandbox, "/api/v2/query/analyze")
    assert api.post(analyze, json={"query": "x"}).json() == {"errors": []}
    assert api.post(analyze, json={"query": "("}).json() == {
        "errors": [{"line": 1, "column": 2, "character": 1, "message": "bad"}]
    }


def test_engine_crash_is_500(flux_sandbox, api, engine):
    engine.analyze = lambda query: 1 / 0
    resp = api.post(url(flux_sandbox, "/api/v2/query/analyze"), json={"query": "x"})
    assert resp.status_code == 500 and resp.json()["code"] == "internal error"


# --- suggestions ---------------------------------------------------------------------------------

TYPE_NAMES = {"stream", "function", "string", "int", "float", "bool", "array", "object", "time", "duration", "regexp", "invalid"}


def test_suggestions_list(sandbox, api):
    resp = api.get(url(sandbox, "/api/v2/query/suggestions"))
    assert resp.status_code == 200
    funcs = {f["name"]: f["params"] for f in resp.json()["funcs"]}
    assert funcs["range"] == {"start": "invalid", "stop": "invalid", "tables": "stream"}
    assert funcs["filter"] == {"fn": "function", "onEmpty": "string", "tables": "stream"}
    assert funcs["from"] == {
        "bucket": "string", "bucketID": "string", "host": "string", "org": "string", "orgID": "string", "token": "string",
    }
    required = {
        "aggregateWindow", "mean", "sum", "count", "min", "max", "first", "last", "group", "sort", "limit", "keep",
        "drop", "yield", "map", "pivot", "window", "to", "derivative", "difference", "distinct", "fill", "duplicate",
        "rename", "set", "tail", "top", "bottom", "unique", "median", "quantile", "stddev", "spread", "integral",
        "elapsed", "cumulativeSum", "movingAverage", "timeShift", "toString", "toInt", "toFloat", "now", "buckets",
    }
    assert required <= set(funcs)
    assert all(t in TYPE_NAMES for params in funcs.values() for t in params.values())


def test_one_suggestion(sandbox, api):
    resp = api.get(url(sandbox, "/api/v2/query/suggestions/aggregateWindow"))
    assert resp.status_code == 200
    body = resp.json()
    assert body["name"] == "aggregateWindow"
    assert (body["params"]["every"], body["params"]["fn"], body["params"]["createEmpty"]) == ("duration", "function", "bool")


def test_unknown_suggestion_is_500(sandbox, api):
    resp = api.get(url(sandbox, "/api/v2/query/suggestions/nope"))
    assert_error(resp, 500, "internal error", 'function "nope" not found')


@pytest.mark.off_contract
@pytest.mark.parametrize("path, target", [
    ("/api/v2/query/suggestions/", "/api/v2/query/suggestions"),
    ("/api/v2/query/suggestions/range/", "/api/v2/query/suggestions/range"),
])
def test_suggestions_trailing_slash_is_301(sandbox, api, path, target):
    resp = api.get(url(sandbox, path), allow_redirects=False)
    assert resp.status_code == 301
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    assert resp.headers["Location"] == target


# --- recording and lifecycle ---------------------------------------------------------------------


def test_requests_and_responses_are_recorded(sandbox, api):
    api.get(url(sandbox, "/health"))
    write(api, sandbox, "m f=1 1", precision="s")
    api.get(url(sandbox, "/api/v2/buckets/%7Bodd%7D"))
    assert [type(r) for r in sandbox.requests] == [RecordedRequest] * 3
    assert [type(r) for r in sandbox.responses] == [RecordedResponse] * 3
    health, wrote, odd = sandbox.requests
    assert (health.method, health.path, health.query, health.body) == ("GET", "/health", (), b"")
    assert (wrote.method, wrote.path) == ("POST", "/api/v2/write")
    assert wrote.query == (("org", "sandbox-org"), ("bucket", "sandbox-bucket"), ("precision", "s"))
    assert wrote.body == b"m f=1 1"
    assert wrote.headers["Authorization"] == f"Token {TOKEN}"
    assert odd.path == "/api/v2/buckets/%7Bodd%7D"  # raw, not decoded
    statuses = [(r.method, r.path, r.status) for r in sandbox.responses]
    assert statuses == [("GET", "/health", 200), ("POST", "/api/v2/write", 204), ("GET", odd.path, 400)]
    assert sandbox.responses[0].headers["Content-Type"] == JSON_TYPE
    assert b'"status":"pass"' in sandbox.responses[0].body
    assert sandbox.responses[1].body == b""
    assert b"id must have a length of 16 bytes" in sandbox.responses[2].body


def test_token_is_never_logged(sandbox, api, caplog):
    caplog.set_level("DEBUG", logger="influx_connector.sandbox")
    api.get(url(sandbox, "/api/v2/orgs"))
    assert caplog.records, "the request should be logged at DEBUG"
    assert TOKEN not in caplog.text
    assert "Token ***" in caplog.text


def test_stop_is_idempotent_and_closes_the_socket():
    sb = Sandbox().start()
    session = requests.Session()
    assert session.get(sb.url + "/ping").status_code == 204  # leaves a pooled keep-alive connection
    sb.stop()
    sb.stop()
    with pytest.raises(requests.ConnectionError):
        session.get(sb.url + "/ping", timeout=2)
    with pytest.raises(requests.ConnectionError):
        requests.get(sb.url + "/ping", timeout=2)
    session.close()


def test_start_returns_self_and_sets_url():
    sb = Sandbox()
    with pytest.raises(RuntimeError, match="not been started"):
        sb.connection_settings  # noqa: B018 - reading the property is what raises
    assert sb.start() is sb
    try:
        assert sb.start() is sb  # a second start is harmless
        assert sb.url.startswith("http://127.0.0.1:") and not sb.url.endswith(":0")
        settings = sb.connection_settings
        assert f"{settings['protocol']}://{settings['host']}:{settings['port']}" == sb.url
        assert (settings["token"], settings["org"], settings["bucket"]) == ("sandbox-token", "sandbox-org", "sandbox-bucket")
    finally:
        sb.stop()


# --- routes added for delete and the v1 compatibility API ------------------------------------------------


def test_influxql_through_the_v2_query_endpoint_points_to_v1(flux_sandbox, api, engine):
    resp = query(api, flux_sandbox, {"query": "SELECT * FROM cpu", "type": "influxql"})
    assert_error(resp, 501, "not implemented", "the sandbox runs InfluxQL only through the v1 /query endpoint")
    assert engine.calls == []


@pytest.mark.off_contract
@pytest.mark.parametrize("path, allow", [("/api/v2/delete", "POST"), ("/write", "POST"), ("/query", "GET, POST")])
def test_new_routes_answer_405_with_allow(sandbox, api, path, allow):
    resp = api.put(url(sandbox, path))
    assert_error(resp, 405, "method not allowed", f"allow: {allow}")
    assert resp.headers["Allow"] == allow


@pytest.mark.parametrize("path, method", [("/api/v2/delete", "POST"), ("/write", "POST"), ("/query", "GET")])
def test_new_routes_need_a_token(sandbox, path, method):
    resp = requests.request(method, url(sandbox, path), params={"db": "sandbox-bucket", "q": "SHOW DATABASES"})
    assert_error(resp, 401, "unauthorized", "unauthorized access")


def test_v1_routes_read_the_first_orgs_buckets_as_databases(make_sandbox, api):
    sb = make_sandbox(extra_orgs=("other",))
    other = next(o for o in sb.store.orgs.values() if o.name == "other")
    sb.store.add_bucket(other.id, "elsewhere")
    resp = api.get(url(sb, "/query"), params={"q": "SHOW DATABASES"})
    assert resp.json()["results"][0]["series"][0]["values"] == [["sandbox-bucket"]]
    resp = api.post(url(sb, "/write"), params={"db": "elsewhere"}, data="m v=1")
    assert_error(resp, 404, "not found", 'database not found: "elsewhere"')
    assert api.post(url(sb, "/write"), params={"db": "sandbox-bucket"}, data="m v=1 5").status_code == 204
    assert values(sb) == [("v", 1.0, 5)]
