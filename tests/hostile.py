"""A scripted HTTP server on loopback that answers the way a hostile or broken server would.

``HostileServer`` listens on 127.0.0.1 and answers each request with whatever its script says,
byte for byte: a test decides the status line, the headers and how the body goes out (all at
once, in chunks, one byte at a time with pauses, never finished). It records every request it
received (``server.seen``: method, target, headers), so a test can check which server got the
connection's secrets.

    with HostileServer() as srv:
        srv.on("/api/v2/buckets", lambda req: reply(200, b'{"buckets": []}'))
        srv.on("/slow", lambda req: drip(reply(200, b"x" * 100), every=0.2))

A handler takes the request (a ``Seen``) and returns the bytes to send, or a callable that gets
the client socket and sends what it likes (the connection ends afterwards). Paths match by prefix; the longest wins; anything
else is a 404.
"""
from __future__ import annotations

import gzip
import json
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .faults import accept_loop, serve_requests

Sender = Callable[[socket.socket], None]
Answer = bytes | Sender
Handler = Callable[["Seen"], Answer]


@dataclass(frozen=True)
class Seen:
    """One request as it arrived."""

    method: str
    target: str
    headers: Mapping[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


def reply(status: int, body: bytes = b"", headers: Mapping[str, str] | None = None, *,
          chunked: bool = False, length: bool = True, content_type: str = "application/json") -> bytes:
    """A whole answer: status line, headers, body (framed by Content-Length, chunks, or the end
    of the connection when ``length`` is False)."""
    head = [f"HTTP/1.1 {status} Whatever", f"Content-Type: {content_type}"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if chunked:
        head.append("Transfer-Encoding: chunked")
        framed = b"".join(f"{len(part):x}\r\n".encode() + part + b"\r\n"
                          for part in _pieces(body, 65536) if part) + b"0\r\n\r\n"
    else:
        head.append(f"Content-Length: {len(body)}" if length else "Connection: close")
        framed = body
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + framed


def json_reply(status: int, doc: Any, headers: Mapping[str, str] | None = None) -> bytes:
    return reply(status, json.dumps(doc).encode(), headers)


def gzip_reply(status: int, body: bytes, headers: Mapping[str, str] | None = None, *,
               content_type: str = "application/json", chunked: bool = True) -> bytes:
    """The body gzip-compressed, with ``Content-Encoding: gzip``."""
    return reply(status, gzip.compress(body, compresslevel=9), {"Content-Encoding": "gzip", **(headers or {})},
                 chunked=chunked, content_type=content_type)


def gzip_bomb(decompressed: int) -> bytes:
    """A gzip stream of ``decompressed`` zero bytes, about a thousandth of that size, made
    without ever holding the decompressed bytes."""
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    parts = [squeeze.compress(block) for _ in range(decompressed >> 20)]
    parts.append(squeeze.compress(bytes(decompressed & ((1 << 20) - 1))))
    parts.append(squeeze.flush())
    return b"".join(parts)


def drip(answer: bytes, every: float, size: int = 1, head: bool = False) -> Sender:
    """Send ``answer`` ``size`` bytes at a time, ``every`` seconds apart: each read the client
    makes gets something well within its read timeout, so only a deadline ends the call. With
    ``head`` False the status line and headers go at once and only the body drips."""
    def send(sock: socket.socket) -> None:
        start = 0 if head else answer.index(b"\r\n\r\n") + 4
        sock.sendall(answer[:start])
        for piece in _pieces(answer[start:], size):
            time.sleep(every)
            sock.sendall(piece)
    return send


def trickle_after(data: bytes, every: float, total: float) -> Sender:
    """Send ``data`` at once, then one more byte every ``every`` seconds for ``total`` seconds:
    an answer that goes on and on, never finishing, until the client hangs up."""
    def send(sock: socket.socket) -> None:
        sock.sendall(data)
        ends = time.monotonic() + total
        while time.monotonic() < ends:
            time.sleep(every)
            sock.sendall(b" ")
    return send


def _pieces(data: bytes, size: int) -> Iterator[bytes]:
    for at in range(0, len(data), size):
        yield data[at:at + size]


class HostileServer:
    """See the module docstring. Use it in a ``with`` block; ``url`` is ``http://127.0.0.1:PORT``."""

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port = int(self._listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.seen: list[Seen] = []
        self._routes: dict[str, Handler] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._clients: set[socket.socket] = set()
        self._thread = threading.Thread(target=self._accept, name=f"hostile-{self.port}", daemon=True)
        self._thread.start()

    def on(self, path: str, handler: Handler | bytes) -> HostileServer:
        """Answer requests whose target starts with ``path``; ``handler`` may be the answer's bytes."""
        self._routes[path] = (lambda _req: handler) if isinstance(handler, bytes) else handler
        return self

    def settings(self, **values: Any) -> dict[str, Any]:
        """Connection values for the InfluxDB data source pointed at this server."""
        return {"host": "127.0.0.1", "port": self.port, "token": "hostile-test-token-0123", "org": "o",
                "bucket": "b", "retries": 0, **values}

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)  # the accept loop sees the stop within its 50 ms wait
        self._listener.close()
        with self._lock:
            for client in list(self._clients):
                try:
                    client.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept(self) -> None:
        accept_loop(self._listener, self._stopping, self._lock, self._clients, self._serve, f"hostile-{self.port}-conn")

    def _serve(self, client: socket.socket) -> None:
        serve_requests(client, self._stopping, self._lock, self._clients, self._one)

    def _one(self, client: socket.socket, request: Any) -> bool:
        """Answer one request; False ends the connection."""
        method, target = request.start.split()[:2]
        seen = Seen(method, target, dict(request.headers), request.payload())
        with self._lock:
            self.seen.append(seen)
        answer = self._route(target)(seen)
        if callable(answer):
            answer(client)
            return False  # a scripted sender owns the connection: end it afterwards
        client.sendall(answer)
        return b"\r\nConnection: close\r\n" not in answer.split(b"\r\n\r\n", 1)[0] + b"\r\n"

    def _route(self, target: str) -> Handler:
        matches = [p for p in self._routes if target.startswith(p)]
        if not matches:
            return lambda _req: json_reply(404, {"code": "not found", "message": f"no route {target}"})
        return self._routes[max(matches, key=len)]

