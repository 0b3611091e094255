"""Cell text to values: one converter per annotated datatype, in the JSON-ready and the typed mode."""
from __future__ import annotations

import base64
import math
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any


class _Invalid(ValueError):
    """A cell failed to convert for a reason worth naming beyond 'invalid literal'."""


_INT64_MIN = -(2**63)
_INT64_LIMIT = 2**63
_UINT64_LIMIT = 2**64
_NS_PER_SECOND = 1_000_000_000
_UTC = UTC
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _require_plain_number(text: str) -> None:
    """Reject forms Python's int()/float() accept but Go never writes: '1_000', ' 5', '٣'."""
    if not text.isascii() or "_" in text or text != text.strip():
        raise ValueError(text)


def _to_long(text: str) -> int:
    _require_plain_number(text)
    value = int(text)
    if not _INT64_MIN <= value < _INT64_LIMIT:
        raise _Invalid("out of range for a 64-bit signed integer")
    return value


def _to_unsigned_long(text: str) -> int:
    _require_plain_number(text)
    value = int(text)
    if not 0 <= value < _UINT64_LIMIT:
        raise _Invalid("out of range for a 64-bit unsigned integer")
    return value


def _to_double(text: str) -> float:
    # float() already reads Go's 'NaN', '+Inf', '-Inf' (and 'Inf'), case-insensitively.
    _require_plain_number(text)
    return float(text)


def _to_double_json(text: str) -> float | str:
    value = _to_double(text)
    if math.isfinite(value):
        return value
    # JSON has no NaN or Infinity; keep the spelling the server uses.
    if value != value:
        return "NaN"
    return "+Inf" if value > 0 else "-Inf"


# Go's strconv.ParseBool spellings; the server itself only writes 'true' and 'false'.
_BOOLEANS = {
    "true": True, "True": True, "TRUE": True, "t": True, "T": True, "1": True,
    "false": False, "False": False, "FALSE": False, "f": False, "F": False, "0": False,
}


def _to_boolean(text: str) -> bool:
    value = _BOOLEANS.get(text)
    if value is None:
        raise ValueError(text)
    return value


def _same(text: str) -> str:
    return text


def _split_rfc3339(text: str) -> tuple[int, str]:
    """Parse ``YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±hh:mm)`` into (UTC epoch seconds, fraction digits).

    Pure integer arithmetic, so no precision is lost to floats; the fraction is kept as the
    digits given so callers can scale it exactly.
    """
    if (
        len(text) < 19
        or text[4] != "-"
        or text[7] != "-"
        or text[10] not in "Tt"
        or text[13] != ":"
        or text[16] != ":"
    ):
        raise _Invalid("not an RFC3339 timestamp")
    # One validity check for all 14 date and time digits, then plain int() on each part.
    digits = text[0:4] + text[5:7] + text[8:10] + text[11:13] + text[14:16] + text[17:19]
    if not (digits.isascii() and digits.isdigit()):
        raise _Invalid("not an RFC3339 timestamp")
    year = int(digits[0:4])
    month = int(digits[4:6])
    day = int(digits[6:8])
    hour = int(digits[8:10])
    minute = int(digits[10:12])
    second = int(digits[12:14])
    pos = 19
    fraction = ""
    if text[pos : pos + 1] == ".":
        end = pos + 1
        while end < len(text) and "0" <= text[end] <= "9":
            end += 1
        fraction = text[pos + 1 : end]
        if not 1 <= len(fraction) <= 9:
            raise _Invalid("fractional seconds must have 1 to 9 digits")
        pos = end
    zone = text[pos:]
    if zone in ("Z", "z"):
        offset = 0
    elif len(zone) == 6 and zone[0] in "+-" and zone[3] == ":":
        zone_digits = zone[1:3] + zone[4:6]
        if not (zone_digits.isascii() and zone_digits.isdigit()):
            raise _Invalid("malformed time zone offset")
        zone_hours = int(zone_digits[:2])
        zone_minutes = int(zone_digits[2:])
        if zone_hours > 23 or zone_minutes > 59:
            raise _Invalid("time zone offset out of range")
        offset = (zone_hours * 60 + zone_minutes) * 60
        if zone[0] == "-":
            offset = -offset
    else:
        raise _Invalid("needs a time zone: 'Z' or '±hh:mm'")
    if hour > 23 or minute > 59 or second > 59:
        raise _Invalid("time of day out of range")
    try:
        days = date(year, month, day).toordinal() - _EPOCH_ORDINAL
    except ValueError:
        raise _Invalid("no such date") from None
    return days * 86400 + hour * 3600 + minute * 60 + second - offset, fraction


def parse_rfc3339_ns(text: str) -> int:
    """Exact Unix epoch nanoseconds for an RFC3339 timestamp (0-9 fractional digits, any offset).

    Raises ``ValueError`` when ``text`` is not such a timestamp.
    """
    seconds, fraction = _split_rfc3339(text)
    nanos = int(fraction.ljust(9, "0")) if fraction else 0
    return seconds * _NS_PER_SECOND + nanos


def _format_utc(seconds: int, fraction: str) -> str:
    days, rest = divmod(seconds, 86400)
    try:
        day = date.fromordinal(days + _EPOCH_ORDINAL)
    except (ValueError, OverflowError):
        raise _Invalid("outside the years 0001-9999 once converted to UTC") from None
    hour, rest = divmod(rest, 3600)
    minute, second = divmod(rest, 60)
    dot = "." + fraction if fraction else ""
    return (
        f"{day.year:04d}-{day.month:02d}-{day.day:02d}"
        f"T{hour:02d}:{minute:02d}:{second:02d}{dot}Z"
    )


# Every row of a table repeats its _start and _stop: remembering recent answers skips most of
# the parsing. Both results are immutable, so sharing them between rows is safe.
@lru_cache(maxsize=4096)
def _to_datetime_json(text: str) -> str:
    seconds, fraction = _split_rfc3339(text)
    if text[10] == "T" and text[-1] == "Z":
        return text  # already canonical UTC: the server's usual form, returned untouched
    return _format_utc(seconds, fraction)


@lru_cache(maxsize=4096)
def _to_datetime_typed(text: str) -> datetime:
    seconds, fraction = _split_rfc3339(text)
    # datetime stops at microseconds; the extra digits are truncated, not rounded, so a time
    # never moves past the nanosecond it came from. parse_rfc3339_ns keeps them all.
    micros = int(fraction[:6].ljust(6, "0")) if fraction else 0
    return _EPOCH + timedelta(seconds=seconds, microseconds=micros)


_NS_PER_UNIT = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # micro sign
    "\u03bcs": 1_000,  # Greek small mu, which some keyboards produce instead
    "ms": 1_000_000,
    "s": _NS_PER_SECOND,
    "m": 60 * _NS_PER_SECOND,
    "h": 3600 * _NS_PER_SECOND,
    "d": 86400 * _NS_PER_SECOND,
    "w": 7 * 86400 * _NS_PER_SECOND,
}


def _parse_duration_ns(text: str) -> int:
    """Nanoseconds for a plain integer or a Flux duration literal such as ``1h30m`` or ``-5s``."""
    sign = 1
    body = text
    if body[:1] in ("-", "+"):
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if not body:
        raise ValueError(text)
    if body.isascii() and body.isdigit():
        return sign * int(body)
    total = 0
    pos = 0
    while pos < len(body):
        start = pos
        while pos < len(body) and "0" <= body[pos] <= "9":
            pos += 1
        if pos == start:
            raise _Invalid("expected a number before each unit")
        amount = int(body[start:pos])
        start = pos
        while pos < len(body) and not "0" <= body[pos] <= "9":
            pos += 1
        unit = body[start:pos]
        factor = _NS_PER_UNIT.get(unit)
        if factor is None:
            if unit in ("mo", "y"):
                raise _Invalid(f"unit '{unit}' has no fixed length in nanoseconds")
            raise _Invalid(f"unknown duration unit {unit!r}" if unit else "missing unit")
        total += amount * factor
    return sign * total


def _to_bytes(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _to_base64_json(text: str) -> str:
    _to_bytes(text)  # validate only: JSON output keeps the text the server sent
    return text


Converter = Callable[[str], Any]

_DATETIME_TYPES = ("dateTime", "dateTime:RFC3339", "dateTime:RFC3339Nano")

# Built once; a block looks each column's converter up once, never per cell.
_JSON_CONVERTERS: dict[str, Converter] = {
    "long": _to_long,
    "unsignedLong": _to_unsigned_long,
    "double": _to_double_json,
    "boolean": _to_boolean,
    "string": _same,
    "dateTime:number": _to_long,
    "duration": _parse_duration_ns,
    "base64Binary": _to_base64_json,
    **{name: _to_datetime_json for name in _DATETIME_TYPES},
}
_TYPED_CONVERTERS: dict[str, Converter] = {
    **_JSON_CONVERTERS,
    "double": _to_double,
    "base64Binary": _to_bytes,
    **{name: _to_datetime_typed for name in _DATETIME_TYPES},
}


def _converter(datatype: str, typed: bool) -> Converter:
    table = _TYPED_CONVERTERS if typed else _JSON_CONVERTERS
    return table.get(datatype, _same)  # unknown datatypes keep their text

