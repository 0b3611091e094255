"""Encoder from JSON-like records to InfluxDB line protocol (contract notes, section 6).

A record is a mapping::

    {"measurement": "cpu", "tags": {"host": "a"}, "fields": {"usage": 0.5}, "time": 1700000000}

and becomes one line: ``cpu,host=a usage=0.5 1700000000``.

Every problem is reported as a ``ValidationError`` whose ``FieldError.field`` is a path such as
``data[2].fields.temp``, so a form can show it next to the input that caused it. Records are
encoded lazily; the first bad record stops the stream and all of its problems are listed.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from influx_connector.errors import FieldError, ValidationError
from influx_connector.influxdb.annotated_csv import parse_rfc3339_ns

__all__ = ["Unsigned", "encode_data", "encode_records"]

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


def _name_problem(name: str) -> str | None:
    """Why a measurement, tag key or field key cannot be written, or None if it can."""
    if "\n" in name or "\r" in name:
        return "contains a newline, which line protocol cannot carry"
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


def _string_text(value: str) -> str:
    if len(value) > _SAFE_STRING_CHARS:
        size = len(value.encode("utf-8", "surrogatepass"))
        if size > MAX_STRING_BYTES:
            raise _Bad(
                f"is {size:,} bytes long; string fields are limited to "
                f"{MAX_STRING_BYTES:,} bytes (UTF-8)"
            )
    # Newlines may stay: inside the quotes they do not end the line.
    return '"' + value.translate(_STRING_ESCAPES) + '"'


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
        if "\n" in value or "\r" in value:
            problems.append((f".tags.{name}", "contains a newline, which line protocol cannot carry"))
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


def encode_records(
    records: Iterable[Mapping[str, Any]], *, precision: str = "ns", field: str = "data"
) -> Iterator[str]:
    """Yield one line of line protocol (without newline) per record, lazily.

    ``precision`` (ns, us, ms, s) is the unit of integer times and the unit RFC3339 strings and
    datetimes are converted to. ``field`` names the input in error paths (``data[3].time``).
    """
    unit_ns = _precision_unit(precision)  # checked now, not at the first next()
    return (
        _encode_record(record, index, unit_ns, field) for index, record in enumerate(records)
    )


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


def _text_data(text: str, field: str) -> tuple[bytes, int]:
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    text = text.rstrip("\n")
    if not text.strip():
        raise _empty(field)
    lines = text.split("\n")
    count = 0
    for line in lines:
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            count += 1
    if count == 0:
        raise ValidationError([FieldError(field, "contains only comments: give at least one point")])
    return _utf8(text, lines, field, records=False), count


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
        return _text_data(data, field)
    if isinstance(data, Mapping):
        data = [data]
    if not isinstance(data, (list, tuple)):
        raise ValidationError([
            FieldError(field, f"must be line protocol text or a list of records, not {type(data).__name__}")
        ])
    if not data:
        raise _empty(field)
    lines = [_encode_record(record, index, unit_ns, field) for index, record in enumerate(data)]
    text = "\n".join(lines)
    return _utf8(text, lines, field, records=True), len(lines)
