"""The sandbox on a shared machine, driven with the attacks it must withstand, over real sockets.

Other local users and web pages in a developer's browser can reach a loopback port. The sandbox
checks the token and the body's size before reading a body, keeps a bounded record, serves a
bounded number of connections (idle ones give way, silent ones time out), refuses requests that
a web page on another site sends or that arrive under a foreign host name (DNS rebinding), warns
when it listens beyond loopback, and keeps the v1 password out of its log.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from urllib.parse import quote

import pytest

from influx_connector import api
from influx_connector.sandbox import Sandbox, SandboxExposedWarning

MiB = 1024 * 1024
TOKEN = "shared-T0ken-abc123"
WRITE = "/api/v2/write?org=sandbox-org&bucket=sandbox-bucket"
REPO = Path(__file__).resolve().parent.parent


def port(sb: Sandbox) -> int:
    return int(sb.url.rsplit(":", 1)[1])


def head(method: str, target: str, sb: Sandbox, *lines: str, host: str | None = None) -> bytes:
    """A request's head (request line and headers, ending in the blank line)."""
    fields = [f"Host: {host if host is not None else f'127.0.0.1:{port(sb)}'}", *lines]
    return (f"{method} {target} HTTP/1.1\r\n" + "".join(f"{f}\r\n" for f in fields) + "\r\n").encode()


def read_answer(sock: socket.socket, timeout: float = 5.0) -> tuple[int, bytes]:
    """The status and body of the next answer on ``sock`` (raises TimeoutError if none comes)."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before an answer: {data!r}")
        data += chunk
    top, _, rest = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in top.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return int(top.split(b" ", 2)[1]), rest[:length]


def exchange(sb: Sandbox, data: bytes, timeout: float = 5.0) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port(sb))) as sock:
        sock.sendall(data)
        return read_answer(sock, timeout)


def points(sb: Sandbox) -> int:
    return sum(len(b.points()) for b in sb.store.buckets.values())


# --- bodies: who may make the sandbox read one, and how much is kept ------------------------------------------


@pytest.mark.parametrize("auth", ["none", "wrong token", "wrong v1 password"])
def test_a_body_is_not_read_before_the_token_is_checked(auth: str) -> None:
    """A client that declares 100 MiB and sends 1 KiB gets its 401 at once: nothing waits for,
    reads or keeps the rest."""
    lines = {"none": [], "wrong token": ["Authorization: Token not-it"], "wrong v1 password": []}[auth]
    target = "/write?db=sandbox-bucket&p=not-it" if auth == "wrong v1 password" else WRITE
    with Sandbox(token=TOKEN) as sb, socket.create_connection(("127.0.0.1", port(sb))) as sock:
        sock.sendall(head("POST", target, sb, *lines, f"Content-Length: {100 * MiB}") + b"m v=1 1\n" * 128)
        status, _ = read_answer(sock, timeout=5)
        assert status == 401
        (recorded,) = sb.requests
        assert recorded.body == b"" and recorded.truncated and recorded.body_size == 100 * MiB
        assert points(sb) == 0


def test_a_body_over_the_limit_is_refused_before_it_is_read() -> None:
    with Sandbox(token=TOKEN, max_body_bytes=MiB) as sb, socket.create_connection(("127.0.0.1", port(sb))) as sock:
        sock.sendall(head("POST", WRITE, sb, f"Authorization: Token {TOKEN}", f"Content-Length: {MiB + 1}"))
        status, body = read_answer(sock, timeout=5)
        assert status == 413 and b"too large" in body
        # The same for a chunked body: read up to the limit, no further.
        chunk = b"m v=1 1\n" * 8192  # 64 KiB
        with socket.create_connection(("127.0.0.1", port(sb))) as chunked:
            chunked.sendall(head("POST", WRITE, sb, f"Authorization: Token {TOKEN}", "Transfer-Encoding: chunked"))
            for _ in range(20):  # 1.25 MiB
                chunked.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            status, _ = read_answer(chunked, timeout=5)
            assert status == 413
    assert points(sb) == 0


def test_unauthenticated_posts_leave_nothing_behind() -> None:
    """Three 20 MiB posts with a wrong token, sent whole: none of it is kept."""
    with Sandbox(token=TOKEN) as sb:
        for _ in range(3):
            body = b"m v=1 1\n" * (20 * MiB // 8)
            with socket.create_connection(("127.0.0.1", port(sb))) as sock:
                def send() -> None:
                    try:
                        sock.sendall(head("POST", WRITE, sb, "Authorization: Token wrong",
                                          f"Content-Length: {len(body)}") + body)
                    except OSError:
                        pass  # the sandbox stopped reading: what a refused client sees

                sender = threading.Thread(target=send)
                sender.start()
                status, _ = read_answer(sock, timeout=10)
                sender.join(timeout=10)
            assert status == 401
        assert [r.body for r in sb.requests] == [b"", b"", b""] and points(sb) == 0


def test_what_is_recorded_is_bounded() -> None:
    with Sandbox(token=TOKEN, record_limit=5, record_body_bytes=1000, record_bytes=3000) as sb:
        with api.connect({**sb.connection_settings, "retries": 0}) as conn:
            for n in range(8):
                data = "\n".join(f"m{n} v={i} {i + 1}" for i in range(200))  # about 2.5 KB
                conn.run("write_data", {"data": data})
        kept = sb.requests
        assert points(sb) == 8 * 200  # every write was done, whatever was kept of it
        assert len(kept) == len(sb.responses) == 3  # 1000 bytes each, 3000 in all
        assert [r.body[:3] for r in kept] == [b"m5 ", b"m6 ", b"m7 "]  # the latest
        assert all(len(r.body) == 1000 and r.truncated and r.body_size > 2000 for r in kept)
    with Sandbox(token=TOKEN, record_limit=4) as sb:
        for _ in range(6):
            assert exchange(sb, head("GET", "/ping", sb))[0] == 204
        assert len(sb.requests) == len(sb.responses) == 4
    defaults = Sandbox()
    assert (defaults.record_limit, defaults.record_body_bytes, defaults.record_bytes) == (10_000, MiB, 64 * MiB)


# --- connections: a bounded number, none held forever ---------------------------------------------------------


def sandbox_threads() -> int:
    return sum(1 for t in threading.enumerate() if "process_request_thread" in t.name)


@pytest.mark.slow
def test_half_open_connections_do_not_pin_unbounded_threads() -> None:
    """300 connections that never send a byte: at most max_connections (128 by default)
    threads, and a client that does send is still served (an idle connection gives its place up)."""
    cap = 128
    with Sandbox(token=TOKEN) as sb:
        before = sandbox_threads()
        idle = [socket.create_connection(("127.0.0.1", port(sb))) for _ in range(300)]
        try:
            time.sleep(1.0)
            assert sandbox_threads() - before <= cap
            started = time.monotonic()
            with api.connect({**sb.connection_settings, "retries": 0, "timeout": 5}) as conn:
                assert conn.run("list_buckets").status == 200
            assert time.monotonic() - started < 5
            assert sandbox_threads() - before <= cap
        finally:
            for sock in idle:
                sock.close()


def test_a_client_that_stops_sending_is_let_go() -> None:
    with Sandbox(token=TOKEN, read_timeout=0.5) as sb:
        for partial in (b"", b"GET /health HTTP/1.1\r\nHo"):  # nothing yet; half a request head
            with socket.create_connection(("127.0.0.1", port(sb))) as sock:
                sock.sendall(partial)
                sock.settimeout(5)
                started = time.monotonic()
                assert sock.recv(65536) == b""  # closed by the sandbox
                assert time.monotonic() - started < 4
        with socket.create_connection(("127.0.0.1", port(sb))) as sock:  # a kept-alive connection, gone idle
            sock.sendall(head("GET", "/ping", sb))
            assert read_answer(sock)[0] == 204
            sock.settimeout(5)
            started = time.monotonic()
            assert sock.recv(65536) == b""
            assert time.monotonic() - started < 4


# --- web pages: DNS rebinding and cross-site requests ---------------------------------------------------------


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:{port}", "sandbox.internal:{port}",
                                  "127.0.0.1.nip.example:{port}"])
def test_a_foreign_host_name_is_refused(host: str) -> None:
    """A page whose name was re-pointed at 127.0.0.1 (DNS rebinding) sends its own name as Host."""
    with Sandbox(token=TOKEN) as sb:
        named = host.format(port=port(sb))
        status, body = exchange(sb, head("GET", "/api/v2/buckets", sb, f"Authorization: Token {TOKEN}", host=named))
        assert status == 403 and b"Host" in body
        status, _ = exchange(sb, head("POST", WRITE, sb, f"Authorization: Token {TOKEN}", "Content-Length: 8",
                                      host=named) + b"m v=1 1\n")
        assert status == 403 and points(sb) == 0


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "[::1]:{port}", "app.localhost:{port}",
                                  "192.0.2.10:{port}", "devbox.lan:{port}", "DevBox.lan"])
def test_addresses_localhost_and_allowed_names_are_served(host: str) -> None:
    with Sandbox(token=TOKEN, allowed_hosts=["devbox.lan"]) as sb:
        status, _ = exchange(sb, head("GET", "/api/v2/buckets", sb, f"Authorization: Token {TOKEN}",
                                      host=host.format(port=port(sb))))
        assert status == 200


def test_the_name_the_sandbox_listens_on_is_allowed() -> None:
    with Sandbox(host="localhost", token=TOKEN) as sb:
        assert "localhost" in sb.allowed_hosts
    assert Sandbox(host="127.0.0.1").allowed_hosts == ()


def test_a_web_page_cannot_write_with_the_default_token() -> None:
    """The simple request a page can send anywhere: a text/plain POST with the password in ``p``."""
    with Sandbox() as sb:  # the default, well-known token
        target = "/write?db=sandbox-bucket&p=sandbox-token"
        for extra in (["Origin: https://evil.example"], ["Origin: null"], ["Sec-Fetch-Site: cross-site"],
                      ["Origin: http://localhost:1", "Sec-Fetch-Site: same-site"]):
            status, body = exchange(sb, head("POST", target, sb, "Content-Type: text/plain", "Content-Length: 8",
                                             *extra) + b"m v=1 1\n")
            assert status == 403 and b"other sites" in body, extra
        assert points(sb) == 0
        status, _ = exchange(sb, head("GET", "/query?db=sandbox-bucket&q=SHOW+DATABASES&p=sandbox-token", sb,
                                      "Sec-Fetch-Site: cross-site"))
        assert status == 403
        # Tools send no Origin, and the sandbox's own origin is not another site.
        for extra in ([], [f"Origin: http://127.0.0.1:{port(sb)}", "Sec-Fetch-Site: same-origin"]):
            status, _ = exchange(sb, head("POST", target, sb, "Content-Length: 8", *extra) + b"m v=1 1\n")
            assert status == 204, extra
        assert points(sb) == 1


# --- telling the user, and keeping the password out of the log -----------------------------------------------------


def test_listening_beyond_loopback_warns() -> None:
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        Sandbox(token=TOKEN).start().stop()
    assert not [w for w in said if issubclass(w.category, SandboxExposedWarning)]
    with pytest.warns(SandboxExposedWarning, match="other machines can reach"):
        sb = Sandbox(host="0.0.0.0", token=TOKEN).start()
    sb.stop()


def test_the_command_line_warns_when_bound_beyond_loopback() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "influx_connector", "sandbox", "--bind", "0.0.0.0", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()  # the address: the sandbox is up
        assert "0.0.0.0" in first
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert "warning: the sandbox listens on" in err and "other machines can reach" in err


def test_the_debug_log_shows_no_password_or_token(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="influx_connector.sandbox")
    wrong = "wrong-Pa55word-xyz"
    with Sandbox(token=TOKEN) as sb:
        for password in (TOKEN, wrong):
            exchange(sb, head("GET", f"/query?db=sandbox-bucket&q=SHOW+DATABASES&p={quote(password)}", sb))
            exchange(sb, head("GET", f"/query?p={password}&db=sandbox-bucket&q=SHOW+DATABASES", sb))
        with socket.create_connection(("127.0.0.1", port(sb))) as sock:  # a malformed request line
            sock.sendall(f"GET /query?p={TOKEN} HTTP/1.1 extra\r\n\r\n".encode())
            sock.settimeout(5)
            assert b"400" in sock.recv(65536)
        exchange(sb, head("GET", "/api/v2/buckets", sb, f"Authorization: Token {TOKEN}"))
        exchange(sb, head("GET", f"/api/v2/buckets?name={TOKEN}", sb, f"Authorization: Token {TOKEN}"))
    texts = [record.getMessage() for record in caplog.records]
    assert any("/query" in t for t in texts), "the requests were not logged"
    leaked = [t for t in texts if TOKEN in t or wrong in t or quote(TOKEN) in t]
    assert not leaked, leaked
