"""Encoder from JSON-like records to InfluxDB line protocol (contract notes, section 6).

A record is a mapping::

    {"measurement": "cpu", "tags": {"host": "a"}, "fields": {"usage": 0.5}, "time": 1700000000}

and becomes one line: ``cpu,host=a usage=0.5 1700000000``.

Every problem is reported as a ``ValidationError`` whose ``FieldError.field`` is a path such as
``data[2].fields.temp``, so a form can show it next to the input that caused it. Records are
encoded lazily; the first bad record stops the stream and all of its problems are listed.

Records that share a shape (measurement, tag keys, field keys) are written by a formatter
compiled for the shape, which checks the names once; anything unusual falls back to the
record-by-record reference path, so both write the same lines and raise the same errors (see
"the compiled fast path" below).
"""
from __future__ import annotations

import math
import time
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from itertools import accumulate, islice
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from influx_connector.batch import RecordBytes
from influx_connector.errors import FieldError, ValidationError
from influx_connector.influxdb.annotated_csv import parse_rfc3339_ns

__all__ = ["Unsigned", "encode_data", "encode_points", "encode_records"]

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
_UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)


class Unsigned(int):
    """An integer to be written as a line-protocol unsigned integer (``12u``).

    Plain ``int`` values are written as signed integers (``12i``); wrap a value in ``Unsigned``
    (or send ``{"unsigned": n}`` from JSON) to store it in an unsigned field.
    """

    __slots__ = ()

    def __new__(cls, value: Any = 0) -> "Unsigned":
        self = super().__new__(cls, value)
        if not 0 <= self <= _UINT64_MAX:
            raise ValueError(f"Unsigned({int(self)}) is outside 0 .. 2**64-1")
        return self

    def __repr__(self) -> str:
        return f"Unsigned({int(self)})"


class _Bad(Exception):
    """One problem with one part of a record; the message becomes a FieldError."""


# --- escaping -------------------------------------------------------------------------------
#
# How InfluxDB reads a line (the parser in its models/points.go; every rule below was checked
# against a real InfluxDB 1.6.7, see tests/test_roundtrip.py and tests/test_real_influxdb.py):
#
# * The parts of the series key (measurement, tag keys, tag values) end at a delimiter that is
#   not *directly* preceded by a backslash. Backslashes do not pair up there: in 'a\\,b' the
#   comma is still escaped. So a name cannot end in a backslash (it would escape the delimiter
#   that follows), whatever is written.
# * When the server unescapes a part, only a backslash before one of the part's special
#   characters is dropped; every other backslash, '\\' included, is kept as it is. So
#   backslashes are written exactly as they are, never doubled.
# * Measurements and field keys are unescaped for ',', ' ', '=' and '"'; tag keys and values
#   for ',', ' ' and '=' only.
# * The line splitter (which finds where a line ends) and the field-set scanner do pair
#   backslashes, unlike the key scanners. Where the two readings disagree the point is
#   misread: a backslash before ' ' in the series key makes the splitter take the rest of the
#   key for the field set (a '"' there can then swallow the line break and merge two lines),
#   and in a field key a backslash before ',', ' ' or '=' splits the key where the
#   key scanner does not. Those names are refused rather than written wrongly.
# * A measurement holding a backslash before ',', ' ', '=' or '"' is stored under a name that
#   SHOW MEASUREMENTS and SELECT disagree on (the points cannot be read back): refused too.

_MEASUREMENT_ESCAPES = str.maketrans({",": "\\,", " ": "\\ "})
_KEY_ESCAPES = str.maketrans({",": "\\,", "=": "\\=", " ": "\\ "})
_STRING_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"'})

# Characters a backslash may not stand directly before, per part (see above).
_MEASUREMENT_BACKSLASH_BEFORE = ' ,="'
_TAG_BACKSLASH_BEFORE = " "
_FIELD_KEY_BACKSLASH_BEFORE = " ,="
_CHAR_NAMES = {" ": "a space", ",": "a comma", "=": "'='", '"': 'a double quote'}


def _backslash_problem(name: str, before: str) -> str | None:
    """Why the backslashes in a name cannot be written (see the notes above), or None."""
    if name[-1] == "\\":
        return "ends with a backslash, which line protocol cannot carry (it escapes the delimiter after it)"
    for char in before:
        if "\\" + char in name:
            return f"has a backslash right before {_CHAR_NAMES[char]}, which InfluxDB does not read back as written"
    return None


def _escape_measurement(name: str) -> str:
    return name.translate(_MEASUREMENT_ESCAPES)


def _escape_key(name: str) -> str:
    """Escape a tag key or tag value."""
    return name.translate(_KEY_ESCAPES)


def _escape_field_key(name: str) -> str:
    # A field key is unescaped like a measurement, so a backslash before '"' would be lost:
    # escaping the quote keeps the backslash ('\\"' reads back as a backslash and a quote).
    escaped = name.translate(_KEY_ESCAPES)
    return escaped.replace('\\"', '\\\\"') if '\\"' in escaped else escaped


def _line_feed_problem(text: str) -> str | None:
    """A line feed ends a line wherever it stands outside a string value, and no escape keeps it
    in a name (a backslash before it is kept as a character). Carriage returns and tabs are
    ordinary characters to the server's parser (1.6.7 stores them as written), so they go as
    they are."""
    at = text.find("\n")
    if at < 0:
        return None
    shown = text[max(0, at - 10):at]
    return (f"contains a line feed (\\n) at index {at}{f' (after {shown!r})' if shown else ''}, "
            "which ends the line in line protocol: only string field values can hold one")


def _name_problem(name: str) -> str | None:
    """Why a measurement, tag key or field key cannot be written, or None if it can."""
    if "\n" in name:
        return _line_feed_problem(name)
    if name[0] == "_":
        return "names starting with '_' are reserved by InfluxDB"
    return None


def _measurement_start_problem(name: str) -> str | None:
    """The server reads a line that starts with '#' as a comment and skips leading tabs, so
    such a measurement would be dropped or renamed without an error; refuse it instead."""
    if name[0] == "#":
        return "starts with '#', which would turn the line into a comment"
    if name[0] in "\t\x00":
        return "starts with a tab or NUL, which the server strips from the line"
    return None


# Measurement names, tag keys and field keys repeat from record to record, so their checked,
# escaped forms are remembered. A cache is emptied when it outgrows its bound, which keeps memory
# flat when a caller sends high-cardinality names.
_NAME_CACHE_LIMIT = 10_000
_measurement_cache: dict[str, str] = {}
_tag_key_cache: dict[str, str] = {}
_field_key_cache: dict[str, str] = {}


def _remember(cache: dict[str, str], name: str, escaped: str) -> str:
    if len(cache) >= _NAME_CACHE_LIMIT:
        cache.clear()
    cache[name] = escaped
    return escaped


def _measurement_text(name: str) -> str:
    """The escaped measurement (non-empty str); raises _Bad when it cannot be written."""
    escaped = _measurement_cache.get(name)
    if escaped is None:
        problem = _name_problem(name) or _measurement_start_problem(name)
        if problem is None and "\\" in name:
            problem = _backslash_problem(name, _MEASUREMENT_BACKSLASH_BEFORE)
        if problem:
            raise _Bad(problem)
        escaped = _remember(_measurement_cache, name, _escape_measurement(name))
    return escaped


def _key_problem(name: str, backslash_before: str) -> str | None:
    problem = _name_problem(name)
    if problem is None and "\\" in name:
        problem = _backslash_problem(name, backslash_before)
    if problem is None or problem.startswith("names"):
        return problem
    return f"the key {problem}"


def _tag_key_text(name: str) -> str:
    """The escaped tag key (non-empty str); raises _Bad when it cannot be written."""
    escaped = _tag_key_cache.get(name)
    if escaped is None:
        problem = _key_problem(name, _TAG_BACKSLASH_BEFORE)
        if problem:
            raise _Bad(problem)
        escaped = _remember(_tag_key_cache, name, _escape_key(name))
    return escaped


def _field_key_text(name: str) -> str:
    """The escaped field key (non-empty str); raises _Bad when it cannot be written."""
    escaped = _field_key_cache.get(name)
    if escaped is None:
        problem = _key_problem(name, _FIELD_KEY_BACKSLASH_BEFORE)
        if problem:
            raise _Bad(problem)
        escaped = _remember(_field_key_cache, name, _escape_field_key(name))
    return escaped


# --- field values ---------------------------------------------------------------------------


def _float_text(value: float) -> str:
    if math.isfinite(value):
        # repr() is the shortest text that reads back as the same float, and always looks
        # like a float ('1.0', '1e+300'), which line protocol reads as a float.
        return repr(value)
    if value != value:
        raise _Bad("NaN cannot be written in line protocol")
    raise _Bad("infinity cannot be written in line protocol")


def _int_text(value: int) -> str:
    if _INT64_MIN <= value <= _INT64_MAX:
        return f"{value}i"
    raise _Bad(
        f"{value} is outside the 64-bit signed integer range; "
        'use {"unsigned": n} for values up to 2**64-1, or a float'
    )


def _unsigned_text(value: int) -> str:
    if 0 <= value <= _UINT64_MAX:
        return f"{value}u"
    raise _Bad(f"{value} is outside the unsigned 64-bit range 0 .. 18446744073709551615")


def _string_inner(value: str) -> str:
    """A string field value escaped, without its quotes."""
    if len(value) > _SAFE_STRING_CHARS:
        size = len(value.encode("utf-8", "surrogatepass"))
        if size > MAX_STRING_BYTES:
            raise _Bad(
                f"is {size:,} bytes long; string fields are limited to "
                f"{MAX_STRING_BYTES:,} bytes (UTF-8)"
            )
    # Newlines may stay: inside the quotes they do not end the line.
    return value.translate(_STRING_ESCAPES)


def _string_text(value: str) -> str:
    return '"' + _string_inner(value) + '"'


def _decimal_text(value: Decimal) -> str:
    if value.is_nan():
        raise _Bad("NaN cannot be written in line protocol")
    if value.is_infinite():
        raise _Bad("infinity cannot be written in line protocol")
    number = float(value)
    if not math.isfinite(number):
        raise _Bad(f"{value} is too large for a 64-bit float")
    return repr(number)


def _whole_number(value: Any) -> int:
    """The integer inside ``{"integer": n}`` / ``{"unsigned": n}``: an int or its decimal text.

    Text is accepted because JSON clients (JavaScript in particular) lose precision on
    integers above 2**53 and send them as strings.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        digits = value[1:] if value[:1] in ("-", "+") else value
        if digits.isascii() and digits.isdigit():
            return int(value)
    raise _Bad(f"must be a whole number, not {value!r}")


def _wrapped_text(value: Mapping[Any, Any]) -> str:
    """Values with an explicit type: {"unsigned": n}, {"integer": n} or {"float": x}."""
    if len(value) == 1:
        ((kind, inner),) = value.items()
        if kind == "unsigned":
            return _unsigned_text(_whole_number(inner))
        if kind == "integer":
            return _int_text(_whole_number(inner))
        if kind == "float":
            return _explicit_float_text(inner)
    raise _Bad('an object value must be {"unsigned": n}, {"integer": n} or {"float": x}')


def _explicit_float_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise _Bad(f"must be a number, not {type(value).__name__}")
    if isinstance(value, Decimal):
        return _decimal_text(value)
    try:
        return _float_text(float(value))
    except OverflowError:
        raise _Bad(f"{value} is too large for a 64-bit float") from None


def _field_text(value: Any) -> str:
    # Exact-type dispatch first: the common JSON types cost one comparison each. bool must be
    # tested before int everywhere, because True is an int.
    kind = type(value)
    if kind is float:
        return _float_text(value)
    if kind is int:
        return _int_text(value)
    if kind is str:
        return _string_text(value)
    if kind is bool:
        return "true" if value else "false"
    return _other_field_text(value)


def _other_field_text(value: Any) -> str:
    """Subclasses and the less common types."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Unsigned):
        return _unsigned_text(int(value))
    if isinstance(value, int):
        return _int_text(int(value))
    if isinstance(value, float):
        return _float_text(float(value))
    if isinstance(value, Decimal):
        return _decimal_text(value)
    if isinstance(value, str):
        return _string_text(str(value))
    if isinstance(value, Mapping):
        return _wrapped_text(value)
    raise _Bad(
        f"a {type(value).__name__} cannot be written; use a number, string, boolean, "
        '{"unsigned": n}, {"integer": n} or {"float": x}'
    )


# --- time -----------------------------------------------------------------------------------


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


# --- records --------------------------------------------------------------------------------


def _precision_unit(precision: str) -> int:
    unit = _PRECISION_NS.get(precision)
    if unit is None:
        raise ValidationError(
            [FieldError("precision", f"must be one of ns, us, ms, s, not {precision!r}")]
        )
    return unit


def _series_key(record: Mapping[str, Any], problems: list[tuple[str, str]]) -> str:
    measurement = record.get("measurement")
    key = ""
    if measurement is None or measurement == "":
        problems.append((".measurement", "required"))
    elif not isinstance(measurement, str):
        problems.append((".measurement", f"must be a string, not {type(measurement).__name__}"))
    else:
        try:
            key = _measurement_text(measurement)
        except _Bad as exc:
            problems.append((".measurement", str(exc)))
    tags = record.get("tags")
    if tags is not None:
        key += _tag_set(tags, problems)
    return key


def _key_size_problem(key: str, field_keys: list[str]) -> str | None:
    """Why the series key is too long for InfluxDB, or None (see MAX_SERIES_KEY_BYTES)."""
    longest = max(map(len, field_keys), default=0)
    if len(key) + _FIELD_KEY_SEPARATOR_BYTES + longest <= _SAFE_KEY_CHARS:
        return None
    size = len(key.encode("utf-8", "surrogatepass"))
    if not field_keys:
        if size <= MAX_SERIES_KEY_BYTES:
            return None
        return f"the series key (measurement and tags) is {size:,} bytes; InfluxDB allows at most {MAX_SERIES_KEY_BYTES:,}"
    total = size + _FIELD_KEY_SEPARATOR_BYTES + max(len(k.encode("utf-8", "surrogatepass")) for k in field_keys)
    if total <= MAX_SERIES_KEY_BYTES:
        return None
    return (
        f"the series key (measurement and tags) is {size:,} bytes; InfluxDB stores it with each "
        f"field key and a {_FIELD_KEY_SEPARATOR_BYTES}-byte separator, {total:,} bytes for the longest "
        f"field key, and allows at most {MAX_SERIES_KEY_BYTES:,}"
    )


def _tag_set(tags: Any, problems: list[tuple[str, str]]) -> str:
    if not isinstance(tags, Mapping):
        problems.append((".tags", "must be an object of tag names to values"))
        return ""
    pairs: list[tuple[str, str, str]] = []
    for name, value in tags.items():
        if not isinstance(name, str):
            problems.append((".tags", f"tag key {name!r} must be a string"))
            continue
        if name == "":
            problems.append((".tags", "a tag key is empty"))
            continue
        try:
            escaped_name = _tag_key_text(name)
        except _Bad as exc:
            problems.append((f".tags.{name}", str(exc)))
            continue
        if value is None:
            continue  # no value: the tag is simply left out
        if type(value) is not str:
            # Tag values are always text to InfluxDB; numbers (and bools) are written as str()
            # gives them, anything bigger is refused rather than written as its repr.
            if not isinstance(value, (str, int, float, Decimal)):
                problems.append((f".tags.{name}", f"must be a string, not {type(value).__name__}"))
                continue
            value = str(value)
        if value == "":
            continue  # line protocol has no empty tag values: leave the tag out
        if "\n" in value:
            problems.append((f".tags.{name}", str(_line_feed_problem(value))))
            continue
        if "\\" in value:
            problem = _backslash_problem(value, _TAG_BACKSLASH_BEFORE)
            if problem:
                problems.append((f".tags.{name}", problem))
                continue
        pairs.append((name, escaped_name, value))
    # Sorting by str compares code points, which is the same order as comparing UTF-8 bytes
    # (UTF-8 preserves code point order), the order the server wants. Keys are unique, so the
    # sort never looks past the first item.
    pairs.sort()
    return "".join([f",{escaped_name}={_escape_key(value)}" for _, escaped_name, value in pairs])


def _field_set(fields: Any, problems: list[tuple[str, str]], keys: list[str]) -> str:
    """The field set; the escaped field keys are appended to ``keys``."""
    if fields is None:
        problems.append((".fields", "required"))
        return ""
    if not isinstance(fields, Mapping):
        problems.append((".fields", "must be an object of field names to values"))
        return ""
    parts: list[str] = []
    had_problem = False
    for name, value in fields.items():
        if value is None:
            continue
        if not isinstance(name, str):
            problems.append((".fields", f"field key {name!r} must be a string"))
            had_problem = True
            continue
        if name == "":
            problems.append((".fields", "a field key is empty"))
            had_problem = True
            continue
        try:
            escaped_name = _field_key_text(name)
            parts.append(f"{escaped_name}={_field_text(value)}")
            keys.append(escaped_name)
        except _Bad as exc:
            problems.append((f".fields.{name}", str(exc)))
            had_problem = True
    if not parts and not had_problem:
        problems.append((".fields", "needs at least one field with a value"))
    if parts and parts[0][0] in _STRIPPED_AT_START:
        _lead_with_a_plain_key(parts, fields, problems)
    return ",".join(parts)


# The server skips tabs and NULs before the field set, so they would vanish from the start of
# the first field key (1.6.7 stores "\ta" as "a"); later field keys keep them.
_STRIPPED_AT_START = "\t\x00"


def _lead_with_a_plain_key(parts: list[str], fields: Mapping[Any, Any], problems: list[tuple[str, str]]) -> None:
    """Put first a field whose key does not start with a tab or NUL (field order is free)."""
    for index, part in enumerate(parts):
        if part[0] not in _STRIPPED_AT_START:
            parts.insert(0, parts.pop(index))
            return
    name = next(k for k, v in fields.items() if v is not None and isinstance(k, str) and k[:1] in _STRIPPED_AT_START)
    problems.append((
        f".fields.{name}",
        "starts with a tab or NUL, which the server strips from the first field key of a line; "
        "give the record a field whose key does not",
    ))


def _encode_record(record: Any, index: int, unit_ns: int, field: str) -> str:
    if not isinstance(record, Mapping):
        raise ValidationError([
            FieldError(
                f"{field}[{index}]",
                "must be an object with measurement, fields and optional tags and time",
            )
        ])
    problems: list[tuple[str, str]] = []
    if not record.keys() <= _RECORD_KEYS:
        for key in record:
            if key not in _RECORD_KEYS:
                problems.append((f".{key}", "unknown key: a record has measurement, tags, fields and time"))
    key = _series_key(record, problems)
    field_keys: list[str] = []
    field_set = _field_set(record.get("fields"), problems, field_keys)
    if key:
        too_long = _key_size_problem(key, field_keys)
        if too_long:
            problems.append((".tags" if record.get("tags") else ".measurement", too_long))
    stamp = record.get("time")
    time_text = ""
    if stamp is not None:
        try:
            time_text = " " + _time_text(stamp, unit_ns)
        except _Bad as exc:
            problems.append((".time", str(exc)))
    if problems:
        prefix = f"{field}[{index}]"
        raise ValidationError([FieldError(prefix + part, message) for part, message in problems])
    return f"{key} {field_set}{time_text}"


# --- the compiled fast path -----------------------------------------------------------------
#
# The records of one write mostly share a *shape*: the same measurement, tag keys and field
# keys, with the same value types. Checking and escaping the names is the costly part of a
# record, and it gives the same answer for every record of a shape; so the first records of a
# shape go through _encode_record (the reference), and then the shape gets a formatter,
# generated as Python source once, that holds the checked, escaped names as constants and only
# looks at the values: a type test, a range or finiteness test, and an escape only when a
# special character is there. Series keys (measurement and tag set) are remembered per shape
# by their tag values, so tag values are checked once per series rather than once per point.
#
# The fast path never decides an error, or anything unusual: a formatter gives up (returns
# None) on any value that is not plainly fine — NaN, an int out of range, a long string, a tag
# value that is not a str, a time that is not an int in range, a name that cannot be written,
# a series key that may be too long — and the record then goes through _encode_record, which
# writes it or raises the exact errors. Records that are not plain dicts (or whose tags or
# fields are not plain dicts) take that path too. tests/test_line_protocol_fast.py checks that
# both paths write the same lines.

# A shape is compiled at its _COMPILE_AFTER-th record: data whose every record has a shape of
# its own (field keys made of ids, say) then never pays for the compiler.
_COMPILE_AFTER = 4
_SHAPE_LIMIT = 512  # shapes remembered per precision; all are dropped when there are more
# Series keys remembered, all shapes together (each holds its tag values): past the limit every
# shape is forgotten, which keeps memory flat for high-cardinality tags (they cost a check and a
# recompile per _SERIES_LIMIT series).
_SERIES_LIMIT = 50_000
_series_remembered = 0
_NONE_TYPE = type(None)
_BOOL_TEXT = ("false", "true")


def _give_up(tags: Any, fields: Any, stamp: Any) -> None:
    """The formatter of a shape whose every record goes through the reference path."""
    return None


class _Shape:
    """One (measurement, tag keys, field keys) shape: its escaped names, its series keys by tag
    values, and a generated formatter per combination of field value types."""

    __slots__ = ("measurement", "tag_count", "field_keys", "key_margin", "series", "variants", "unit_ns")

    def __init__(self, measurement: str, tag_keys: tuple[Any, ...], field_keys: tuple[Any, ...], unit_ns: int):
        if measurement == "":
            raise _Bad("left to the reference path")
        self.measurement = _measurement_text(measurement)  # raises _Bad
        escaped = []
        for name in field_keys:
            if type(name) is not str or name == "":
                raise _Bad("left to the reference path")
            escaped.append(_field_key_text(name))  # raises _Bad
        self.tag_count = len(tag_keys)
        self.field_keys = escaped
        # The series key fits whenever key + separator + longest field key stays under the
        # character bound (see _key_size_problem); longer ones go through the reference path.
        self.key_margin = _FIELD_KEY_SEPARATOR_BYTES + max(map(len, escaped), default=0)
        self.series: dict[tuple[str, ...], str] = {}
        self.variants: dict[tuple[type, ...], Any] = {}
        self.unit_ns = unit_ns

    def series_key(self, tags: Mapping[str, Any]) -> str:
        """The measurement and tag set, fully checked; raises _Bad for anything unusual."""
        problems: list[tuple[str, str]] = []
        key = self.measurement + _tag_set(tags, problems) if self.tag_count else self.measurement
        if problems or len(key) + self.key_margin > _SAFE_KEY_CHARS:
            raise _Bad("left to the reference path")
        return key

    def new_series(self, tags: Mapping[str, Any], values: tuple[str, ...]) -> str:
        global _series_remembered
        key = self.series_key(tags)
        if _series_remembered >= _SERIES_LIMIT:
            for shapes in _SHAPES.values():
                shapes.clear()
            self.series.clear()  # this shape's formatter finishes the record it is writing
            _series_remembered = 0
        _series_remembered += 1
        self.series[values] = key
        return key

    def other_types(self, tags: Any, fields: dict[Any, Any], stamp: Any) -> str | None:
        """For a record whose field types are not those of the formatter it reached."""
        types = tuple(map(type, fields.values()))
        variant = self.variants.get(types)
        if variant is None:
            if len(self.variants) >= 64:
                return None
            variant = self.variants[types] = self.compile(types)
        return variant(tags, fields, stamp)

    def time_suffix(self, stamp: Any) -> str:
        return "" if stamp is None else " " + _time_text(stamp, self.unit_ns)

    def compile(self, types: tuple[type, ...]) -> Any:
        """Generate the formatter of this shape for field values of these types."""
        written = [(i, key) for i, (key, kind) in enumerate(zip(self.field_keys, types)) if kind is not _NONE_TYPE]
        if not written:
            return _give_up  # "needs at least one field with a value"
        if written[0][1][0] in _STRIPPED_AT_START:
            plain = next((w for w in written if w[1][0] not in _STRIPPED_AT_START), None)
            if plain is None:
                return _give_up
            written.remove(plain)
            written.insert(0, plain)
        consts: dict[str, Any] = {
            "_Bad": _Bad, "BOOL": _BOOL_TEXT, "field_text": _field_text,
            "string_inner": _string_inner, "time_suffix": self.time_suffix,
            "other_types": self.other_types, "series_get": self.series.get,
            "new_series": self.new_series, "series_key": self.series_key,
            "float": float, "int": int, "str": str, "bool": bool, "len": len, "type": type,
        }
        n_tags = self.tag_count
        body = ["    try:"]
        if n_tags:
            names = ", ".join(f"v{i}" for i in range(n_tags))
            values = f"({names},)"
            all_str = " and ".join(f"type(v{i}) is str" for i in range(n_tags))
            body += [
                f"        {values} = tags.values()",
                f"        if {all_str}:",
                f"            key = series_get({values})",
                "            if key is None:",
                f"                key = new_series(tags, {values})",
                "        else:",
                "            key = series_key(tags)",
            ]
        else:
            try:
                consts["KEY"] = self.series_key({})
            except _Bad:
                return _give_up
            body.append("        key = KEY")
        count = len(types)
        body.append(f"        ({', '.join(f'f{i}' for i in range(count))},) = fields.values()")
        # Values of other types (Decimal, Unsigned, {"unsigned": n}, ...) go through
        # _field_text, which takes any type: they need no guard.
        guards = [f"f{i} is not None" if kind is _NONE_TYPE else f"type(f{i}) is not {kind.__name__}"
                  for i, kind in enumerate(types) if kind in (float, int, str, bool, _NONE_TYPE)]
        if guards:
            body += [f"        if {' or '.join(guards)}:", "            return other_types(tags, fields, t)"]
        floats = [i for i, kind in enumerate(types) if kind is float]
        if floats:
            # x - x is 0.0 for every finite float and NaN for NaN and the infinities.
            body += [f"        if {' + '.join(f'(f{i} - f{i})' for i in floats)} != 0.0:", "            return None"]
        for i, kind in enumerate(types):
            if kind is int:
                body += [f"        if not {_INT64_MIN} <= f{i} <= {_INT64_MAX}:", "            return None"]
            elif kind is str:
                body += [
                    f"        if len(f{i}) > {_SAFE_STRING_CHARS} or '\"' in f{i} or '\\\\' in f{i}:",
                    f"            f{i} = string_inner(f{i})",
                ]
        parts = ["{key}"]
        for position, (i, key) in enumerate(written):
            const = f"K{position}"
            consts[const] = (" " if position == 0 else ",") + key + "="
            kind = types[i]
            if kind is float:
                value = f"{{f{i}!r}}"
            elif kind is int:
                value = f"{{f{i}}}i"
            elif kind is str:
                value = f'"{{f{i}}}"'
            elif kind is bool:
                value = f"{{BOOL[f{i}]}}"
            else:
                value = f"{{field_text(f{i})}}"
            parts.append(f"{{{const}}}{value}")
        line = "".join(parts)
        unit = self.unit_ns
        low, high = -(_TIME_MAX_NS // unit), _TIME_MAX_NS // unit
        body += [
            f"        if type(t) is int and {low} <= t <= {high}:",
            f"            return f'{line} {{t}}'",
            "        if t is None:",  # its batch gives it a time (see _clock)
            f"            return f'{line}'",
            f"        return f'{line}{{time_suffix(t)}}'",
            "    except _Bad:",
            "        return None",
        ]
        source = "def formatter(tags, fields, t):\n" + "\n".join(body) + "\n"
        exec(compile(source, "<line protocol formatter>", "exec"), consts)  # noqa: S102 - our own source
        return consts["formatter"]


def _new_shape(shapes: dict[Any, Any], key: tuple[Any, Any, Any], unit_ns: int) -> Any:
    """The formatter of a shape seen for the first time: it counts the shape's records (which
    take the reference path) and compiles the shape at the _COMPILE_AFTER-th."""
    if len(shapes) >= _SHAPE_LIMIT:
        shapes.clear()
    seen = 0

    def pending(tags: Any, fields: dict[Any, Any], stamp: Any) -> str | None:
        nonlocal seen
        seen += 1
        if seen < _COMPILE_AFTER:
            return None
        measurement, tag_keys, field_keys = key
        try:
            shape = _Shape(measurement, tag_keys, field_keys, unit_ns)
        except _Bad:
            shapes[key] = _give_up
            return None
        types = tuple(map(type, fields.values()))
        formatter = shape.variants[types] = shapes[key] = shape.compile(types)
        return formatter(tags, fields, stamp)

    shapes[key] = pending
    return pending


_SHAPES: dict[int, dict[Any, Any]] = {unit: {} for unit in _PRECISION_NS.values()}


def _encode_lines(records: Iterable[Any], unit_ns: int, field: str, untimed: list[int] | None = None) -> Iterator[str]:
    """One line per record: through the shape's formatter when it can, else _encode_record.
    The indices of records without a time are added to ``untimed`` when it is given."""
    shapes = _SHAPES[unit_ns]
    formatter_of = shapes.get
    for index, record in enumerate(records):
        if type(record) is dict:
            if len(record) == 4:
                try:
                    measurement = record["measurement"]
                    tags = record["tags"]
                    fields = record["fields"]
                    stamp = record["time"]
                except KeyError:  # an unknown key in place of a known one
                    measurement = None
            elif record.keys() <= _RECORD_KEYS:
                measurement = record.get("measurement")
                tags = record.get("tags")
                fields = record.get("fields")
                stamp = record.get("time")
            else:
                measurement = None
            if type(measurement) is str and type(fields) is dict:
                if type(tags) is dict:
                    key = (measurement, tuple(tags), tuple(fields))
                elif tags is None:
                    key = (measurement, (), tuple(fields))
                else:
                    key = None
                if key is not None:
                    formatter = formatter_of(key)
                    if formatter is None:
                        formatter = _new_shape(shapes, key, unit_ns)
                    line = formatter(tags, fields, stamp)
                    if line is not None:
                        if stamp is None and untimed is not None:
                            untimed.append(index)
                        yield line
                        continue
        line = _encode_record(record, index, unit_ns, field)  # a Mapping from here on: others raised
        if untimed is not None and record.get("time") is None:
            untimed.append(index)
        yield line


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
    from .lines import point_ends, points

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

    For records the ends come from the encoded lines; text is scanned (``lines.point_ends``).
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
