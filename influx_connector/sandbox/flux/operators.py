"""What Flux's operators do to values, nulls included.

Comparisons and arithmetic with a null operand give null, and ``filter`` keeps a row only
on ``true``, so a missing tag simply fails a comparison instead of erroring. Ints and
floats may be compared with each other (Flux allows that) but arithmetic needs both sides
of one type, as Flux's type checker demands. Integer division truncates like Go.
"""
from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

from .errors import FluxError
from .timefmt import add_duration
from .values import Duration, Regex, Time, is_number, type_name

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _mismatch(op: str, left: Any, right: Any) -> FluxError:
    return FluxError(f"unsupported binary expression {type_name(left)} {op} {type_name(right)}")


def binary(op: str, left: Any, right: Any) -> Any:
    if op in ("=~", "!~"):
        return _regex_match(op, left, right)
    if left is None or right is None:
        return None
    if op in _COMPARE:
        return _compare(op, left, right)
    return _arithmetic(op, left, right)


def _regex_match(op: str, left: Any, right: Any) -> bool | None:
    if not isinstance(right, Regex):
        raise _mismatch(op, left, right)
    if left is None:
        return None
    if not isinstance(left, str):
        raise _mismatch(op, left, right)
    found = right.pattern.search(left) is not None
    return found if op == "=~" else not found


def _compare(op: str, left: Any, right: Any) -> bool:
    comparable = (is_number(left) and is_number(right)) or (
        type(left) is type(right) and isinstance(left, (str, Time, Duration, bool))
    )
    ordered_ok = not isinstance(left, (bool, Duration))
    if not comparable or (op not in ("==", "!=") and not ordered_ok):
        raise _mismatch(op, left, right)
    return _COMPARE[op](left, right)


def _arithmetic(op: str, left: Any, right: Any) -> Any:
    if isinstance(left, Time) and isinstance(right, Duration) and op in ("+", "-"):
        shift = right if op == "+" else -right
        return Time(add_duration(left.ns, shift.months, shift.nanos))
    if isinstance(left, str) and isinstance(right, str) and op == "+":
        return left + right
    if not (is_number(left) and is_number(right) and type(left) is type(right)):
        raise FluxError(
            f"type error: {op} needs two operands of the same numeric type, "
            f"got {type_name(left)} and {type_name(right)}"
        )
    if isinstance(left, int):
        return _int_arithmetic(op, left, right)
    return _float_arithmetic(op, left, right)


def _int_arithmetic(op: str, a: int, b: int) -> int:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "^":
        if b < 0:
            raise FluxError("cannot raise an int to a negative power")
        return a**b
    if b == 0:
        raise FluxError("integer division by zero")
    quotient = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)  # Go truncates toward zero
    return quotient if op == "/" else a - quotient * b


def _float_arithmetic(op: str, a: float, b: float) -> float:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "^":
        return math.pow(a, b)
    if op == "%":
        return math.fmod(a, b) if b != 0 else math.nan
    if b == 0:
        # IEEE division, as Go does it: x/0 is an infinity, 0/0 is NaN.
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def logical(op: str, left: Any, right_thunk: Callable[[], Any]) -> bool | None:
    """``and``/``or`` with short-circuit and three-valued logic (null is "unknown")."""
    _require_bool(op, left)
    if op == "and" and left is False:
        return False
    if op == "or" and left is True:
        return True
    right = right_thunk()
    _require_bool(op, right)
    if op == "and":
        if right is False:
            return False
        return None if left is None or right is None else True
    if right is True:
        return True
    return None if left is None or right is None else False


def _require_bool(op: str, value: Any) -> None:
    if value is not None and not isinstance(value, bool):
        raise FluxError(f'operator "{op}" needs bool operands, got {type_name(value)}')


def unary(op: str, value: Any) -> Any:
    if op == "exists":
        return value is not None
    if value is None:
        return None
    if op == "not":
        _require_bool(op, value)
        return not value
    if isinstance(value, Duration):
        return -value if op == "-" else value
    if not is_number(value):
        raise FluxError(f"unsupported unary expression {op}{type_name(value)}")
    return -value if op == "-" else value
