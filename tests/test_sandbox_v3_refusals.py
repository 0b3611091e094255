"""Refusals the sandbox makes before any route runs (a token, a body's size, Host or Origin, a
body it cannot read) are worded in the shape of the API whose path was asked for: InfluxDB 3's
``{"error": "..."}`` on its paths, and the v2 ``{"code", "message"}`` on the others. Every answer
is then checked against the contract of its API (the v3 one asks for ``error``)."""
from __future__ import annotations

import gzip
import json
import socket
from collections.abc import Iterator

import pytest
import requests

from influx_connector.sandbox import Sandbox

from .conftest import contract_problems
from .openapi_contract import V3_CONTRACT_PATH, Contract

TOKEN = "v3-refusal-token"
DB = "sensors"


@pytest.fixture(params=["v2", "v3"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """Both kinds of sandbox serve /api/v3; the refusals must not depend on which it plays."""
    with Sandbox(token=TOKEN, bucket=DB, api=request.param, max_body_bytes=4096) as sb:
        yield sb


def v3_error(answer: requests.Response) -> str:
    body = answer.json()
    assert set(body) == {"error"} and isinstance(body["error"], str) and body["error"], answer.text
    assert "X-Platform-Error-Code" not in answer.headers  # a v2 server's header, not InfluxDB 3's
    return body["error"]


def checked(sb: Sandbox) -> None:
    problems = contract_problems(sb, requests=False)
    assert not problems, "\n".join(problems)


def write_lp(sb: Sandbox, body: bytes, **headers: str) -> requests.Response:
    return requests.post(f"{sb.url}/api/v3/write_lp", params={"db": DB}, data=body,
                         headers={"Authorization": f"Bearer {TOKEN}", **headers}, timeout=10)


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Basic {TOKEN}"])
def test_a_missing_or_wrong_token_is_refused_in_v3_words(sandbox: Sandbox, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    for answer in (requests.post(f"{sandbox.url}/api/v3/query_sql", json={"db": DB, "q": "SELECT 1"},
                                 headers=headers, timeout=10),
                   requests.get(f"{sandbox.url}/api/v3/configure/database", params={"format": "json"},
                                headers=headers, timeout=10),
                   write_lp(sandbox, b"m f=1", Authorization=authorization or "")):
        assert answer.status_code == 401
        assert v3_error(answer) == "unauthorized access"
    checked(sandbox)


def test_the_same_sandbox_still_refuses_v2_paths_in_v2_words(sandbox: Sandbox) -> None:
    answer = requests.get(f"{sandbox.url}/api/v2/buckets", timeout=10)
    assert answer.status_code == 401
    assert answer.json() == {"code": "unauthorized", "message": "unauthorized access"}
    checked(sandbox)


def test_a_body_over_the_limit_is_a_v3_413(sandbox: Sandbox) -> None:
    big = b"m f=1\n" * 1000  # 6,000 bytes, over the 4,096 taken
    answer = write_lp(sandbox, big)
    assert answer.status_code == 413
    assert "larger than the server accepts" in v3_error(answer)
    chunked = write_lp(sandbox, iter([big[:3000], big[3000:]]))  # no Content-Length: read until too much
    assert chunked.status_code == 413 and "larger than" in v3_error(chunked)
    inflated = write_lp(sandbox, gzip.compress(big), **{"Content-Encoding": "gzip"})
    assert inflated.status_code == 413 and "larger than" in v3_error(inflated)
    checked(sandbox)


def test_a_gzip_body_that_cannot_be_read_is_a_v3_400(sandbox: Sandbox) -> None:
    answer = write_lp(sandbox, b"\x1f\x8b not gzip at all", **{"Content-Encoding": "gzip"})
    assert answer.status_code == 400
    assert "gzip" in v3_error(answer)
    cut = write_lp(sandbox, gzip.compress(b"m f=1\n" * 50)[:-12], **{"Content-Encoding": "gzip"})
    assert cut.status_code == 400 and "gzip" in v3_error(cut)
    checked(sandbox)


def test_a_foreign_host_or_a_cross_site_page_is_a_v3_403(sandbox: Sandbox) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    rebound = write_lp(sandbox, b"m f=1", Host="attacker.example")
    assert rebound.status_code == 403 and "attacker.example" in v3_error(rebound)
    cross = requests.post(f"{sandbox.url}/api/v3/query_sql", json={"db": DB, "q": "SELECT 1"},
                          headers={**auth, "Origin": "https://evil.example"}, timeout=10)
    assert cross.status_code == 403 and "evil.example" in v3_error(cross)
    checked(sandbox)


def test_a_body_whose_framing_cannot_be_read_is_a_v3_400(sandbox: Sandbox) -> None:
    host, port = sandbox.url.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"POST /api/v3/write_lp?db={DB} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                     f"Authorization: Bearer {TOKEN}\r\nContent-Length: -5\r\n\r\n".encode())
        raw = b""
        while b"\r\n\r\n" not in raw or not raw.rstrip().endswith(b"}"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert json.loads(body) == {"error": "unable to read request body: negative Content-Length"}
    checked(sandbox)


def test_a_v3_server_words_its_ping_and_health_refusals_as_influxdb_3() -> None:
    with Sandbox(token=TOKEN, api="v3") as v3, Sandbox(token=TOKEN, api="v2") as v2:
        refused3 = requests.get(f"{v3.url}/ping", headers={"Host": "attacker.example"}, timeout=10)
        assert refused3.status_code == 403 and "attacker.example" in v3_error(refused3)
        # A v2 server's /ping is its own: the v2 words.
        refused2 = requests.get(f"{v2.url}/ping", headers={"Host": "attacker.example"}, timeout=10)
        assert refused2.status_code == 403 and set(refused2.json()) == {"code", "message"}


def test_the_contract_check_catches_a_v2_error_on_a_v3_path() -> None:
    """The check these tests rely on: the v3 contract's ErrorMessage alone would let it through."""
    contract = Contract.load(V3_CONTRACT_PATH)
    headers = {"Content-Type": "application/json"}
    v2_shaped = json.dumps({"code": "unauthorized", "message": "unauthorized access"}).encode()
    assert contract.check_response("POST", "/api/v3/write_lp", 401, headers, v2_shaped)
    assert contract.check_response("POST", "/api/v3/write_lp", 401, headers, b'{"error":"unauthorized access"}') == []
