"""A line-protocol parser for the sandbox's write endpoint.

It follows InfluxDB's line-protocol rules (names, escapes, field types, timestamps) and words its
errors the way InfluxDB does (``unable to parse '<line>': <reason>``), so a client sees the same messages it
would get from a real server. Parsing happens in two steps, like the real parser: the text is first
cut into point texts (a quoted string field may hold a newline, so a point can span lines), then
each point text is parsed on its own. One bad point never hides the errors of the others.
"""
from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass

from influx_connector.sandbox.store import FieldPoint

logger = logging.getLogger(__name__)

#: Nanoseconds per unit of each precision ``/api/v2/write`` accepts.
PRECISION_NS: dict[str, int] = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}

#: The timestamp range InfluxDB stores, in nanoseconds (the two extreme int64 values are reserved).
MIN_TIME_NS = -9_223_372_036_854_775_806
MAX_TIME_NS = 9_223_372_036_854_775_806

#: Longest series key (measurement plus tag set, as written) the server accepts.
MAX_KEY_BYTES = 65_535

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
UINT64_MAX = 2**64 - 1

TRUE_WORDS = frozenset({"t", "T", "true", "True", "TRUE"})
FALSE_WORDS = frozenset({"f", "F", "false", "False", "FALSE"})

# How InfluxDB's parser reads names (as InfluxDB 1.6.7 does it; the connector's round-trip tests
# check the same rules against the real server): a name ends at a delimiter that is not
# *directly* preceded by a backslash (backslashes do not pair up there), and unescaping drops a
# backslash only before one of the characters below; every other backslash is kept, "\\" too.
# String field values are different: there "\\" reads as one backslash and '\\"' as a quote.
MEASUREMENT_ESCAPES = frozenset(', ="')
FIELD_KEY_ESCAPES = frozenset(', ="')
KEY_ESCAPES = frozenset(",= ")  # tag keys and tag values
STRING_ESCAPES = frozenset('"\\')

_FLOAT_RE = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_INT_RE = re.compile(r"-?\d+", re.ASCII)
_UINT_RE = re.compile(r"\d+", re.ASCII)
_TIME_RE = re.compile(r"-?\d+", re.ASCII)  # ASCII: int() would also accept other scripts' digits


class LineError(Exception):
    """One point text could not be parsed; ``reason`` is the server's wording."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ParsedPoint:
    """One parsed line: a measurement, its sorted tags, its fields and its time in ns.

    ``fields`` maps each field key to ``(type, value)`` with the type named as Flux names it
    (see ``store.FIELD_TYPES``). The write handler needs whole points, not single fields, because
    the server drops a whole point when one of its fields has a conflicting type.
    """

    measurement: str
    tags: tuple[tuple[str, str], ...]
    fields: dict[str, tuple[str, object]]
    time: int
    line: str

    def field_points(self) -> list[FieldPoint]:
        return [
            FieldPoint(self.measurement, self.tags, key, ftype, value, self.time)
            for key, (ftype, value) in self.fields.items()
        ]


def parse_lines(text: str, *, precision: str, default_time_ns: int) -> tuple[list[FieldPoint], list[str]]:
    """Parse line protocol into one ``FieldPoint`` per field, plus one error message per bad line."""
    points, errors = parse_points(text, precision=precision, default_time_ns=default_time_ns)
    return [fp for point in points for fp in point.field_points()], errors


def parse_points(
    text: str, *, precision: str = "ns", default_time_ns: int, multiplier: int | None = None
) -> tuple[list[ParsedPoint], list[str]]:
    """Parse line protocol into whole points, plus one ``unable to parse`` message per bad line.

    ``multiplier`` (nanoseconds per timestamp unit) replaces ``precision`` when given: the v1
    ``/write`` endpoint knows more units (``m``, ``h``) than ``/api/v2/write``.
    """
    if multiplier is None:
        if precision not in PRECISION_NS:
            raise ValueError(f"invalid precision {precision!r}; valid precision units are ns, us, ms, and s")
        multiplier = PRECISION_NS[precision]
    # A point without a timestamp gets the time the request arrived, truncated to the
    # precision, as on the server (its SetPrecision): one time for the whole request.
    default_time_ns -= default_time_ns % multiplier
    points: list[ParsedPoint] = []
    errors: list[str] = []
    for line in split_points(text):
        try:
            points.append(parse_point(line, multiplier=multiplier, default_time_ns=default_time_ns))
        except LineError as exc:
            errors.append(f"unable to parse '{line}': {exc.reason}")
    return points, errors


# --- cutting the text into point texts ---------------------------------------------------------


def split_points(text: str) -> list[str]:
    """The point texts in ``text``, with blank lines and comments left out.

    A newline ends a point except inside a quoted string field value. Quotes count only where a
    field value starts (right after a field key's ``=``), because quotes in measurement names,
    tag keys and tag values are literal characters.
    """
    out: list[str] = []
    pos = 0
    while pos < len(text):
        end = _point_end(text, pos)
        line = text[pos:end]
        pos = end + 1
        # Tolerate CRLF line endings: a Windows-made file should not fail on every line.
        if line.endswith("\r"):
            line = line[:-1]
        stripped = line.lstrip(" \t")
        if not stripped or stripped.startswith("#"):
            continue
        out.append(stripped)
    return out


def _point_end(text: str, pos: int) -> int:
    """Index of the newline that ends the point starting at ``pos`` (``len(text)`` at the end)."""
    n = len(text)
    i = _skip_blanks(text, pos)
    if i < n and text[i] == "#":  # a comment runs to the end of its line, quotes and all
        nl = text.find("\n", i)
        return n if nl < 0 else nl
    i = _scan_key_section(text, i)
    while i < n and text[i] != "\n":
        if text[i] == "\\":
            # An escape never swallows the newline that ends the point.
            i += 2 if i + 1 < n and text[i + 1] != "\n" else 1
        elif text[i] == "=" and i + 1 < n and text[i + 1] == '"':
            i = _skip_quoted(text, i + 1)
        elif text[i] == " ":
            # The fields are over; the timestamp (or garbage) runs to the newline.
            nl = text.find("\n", i)
            return n if nl < 0 else nl
        else:
            i += 1
    return min(i, n)


def _skip_blanks(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t":
        i += 1
    return i


def _scan_key_section(text: str, i: int) -> int:
    """Skip the measurement and tags: up to the first unescaped space or a newline."""
    n = len(text)
    while i < n and text[i] not in " \n":
        i += 2 if text[i] == "\\" and i + 1 < n and text[i + 1] != "\n" else 1
    while i < n and text[i] == " ":
        i += 1
    return i


def _skip_quoted(text: str, i: int) -> int:
    """From an opening quote, the index just past its closing quote (or ``len(text)``)."""
    n = len(text)
    i += 1
    while i < n:
        if text[i] == "\\" and i + 1 < n:
            i += 2
        elif text[i] == '"':
            return i + 1
        else:
            i += 1
    return n


# --- parsing one point -------------------------------------------------------------------------


class _Cursor:
    """A position in one point text, with the scanning helpers the grammar needs."""

    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def read_escaped(self, stops: str, escapes: frozenset[str]) -> str:
        """Read up to a stop character not directly after a backslash, dropping the backslash
        before each of ``escapes`` (any other backslash stays)."""
        text, n, start = self.text, len(self.text), self.pos
        pos = start
        while pos < n and not (text[pos] in stops and (pos == 0 or text[pos - 1] != "\\")):
            pos += 1
        self.pos = pos
        raw = text[start:pos]
        if "\\" not in raw:
            return raw
        chars: list[str] = []
        i = 0
        while i < len(raw):
            if raw[i] == "\\" and i + 1 < len(raw) and raw[i + 1] in escapes:
                i += 1
            chars.append(raw[i])
            i += 1
        return "".join(chars)

    def skip_spaces(self) -> int:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] == " ":
            self.pos += 1
        return self.pos - start


def parse_point(line: str, *, multiplier: int, default_time_ns: int) -> ParsedPoint:
    """Parse one point text (no trailing newline). Raises ``LineError`` with the server's reason."""
    cur = _Cursor(line)
    measurement = cur.read_escaped(", ", MEASUREMENT_ESCAPES)
    if not measurement:
        raise LineError("missing measurement")
    tags = _parse_tags(cur) if cur.peek() == "," else ()
    key_bytes = len(line[: cur.pos].encode("utf-8"))
    if key_bytes > MAX_KEY_BYTES:
        raise LineError(f"max key length exceeded: {key_bytes} > {MAX_KEY_BYTES}")
    if cur.skip_spaces() == 0 or cur.at_end():
        raise LineError("missing fields")
    fields = _parse_fields(cur)
    time_ns = _parse_timestamp(cur, multiplier, default_time_ns)
    _check_reserved(measurement, tags, fields)
    return ParsedPoint(measurement, tags, fields, time_ns, line)


def _parse_tags(cur: _Cursor) -> tuple[tuple[str, str], ...]:
    tags: dict[str, str] = {}
    while cur.peek() == ",":
        cur.pos += 1
        key = cur.read_escaped(",= ", KEY_ESCAPES)
        if cur.peek() != "=":
            raise LineError("missing tag key" if not key else "missing tag value")
        if not key:
            raise LineError("missing tag key")
        cur.pos += 1
        value = cur.read_escaped(",= ", KEY_ESCAPES)
        if cur.peek() == "=":
            raise LineError("invalid tag format")
        if not value:
            # Empty tag values are not allowed: the writer must leave the tag out instead.
            raise LineError("missing tag value")
        if key in tags:
            raise LineError("duplicate tags")
        tags[key] = value
    # The storage engine keys series by the tag set in byte order of the keys.
    return tuple(sorted(tags.items(), key=lambda kv: kv[0].encode("utf-8")))


def _parse_fields(cur: _Cursor) -> dict[str, tuple[str, object]]:
    fields: dict[str, tuple[str, object]] = {}
    while True:
        key = cur.read_escaped(",= ", FIELD_KEY_ESCAPES)
        if cur.peek() != "=":
            raise LineError("invalid field format" if key else "missing field key")
        if not key:
            raise LineError("missing field key")
        cur.pos += 1
        # A repeated key in one line is not an error; the later value wins, as on the server.
        fields[key] = _parse_field_value(cur)
        if cur.peek() != ",":
            return fields
        cur.pos += 1


def _parse_field_value(cur: _Cursor) -> tuple[str, object]:
    if cur.peek() == '"':
        return "string", _parse_string(cur)
    start = cur.pos
    while not cur.at_end() and cur.peek() not in ", ":
        cur.pos += 1
    raw = cur.text[start : cur.pos]
    if not raw:
        raise LineError("missing field value")
    return classify_value(raw)


def _parse_string(cur: _Cursor) -> str:
    text, n = cur.text, len(cur.text)
    cur.pos += 1  # opening quote
    chars: list[str] = []
    while cur.pos < n:
        ch = text[cur.pos]
        if ch == "\\" and cur.pos + 1 < n and text[cur.pos + 1] in STRING_ESCAPES:
            chars.append(text[cur.pos + 1])
            cur.pos += 2
        elif ch == '"':
            cur.pos += 1
            if not cur.at_end() and cur.peek() not in ", ":
                raise LineError("invalid field format")  # e.g. f="a"b
            return "".join(chars)
        else:
            chars.append(ch)
            cur.pos += 1
    raise LineError("unbalanced quotes")


def classify_value(raw: str) -> tuple[str, object]:
    """Type and value of an unquoted field value such as ``12i``, ``-1.5e3``, ``T`` or ``7u``."""
    first = raw[0]
    if first in "tTfF":
        if raw in TRUE_WORDS:
            return "boolean", True
        if raw in FALSE_WORDS:
            return "boolean", False
        raise LineError("invalid boolean")
    if first not in "0123456789+-.":
        # NaN, Inf and any other word: line protocol has no way to write them.
        raise LineError("invalid field format")
    if raw.endswith("i"):
        return "long", _parse_int(raw[:-1], _INT_RE, INT64_MIN, INT64_MAX)
    if raw.endswith("u"):
        return "unsignedLong", _parse_int(raw[:-1], _UINT_RE, 0, UINT64_MAX)
    if not _FLOAT_RE.fullmatch(raw):
        raise LineError("invalid number")
    value = float(raw)
    if math.isinf(value):
        raise LineError("value out of range")  # e.g. 1e400 overflows a float64
    return "double", value


def _parse_int(digits: str, pattern: re.Pattern[str], low: int, high: int) -> int:
    if not pattern.fullmatch(digits):
        raise LineError("invalid number")
    value = int(digits)
    if not low <= value <= high:
        raise LineError("value out of range")
    return value


def _parse_timestamp(cur: _Cursor, multiplier: int, default_time_ns: int) -> int:
    cur.skip_spaces()
    if cur.at_end():
        return default_time_ns
    start = cur.pos
    while not cur.at_end() and cur.peek() != " ":
        cur.pos += 1
    raw = cur.text[start : cur.pos]
    cur.skip_spaces()
    # Only spaces may follow the timestamp; a second word means the line is malformed.
    if not cur.at_end() or not _TIME_RE.fullmatch(raw):
        raise LineError("bad timestamp")
    time_ns = int(raw) * multiplier
    if not MIN_TIME_NS <= time_ns <= MAX_TIME_NS:
        raise LineError(f"time outside range {MIN_TIME_NS} - {MAX_TIME_NS}")
    return time_ns


def _check_reserved(measurement: str, tags: tuple[tuple[str, str], ...], fields: dict[str, tuple[str, object]]) -> None:
    """Reject names in the ``_`` namespace.

    The reference (section 6, "Syntax") says names must not start with ``_`` because InfluxDB
    reserves that namespace (``_measurement``, ``_field``, ``_time``, ``_value`` ... are the
    columns Flux builds from a point). Names are the measurement, tag keys and field keys; tag
    values and string values are data and may start with anything.
    """
    names = [measurement, *(k for k, _ in tags), *fields]
    for name in names:
        if name.startswith("_"):
            raise LineError(f'reserved name "{name}": names starting with "_" are reserved')
