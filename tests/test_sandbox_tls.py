"""The sandbox over https: a self-signed certificate made per test run, real TLS on loopback.

The certificate (tests/certs.py) names localhost and 127.0.0.1. A client that trusts it (``verify=<cert>``)
talks to the sandbox; one that uses the system's trust store must refuse it.
"""
from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from influx_connector import api
from influx_connector.sandbox import Sandbox

from .certs import make_certs
from .conftest import assert_contract_kept

TOKEN = "tls-token"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate (its own CA) and its key."""
    made = make_certs(tmp_path_factory.mktemp("tls"), self_signed=True)
    return made.cert, made.key


@pytest.fixture
def tls_sandbox(certificate: tuple[Path, Path]) -> Iterator[Sandbox]:
    cert, key = certificate
    with Sandbox(token=TOKEN, tls_cert=str(cert), tls_key=str(key)) as sb:
        yield sb
    assert_contract_kept(sb, requests=False)


def test_url_and_connection_settings_say_https(tls_sandbox, certificate):
    assert tls_sandbox.url.startswith("https://127.0.0.1:")
    settings = tls_sandbox.connection_settings
    assert settings["protocol"] == "https"
    assert settings["ca_bundle"] == str(certificate[0])


def test_a_client_that_trusts_the_certificate_is_served(tls_sandbox, certificate):
    resp = requests.get(tls_sandbox.url + "/api/v2/orgs", headers={"Authorization": f"Token {TOKEN}"},
                        verify=str(certificate[0]), timeout=10)
    assert resp.status_code == 200
    assert [o["name"] for o in resp.json()["orgs"]] == ["sandbox-org"]
    assert tls_sandbox.responses[-1].status == 200


def test_default_verification_refuses_the_self_signed_certificate(tls_sandbox, certificate):
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(tls_sandbox.url + "/health", timeout=10)
    # The failed handshake ended only that connection: the next trusted request is served.
    assert requests.get(tls_sandbox.url + "/health", verify=str(certificate[0]), timeout=10).status_code == 200


def test_localhost_name_is_in_the_certificate_too(tls_sandbox, certificate):
    port = tls_sandbox.connection_settings["port"]
    resp = requests.get(f"https://localhost:{port}/ping", verify=str(certificate[0]), timeout=10)
    assert resp.status_code == 204


def test_plain_http_to_the_https_port_gets_no_answer(tls_sandbox):
    plain = tls_sandbox.url.replace("https://", "http://")
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(plain + "/health", timeout=10)
    assert not any(r.path == "/health" for r in tls_sandbox.requests)


def test_writes_and_v1_queries_work_over_tls(tls_sandbox, certificate):
    # verify goes with each call: a Session's own verify loses to REQUESTS_CA_BUNDLE in requests.
    trusted = {"verify": str(certificate[0]), "headers": {"Authorization": f"Token {TOKEN}"}, "timeout": 10}
    resp = requests.post(tls_sandbox.url + "/api/v2/write", params={"org": "sandbox-org", "bucket": "sandbox-bucket"},
                         data="m,host=a v=1 1700000000000000000", **trusted)
    assert resp.status_code == 204
    resp = requests.get(tls_sandbox.url + "/query", params={"db": "sandbox-bucket", "q": "SELECT v FROM m"}, **trusted)
    assert resp.json() == {"results": [{"statement_id": 0, "series": [
        {"name": "m", "columns": ["time", "v"], "values": [["2023-11-14T22:13:20Z", 1]]}]}]}


def test_the_connector_connects_with_the_sandbox_settings(tls_sandbox):
    with api.connect(tls_sandbox.connection_settings) as conn:
        report = conn.run("list_organizations", {})
    assert "sandbox-org" in str(report)


def test_the_tls_socket_speaks_tls_1_2_or_later(tls_sandbox, certificate):
    context = ssl.create_default_context(cafile=str(certificate[0]))
    port = tls_sandbox.connection_settings["port"]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_cert_and_key_go_together(certificate):
    with pytest.raises(ValueError, match="tls_cert and tls_key go together"):
        Sandbox(tls_cert=str(certificate[0]))
    with pytest.raises(ValueError, match="tls_cert and tls_key go together"):
        Sandbox(tls_key=str(certificate[1]))


def test_an_unreadable_certificate_fails_at_once(tmp_path, certificate):
    missing = tmp_path / "missing.pem"
    with pytest.raises(ValueError, match="cannot serve https"):
        Sandbox(tls_cert=str(missing), tls_key=str(certificate[1]))
    with pytest.raises(ValueError, match="cannot serve https"):  # a key file is no certificate
        Sandbox(tls_cert=str(certificate[1]), tls_key=str(certificate[1]))


def test_without_tls_the_sandbox_stays_http():
    with Sandbox() as sb:
        assert sb.url.startswith("http://")
        assert sb.connection_settings["protocol"] == "http"
        assert "ca_bundle" not in sb.connection_settings
