"""A fault-injecting HTTP proxy on loopback, for testing how the connector survives a bad network.

``FaultProxy`` listens on 127.0.0.1 and forwards every request, byte for byte, to a real upstream
server (the sandbox, or a real influxd): method, path, query, headers and body (a gzip body goes
as it is) out; status, headers and body back. Each request gets a fresh upstream connection; the
client side is kept alive between requests unless a fault or the upstream closes it.

A test scripts faults in two ways, and may combine them:

* ``proxy.inject(f1, f2, None, f3, path="/api/v2/write")``: the next matching requests get these
  faults in order, one each (``None`` lets one request through untouched);
* ``proxy.rule(fault, every=3, times=5, body_above=40_000, path=...)``: a standing rule, applied
  to every ``every``-th matching request, at most ``times`` times, only to bodies larger than
  ``body_above`` bytes (counted after gunzipping a gzip body, as a server's size limit would).

Queued faults come before rules. Everything is recorded: ``proxy.log`` holds one ``Exchange``
per request received (what was done, the status the client got), ``proxy.counts`` how many
times each fault kind was injected, ``proxy.forwarded`` how many requests reached the upstream.

The faults (each ``Fault`` has a ``kind``, the name used in ``counts``):

``Fault.drop()``, kind ``drop``
    The lost request: the proxy reads the whole request, does not forward it, and closes the
    connection (FIN) without a word. The server did nothing; the client cannot know that.
``Fault.drop(after_forward=True)``, kind ``drop_after``
    The lost answer: the request is forwarded, the server does the work and answers, and the
    proxy closes the connection instead of relaying the answer.
``Fault.reset()`` / ``Fault.reset(after_forward=True)``, kinds ``reset`` / ``reset_after``
    As the two above, but the connection is aborted with a TCP RST (``SO_LINGER`` 0), so the
    client sees "connection reset by peer".
``Fault.stall(seconds)``, kind ``stall``
    The slow server: the request is forwarded and the answer held back ``seconds`` (longer than
    the client's read timeout), then sent to a client still waiting, and the connection closed.
    The hold ends early when the client hangs up or the proxy stops, so a test does not wait
    out a long stall.
``Fault.status(code, retry_after=None, retry_after_date=None)``, kind ``"<code>"``
    The proxy answers ``code`` itself (429, 503, 500, 502, 504, 413, ...) without forwarding, with
    an InfluxDB-style JSON error body (a gateway-style text body for 502/504). ``retry_after``
    is sent as the ``Retry-After`` header as given (seconds, say ``"2"``);
    ``retry_after_date=s`` sends an HTTP date ``s`` seconds ahead, rounded up to the next whole
    second so the wait it asks for is never shorter than ``s``.
``proxy.too_large(max_bytes)``: a rule, kind ``413``
    ``proxy.rule(Fault.status(413), body_above=max_bytes)``: a 413 for every body larger than
    ``max_bytes``, as a server with a body-size limit answers.
``Fault.cut("length")`` / ``Fault.cut("chunked")``, kinds ``cut_length`` / ``cut_chunked``
    The answer cut off while being read: the request is forwarded, and the server's answer is
    relayed with a ``Content-Length`` of the whole body but only half of it, or as a chunked
    body with its final (zero-length) chunk missing; then the connection is closed. An answer
    with no body (a 204) has nothing to cut, so its status line is cut in the middle instead.
"""
from __future__ import annotations

import collections
import email.utils
import gzip
import json
import math
import select
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import pytest

CUT_MODES = ("length", "chunked")
LIMIT_HEAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class Fault:
    """One thing to do to one request instead of forwarding it faithfully (see the module docstring)."""

    kind: str
    status_code: int = 0
    retry_after: str | None = None
    retry_after_date: float | None = None
    seconds: float = 0.0

    @classmethod
    def drop(cls, after_forward: bool = False) -> Fault:
        return cls("drop_after" if after_forward else "drop")

    @classmethod
    def reset(cls, after_forward: bool = False) -> Fault:
        return cls("reset_after" if after_forward else "reset")

    @classmethod
    def stall(cls, seconds: float) -> Fault:
        return cls("stall", seconds=seconds)

    @classmethod
    def status(cls, code: int, retry_after: str | None = None, retry_after_date: float | None = None) -> Fault:
        return cls(str(code), status_code=code, retry_after=retry_after, retry_after_date=retry_after_date)

    @classmethod
    def cut(cls, mode: str = "length") -> Fault:
        if mode not in CUT_MODES:
            raise ValueError(f"cut mode must be one of {CUT_MODES}, not {mode!r}")
        return cls(f"cut_{mode}")

    @property
    def forwards(self) -> bool:
        """Whether the request reaches the upstream before the fault strikes."""
        return self.kind in ("drop_after", "reset_after", "stall", "cut_length", "cut_chunked")


@dataclass
class Rule:
    """A standing fault: every ``every``-th matching request, at most ``times`` times."""

    fault: Fault
    every: int = 1
    times: int | None = None
    path: str | None = None
    body_above: int | None = None
    seen: int = 0
    fired: int = 0


@dataclass
class Exchange:
    """One request the proxy received and what became of it."""

    method: str
    path: str  # with the query string
    body_bytes: int  # as sent (compressed when gzip)
    fault: str | None  # the fault kind injected, None when forwarded faithfully
    forwarded: bool = False
    status: int | None = None  # the status the client received; None when it received none


@dataclass
class _Message:
    """An HTTP message as read off the wire: its head (start line and headers) and raw body."""

    head: bytes
    start: str
    headers: list[tuple[str, str]]
    body: bytes  # the raw body, chunk framing included when chunked
    chunked: bool = False
    until_close: bool = False

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    @property
    def keep_alive(self) -> bool:
        return not self.until_close and "close" not in (self.header("Connection") or "").lower()

    def payload(self) -> bytes:
        """The body without chunk framing."""
        return dechunk(self.body) if self.chunked else self.body


def dechunk(raw: bytes) -> bytes:
    out, at = [], 0
    while True:
        line_end = raw.index(b"\r\n", at)
        size = int(raw[at:line_end].split(b";", 1)[0], 16)
        if size == 0:
            return b"".join(out)
        out.append(raw[line_end + 2:line_end + 2 + size])
        at = line_end + 2 + size + 2


def _read_head(reader: BinaryIO) -> tuple[bytes, str, list[tuple[str, str]]] | None:
    lines: list[bytes] = []
    size = 0
    while True:
        line = reader.readline(LIMIT_HEAD_BYTES)
        if not line:
            if lines:
                raise ConnectionError("the peer closed the connection in the middle of a message head")
            return None
        if not lines and line in (b"\r\n", b"\n"):
            continue  # stray blank lines between messages are allowed (RFC 9112 section 2.2)
        lines.append(line)
        size += len(line)
        if size > LIMIT_HEAD_BYTES:
            raise ValueError("message head too large")
        if line in (b"\r\n", b"\n"):
            break
    text = [ln.decode("latin-1").rstrip("\r\n") for ln in lines[:-1]]
    headers = [(k.strip(), v.strip()) for k, _, v in (ln.partition(":") for ln in text[1:])]
    return b"".join(lines), text[0], headers


def _read_exactly(reader: BinaryIO, size: int) -> bytes:
    data = reader.read(size)
    if len(data) < size:
        raise ConnectionError("the peer closed the connection in the middle of a body")
    return data


def _read_chunked_raw(reader: BinaryIO) -> bytes:
    parts = []
    while True:
        line = reader.readline(LIMIT_HEAD_BYTES)
        if not line:
            raise ConnectionError("the peer closed the connection inside a chunked body")
        parts.append(line)
        size = int(line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while True:  # trailers, up to the blank line
                trailer = reader.readline(LIMIT_HEAD_BYTES)
                parts.append(trailer)
                if trailer in (b"\r\n", b"\n", b""):
                    return b"".join(parts)
        parts.append(_read_exactly(reader, size + 2))


def read_message(reader: BinaryIO, request_method: str | None = None) -> _Message | None:
    """A request (``request_method`` None) or the answer to one; None when the peer closed first."""
    found = _read_head(reader)
    if found is None:
        return None
    head, start, headers = found
    msg = _Message(head, start, headers, b"")
    if request_method is not None:
        status = int(start.split()[1])
        if request_method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return msg
    if "chunked" in (msg.header("Transfer-Encoding") or "").lower():
        msg.body, msg.chunked = _read_chunked_raw(reader), True
    elif msg.header("Content-Length") is not None:
        msg.body = _read_exactly(reader, int(msg.header("Content-Length") or 0))
    elif request_method is not None:
        msg.body, msg.until_close = reader.read(), True  # an answer framed by the end of the connection
    return msg


def accept_loop(listener: socket.socket, stopping: threading.Event, lock: threading.Lock,
                clients: set[socket.socket], serve: Any, name: str) -> None:
    """Accept connections until ``stopping`` is set, each served by ``serve(sock)`` on a thread
    of its own and kept in ``clients`` (under ``lock``) so that closing can hang up on it."""
    listener.settimeout(0.05)  # so a stop is noticed promptly
    while not stopping.is_set():
        try:
            sock, _ = listener.accept()
        except TimeoutError:
            continue
        except OSError:
            return
        sock.settimeout(None)
        with lock:
            clients.add(sock)
        threading.Thread(target=serve, args=(sock,), name=name, daemon=True).start()


def serve_requests(client: socket.socket, stopping: threading.Event, lock: threading.Lock,
                   clients: set[socket.socket], handle: Any) -> None:
    """Read requests off ``client`` and answer each with ``handle(client, request)`` (False ends the
    connection) until the client hangs up, speaks something that is not HTTP, or ``stopping``."""
    reader = client.makefile("rb")
    try:
        while not stopping.is_set():
            request = read_message(reader)
            if request is None or not handle(client, request):
                return
    except (OSError, ValueError, IndexError):
        return  # a client that went away, or spoke something that is not HTTP
    finally:
        reader.close()
        with lock:
            clients.discard(client)
        client.close()


def _http_date(seconds_ahead: float) -> str:
    return email.utils.formatdate(math.ceil(time.time() + seconds_ahead), usegmt=True)


def _error_answer(fault: Fault) -> bytes:
    """The answer the proxy makes up for a status fault: InfluxDB's JSON error body, or a gateway's text."""
    code = fault.status_code
    reasons = {413: "Request Entity Too Large", 429: "Too Many Requests", 500: "Internal Server Error",
               502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
    reason = reasons.get(code, "Error")
    if code in (502, 504):
        body, ctype = f"{code} {reason}: injected by the fault proxy\n".encode(), "text/plain; charset=utf-8"
    else:
        influx_codes = {413: "request too large", 429: "too many requests", 500: "internal error",
                        503: "unavailable"}
        doc = {"code": influx_codes.get(code, "internal error"),
               "message": f"{reason.lower()} (injected by the fault proxy)"}
        body, ctype = json.dumps(doc).encode(), "application/json; charset=utf-8"
    headers = [f"HTTP/1.1 {code} {reason}", f"Content-Type: {ctype}", f"Content-Length: {len(body)}"]
    if fault.retry_after is not None:
        headers.append(f"Retry-After: {fault.retry_after}")
    elif fault.retry_after_date is not None:
        headers.append(f"Retry-After: {_http_date(fault.retry_after_date)}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode("latin-1") + body


def _cut_answer(answer: _Message, mode: str) -> bytes:
    """The first part of ``answer``, framed so the client expects more than it will get."""
    payload = answer.payload()
    if not payload:
        status_line = answer.head.split(b"\r\n", 1)[0]
        return status_line[:len(status_line) // 3]  # "HTTP/1.1" and no status: cut mid status line
    keep = [(k, v) for k, v in answer.headers if k.lower() not in ("content-length", "transfer-encoding")]
    if mode == "length":
        keep.append(("Content-Length", str(len(payload))))
        body = payload[:len(payload) // 2]
    else:
        keep.append(("Transfer-Encoding", "chunked"))
        half = payload[:max(1, len(payload) // 2)]
        body = b"%x\r\n%s\r\n" % (len(half), half)  # ... and no "0\r\n\r\n"
    head = answer.start + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in keep) + "\r\n"
    return head.encode("latin-1") + body


class FaultProxy:
    """A threaded HTTP proxy on 127.0.0.1 in front of ``upstream`` ("http://host:port"), injecting faults."""

    def __init__(self, upstream: str):
        scheme, _, rest = upstream.partition("://")
        if scheme != "http":
            raise ValueError("the fault proxy speaks plain http to its upstream")
        host, _, port = rest.rstrip("/").rpartition(":")
        self.upstream = (host.strip("[]"), int(port))
        self.log: list[Exchange] = []
        self.counts: collections.Counter[str] = collections.Counter()
        self._queue: collections.deque[tuple[Fault | None, str | None]] = collections.deque()
        self._rules: list[Rule] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._clients: set[socket.socket] = set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.host, self.port = self._listener.getsockname()[:2]
        self._thread = threading.Thread(target=self._accept, name=f"fault-proxy-{self.port}", daemon=True)
        self._thread.start()

    # --- what a test sees ------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def forwarded(self) -> int:
        with self._lock:
            return sum(1 for x in self.log if x.forwarded)

    @property
    def injected(self) -> int:
        with self._lock:
            return sum(self.counts.values())

    def settings(self, values: dict[str, Any]) -> dict[str, Any]:
        """Connection values that reach the upstream through this proxy instead."""
        return {**values, "protocol": "http", "host": self.host, "port": self.port}

    def inject(self, *faults: Fault | None, path: str | None = None) -> FaultProxy:
        """The next ``len(faults)`` requests to ``path`` (a prefix; any when None) get these, in order."""
        with self._lock:
            self._queue.extend((f, path) for f in faults)
        return self

    def rule(self, fault: Fault, *, every: int = 1, times: int | None = None, path: str | None = None,
             body_above: int | None = None) -> Rule:
        rule = Rule(fault, every=every, times=times, path=path, body_above=body_above)
        with self._lock:
            self._rules.append(rule)
        return rule

    def too_large(self, max_bytes: int, path: str | None = None, times: int | None = None) -> Rule:
        """A 413 for every request body over ``max_bytes`` (decompressed), like a server's size limit."""
        return self.rule(Fault.status(413), body_above=max_bytes, path=path, times=times)

    def clear(self) -> None:
        """Forget the script (queued faults and rules); the record stays."""
        with self._lock:
            self._queue.clear()
            self._rules.clear()

    def pending(self) -> int:
        """Queued faults not yet used: a test asserts 0 to prove its whole script ran."""
        with self._lock:
            return len(self._queue)

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._listener.close()
        with self._lock:
            clients = list(self._clients)
        for sock in clients:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the work ---------------------------------------------------------------------------

    def _accept(self) -> None:
        accept_loop(self._listener, self._stopping, self._lock, self._clients, self._serve,
                    f"fault-proxy-{self.port}-conn")

    def _choose(self, path: str, body: bytes, encoding: str | None) -> Fault | None:
        with self._lock:
            if self._queue and (self._queue[0][1] is None or path.startswith(self._queue[0][1])):
                return self._queue.popleft()[0]
            size: int | None = None
            for rule in self._rules:
                if rule.path is not None and not path.startswith(rule.path):
                    continue
                if rule.times is not None and rule.fired >= rule.times:
                    continue
                if rule.body_above is not None:
                    if size is None:
                        size = len(gzip.decompress(body) if body and encoding == "gzip" else body)
                    if size <= rule.body_above:
                        continue
                rule.seen += 1
                if rule.seen % rule.every == 0:
                    rule.fired += 1
                    return rule.fault
            return None

    def _serve(self, client: socket.socket) -> None:
        serve_requests(client, self._stopping, self._lock, self._clients, self._one)

    def _one(self, client: socket.socket, request: _Message) -> bool:
        method, target = request.start.split()[:2]
        fault = self._choose(target, request.payload(), request.header("Content-Encoding"))
        exchange = Exchange(method, target, len(request.payload()), fault.kind if fault else None)
        with self._lock:
            self.log.append(exchange)
            if fault is not None:
                self.counts[fault.kind] += 1
        return self._handle(client, request, method, fault, exchange)

    def _handle(self, client: socket.socket, request: _Message, method: str, fault: Fault | None,
                exchange: Exchange) -> bool:
        """Answer one request as the fault says; False when the client connection is to end."""
        if fault is not None and fault.kind.isdigit():
            exchange.status = fault.status_code
            client.sendall(_error_answer(fault))
            return True
        if fault is not None and fault.kind in ("drop", "reset"):
            _hang_up(client, reset=fault.kind == "reset")
            return False
        answer = self._forward(request, method)
        exchange.forwarded = True
        exchange.status = int(answer.start.split()[1])
        if fault is None:
            client.sendall(answer.head + answer.body)
            return answer.keep_alive
        if fault.kind == "stall":
            if self._hold(client, fault.seconds):
                client.sendall(answer.head + answer.body)  # late, to a client that waited
            else:
                exchange.status = None
        elif fault.kind in ("drop_after", "reset_after"):
            exchange.status = None
            _hang_up(client, reset=fault.kind == "reset_after")
        elif fault.kind.startswith("cut_"):
            client.sendall(_cut_answer(answer, fault.kind[4:]))
            client.shutdown(socket.SHUT_WR)
        return False

    def _forward(self, request: _Message, method: str) -> _Message:
        with socket.create_connection(self.upstream, timeout=60) as upstream:
            upstream.sendall(request.head + request.body)
            with upstream.makefile("rb") as reader:
                while True:
                    answer = read_message(reader, request_method=method)
                    if answer is None:
                        raise ConnectionError("the upstream closed the connection without answering")
                    if not answer.start.split()[1].startswith("1"):
                        return answer  # 1xx interim answers are skipped

    def _hold(self, client: socket.socket, seconds: float) -> bool:
        """Wait ``seconds``; False if the client hung up or the proxy stopped first."""
        deadline = time.monotonic() + seconds
        while not self._stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            readable, _, _ = select.select([client], [], [], min(left, 0.05))
            if readable and not client.recv(1, socket.MSG_PEEK):
                return False  # the client gave up and closed its end
        return False


def _hang_up(sock: socket.socket, reset: bool) -> None:
    if reset:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    else:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


@dataclass
class Backlogged:
    """A listening socket whose accept queue is full, so a new connection's SYN goes unanswered."""

    port: int
    sockets: list[socket.socket] = field(default_factory=list)

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


def full_backlog(probe_timeout: float = 0.2, max_fill: int = 64) -> Backlogged:
    """A loopback port that accepts no more connections: connecting to it times out.

    The listener never accepts; connections are opened until one does not complete within
    ``probe_timeout`` (Linux drops the SYN of a connection its full accept queue has no room for).
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    found = Backlogged(listener.getsockname()[1], [listener])
    for _ in range(max_fill):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(probe_timeout)
        try:
            sock.connect(("127.0.0.1", found.port))
        except TimeoutError:
            sock.close()
            return found
        found.sockets.append(sock)
    found.close()
    raise RuntimeError(f"the accept queue of a listen(0) socket did not fill after {max_fill} connections")


def closed_port() -> int:
    """A loopback port with nothing listening on it (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def proxy() -> Iterator[Any]:
    """A factory: ``proxy(upstream_url)`` starts a FaultProxy in front of it; all are closed after the test."""
    started: list[FaultProxy] = []

    def make(upstream: str) -> FaultProxy:
        fp = FaultProxy(upstream)
        started.append(fp)
        return fp

    yield make
    for fp in started:
        fp.close()
