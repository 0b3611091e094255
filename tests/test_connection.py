"""Connection values, test connection, transport failures, and keeping the token secret."""
from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator

import pytest

from influx_connector import api
from influx_connector.errors import APIError, NetworkError, TimeoutError, ValidationError
from influx_connector.sandbox import Sandbox

from .conftest import BUCKET, ORG
from .helpers import TOKEN


def port_of(sandbox: Sandbox) -> int:
    return int(sandbox.url.rsplit(":", 1)[1])


@pytest.mark.parametrize(("values", "field", "words"), [
    ({"host": "http://localhost:8086", "token": TOKEN}, "host", "give only the host name"),
    ({"host": "localhost/influx", "token": TOKEN}, "host", "give only the host name"),
    ({"host": "localhost", "token": TOKEN, "port": 0}, "port", "must be at least 1"),
    ({"host": "localhost", "token": TOKEN, "port": 70000}, "port", "must be at most 65535"),
    ({"host": "localhost", "token": TOKEN, "port": "80a"}, "port", "must be a whole number (got '80a')"),
    ({"host": "localhost", "token": TOKEN, "port": "70000"}, "port", "must be at most 65535"),
    ({"host": "localhost", "token": TOKEN, "port": True}, "port", "must be a whole number, not boolean"),
    ({"host": "localhost", "token": ""}, "token", "must not be empty"),
    ({"host": "localhost"}, "token", "is required"),
    ({"token": TOKEN}, "host", "is required"),
    ({"host": "localhost", "token": TOKEN, "protocol": "ftp"}, "protocol", "must be one of http, https"),
    ({"host": "localhost", "token": TOKEN, "base_path": "influx/"}, "base_path", "must start with '/'"),
    ({"host": "localhost", "token": TOKEN, "timeout": 0}, "timeout", "must be greater than 0"),
    ({"host": "localhost", "token": TOKEN, "headers": {"X-A": "1\r\nInjected: yes"}}, "headers.X-A", "visible ASCII characters"),
    ({"host": "localhost", "token": TOKEN, "hots": "x"}, "hots", "did you mean 'host'"),
])
def test_bad_connection_values_name_the_field(values: dict, field: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        api.connect(values)
    messages = caught.value.by_field()
    assert field in messages, messages
    assert any(words in m for m in messages[field]), messages[field]
    assert TOKEN not in str(caught.value)


def test_all_connection_problems_are_reported_together() -> None:
    with pytest.raises(ValidationError) as caught:
        api.connect({"host": "https://x", "port": -1, "token": ""})
    assert set(caught.value.by_field()) == {"host", "port", "token"}


def test_base_path_and_extra_headers_reach_the_request() -> None:
    conn = api.connect({"host": "db.example", "port": 443, "protocol": "https", "token": TOKEN,
                        "base_path": "/influx", "headers": {"X-Proxy-Key": "p1"}})
    req = conn.render("list_buckets")
    assert req.url.startswith("https://db.example:443/influx/api/v2/buckets?")
    assert req.headers["X-Proxy-Key"] == "p1" and req.headers["Authorization"] == f"Token {TOKEN}"
    assert req.timeout == 10


def test_test_connection_reports_each_step(conn) -> None:
    report = conn.test()
    assert report.ok
    assert [(s.name, s.status) for s in report.steps] == [
        ("reachable", "passed"), ("token", "passed"), ("org", "passed"), ("bucket", "passed")]


def test_test_connection_skips_unset_defaults(sandbox) -> None:
    with api.connect({"host": "127.0.0.1", "port": port_of(sandbox), "token": TOKEN}) as c:
        report = c.test()
    assert report.ok and [s.status for s in report.steps] == ["passed", "passed", "skipped", "skipped"]


def test_test_connection_with_a_wrong_token_stops_at_the_token_step(sandbox) -> None:
    with api.connect({"host": "127.0.0.1", "port": port_of(sandbox), "token": "wrong-token-xyz", "org": ORG}) as c:
        report = c.test()
    assert not report.ok
    assert [s.status for s in report.steps] == ["passed", "failed", "not run", "not run"]
    assert "401" in report.steps[1].message and "unauthorized" in report.steps[1].message
    assert "wrong-token-xyz" not in str(report.to_dict())


def test_test_connection_with_unknown_org_and_bucket(sandbox) -> None:
    with api.connect({"host": "127.0.0.1", "port": port_of(sandbox), "token": TOKEN, "org": "nope"}) as c:
        report = c.test()
    assert [s.status for s in report.steps][:3] == ["passed", "passed", "failed"]
    with api.connect({"host": "127.0.0.1", "port": port_of(sandbox), "token": TOKEN, "org": ORG,
                      "bucket": "missing"}) as c:
        report = c.test()
    assert [s.status for s in report.steps] == ["passed", "passed", "passed", "failed"]
    assert "not found" in report.steps[3].message


def test_test_connection_when_nothing_listens() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with api.connect({"host": "127.0.0.1", "port": port, "token": TOKEN}) as c:
        report = c.test()
        with pytest.raises(NetworkError) as caught:
            c.run("list_buckets")
    assert [s.status for s in report.steps] == ["failed", "not run", "not run", "skipped"] or \
        [s.status for s in report.steps][:2] == ["failed", "not run"]
    assert f"127.0.0.1:{port}" in str(caught.value) and "Connection refused" in str(caught.value)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for s in held:
        s.close()
    server.close()


def test_a_server_that_never_answers_times_out(silent_server: int) -> None:
    with api.connect({"host": "127.0.0.1", "port": silent_server, "token": TOKEN, "timeout": 0.3}) as c:
        with pytest.raises(TimeoutError) as caught:
            c.run("query_suggestions")
    assert "did not answer within 0.3 s" in str(caught.value)


def test_token_never_appears_in_reprs_dry_runs_errors_or_logs(sandbox, caplog: pytest.LogCaptureFixture) -> None:
    secret = "tok-" + "s3cr3t" * 4
    sandbox_token = TOKEN
    texts: list[str] = []
    with caplog.at_level(logging.DEBUG):
        with api.connect({"host": "127.0.0.1", "port": port_of(sandbox), "token": secret, "org": ORG}) as c:
            texts.append(repr(c))
            req = c.render("write_data", {"data": f"m note=\"{secret}\"", "bucket": BUCKET})
            texts += [repr(req), str(req.to_dict()), req.curl()]
            for op, params in [("list_buckets", {}), ("write_data", {"data": "m v=1", "bucket": BUCKET}),
                               ("retrieve_bucket", {"bucket_id": "0" * 16})]:
                with pytest.raises(APIError) as caught:
                    c.run(op, params)
                texts += [str(caught.value), repr(caught.value), str(caught.value.body)]
            texts.append(str(c.test().to_dict()))
        with pytest.raises(ValidationError) as caught:
            api.connect({"host": "http://x", "token": secret})
        texts.append(str(caught.value))
    texts.append(caplog.text)
    joined = "\n".join(texts)
    assert secret not in joined
    assert "Token ****" in joined
    assert sandbox_token not in joined
    assert any(r.headers.get("Authorization") == f"Token {secret}" for r in sandbox.requests)


def test_extra_header_values_are_treated_as_secrets() -> None:
    conn = api.connect({"host": "db.example", "token": TOKEN, "headers": {"X-Proxy-Key": "proxy-secret-99"}})
    req = conn.render("list_buckets")
    assert req.headers["X-Proxy-Key"] == "proxy-secret-99"  # sent as given...
    shown = "\n".join([repr(conn), str(req.to_dict()), req.curl()])
    assert "proxy-secret-99" not in shown and "X-Proxy-Key" in shown  # ...but never shown
