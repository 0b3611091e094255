"""A write's body: records or line-protocol text to UTF-8 bytes, with where each point ends."""
from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from itertools import accumulate, islice
from typing import Any

from influx_connector.batch import RecordBytes
from influx_connector.errors import FieldError, ValidationError
from influx_connector.influxdb.line_protocol_encoder.base import _PRECISION_NS
from influx_connector.influxdb.line_protocol_encoder.compiled import _encode_lines
from influx_connector.influxdb.line_protocol_encoder.records import _precision_unit


def encode_records(
    records: Iterable[Mapping[str, Any]], *, precision: str = "ns", field: str = "data"
) -> Iterator[str]:
    """Yield one line of line protocol (without newline) per record, lazily.

    ``precision`` (ns, us, ms, s) is the unit of integer times and the unit RFC3339 strings and
    datetimes are converted to. ``field`` names the input in error paths (``data[3].time``).
    """
    unit_ns = _precision_unit(precision)  # checked now, not at the first next()
    return _encode_lines(records, unit_ns, field)


def _empty(field: str) -> ValidationError:
    return ValidationError([FieldError(field, "is empty: give line protocol text or a list of records")])


def _utf8(text: str, lines: list[str], field: str, *, records: bool) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        pass
    # Slow path: say which line holds the lone surrogate (JSON can carry one, UTF-8 cannot).
    for index, line in enumerate(lines):
        try:
            line.encode("utf-8")
        except UnicodeEncodeError:
            where = f"{field}[{index}]" if records else field
            prefix = "" if records else f"line {index + 1}: "
            raise ValidationError([
                FieldError(where, f"{prefix}contains a lone surrogate, which is not valid Unicode text")
            ]) from None
    raise AssertionError("unreachable: the whole text failed to encode but no line did")


def _text_data(text: str, field: str, unit_ns: int = 1) -> tuple[RecordBytes, int]:
    """The body of line-protocol text, marked with where each point ends, and its point count.

    Points are found as the server finds them, so a newline inside a quoted string value does
    not end one; blank lines and ``#`` comments are not points (they travel with the point after
    them, and the server skips them). A carriage return right before the newline that ends a
    line is dropped (CRLF line ends); every other one is kept, inside strings and names alike.
    Points without a timestamp are left unfinished: each batch gives them the client's clock
    (see ``_clock``)."""
    from influx_connector.influxdb.line_protocol_splitter import point_ends, points

    whole = len(text)
    text = _without_trailing_line_ends(text)
    if not text.strip():
        raise _empty(field)
    given = _utf8(text, text.split("\n"), field, records=False)
    body, line_ends, dropped = _drop_cr_at_line_ends(given, point_ends(given))
    ends, untimed = points(body, line_ends)
    if not ends:
        raise ValidationError([FieldError(field, "contains only comments: give at least one point")])

    def origin(record: int) -> int:
        """The index in ``text`` where the line of point ``record`` (or what follows it) starts."""
        if record >= len(ends):
            return whole
        at = 0 if record == 0 else ends[record - 1] + 1
        at += bisect_left(dropped, at)  # where it was before carriage returns were dropped
        return at if len(given) == len(text) else len(given[:at].decode("utf-8"))

    return RecordBytes(body, ends, unfinished=untimed, finish=_clock(unit_ns), facts=_clock_facts(unit_ns),
                       origin=origin), len(ends)


def _without_trailing_line_ends(text: str) -> str:
    end = len(text)
    while end and text[end - 1] == "\n":
        end -= 2 if end > 1 and text[end - 2] == "\r" else 1
    return text[:end]


def _drop_cr_at_line_ends(body: bytes, ends: list[int]) -> tuple[bytes, list[int], list[int]]:
    """The body without the carriage return of each CRLF that ends a line, its line ends moved
    to match, and where the dropped ones were (offsets in the new body)."""
    if b"\r\n" not in body:
        return body, ends, []
    cuts = [end - 1 for end in ends if body[end - 1] == 0x0D and body[end:end + 1] == b"\n"]
    if not cuts:
        return body, ends, []
    pieces = [body[a:b] for a, b in zip([0] + [c + 1 for c in cuts], cuts + [len(body)])]
    moved: list[int] = []
    k = 0
    for end in ends:
        while k < len(cuts) and cuts[k] < end:
            k += 1
        moved.append(end - k)
    return b"".join(pieces), moved, [c - i for i, c in enumerate(cuts)]


def _clock(unit_ns: int) -> Any:
    """The per-batch suffix of points without a time: the client's clock in the write's unit.

    The server stamps such a point with its own clock, truncated to the precision, when the
    request arrives, and a whole request gets one time; so does each batch here. Stamping
    before the first attempt makes a retry send the same point again, which the server merges,
    instead of a new point a moment later."""

    def finish() -> bytes:
        return b" %d" % (time.time_ns() // unit_ns)

    return finish


def _clock_facts(unit_ns: int) -> Any:
    names = {unit: name for name, unit in _PRECISION_NS.items()}

    def facts(suffix: bytes) -> dict[str, Any]:
        return {"time_given": int(suffix), "precision": names[unit_ns]}

    return facts


def encode_data(
    data: str | list[Any] | tuple[Any, ...] | Mapping[str, Any],
    *,
    precision: str = "ns",
    field: str = "data",
) -> tuple[bytes, int]:
    """Request body and point count for a write.

    A ``str`` is line protocol already: CRLF becomes LF, trailing newlines are dropped and the
    points (lines that are neither blank nor ``#`` comments) are counted. A list or tuple of
    records is encoded with ``encode_records``; a single record (a mapping) counts as a list
    of one. Lines are joined with ``\\n``.
    """
    unit_ns = _precision_unit(precision)
    if isinstance(data, str):
        return _text_data(data, field, unit_ns)
    body, lines, _ = _records_body(data, unit_ns, field)
    return body, len(lines)


def encode_points(
    data: str | list[Any] | tuple[Any, ...] | Mapping[str, Any],
    *,
    precision: str = "ns",
    field: str = "data",
) -> tuple[RecordBytes, int]:
    """``encode_data``, with the body marked with where each point ends (``RecordBytes.ends``),
    so a large write can go in batches without cutting a string that holds a newline.

    For records the ends come from the encoded lines; text is scanned (``line_protocol_splitter.point_ends``).
    """
    unit_ns = _precision_unit(precision)
    if isinstance(data, str):
        return _text_data(data, field, unit_ns)
    untimed: list[int] = []
    body, lines, chars = _records_body(data, unit_ns, field, untimed)
    if len(body) == chars:  # ASCII: a character is a byte
        sizes: Iterable[int] = map(len, lines)
    else:
        sizes = [len(line) if line.isascii() else len(line.encode("utf-8")) for line in lines]
    # A point ends its size and a newline past the end of the one before; the first one's
    # "newline" is the -1 the sums start from.
    ends = list(islice(accumulate(map(_PLUS_ONE, sizes), initial=-1), 1, None))
    return RecordBytes(body, ends, unfinished=untimed, finish=_clock(unit_ns), facts=_clock_facts(unit_ns)), len(lines)


_PLUS_ONE = (1).__add__


def _records_body(data: Any, unit_ns: int, field: str,
                  untimed: list[int] | None = None) -> tuple[bytes, list[str], int]:
    """The body, its lines and its length in characters."""
    if isinstance(data, Mapping):
        data = [data]
    if not isinstance(data, (list, tuple)):
        raise ValidationError([
            FieldError(field, f"must be line protocol text or a list of records, not {type(data).__name__}")
        ])
    if not data:
        raise _empty(field)
    lines = list(_encode_lines(data, unit_ns, field, untimed))
    text = "\n".join(lines)
    return _utf8(text, lines, field, records=True), lines, len(text)
