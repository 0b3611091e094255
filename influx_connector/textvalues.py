"""Numbers and true/false given as text: what hosts store (``port: "8086"``) and shells type.

One grammar serves the command line's ``-p`` values, the values a host hands to ``connect`` and
``run``, and the forms: for each number or boolean field a form also accepts text, with a
portable ``pattern`` that admits exactly the text this module turns into an allowed value, range
included. So a form and the engine agree on ``"8086"``, on ``" 8086 "``, on ``"70000"`` and on
``"80a"``.

- a whole number: optional sign and ASCII digits, such as ``-3`` or ``007``;
- a number: the same, with an optional fraction such as ``2.5`` (no exponent, NaN or infinity);
- true or false: ``true``/``false``, ``yes``/``no`` or ``1``/``0``, in any letter case.

Whitespace around the text is ignored (blank text counts as not given).

Internal to the engine (not part of what hosts use; see ``influx_connector.__all__``).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import patterns

_S = f"[{patterns.SPACE_CLASS}]*"
_INTEGER = f"^{_S}([+-]?)([0-9]+){_S}$"
_NUMBER = f"^{_S}([+-]?)([0-9]+)(?:\\.([0-9]+))?{_S}$"
_BOOLEAN = f"^{_S}(?:([Tt][Rr][Uu][Ee]|[Yy][Ee][Ss]|1)|([Ff][Aa][Ll][Ss][Ee]|[Nn][Oo]|0)){_S}$"

INTEGER_MESSAGE = "must be a whole number"
NUMBER_MESSAGE = "must be a number, such as 2.5"
BOOLEAN_MESSAGE = "must be true or false (also yes/no, 1/0)"


def to_integer(text: str) -> int:
    found = patterns.compile(_INTEGER).match(text)
    if found is None:
        raise ValueError(INTEGER_MESSAGE)
    try:
        return int(found.group(1) + found.group(2))
    except ValueError:  # more digits than Python converts
        raise ValueError(INTEGER_MESSAGE) from None


def to_number(text: str) -> int | float:
    """A number; whole numbers stay ints, so a query string gets "5", not "5.0"."""
    found = patterns.compile(_NUMBER).match(text)
    if found is None:
        raise ValueError(NUMBER_MESSAGE)
    sign, whole, fraction = found.groups()
    try:
        return int(sign + whole) if fraction is None else float(f"{sign}{whole}.{fraction}")
    except (ValueError, OverflowError):
        raise ValueError(NUMBER_MESSAGE) from None


def to_boolean(text: str) -> bool:
    found = patterns.compile(_BOOLEAN).match(text)
    if found is None:
        raise ValueError(BOOLEAN_MESSAGE)
    return found.group(1) is not None


CONVERTERS = {"integer": to_integer, "number": to_number, "boolean": to_boolean}


# --- the same, as a pattern a form carries ---------------------------------------------------------


@dataclass(frozen=True)
class Bound:
    value: int
    exclusive: bool = False


def _same_length(low: str, high: str) -> list[str]:
    """Expressions for the decimal numbers from ``low`` to ``high`` (texts of one length)."""
    if low == high:
        return [low]
    if len(low) == 1:
        return [f"[{low}-{high}]"]
    if low[0] == high[0]:
        return [low[0] + rest for rest in _same_length(low[1:], high[1:])]
    width = len(low) - 1
    out: list[str] = []
    first, last = int(low[0]), int(high[0])
    if low[1:] != "0" * width:
        out += [low[0] + rest for rest in _same_length(low[1:], "9" * width)]
        first += 1
    whole_high = high[1:] == "9" * width
    if not whole_high:
        last -= 1
    if first <= last:
        digit = str(first) if first == last else f"[{first}-{last}]"
        out.append(f"{digit}[0-9]{{{width}}}")
    if not whole_high:
        out += [high[0] + rest for rest in _same_length("0" * width, high[1:])]
    return out


def whole_range(low: int, high: int | None) -> str:
    """An expression (unanchored, no leading zeros) for the whole numbers in [low, high], low >= 0."""
    if high is None:
        if low == 0:
            return "[0-9]+"
        digits = len(str(low))
        parts = [*_same_length(str(low), "9" * digits), f"[1-9][0-9]{{{digits},}}"]
    else:
        parts = []
        for digits in range(len(str(low)), len(str(high)) + 1):
            start = max(low, 10 ** (digits - 1) if digits > 1 else 0)
            end = min(high, 10 ** digits - 1)
            if start <= end:
                parts += _same_length(str(start), str(end))
    return parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"


def _magnitudes(low: Bound, high: Bound | None, integer: bool) -> str | None:
    """An expression for the texts (digits, maybe a fraction) of numbers m with low <= m <= high
    (bounds exclusive where they say so), low.value >= 0; None when there are none."""
    any_fraction, zero_fraction = "(?:\\.[0-9]+)?", "(?:\\.0+)?"
    parts: list[str] = []
    if integer:
        first = low.value + low.exclusive
        last = None if high is None else high.value - high.exclusive
        if last is not None and first > last:
            return None
        return f"0*{whole_range(first, last)}"
    first = low.value + low.exclusive  # whole parts whose every fraction is inside
    if high is None:
        parts.append(f"0*{whole_range(first, None)}{any_fraction}")
    else:
        if first <= high.value - 1:
            parts.append(f"0*{whole_range(first, high.value - 1)}{any_fraction}")
        if not high.exclusive and high.value >= first:
            parts.append(f"0*{whole_range(high.value, high.value)}{zero_fraction}")
    if low.exclusive and (high is None or low.value < high.value):
        parts.append(f"0*{whole_range(low.value, low.value)}\\.[0-9]*[1-9][0-9]*")
    return "(?:" + "|".join(parts) + ")" if parts else None


def range_pattern(low: Bound | None, high: Bound | None, integer: bool) -> str:
    """The body of a pattern for number text in [low, high] (integral bounds; None is unbounded)."""
    alternatives: list[str] = []
    # Zero and up.
    if high is None or high.value > 0 or (high.value == 0 and not high.exclusive):
        start = Bound(0) if low is None or low.value < 0 else low
        found = _magnitudes(start, high, integer)
        if found:
            alternatives.append(f"\\+?{found}")
    # Zero and below, as magnitudes: -5 is the magnitude 5.
    zero_in = (low is None or low.value < 0 or (low.value == 0 and not low.exclusive)) and (
        high is None or high.value > 0 or (high.value == 0 and not high.exclusive))
    if low is None or low.value < 0 or zero_in:
        if high is not None and high.value < 0:
            near = Bound(-high.value, high.exclusive)
        else:
            near = Bound(0, not zero_in)
        far = None if low is None else Bound(-low.value, low.exclusive)
        found = _magnitudes(near, far, integer) if far is None or far.value >= near.value else None
        if found:
            alternatives.append(f"-{found}")
    if not alternatives:
        return "(?!)"
    return alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"


@dataclass(frozen=True)
class TextRule:
    """How a number or boolean field reads text: the type it converts to and the pattern forms use."""

    kind: str  # "integer", "number" or "boolean"
    pattern: str  # anchored, whitespace allowed around; no blank alternative
    message: str

    def convert(self, text: str) -> Any:
        return CONVERTERS[self.kind](text)


def _bound(schema: Mapping[str, Any], inclusive: str, exclusive: str) -> Bound | None | bool:
    """The tighter of a field's inclusive and exclusive bound; False when one is not a whole number."""
    found: list[Bound] = []
    for key, is_exclusive in ((inclusive, False), (exclusive, True)):
        value = schema.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not float(value).is_integer():
            return False
        found.append(Bound(int(value), is_exclusive))
    if not found:
        return None
    if len(found) == 2 and found[0].value == found[1].value:
        return found[1]
    tighter = max if inclusive == "minimum" else min
    return tighter(found, key=lambda b: b.value)


def text_rule(schema: Mapping[str, Any]) -> TextRule | None:
    """The text a field of this JSON Schema accepts in place of its number or boolean, or None.

    Only a field of a single number, integer or boolean type has one, and only when its bounds
    are whole numbers (text for other bounds would need an expression a form cannot carry).
    """
    declared = schema.get("type")
    if not isinstance(declared, str) or declared not in CONVERTERS or "enum" in schema or "const" in schema:
        return None
    if declared == "boolean":
        return TextRule("boolean", _BOOLEAN, BOOLEAN_MESSAGE)
    low = _bound(schema, "minimum", "exclusiveMinimum")
    high = _bound(schema, "maximum", "exclusiveMaximum")
    if low is False or high is False:
        return None
    integer = declared == "integer"
    body = range_pattern(low, high, integer)  # type: ignore[arg-type]
    limits = _limits_text(low, high)  # type: ignore[arg-type]
    message = (INTEGER_MESSAGE if integer else NUMBER_MESSAGE) + (f" ({limits})" if limits else "")
    return TextRule(declared, f"^{_S}{body}{_S}$", message)


def _limits_text(low: Bound | None, high: Bound | None) -> str:
    def side(bound: Bound | None, word: str, strict: str) -> str:
        if bound is None:
            return ""
        return f"{strict if bound.exclusive else word} {bound.value}"

    parts = [p for p in (side(low, "at least", "greater than"), side(high, "at most", "less than")) if p]
    return ", ".join(parts)
