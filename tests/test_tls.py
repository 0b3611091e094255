"""The connector over https on loopback, with certificates the tests make: verification is on by
default, a CA bundle is honoured, and turning verification off works only when asked, with a warning."""
from __future__ import annotations

import re
import signal
import subprocess
import sys
import warnings

import pytest

from influx_connector import api
from influx_connector.cli import main
from influx_connector.errors import InsecureTLSWarning, TLSError, ValidationError
from influx_connector.sandbox import Sandbox

from .certs import make_certs
from .helpers import TOKEN


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory):
    return make_certs(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def https_sandbox(certs):
    with Sandbox(token=TOKEN, org="tls-org", bucket="tls-bucket", tls_cert=certs.cert, tls_key=certs.key) as sb:
        yield sb


def settings(sb: Sandbox, **extra):
    """The sandbox's connection values without the CA bundle it suggests (its own certificate,
    which suits a self-signed one; these are signed by a test CA)."""
    values = {k: v for k, v in sb.connection_settings.items() if k != "ca_bundle"}
    return {**values, **extra}


def test_the_sandbox_serves_https(https_sandbox):
    assert https_sandbox.url.startswith("https://127.0.0.1:")
    assert https_sandbox.connection_settings["protocol"] == "https"


def test_verification_is_on_by_default_and_an_unknown_ca_is_refused_without_retrying(https_sandbox):
    with api.connect(settings(https_sandbox)) as conn, pytest.raises(TLSError) as caught:
        conn.run("list_buckets")
    text = str(caught.value)
    assert "TLS handshake with https://127.0.0.1:" in text and "certificate verify failed" in text
    assert caught.value.attempts == 1  # a certificate problem is not retried
    assert https_sandbox.requests == []


def test_a_ca_bundle_makes_the_certificate_trusted(https_sandbox, certs):
    with api.connect(settings(https_sandbox, ca_bundle=str(certs.ca))) as conn, warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning when verification is on
        conn.run("write_data", {"bucket": "tls-bucket", "data": "m v=1 1"})
        rows = conn.run("query_data", {"query": 'from(bucket: "tls-bucket") |> range(start: 0)'}).data
        assert conn.test().ok
    assert [r["_value"] for r in rows] == [1.0]


def test_a_certificate_for_another_name_is_refused(tmp_path):
    other = make_certs(tmp_path, names=("db.example.test",))
    with Sandbox(token=TOKEN, tls_cert=other.cert, tls_key=other.key) as sb:
        with api.connect(settings(sb, ca_bundle=str(other.ca))) as conn, pytest.raises(TLSError) as caught:
            conn.run("health")
    assert "127.0.0.1" in str(caught.value)


def test_a_bundle_of_another_ca_is_refused(https_sandbox, tmp_path):
    stranger = make_certs(tmp_path / "other")
    with api.connect(settings(https_sandbox, ca_bundle=str(stranger.ca))) as conn, pytest.raises(TLSError):
        conn.run("health")


# urllib3 warns on every unverified request as well; these tests turn verification off on purpose.
@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_verification_off_works_only_when_asked_and_warns(https_sandbox):
    with pytest.warns(InsecureTLSWarning, match=r"verification is off for https://127\.0\.0\.1:\d+"):
        conn = api.connect(settings(https_sandbox, verify_tls=False))
    with conn:
        assert conn.run("health").data["status"] == "pass"


def test_plain_http_warns_nothing_even_with_verification_off(sandbox):
    with warnings.catch_warnings():
        warnings.simplefilter("error", InsecureTLSWarning)
        with api.connect({**sandbox.connection_settings, "verify_tls": False}) as conn:
            conn.run("health")


def test_https_to_a_plain_http_port_is_a_clear_tls_error(sandbox):
    with api.connect({**sandbox.connection_settings, "protocol": "https"}) as conn, pytest.raises(TLSError) as caught:
        conn.run("list_buckets")
    assert "TLS handshake with https://127.0.0.1:" in str(caught.value)


def test_a_missing_ca_bundle_file_is_named_before_anything_is_sent(https_sandbox, tmp_path):
    missing = tmp_path / "nowhere.pem"
    with pytest.raises(ValidationError) as caught:
        api.connect(settings(https_sandbox, ca_bundle=str(missing)))
    assert caught.value.by_field() == {"ca_bundle": [f"no such file: {missing}"]}
    assert https_sandbox.requests == []


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_verification_off_wins_over_a_ca_bundle(https_sandbox, tmp_path):
    stranger = make_certs(tmp_path / "other")
    with pytest.warns(InsecureTLSWarning):
        conn = api.connect(settings(https_sandbox, ca_bundle=str(stranger.ca), verify_tls=False))
    with conn:
        assert conn.run("health").status == 200


def test_the_sandbox_suggests_trusting_its_own_self_signed_certificate(tmp_path):
    own = make_certs(tmp_path / "self", self_signed=True)
    with Sandbox(token=TOKEN, tls_cert=own.cert, tls_key=own.key) as sb, api.connect(sb.connection_settings) as conn:
        assert conn.run("health").data["status"] == "pass"


def test_the_sandbox_command_serves_https_and_prints_what_to_trust(certs, tmp_path):
    server = subprocess.Popen(
        [sys.executable, "-m", "influx_connector", "sandbox", "--port", "0", "--token", TOKEN,
         "--tls-cert", str(certs.cert), "--tls-key", str(certs.key)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        banner = [server.stdout.readline() for _ in range(3)]
        host = re.search(r"INFLUX_HOST=(https://127\.0\.0\.1:(\d+))", banner[1])
        assert host, banner
        assert f"ca_bundle={certs.cert}" in banner[2]
        values = {"protocol": "https", "host": "127.0.0.1", "port": int(host.group(2)), "token": TOKEN,
                  "ca_bundle": str(certs.ca)}
        with api.connect(values) as conn:
            assert conn.run("health").data["status"] == "pass"
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=10)
    assert server.returncode == 0


def test_the_sandbox_command_needs_both_certificate_and_key(certs, capsys):
    assert main(["sandbox", "--port", "0", "--tls-cert", str(certs.cert)]) == 2
    assert "tls_cert and tls_key go together" in capsys.readouterr().err
