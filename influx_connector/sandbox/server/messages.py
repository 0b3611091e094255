"""The request and reply every endpoint handler works with, and the server's error answers.

A handler takes a ``Request`` and returns a ``Reply`` or raises ``Problem``, which becomes the
JSON error body (``{"code", "message"}`` and ``X-Platform-Error-Code``) the real server sends.
"""
from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

VERSION = "v2.7.0-sandbox"
JSON_TYPE = "application/json; charset=utf-8"
CSV_TYPE = "text/csv; charset=utf-8"


@dataclass
class Request:
    method: str
    path: str  # raw, still percent-encoded
    query: tuple[tuple[str, str], ...]
    headers: Message
    body: bytes

    def param(self, name: str) -> str | None:
        """First value of a query parameter; an empty value counts as absent, as on the server."""
        for key, value in self.query:
            if key == name and value != "":
                return value
        return None

    def header(self, name: str) -> str:
        return self.headers.get(name, "") or ""


@dataclass
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    #: Send with ``Transfer-Encoding: chunked`` instead of a Content-Length, the way the real
    #: server streams query answers (so clients meet the framing they will meet in use).
    chunked: bool = False


class Problem(Exception):
    """An error answer: raised anywhere in a handler, turned into the server's JSON error body."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def invalid(message: str) -> Problem:
    return Problem(400, "invalid", message)


def not_found(message: str) -> Problem:
    return Problem(404, "not found", message)


def unprocessable(message: str) -> Problem:
    return Problem(422, "unprocessable entity", message)


def json_reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
    # Compact JSON with a trailing newline: what Go's json.Encoder writes.
    body = (json.dumps(payload, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")
    return Reply(status, {"Content-Type": JSON_TYPE, **(headers or {})}, body)


def error_reply(problem: Problem) -> Reply:
    headers = {"X-Platform-Error-Code": problem.code, **problem.headers}
    return json_reply(problem.status, {"code": problem.code, "message": problem.message}, headers)


def too_large() -> Problem:
    return Problem(413, "request too large", "unable to read data: points batch is too large")


def query_reply(req: Request, body: bytes, content_type: str) -> Reply:
    """A query answer as the real server sends one: chunked, and gzip-compressed for clients that
    accept it (requests always says it does), so a client's decoding is exercised as in use."""
    headers = {"Content-Type": content_type}
    if accepts_gzip(req.header("Accept-Encoding")):
        body = gzip.compress(body, compresslevel=1)
        headers["Content-Encoding"] = "gzip"
    return Reply(200, headers, body, chunked=True)


def accepts_gzip(header: str) -> bool:
    """True when an ``Accept-Encoding`` value lists gzip (or ``*``) with a non-zero q-value."""
    for item in header.split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() not in ("gzip", "x-gzip", "*"):
            continue
        q = params.strip().lower()
        if q.startswith("q="):
            try:
                return float(q[2:]) > 0
            except ValueError:
                return False
        return True
    return False

