"""A record's time, in the write's precision."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from influx_connector.influxdb.annotated_csv.values import parse_rfc3339_ns
from influx_connector.influxdb.line_protocol_encoder.base import _EPOCH, _TIME_MAX_NS, _TIME_MIN_NS, _UTC, _Bad


def _datetime_ns(value: datetime) -> int:
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=_UTC)  # naive datetimes are taken as UTC
    delta = value - _EPOCH
    return ((delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds) * 1000


def _time_text(value: Any, unit_ns: int) -> str:
    """The timestamp in the precision unit. Finer parts are floored, never rounded up."""
    if isinstance(value, bool):
        raise _Bad("must be an integer, an RFC3339 string or a datetime, not a boolean")
    if isinstance(value, int):
        stamp = int(value)
    elif isinstance(value, str):
        try:
            nanos = parse_rfc3339_ns(value)
        except ValueError:
            raise _Bad(
                f"{value!r} is not an RFC3339 timestamp such as 2024-01-31T12:00:00Z"
            ) from None
        stamp = nanos // unit_ns
    elif isinstance(value, datetime):
        stamp = _datetime_ns(value) // unit_ns
    else:
        raise _Bad(
            "must be an integer in the precision unit, an RFC3339 string or a datetime, "
            f"not {type(value).__name__}"
        )
    if not _TIME_MIN_NS <= stamp * unit_ns <= _TIME_MAX_NS:
        raise _Bad("is outside the time range InfluxDB can store (years 1677 to 2262)")
    return str(stamp)

