"""Small parsers for what clients send: IDs, RFC 3339 times, JSON bodies, gzip bodies."""
from __future__ import annotations

import calendar
import json
import re
from datetime import datetime
from typing import Any

from influx_connector.sandbox.gzip_body import GzipBodyError, inflate
from influx_connector.sandbox.server.messages import invalid, too_large

HOUR = 3_600

_ID_RE = re.compile(r"[0-9a-f]{16}", re.ASCII)
_RFC3339_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)


def check_id(value: str) -> str:
    """An InfluxDB ID must be 16 lowercase hex digits; anything else is a 400 on the server."""
    if not _ID_RE.fullmatch(value):
        raise invalid("id must have a length of 16 bytes")
    return value


def parse_rfc3339_ns(text: str) -> int:
    """Nanoseconds since the epoch for an RFC 3339 timestamp (fraction up to 9 digits)."""
    m = _RFC3339_RE.fullmatch(text)
    if not m:
        raise ValueError(f"cannot parse {text!r} as RFC3339")
    parts = [int(g) for g in m.groups()[:6]]
    year, month, day, hour, minute, second = parts
    datetime(year, month, day, hour, minute, second)  # raises ValueError for a month 13, a February 30th...
    seconds = calendar.timegm((*parts, 0, 0, 0))
    fraction = int((m.group(7) or "0").ljust(9, "0"))
    zone = m.group(8)
    offset = 0 if zone in ("Z", "z") else (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * HOUR + int(zone[4:6]) * 60)
    return (seconds - offset) * 1_000_000_000 + fraction


def json_object(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 worded like the server's decode failure."""
    if not body.strip():
        raise invalid("failed to decode request body: EOF")
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_not_json)
    except ValueError as exc:  # also UnicodeDecodeError and json.JSONDecodeError
        raise invalid(f"failed to decode request body: {exc}") from None
    if not isinstance(data, dict):
        raise invalid("failed to decode request body: expected a JSON object")
    return data


def _not_json(constant: str) -> Any:
    # Python's json module reads NaN and Infinity; JSON, and the real server's decoder, do not
    # (influxdb-client sends them for float('nan') query parameters).
    raise ValueError(f"invalid character {constant[0]!r} looking for beginning of value")


_JSON_TYPE_NAMES = {str: "a string", int: "an integer", list: "an array", dict: "an object", bool: "a boolean"}


def typed(data: dict[str, Any], key: str, kind: type, default: Any = None) -> Any:
    """``data[key]`` if present and of the right JSON type (bools are not ints here), else 400."""
    value = data.get(key, default)
    if value is None:
        return default
    wrong_bool = isinstance(value, bool) and kind is int
    if wrong_bool or not isinstance(value, kind):
        raise invalid(f"failed to decode request body: {key} must be {_JSON_TYPE_NAMES.get(kind, 'valid')}")
    return value


def gunzip(body: bytes, limit: int) -> bytes:
    """Decompress a (possibly multi-member) gzip body, refusing to inflate past ``limit`` bytes."""
    try:
        return inflate(body, limit)
    except GzipBodyError as exc:
        if exc.kind == "too large":
            raise too_large() from None
        raise invalid(f"unable to read data: {_GZIP_WORDS[exc.kind]}") from None


#: How InfluxDB 2.x words a gzip body it cannot read.
_GZIP_WORDS = {"not gzip": "gzip: invalid header", "corrupt": "flate: corrupt input", "truncated": "unexpected EOF"}


def go_duration(seconds: float) -> str:
    """A span written the way Go prints a time.Duration (``14m45.911966424s``, ``2.5ms``)."""
    ns = max(0, round(seconds * 1e9))
    if ns < 1_000_000_000:
        return f"{ns / 1e6:.6f}".rstrip("0").rstrip(".") + "ms" if ns else "0s"
    hours, rest = divmod(ns, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    secs = f"{rest // 1_000_000_000}.{rest % 1_000_000_000:09d}".rstrip("0").rstrip(".")
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if hours or minutes else "") + secs + "s"

