"""A time limit for the whole call, which a server trickling bytes cannot outlast.

Each server here sends a byte now and then, always within the read timeout, for far longer
than the call's deadline; the call must end with the deadline's error, long before the server
would have finished. The bounds on elapsed time are loose on purpose (the server would take a
minute; the call must not), so a busy machine cannot make them fail.
"""
from __future__ import annotations

import socket
import time

import pytest

from influx_connector import api
from influx_connector.deadline import Deadline
from influx_connector.errors import TimeoutError, ValidationError

from .hostile import HostileServer, drip, json_reply, reply

SLOW = 60.0  # how long each trickling answer would take to arrive whole


def _slow(answer: bytes, head: bool = False):
    """``answer`` sent so that it takes SLOW seconds, a byte at a time."""
    start = 0 if head else answer.index(b"\r\n\r\n") + 4
    return lambda req: drip(answer, every=SLOW / max(1, len(answer) - start), head=head)


@pytest.fixture
def server():
    with HostileServer() as srv:
        yield srv


def _ends_by_deadline(call, limit: float) -> TimeoutError:
    started = time.monotonic()
    with pytest.raises(TimeoutError) as caught:
        call()
    elapsed = time.monotonic() - started
    assert caught.value.reason == "deadline", caught.value
    assert f"its {limit:g} s time limit" in str(caught.value)
    assert elapsed < SLOW / 3, f"the call took {elapsed:.1f} s"
    return caught.value


@pytest.mark.parametrize(("op", "params", "path", "kind"), [
    ("list_buckets", {}, "/api/v2/buckets", "application/json"),   # read whole by the transport
    ("query_data", {"query": "q"}, "/api/v2/query", "text/csv"),   # read by the codec as it streams
])
def test_a_server_trickling_the_body_cannot_outlast_the_deadline(server, op: str, params: dict, path: str,
                                                                 kind: str) -> None:
    body = b"#datatype,string,long\r\n,result,table\r\n" + b",,0\r\n" * 60 if kind == "text/csv" else \
        b'{"buckets": [], "pad": "' + b"x" * 120 + b'"}'
    server.on(path, _slow(reply(200, body, content_type=kind)))
    with api.connect(server.settings(timeout=1, deadline=2)) as conn:
        err = _ends_by_deadline(lambda: conn.run(op, params), 2)
    assert "while reading the answer" in str(err) and "'deadline'" in str(err)


def test_a_server_trickling_its_status_line_and_headers_cannot_outlast_the_deadline(server) -> None:
    server.on("/api/v2/buckets", _slow(json_reply(200, {"buckets": []}), head=True))
    with api.connect(server.settings(timeout=1)) as conn:
        err = _ends_by_deadline(lambda: conn.run("list_buckets", deadline=1.5), 1.5)
    assert "waiting for http://127.0.0.1" in str(err)


def test_the_deadline_covers_every_page(server) -> None:
    def page(request) -> bytes:
        number = int(request.target.rsplit("=", 1)[1]) if "page=" in request.target else 1
        time.sleep(0.3)  # each page well within the read timeout
        return json_reply(200, {"buckets": [{"name": str(number)}],
                                "links": {"next": f"/api/v2/buckets?page={number + 1}"}})

    server.on("/api/v2/buckets", page)
    with api.connect(server.settings(timeout=5)) as conn:
        _ends_by_deadline(lambda: conn.run("list_buckets", {"all_pages": True}, deadline=2), 2)
    assert 2 <= len(server.seen) < 20


def test_no_retry_wait_starts_that_would_pass_the_deadline(server) -> None:
    server.on("/api/v2/buckets", json_reply(503, {"code": "unavailable", "message": "busy"}, {"Retry-After": "3"}))
    with api.connect(server.settings(retries=5, retry_max_delay=10)) as conn:
        started = time.monotonic()
        with pytest.raises(Exception) as caught:
            conn.run("list_buckets", deadline=1)
    assert time.monotonic() - started < 2.5
    assert "would pass the call's 1 s time limit" in str(caught.value)
    assert len(server.seen) == 1


def test_test_connection_is_bounded_by_the_deadline(server) -> None:
    server.on("/ping", _slow(reply(204, b"") + b"", head=True))
    with api.connect(server.settings(timeout=1, deadline=1.5)) as conn:
        started = time.monotonic()
        report = conn.test()
    assert time.monotonic() - started < SLOW / 3
    assert report.steps[0].status == "failed" and "time limit" in report.steps[0].message


def test_a_stream_is_bounded_until_its_answer_starts_then_paced_by_its_reader(server) -> None:
    body = b"#datatype,string,long\r\n,result,table\r\n" + b",,0\r\n" * 8
    server.on("/api/v2/query", lambda req: drip(reply(200, body, content_type="text/csv"), every=0.05, size=4))
    with api.connect(server.settings(timeout=2)) as conn:
        with conn.stream("query_data", {"query": "q"}, deadline=0.5) as rows:
            assert len(list(rows)) == 8  # about 1 s of trickle, past the 0.5 s deadline: still read
    server.on("/api/v2/query", _slow(reply(200, body, content_type="text/csv"), head=True))
    with api.connect(server.settings(timeout=1)) as conn:
        _ends_by_deadline(lambda: conn.stream("query_data", {"query": "q"}, deadline=1), 1)


@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf"), "5", True, 10**9])
def test_a_bad_deadline_is_refused_before_sending(server, value: object) -> None:
    with api.connect(server.settings()) as conn, pytest.raises(ValidationError) as caught:
        conn.run("list_buckets", deadline=value)  # type: ignore[arg-type]
    assert "deadline" in caught.value.by_field()
    assert server.seen == []


@pytest.mark.parametrize(("values", "field"), [({"deadline": 0}, "deadline"), ({"max_answer_mb": 0.5}, "max_answer_mb"),
                                               ({"deadline": "soon"}, "deadline")])
def test_bad_limits_in_the_connection_name_the_field(values: dict, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        api.connect({"host": "localhost", "token": "t0ken-0123", **values})
    assert field in caught.value.by_field()


def test_a_socket_taken_over_by_another_call_is_not_shut_by_the_first_calls_deadline() -> None:
    first, second = Deadline(0.2), Deadline(30)
    ours, theirs = socket.socketpair()
    try:
        first.watch(ours)
        second.watch(ours)  # the pooled connection now serves another call
        time.sleep(0.6)
        assert first.expired()
        ours.sendall(b"still open")
        assert theirs.recv(100) == b"still open"
        spare, other = socket.socketpair()
        third = Deadline(0.2)
        third.watch(spare)
        deadline = time.monotonic() + 10
        while not third.fired and time.monotonic() < deadline:
            time.sleep(0.05)
        assert spare.recv(10) == b""  # shut down: a blocked read would have returned
        spare.close()
        other.close()
    finally:
        second.close()
        ours.close()
        theirs.close()
