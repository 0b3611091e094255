"""Bodies of many records, sent in batches: where records end, and the bytes of a range of them.

An encoder that knows where its records end returns a :class:`RecordBytes` (bytes with an
``ends`` list), which is exact even when a record holds the separator inside a quoted value.
Otherwise records are split at the separator the operation declares.

Some records are completed per batch, just before the batch is first sent: an encoder lists
them in ``RecordBytes.unfinished`` and gives ``finish``, which is called once per batch and
whose bytes end each of the batch's unfinished records. The batch keeps them (a :class:`Batch`
carries its ``suffix``), so every retry of the batch and every half of a split batch sends the
very bytes the batch was given: a retry cannot turn into a different request.

Internal to the engine (not part of what hosts use; see ``influx_connector.__all__``).
"""
from __future__ import annotations

import gzip
from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any


class RecordBytes(bytes):
    """An encoded body that also says where each record ends (offsets just past each record,
    separators excluded). It is plain bytes to everything else.

    The optional parts, for the batched write path:

    ``unfinished``
        The indices (ascending) of records that end with their batch's suffix.
    ``finish``
        Called once per batch holding an unfinished record, before its first attempt; returns
        the suffix.
    ``facts``
        ``facts(suffix)``: what a suffix means, in words a host can act on (merged into the
        report of a batch whose fate is unknown).
    ``origin``
        ``origin(i)``: where record ``i`` starts in the value the encoder was given, so that
        ``value[origin(i):]`` holds records ``i`` onwards (record ``i`` is ``value[i]`` when absent).
    """

    ends: Sequence[int]
    unfinished: Sequence[int]
    finish: Callable[[], bytes] | None
    facts: Callable[[bytes], Mapping[str, Any]] | None
    origin: Callable[[int], int] | None

    def __new__(cls, data: bytes, ends: Sequence[int], *, unfinished: Sequence[int] = (),
                finish: Callable[[], bytes] | None = None, facts: Callable[[bytes], Mapping[str, Any]] | None = None,
                origin: Callable[[int], int] | None = None) -> RecordBytes:
        obj = super().__new__(cls, data)
        obj.ends = ends
        obj.unfinished = unfinished if finish is not None else ()
        obj.finish = finish if unfinished else None
        obj.facts = facts
        obj.origin = origin
        return obj


def split_ends(data: bytes, separator: bytes) -> list[int]:
    """Record ends of a body whose records are joined by ``separator`` (empty records dropped)."""
    ends: list[int] = []
    start = 0
    size = len(separator)
    while start <= len(data):
        at = data.find(separator, start)
        end = len(data) if at < 0 else at
        if end > start:
            ends.append(end)
        if at < 0:
            break
        start = at + size
    return ends


@dataclass(frozen=True)
class Batch:
    """Records [first, end) of a body, as one request sends them; ``suffix`` is what the plan's
    ``finish`` gave the batch (empty when it holds no unfinished record)."""

    first: int
    end: int
    suffix: bytes = b""

    @property
    def size(self) -> int:
        return self.end - self.first

    def halves(self) -> tuple[Batch, Batch]:
        """The two halves of a batch too large for the server; both keep the batch's suffix."""
        middle = (self.first + self.end) // 2
        return replace(self, end=middle), replace(self, first=middle)


@dataclass(frozen=True)
class BatchPlan:
    """How one encoded body is cut into requests."""

    raw: bytes
    ends: Sequence[int]
    size: int
    separator: bytes
    split_on: tuple[int, ...] = ()
    gzip_above: int | None = None
    unfinished: Sequence[int] = ()
    finish: Callable[[], bytes] | None = None
    facts: Callable[[bytes], Mapping[str, Any]] | None = None
    origin: Callable[[int], int] | None = None

    @classmethod
    def of(cls, raw: bytes, size: int, separator: str = "\n", split_on: Sequence[int] = (),
           gzip_above: int | None = None) -> BatchPlan:
        sep = separator.encode("utf-8")
        ends = getattr(raw, "ends", None)
        if ends is None:
            ends = split_ends(raw, sep)
        return cls(bytes(raw), ends, max(1, int(size)), sep, tuple(split_on), gzip_above,
                   getattr(raw, "unfinished", ()), getattr(raw, "finish", None), getattr(raw, "facts", None),
                   getattr(raw, "origin", None))

    @property
    def records(self) -> int:
        return len(self.ends)

    def ranges(self) -> list[tuple[int, int]]:
        """Record ranges [first, last) of the batches, in order."""
        return [(a, min(a + self.size, self.records)) for a in range(0, self.records, self.size)]

    def batch(self, first: int, end: int) -> Batch:
        """Records [first, end) as a batch about to be sent for the first time: finished now."""
        return Batch(first, end, self.finish() if self.finish is not None and self.needs_finish(first, end) else b"")

    def needs_finish(self, first: int, end: int) -> bool:
        """Whether records [first, end) hold one that its batch's ``finish`` completes."""
        if self.finish is None:
            return False
        lo, hi = self._unfinished_in(first, end)
        return hi > lo

    def position(self, record: int) -> int:
        """Where record ``record`` starts in the value the encoder was given."""
        return self.origin(record) if self.origin is not None and record < self.records else record

    def start(self, first: int) -> int:
        if first == 0:
            return 0
        # The next record starts after the previous one's separator; encoders that mark ends
        # may put nothing between records, so separators are skipped only where they are.
        at = self.ends[first - 1]
        while self.raw.startswith(self.separator, at):  # the separator and any empty records after it
            at += len(self.separator)
        return at

    def is_unfinished(self, record: int) -> bool:
        at = bisect_left(self.unfinished, record)
        return at < len(self.unfinished) and self.unfinished[at] == record

    def _unfinished_in(self, first: int, end: int) -> tuple[int, int]:
        """The slice of ``unfinished`` that falls in records [first, end)."""
        return bisect_left(self.unfinished, first), bisect_left(self.unfinished, end)

    def records_bytes(self, first: int, end: int, suffix: bytes = b"") -> bytes:
        """The bytes of records [first, end) with ``suffix`` ending each unfinished one."""
        base = self.start(first)
        raw = self.raw[base:self.ends[end - 1]]
        if not suffix:
            return raw
        lo, hi = self._unfinished_in(first, end)
        if lo == hi:
            return raw
        sep = self.separator
        if hi - lo == end - first and raw.count(sep) == end - first - 1:
            # Every record is unfinished and none holds a separator: one replace does it.
            return raw.replace(sep, suffix + sep) + suffix
        cuts = [self.ends[i] - base for i in self.unfinished[lo:hi]]
        pieces = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)])]
        return suffix.join(pieces)

    def record(self, index: int, suffix: bytes = b"") -> bytes:
        """One record's bytes as its batch sends them."""
        return self.records_bytes(index, index + 1, suffix)

    def body(self, first: int, last: int, suffix: bytes = b"") -> tuple[bytes, bytes, bool]:
        """(raw bytes, bytes to send, compressed?) of records [first, last)."""
        raw = self.records_bytes(first, last, suffix)
        payload = Payload.of(raw, self.gzip_above)
        return raw, payload.data, payload.compressed

    def payload(self, batch: Batch) -> Payload:
        """What ``batch`` sends: its records' bytes, compressed when the plan says so."""
        return Payload.of(self.records_bytes(batch.first, batch.end, batch.suffix), self.gzip_above)

    def compresses(self) -> bool:
        """Whether some batch of the plan may be compressed (worth preparing ahead: compression
        runs outside the interpreter lock)."""
        return self.gzip_above is not None and len(self.raw) > self.gzip_above


#: gzip level of request bodies: zlib's fastest. On line protocol it compresses about 4.2 to 1
#: where the default level (6) reaches 5.3 to 1, in a third of the time: a write of many
#: batches spends more on compressing at 6 than on encoding its records, for a fifth fewer bytes.
GZIP_LEVEL = 1


@dataclass(frozen=True)
class Payload:
    """A request body as sent: ``data`` (compressed when ``compressed``) and the ``size`` of the
    bytes before compression. The one place a body is compressed."""

    data: bytes
    size: int
    compressed: bool = False

    @classmethod
    def of(cls, raw: bytes, gzip_above: int | None) -> Payload:
        if gzip_above is not None and len(raw) > gzip_above:
            return cls(gzip.compress(raw, compresslevel=GZIP_LEVEL), len(raw), True)
        return cls(raw, len(raw))

    def headers(self, headers: Mapping[str, str]) -> Mapping[str, str]:
        """``headers`` with the Content-Encoding this payload needs."""
        return {**headers, "Content-Encoding": "gzip"} if self.compressed else headers


@dataclass(frozen=True)
class Sent:
    """The byte figures of a body, the one account of them (what ``{$body: ...}`` quotes):
    ``bytes`` before compression, ``sent_bytes`` as sent, whether any was ``compressed``, and
    for a body in batches how many requests carried it (``batches``) and how many were halved
    (``splits``)."""

    bytes: int = 0
    sent_bytes: int = 0
    compressed: bool = False
    batches: int | None = None
    splits: int = 0

    def plus(self, payload: Payload) -> Sent:
        """The figures with one more request's payload sent."""
        return replace(self, sent_bytes=self.sent_bytes + len(payload.data), compressed=self.compressed or
                       payload.compressed, batches=None if self.batches is None else self.batches + 1)

    def split(self) -> Sent:
        return replace(self, splits=self.splits + 1)

    def figures(self) -> dict[str, Any]:
        out: dict[str, Any] = {"bytes": self.bytes, "sent_bytes": self.sent_bytes, "compressed": self.compressed}
        if self.batches is not None:
            out["batches"] = self.batches
        if self.splits:
            out["splits"] = self.splits
        return out
