"""Bodies of many records, sent in batches: where records end, and the bytes of a range of them.

An encoder that knows where its records end returns a :class:`RecordBytes` (bytes with an
``ends`` list), which is exact even when a record holds the separator inside a quoted value.
Otherwise records are split at the separator the operation declares.
"""
from __future__ import annotations

import gzip
from dataclasses import dataclass
from typing import Sequence


class RecordBytes(bytes):
    """An encoded body that also says where each record ends (offsets just past each record,
    separators excluded). It is plain bytes to everything else."""

    ends: Sequence[int]

    def __new__(cls, data: bytes, ends: Sequence[int]) -> "RecordBytes":
        obj = super().__new__(cls, data)
        obj.ends = ends
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
class BatchPlan:
    """How one encoded body is cut into requests."""

    raw: bytes
    ends: Sequence[int]
    size: int
    separator: bytes
    split_on: tuple[int, ...] = ()
    gzip_above: int | None = None

    @classmethod
    def of(cls, raw: bytes, size: int, separator: str = "\n", split_on: Sequence[int] = (),
           gzip_above: int | None = None) -> "BatchPlan":
        sep = separator.encode("utf-8")
        ends = getattr(raw, "ends", None)
        if ends is None:
            ends = split_ends(raw, sep)
        return cls(bytes(raw), ends, max(1, int(size)), sep, tuple(split_on), gzip_above)

    @property
    def records(self) -> int:
        return len(self.ends)

    def ranges(self) -> list[tuple[int, int]]:
        """Record ranges [first, last) of the batches, in order."""
        return [(a, min(a + self.size, self.records)) for a in range(0, self.records, self.size)]

    def start(self, first: int) -> int:
        if first == 0:
            return 0
        # The next record starts after the previous one's separator; encoders that mark ends
        # may put nothing between records, so separators are skipped only where they are.
        at = self.ends[first - 1]
        while self.raw.startswith(self.separator, at):  # the separator and any empty records after it
            at += len(self.separator)
        return at

    def body(self, first: int, last: int) -> tuple[bytes, bytes, bool]:
        """(raw bytes, bytes to send, compressed?) of records [first, last)."""
        raw = self.raw[self.start(first):self.ends[last - 1]]
        if self.gzip_above is not None and len(raw) > self.gzip_above:
            return raw, gzip.compress(raw, compresslevel=6), True
        return raw, raw, False
