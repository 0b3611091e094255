"""The text formats the engine checks, written once for Python and for the host's form validator.

``date-time`` is RFC 3339 section 5.6 as a server that keeps nanoseconds reads it: ``T`` or
``t`` between date and time, ``Z``/``z`` or a ``+hh:mm``/``-hh:mm`` offset, at most nine
fraction digits, a day that exists in its month (February 29 only in leap years), ASCII digits
only, and no leap second (second 60): Go's time package, which InfluxDB parses times with,
refuses one, so a form that let it through would only move the error to the server. ajv-formats'
own ``date-time`` is looser (``+05`` and ``+0530`` offsets, any number of fraction digits, a
space for ``T``), so forms carry this expression as a ``pattern`` beside ``format: date-time``;
ajv then judges exactly as the engine does.

``json-text`` is text that parses as JSON (RFC 8259: no NaN or Infinity), or blank text, which
counts as not given. It is not a standard format: a host registers it with its form validator
(``customizeValidator({customFormats: {"json-text": ...}})``, see the README).

Internal to the engine (not part of what hosts use; see ``influx_connector.__all__``).
"""
from __future__ import annotations

import json
from typing import Any

from . import patterns

_DAYS_28 = "0[1-9]|1[0-9]|2[0-8]"
_LEAP_YEAR = "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)"
_DATE = (f"(?:[0-9]{{4}}-(?:(?:0[13578]|1[02])-(?:{_DAYS_28}|29|3[01])|(?:0[469]|11)-(?:{_DAYS_28}|29|30)"
         f"|02-(?:{_DAYS_28}))|{_LEAP_YEAR}-02-29)")
_TIME = "(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,9})?"
_OFFSET = "(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"

#: RFC 3339 date-time, as the engine checks it and as forms carry it (a portable pattern).
DATE_TIME_PATTERN = f"^{_DATE}[Tt]{_TIME}{_OFFSET}$"
DATE_TIME_EXAMPLE = "2024-01-31T12:00:00Z"

JSON_TEXT = "json-text"
#: First characters of JSON text by the type of its value (after leading JSON whitespace).
_JSON_STARTS = {"object": "\\{", "array": "\\[", "string": '"', "number": "\\-0-9", "integer": "\\-0-9",
                "boolean": "tf", "null": "n"}
_JSON_SPACE = "[ \\t\\n\\r]*"

#: The custom formats forms use, with what a host's validator must check for each.
CUSTOM_FORMATS = {
    JSON_TEXT: "Text that parses as JSON (RFC 8259; NaN and Infinity are not JSON), or text of "
               "whitespace only, which counts as not given.",
}


def is_date_time(text: str) -> bool:
    return patterns.compile(DATE_TIME_PATTERN).match(text) is not None


def date_time_problem(text: str) -> str:
    """Why ``text`` is not a date-time the engine accepts, in words a form user understands."""
    found = patterns.compile("^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:60").match(text)
    if found:
        return f"must be an RFC 3339 date-time without a leap second (second 60), such as {DATE_TIME_EXAMPLE}"
    return f"must be an RFC 3339 date-time such as {DATE_TIME_EXAMPLE}, with a date that exists"


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(text: str) -> Any:
    """The value of JSON text; ValueError says where it went wrong ("line 1, column 5: ...")."""
    try:
        return json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(f"line {exc.lineno}, column {exc.colno}: {exc.msg[:1].lower()}{exc.msg[1:]}") from None
    except ValueError as exc:  # NaN or Infinity
        raise ValueError(str(exc)) from None


def is_json_text(text: str) -> bool:
    if patterns.is_blank(text):
        return True
    try:
        parse_json(text)
    except ValueError:
        return False
    return True


def json_type_pattern(types: tuple[str, ...]) -> str:
    """A portable pattern for JSON text whose value has one of ``types``: once the text is
    known to be JSON, its first character tells the type."""
    starts = "".join(_JSON_STARTS[t] for t in types if t in _JSON_STARTS)
    return f"^{_JSON_SPACE}[{starts}]"


def checks(name: str, value: Any) -> bool:
    """The engine's check of a format by name (True for formats it does not check)."""
    if not isinstance(value, str):
        return True
    if name == "date-time":
        return is_date_time(value)
    if name == JSON_TEXT:
        return is_json_text(value)
    return True
