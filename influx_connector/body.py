"""Read an answer's body within bounds, whatever the server sends.

``Body`` takes the place of ``response.raw`` (requests reads ``response.content`` and
``iter_content`` through it), so every codec, built in or from a plugin, reads through the same
checks:

- **a size limit**: at most ``limit`` bytes of the decoded body, then ``DecodeError`` naming the
  limit and the setting that raises it (``None``: no overall limit, for answers read a row at a
  time, whose decoders bound each row instead);
- **a cap** for error answers: only their first ``ERROR_BODY_BYTES`` are read, the rest is left
  on the wire (an error message does not need more);
- **bounded decompression**: gzip and deflate are decoded here, a step of at most ``STEP`` bytes
  at a time, so a small compressed answer that expands to gigabytes stops at the limit instead of
  filling memory first; a corrupt stream is a ``DecodeError``;
- **the call's deadline**, checked after every read (a shut-down socket can look like the
  normal end of an answer framed by the end of the connection).

A connection dropped or a read timed out while reading is a ``DecodeError`` with ``cut_off``
set: the answer ended early (retry-safe operations ask again).

Internal to the engine (not part of what hosts use; see ``influx_connector.__all__``).
"""
from __future__ import annotations

import http.client
import logging
import zlib
from typing import Any

import urllib3

from .deadline import Deadline
from .errors import DecodeError

log = logging.getLogger(__name__)

#: How much of an error answer is read: enough for the server's message; the rest is never read
#: into memory (a message cut there is taken as far as it goes).
ERROR_BODY_BYTES = 8 * 1024
#: The most decoded bytes one decompression step makes (bounds memory while inflating).
STEP = 256 * 1024
#: Bytes read from the socket at a time when the whole body is wanted.
WHOLE_READ = 1024 * 1024


def mib(size: int) -> str:
    return f"{size / (1 << 20):g} MiB" if size >= 1 << 20 else f"{size:,} bytes"


class Body:
    """A bounded, decoding reader over a urllib3 response (see the module docstring).

    ``origin`` names the server and ``operation`` the call in messages; ``setting`` says how a
    user raises the limit.
    """

    def __init__(self, raw: Any, *, encoding: str | None, limit: int | None, origin: str, operation: str = "",
                 setting: str = "the answer size limit", cap: int | None = None, deadline: Deadline | None = None,
                 framed: bool = True):
        #: "<operation>: the answer", how messages begin.
        self.subject = f"{operation}: the answer" if operation else "the answer"
        self.origin = origin
        self.raw = raw
        self.limit = limit
        self.cap = cap
        self.setting = setting
        self.deadline = deadline
        self.read_bytes = 0  # decoded bytes handed out
        self.truncated = False  # reading stopped at the cap (the answer may have held more)
        self.cut_reason: str | None = None  # why the answer ended early, when it did
        self._done = False
        self._inflate = _Inflate.of(encoding, f"{self.subject} from {origin}")
        #: The body's end is marked (Content-Length, chunks), not the connection's close.
        self.framed = framed

    # --- what requests calls ---------------------------------------------------------------

    def read(self, amt: int | None = None, **_ignored: Any) -> bytes:
        if amt is None or amt < 0:
            return self.read_all()
        while not self._done:
            if self._inflate is not None and self._inflate.ended:
                self._stop()
                break
            if self._inflate is not None and self._inflate.busy:
                out = self._inflate.more(amt)
            else:
                want = max(amt, 16 * 1024)
                if self.cap is not None:
                    # A read waits until it has all it asked for: never ask past the cap.
                    want = max(1, min(want, self.cap - self.read_bytes))
                raw = self._raw_read(want)
                if not raw:
                    self._done = True
                    if self._inflate is not None:
                        try:
                            self._inflate.finish(self.framed)
                        except DecodeError as exc:
                            if exc.cut_off:
                                self.cut_reason = "the compressed stream ends early"
                            raise
                    break
                out = self._inflate.feed(raw, amt) if self._inflate is not None else raw
            if out:
                return self._count(out)
        return b""

    def read_all(self) -> bytes:
        """The rest of the body, within the limit (or up to the cap)."""
        parts = bytearray()
        while True:
            piece = self.read(WHOLE_READ)
            if not piece:
                return bytes(parts)
            parts += piece

    def close(self) -> None:
        self._done = True
        self.raw.close()

    def release_conn(self) -> None:
        self.raw.release_conn()

    # --- the checks -------------------------------------------------------------------------

    def _count(self, out: bytes) -> bytes:
        self.read_bytes += len(out)
        if self.cap is not None and self.read_bytes >= self.cap:
            keep = len(out) - (self.read_bytes - self.cap)
            self.truncated = True  # as far as anyone can tell without reading on
            self.read_bytes = self.cap
            self._stop()
            return out[:keep]
        if self.limit is not None and self.read_bytes > self.limit:
            self._stop()
            raise DecodeError(f"{self.subject} from {self.origin} is larger than {mib(self.limit)}, the most an answer "
                              f"may hold in memory; raise {self.setting}, or read the answer a row at a time "
                              "with stream()")
        return out

    def _stop(self) -> None:
        """Leave the rest unread: the connection cannot be reused, so it is closed."""
        self._done = True
        self.raw.close()

    def _raw_read(self, amt: int) -> bytes:
        deadline = self.deadline
        try:
            data = self.raw.read(amt, decode_content=False)
        except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError, ValueError) as exc:
            self.cut_reason = _why(exc)
            data = None
        if data is None:
            self._stop()
            if deadline is not None:
                deadline.check("reading the answer")  # the deadline's watchdog ended the read
            raise DecodeError(f"{self.subject} was cut off while reading it from {self.origin}: {self.cut_reason}",
                              cut_off=True)
        if deadline is not None and deadline.expired():
            self._stop()
            raise deadline.error("reading the answer")
        return data


def _why(exc: BaseException) -> str:
    if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
        return "no data within the read timeout"
    if isinstance(exc, urllib3.exceptions.ProtocolError) and exc.args and isinstance(exc.args[-1], BaseException):
        exc = exc.args[-1]
    if isinstance(exc, (http.client.IncompleteRead, urllib3.exceptions.IncompleteRead)):
        partial = exc.partial if isinstance(exc.partial, int) else len(exc.partial)
        return f"the connection closed after {partial} bytes, with {exc.expected} more to come"
    return f"{type(exc).__name__}: {str(exc)[:120]}" if str(exc) else type(exc).__name__


class _Inflate:
    """gzip or deflate, decoded at most ``STEP`` bytes (and at most what was asked) at a time."""

    def __init__(self, kind: str, subject: str):
        self.kind = kind
        self.subject = subject
        self._obj: Any = zlib.decompressobj(16 + zlib.MAX_WBITS) if kind == "gzip" else None
        self._input = b""  # compressed bytes the last step did not get to
        self._ignoring = False  # past the end of the stream: what follows is not read
        self._members = 0  # gzip members decoded whole

    @classmethod
    def of(cls, header: str | None, subject: str) -> _Inflate | None:
        codings = [c.strip().lower() for c in (header or "").split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if not codings:
            return None
        if len(codings) == 1 and codings[0] in ("gzip", "x-gzip", "deflate"):
            return cls("deflate" if codings[0] == "deflate" else "gzip", subject)
        raise DecodeError(f"{subject} is encoded as {', '.join(codings)!r}, which the connector "
                          "does not read (it asks for gzip at most)")

    @property
    def busy(self) -> bool:
        return bool(self._input)

    @property
    def ended(self) -> bool:
        """Past the end of the compressed stream: whatever follows is not worth reading."""
        return self._ignoring

    def feed(self, data: bytes, amt: int) -> bytes:
        if self._obj is None:
            data = self._input + data
            if len(data) < 2:
                self._input = data
                return b""
            # RFC 9110's "deflate" is zlib-wrapped; some servers send a bare deflate stream.
            wrapped = data[0] & 0x0F == 8 and ((data[0] << 8) | data[1]) % 31 == 0
            self._obj = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        elif self._input:
            data = self._input + data
        return self._step(data, amt)

    def more(self, amt: int) -> bytes:
        return self._step(self._input, amt)

    def _step(self, data: bytes, amt: int) -> bytes:
        self._input = b""
        if self._ignoring:
            return b""
        obj = self._obj
        try:
            out = obj.decompress(data, min(max(amt, 1), STEP))
        except zlib.error as exc:
            if self._members:
                self._ignoring = True  # a broken member after a whole one: ignored, as other clients do
                return b""
            raise DecodeError(f"{self.subject} is {self.kind}-compressed, and corrupt: {exc}") from None
        if not obj.eof:
            self._input = obj.unconsumed_tail
        elif obj.unused_data:
            rest = obj.unused_data
            if self.kind == "gzip" and rest[:1] == b"\x1f":
                self._members += 1
                self._obj = zlib.decompressobj(16 + zlib.MAX_WBITS)  # a further gzip member
                self._input = rest
            else:
                log.debug("ignoring %d bytes after the end of the %s stream", len(rest), self.kind)
                self._ignoring = True
        return out

    def finish(self, framed: bool) -> None:
        """The body ended. A compressed stream that had not is corrupt when HTTP marked the
        body's end; when only the connection's close did, the connection dropped: cut off."""
        if self._ignoring or (self._obj is not None and self._obj.eof):
            return
        if framed:
            raise DecodeError(f"{self.subject} is {self.kind}-compressed, and corrupt: the stream ends before its end")
        raise DecodeError(f"{self.subject} was cut off while reading it: its {self.kind} stream ends early",
                          cut_off=True)
