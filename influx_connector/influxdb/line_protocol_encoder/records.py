"""The reference encoder: one record at a time, every problem named by its field path."""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from influx_connector.errors import FieldError, ValidationError
from influx_connector.influxdb.line_protocol_encoder.base import (
    _FIELD_KEY_SEPARATOR_BYTES,
    _PRECISION_NS,
    _RECORD_KEYS,
    _SAFE_KEY_CHARS,
    MAX_SERIES_KEY_BYTES,
    _Bad,
)
from influx_connector.influxdb.line_protocol_encoder.escaping import (
    _TAG_BACKSLASH_BEFORE,
    _backslash_problem,
    _escape_key,
    _field_key_text,
    _line_feed_problem,
    _measurement_text,
    _tag_key_text,
)
from influx_connector.influxdb.line_protocol_encoder.timestamps import _time_text
from influx_connector.influxdb.line_protocol_encoder.values import _field_text


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
        return (f"the series key (measurement and tags) is {size:,} bytes; "
                f"InfluxDB allows at most {MAX_SERIES_KEY_BYTES:,}")
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

