"""The encoder's limits (the server's), and the types every part of it shares."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

_PRECISION_NS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}

# The timestamp range the server accepts, in nanoseconds (contract notes, section 6).
_TIME_MIN_NS = -9_223_372_036_854_775_806
_TIME_MAX_NS = 9_223_372_036_854_775_806
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_UINT64_MAX = 2**64 - 1
# InfluxDB stores a point's series key (measurement and tags, as written in the line) together
# with each field key, joined by a 4-byte separator, and refuses the point when that is over
# 65,535 bytes ("max key length exceeded: 65536 > 65535", as InfluxDB 1.6.7 answers).
MAX_SERIES_KEY_BYTES = 65_535
_FIELD_KEY_SEPARATOR_BYTES = 4
# The documented limit of a string field value ("Length limit 64KB"). InfluxDB 1.6.7 does not
# enforce it (it stored and returned a 1,000,000-byte string); the encoder keeps to the limit.
MAX_STRING_BYTES = 65_536
# A code point is at most 4 UTF-8 bytes: strings shorter than these cannot hit the limits,
# which spares the encode() call on the common path.
_SAFE_KEY_CHARS = MAX_SERIES_KEY_BYTES // 4
_SAFE_STRING_CHARS = MAX_STRING_BYTES // 4

_RECORD_KEYS = frozenset({"measurement", "tags", "fields", "time"})
_UTC = UTC
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)


class Unsigned(int):
    """An integer to be written as a line-protocol unsigned integer (``12u``).

    Plain ``int`` values are written as signed integers (``12i``); wrap a value in ``Unsigned``
    (or send ``{"unsigned": n}`` from JSON) to store it in an unsigned field.
    """

    __slots__ = ()

    def __new__(cls, value: Any = 0) -> Unsigned:
        self = super().__new__(cls, value)
        if not 0 <= self <= _UINT64_MAX:
            raise ValueError(f"Unsigned({int(self)}) is outside 0 .. 2**64-1")
        return self

    def __repr__(self) -> str:
        return f"Unsigned({int(self)})"


class _Bad(Exception):
    """One problem with one part of a record; the message becomes a FieldError."""
