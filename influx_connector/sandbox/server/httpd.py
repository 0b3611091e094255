"""The HTTP plumbing under the route table: connections, request framing, bodies, answers.

A bounded number of connections is served, one thread each; a request's head is checked
(``Router.admit``) before its body is read; bodies are read within limits (chunked or not), and
answers go out with a Content-Length or chunked, as the real server sends them.
"""
from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from influx_connector.sandbox.server.auth import PUBLIC_PATHS
from influx_connector.sandbox.server.messages import VERSION, Reply, Request, invalid, too_large
from influx_connector.sandbox.server.routes import Router

if TYPE_CHECKING:
    from influx_connector.sandbox.server.sandbox import Sandbox

logger = logging.getLogger(__name__)

CHUNK_BYTES = 16 * 1024  # size of each chunk of a streamed (chunked) answer
#: Bodies sent to the public paths (health, ping) are read up to this size, not max_body_bytes:
#: anyone may call them.
PUBLIC_BODY_BYTES = 64 * 1024
#: An unread body up to this size is read and dropped after a refusal, so the connection stays
#: usable; a larger one is not read: the answer goes out and the connection is closed.
DISCARD_BYTES = 64 * 1024
#: After answering a request whose body was not read, this much of it (at most, in at most
#: LINGER_SECONDS) is read and dropped before closing, so the client sees the answer rather
#: than a reset.
LINGER_BYTES = 1024 * 1024
LINGER_SECONDS = 1.0


class _TooLarge(Exception):
    """A request body over the size the sandbox reads."""


class SandboxHTTPServer(ThreadingHTTPServer):
    """Adds the sandbox reference, tracks open connections so ``stop`` can cut them, and bounds
    the threads: at most ``max_connections`` connections are served at once. When all are taken,
    the connection that has waited longest for its next request gives its place up (so idle or
    half-open connections cannot lock clients out); when none waits, the newcomer gets a 503."""

    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog is 5: a client opening its whole pool at once (32
    # connections) would get some of them reset.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], sandbox: Sandbox, api: Router):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.sandbox = sandbox
        self.api = api
        #: Open connections, and since when each has been waiting for a request (None: busy).
        self._open: dict[socket.socket, float | None] = {}
        self._open_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(sandbox.max_connections)
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self._evict_idle()
            if not self._slots.acquire(timeout=1.0):
                logger.warning("sandbox: %d connections are busy; refusing one from %s", self.sandbox.max_connections,
                               client_address[0])
                self._turn_away(request)
                return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def _evict_idle(self) -> None:
        with self._open_lock:
            waiting = [(since, conn) for conn, since in self._open.items() if since is not None]
        if waiting:
            _, conn = min(waiting, key=lambda item: item[0])
            logger.debug("sandbox: all %d connections taken; closing the longest idle one",
                         self.sandbox.max_connections)
            _cut(conn)

    def _turn_away(self, request: socket.socket) -> None:
        try:
            request.setblocking(False)
            request.send(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        except OSError:
            pass
        self.shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver prints these tracebacks to stderr; most are clients hanging up mid-answer.
        logger.debug("connection from %s failed", client_address, exc_info=True)

    def track(self, conn: socket.socket, waiting_since: float | None) -> None:
        with self._open_lock:
            self._open[conn] = waiting_since

    def untrack(self, conn: socket.socket) -> None:
        with self._open_lock:
            self._open.pop(conn, None)

    def close_connections(self) -> None:
        # Keep-alive connections outlive serve_forever(); without this a client could keep
        # talking to a "stopped" sandbox over a pooled connection.
        with self._open_lock:
            conns, self._open = list(self._open), {}
        for conn in conns:
            _cut(conn)


def _cut(conn: socket.socket) -> None:
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "influxdb-sandbox"
    server: SandboxHTTPServer

    def setup(self) -> None:
        # Every read waits at most this long: a client that stops sending (between requests,
        # or half-way through one) gives its thread back instead of holding it forever.
        # (socketserver reads it per instance; the stubs declare it on the class only.)
        self.timeout = self.server.sandbox.read_timeout  # type: ignore[misc]
        super().setup()
        # Headers and body go out in separate writes; without TCP_NODELAY, Nagle's algorithm
        # plus the client's delayed ACK adds ~40 ms to every response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if isinstance(self.connection, ssl.SSLSocket):
            # The TLS handshake happens here, in the connection's own thread (under the handler's
            # timeout), so a slow or failing client cannot hold up the accept loop. A failed
            # handshake (a client that rejects the certificate) ends only this connection.
            self.connection.do_handshake()

    def handle_one_request(self) -> None:
        self.server.track(self.connection, time.monotonic())  # waiting for a request line
        super().handle_one_request()

    def parse_request(self) -> bool:
        self.server.track(self.connection, None)  # a request has started
        return super().parse_request()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def version_string(self) -> str:
        return self.server_version  # no Python version in the Server header

    def do_GET(self) -> None:
        self._serve()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def _serve(self) -> None:
        raw_path, _, query_string = self.path.partition("?")
        query = tuple(parse_qsl(query_string, keep_blank_values=True))
        head = Request(self.command, raw_path, query, self.headers, b"")
        try:
            length = self._body_length()
        except ValueError as exc:
            self.close_connection = True  # the framing is unknown, so the connection is unusable
            self._answer(head, self.server.api.refusal(head, invalid(f"unable to read request body: {exc}")))
            return
        # Who is asking, before a byte of the body is read: an unauthenticated client cannot make
        # the sandbox read (or keep) a body.
        refusal = self.server.api.admit(head)
        if refusal is not None:
            self._refuse(head, refusal, length)
            return
        limit = PUBLIC_BODY_BYTES if raw_path in PUBLIC_PATHS else self.server.sandbox.max_body_bytes
        if length is not None and length > limit:
            self._refuse(head, self.server.api.refusal(head, too_large()), length)
            return
        try:
            body = self._read_body(length, limit)
        except ConnectionError:
            # The client hung up before sending the whole body: acting on a truncated write
            # would store half a batch, so nothing is done and nothing is recorded.
            logger.debug("%s %s: client closed the connection mid-body", self.command, raw_path)
            self.close_connection = True
            return
        except _TooLarge:
            self._refuse(head, self.server.api.refusal(head, too_large()), None)
            return
        except ValueError as exc:
            self.close_connection = True
            self._answer(head, self.server.api.refusal(head, invalid(f"unable to read request body: {exc}")))
            return
        req = Request(self.command, raw_path, query, self.headers, body)
        self._answer(req, self.server.api.handle(req))

    def _body_length(self) -> int | None:
        """The body's declared length, or None for a chunked body."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return None
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        return length

    def _read_body(self, length: int | None, limit: int) -> bytes:
        if length is None:
            return self._read_chunked(limit)
        return self._read_exactly(length) if length else b""

    def _read_exactly(self, size: int) -> bytes:
        data = self.rfile.read(size)
        if len(data) < size:
            raise ConnectionError("connection closed before the body was complete")
        return data

    def _read_chunked(self, limit: int) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(65_537)
            if not line:
                raise ConnectionError("connection closed inside a chunked body")
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(65_537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers carry nothing the sandbox needs
                return b"".join(chunks)
            total += size
            if total > limit:
                raise _TooLarge()
            chunks.append(self._read_exactly(size))
            self.rfile.readline()  # the CRLF after each chunk

    def _refuse(self, head: Request, reply: Reply, length: int | None) -> None:
        """Answer a request whose body was not read. A small body is read and dropped, so the
        connection can carry the next request; a larger or chunked one is left unread, and the
        connection closed once the answer is out."""
        if length is not None and length <= DISCARD_BYTES:
            try:
                self._read_exactly(length)
            except (ConnectionError, OSError):
                self.close_connection = True
                return
            self._answer(head, reply, unread=length)
            return
        self.close_connection = True
        reply.headers["Connection"] = "close"
        self._answer(head, reply, unread=-1 if length is None else length)
        self._linger()

    def _linger(self) -> None:
        """Read and drop what the client is still sending, for a moment, before the connection
        closes: closing with unread data would reset it, and the client could lose the answer."""
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + LINGER_SECONDS
            dropped = 0
            while dropped < LINGER_BYTES and (left := deadline - time.monotonic()) > 0:
                self.connection.settimeout(left)
                chunk = self.connection.recv(65536)
                if not chunk:
                    break
                dropped += len(chunk)
        except OSError:
            pass

    def _answer(self, req: Request, reply: Reply, unread: int | None = None) -> None:
        reply.headers.setdefault("X-Influxdb-Build", "OSS")
        reply.headers.setdefault("X-Influxdb-Version", VERSION)
        # No body on 204 or HEAD; a 204 also carries no Content-Length (RFC 9110 section 8.6).
        sent_body = b"" if reply.status == 204 or req.method == "HEAD" else reply.body
        chunked = reply.chunked and reply.status != 204 and req.method != "HEAD"
        if chunked:
            reply.headers["Transfer-Encoding"] = "chunked"
        elif reply.status != 204:
            reply.headers["Content-Length"] = str(len(reply.body))
        self.server.sandbox.record(req, reply, sent_body, unread)
        self._log(req, reply)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if chunked:
            for start in range(0, len(sent_body), CHUNK_BYTES):
                piece = sent_body[start : start + CHUNK_BYTES]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        elif sent_body:
            self.wfile.write(sent_body)

    def _log(self, req: Request, reply: Reply) -> None:
        # Never log the token itself: only whether one was sent.
        scheme = req.header("Authorization").partition(" ")[0]
        auth = f"{scheme} ***" if scheme else "none"
        logger.debug("%s %s -> %d (auth: %s)", req.method, self.server.sandbox.mask(req.path), reply.status, auth)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        # BaseHTTPRequestHandler writes every request to stderr; route it to logging instead,
        # with the request line's password (the v1 "p" parameter) and any token masked.
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("http.server: %s", self.server.sandbox.mask(format % args))

