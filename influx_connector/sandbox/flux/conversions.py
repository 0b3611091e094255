"""Durations from their parts, and the ``time(v:)`` and ``duration(v:)`` conversions.

The official JavaScript client's ``flux`` template writes ``fluxDateTime`` and
``fluxDuration`` values as ``time(v: "...")`` and ``duration(v: "...")`` calls, so queries
built with it need both.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from .args import Args
from .errors import FluxError
from .timefmt import UNIT_MONTHS, UNIT_NANOS, parse_rfc3339
from .values import Duration, Time, type_name

_DURATION_TEXT = re.compile(r"(-?)((?:[0-9]+(?:mo|ms|us|µs|ns|y|w|d|h|m|s))+)")
_DURATION_PART = re.compile(r"([0-9]+)(mo|ms|us|µs|ns|y|w|d|h|m|s)")


def duration_from_parts(parts: Iterable[tuple[int, str]]) -> Duration:
    """A Duration from ``(magnitude, unit)`` pairs such as those of ``1mo2d3h``.

    Raises FluxError for a unit Flux does not have.
    """
    months = nanos = 0
    for magnitude, unit in parts:
        if unit in UNIT_MONTHS:
            months += magnitude * UNIT_MONTHS[unit]
        elif unit in UNIT_NANOS:
            nanos += magnitude * UNIT_NANOS[unit]
        else:
            raise FluxError(f"unknown duration unit {unit!r} (one of {', '.join([*UNIT_NANOS, *UNIT_MONTHS])})")
    return Duration(months, nanos)


def parse_duration(text: str) -> Duration:
    """``"1h30m"`` or ``"-2d"`` as a Duration; raises ValueError for anything else."""
    m = _DURATION_TEXT.fullmatch(text)
    if m is None:
        raise ValueError(f'invalid duration "{text}"')
    value = duration_from_parts((int(n), unit) for n, unit in _DURATION_PART.findall(m[2]))
    return -value if m[1] else value


def time_(args: Args) -> Time:
    value = args.get("v")
    if isinstance(value, Time):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Time(value)  # nanoseconds since the epoch
    if isinstance(value, str):
        try:
            return Time(parse_rfc3339(value))
        except ValueError as exc:
            raise args.error(str(exc)) from None
    raise args.error(f"cannot convert {type_name(value)} to time")


def duration_(args: Args) -> Duration:
    value = args.get("v")
    if isinstance(value, Duration):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Duration(0, value)  # nanoseconds
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise args.error(str(exc)) from None
    raise args.error(f"cannot convert {type_name(value)} to duration")
