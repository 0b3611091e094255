"""Field values: each Python or JSON value written as its line-protocol type."""
from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from influx_connector.influxdb.line_protocol_encoder.base import (
    _INT64_MAX,
    _INT64_MIN,
    _SAFE_STRING_CHARS,
    _UINT64_MAX,
    MAX_STRING_BYTES,
    Unsigned,
    _Bad,
)
from influx_connector.influxdb.line_protocol_encoder.escaping import _STRING_ESCAPES


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

