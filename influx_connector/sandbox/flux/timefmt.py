"""Time arithmetic on integer nanoseconds since the Unix epoch (UTC), the unit Flux uses.

Everything is integer maths so that nanosecond timestamps never pass through a float.
Calendar units (``mo``, ``y``) are real calendar months: adding a month to the 31st lands
on the last day of a shorter month, as Flux does.
"""
from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta, timezone

NS_PER_SECOND = 1_000_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: Nanoseconds per fixed-length duration unit; ``mo`` and ``y`` count months instead.
UNIT_NANOS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": NS_PER_SECOND,
    "m": 60 * NS_PER_SECOND,
    "h": 3_600 * NS_PER_SECOND,
    "d": 86_400 * NS_PER_SECOND,
    "w": 7 * 86_400 * NS_PER_SECOND,
}
UNIT_MONTHS = {"mo": 1, "y": 12}

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2}))?\Z"
)


def _to_datetime(ns: int) -> tuple[datetime, int]:
    seconds, frac = divmod(ns, NS_PER_SECOND)
    return EPOCH + timedelta(seconds=seconds), frac


def _from_datetime(dt: datetime, frac: int) -> int:
    delta = dt - EPOCH
    return (delta.days * 86_400 + delta.seconds) * NS_PER_SECOND + frac


def parse_rfc3339(text: str) -> int:
    """Nanoseconds for an RFC 3339 time or a bare ``YYYY-MM-DD`` date (midnight UTC).

    Raises ValueError for text that is not such a time, or names an impossible date.
    """
    m = _RFC3339.match(text)
    if m is None:
        raise ValueError(f"invalid RFC3339 time {text!r}")
    year, month, day = int(m[1]), int(m[2]), int(m[3])
    if m[4] is None:
        return _from_datetime(datetime(year, month, day, tzinfo=UTC), 0)
    zone = m[8]
    if zone == "Z":
        tz = UTC
    else:
        sign = 1 if zone[0] == "+" else -1
        tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    dt = datetime(year, month, day, int(m[4]), int(m[5]), int(m[6]), tzinfo=tz)
    frac = int((m[7] or "").ljust(9, "0"))
    return _from_datetime(dt, frac)


def canonical_datetime_literal(text: str) -> str:
    """The form the real parser (Rust ``chrono``) serializes a date-time literal in.

    The offset is kept as written, ``Z`` becomes ``+00:00`` and fractional seconds are
    printed with 3, 6 or 9 digits, whichever is shortest without losing precision.
    """
    m = _RFC3339.match(text)
    if m is None:
        raise ValueError(f"invalid RFC3339 time {text!r}")
    if m[4] is None:
        return f"{m[1]}-{m[2]}-{m[3]}T00:00:00+00:00"
    frac = int((m[7] or "").ljust(9, "0"))
    if frac == 0:
        frac_text = ""
    elif frac % 1_000_000 == 0:
        frac_text = f".{frac // 1_000_000:03d}"
    elif frac % 1_000 == 0:
        frac_text = f".{frac // 1_000:06d}"
    else:
        frac_text = f".{frac:09d}"
    zone = "+00:00" if m[8] == "Z" else m[8]
    return f"{m[1]}-{m[2]}-{m[3]}T{m[4]}:{m[5]}:{m[6]}{frac_text}{zone}"


def format_rfc3339nano(ns: int) -> str:
    """Go's ``time.RFC3339Nano`` layout in UTC: fraction trimmed of trailing zeros."""
    dt, frac = _to_datetime(ns)
    text = (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}"
        f"T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
    )
    if frac:
        text += "." + f"{frac:09d}".rstrip("0")
    return text + "Z"


def add_months(ns: int, months: int) -> int:
    """``ns`` moved by whole calendar months, clamping the day to the target month's length."""
    if months == 0:
        return ns
    dt, frac = _to_datetime(ns)
    year, month0 = divmod(dt.year * 12 + dt.month - 1 + months, 12)
    day = min(dt.day, calendar.monthrange(year, month0 + 1)[1])
    return _from_datetime(dt.replace(year=year, month=month0 + 1, day=day), frac)


def add_duration(ns: int, months: int, nanos: int) -> int:
    """A time shifted by a Flux duration: calendar months first, then fixed nanoseconds."""
    return add_months(ns, months) + nanos


def month_index(ns: int) -> int:
    """Whole months since January 1970 of the month holding ``ns`` (negative before 1970)."""
    dt, _ = _to_datetime(ns)
    return (dt.year - 1970) * 12 + dt.month - 1


def month_start(index: int) -> int:
    """Nanoseconds at midnight UTC on the first day of month ``index`` (see month_index)."""
    year, month0 = divmod(index, 12)
    return _from_datetime(datetime(1970 + year, month0 + 1, 1, tzinfo=UTC), 0)
