"""Runtime values of the interpreter that Python has no exact type for.

Plain Python types carry the rest: ``int`` is a Flux int, ``float`` a float, ``bool``,
``str``, ``None`` (null), ``list`` (array) and ``dict`` (record).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import FluxError


@dataclass(frozen=True, order=True)
class Time:
    """A point in time, nanoseconds since the epoch; a class so it never compares to an int."""

    ns: int


@dataclass(frozen=True)
class Duration:
    """A Flux duration: calendar months plus fixed nanoseconds (both carry the sign)."""

    months: int
    nanos: int

    def __neg__(self) -> Duration:
        return Duration(-self.months, -self.nanos)


@dataclass(frozen=True)
class Regex:
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class UserFunction:
    """A ``(params) => body`` value together with the scope it was written in."""

    node: dict[str, Any]
    scope: Any  # interpreter Scope; typed loosely to keep this module free of the interpreter


@dataclass(frozen=True)
class Builtin:
    """A function the sandbox implements in Python.

    ``impl(args)`` receives an ``Args`` holding the evaluated named arguments (the piped
    value, if any, under ``tables``); ``params`` lists the argument names it accepts.
    """

    name: str
    params: tuple[str, ...]
    impl: Callable[..., Any] = field(compare=False, repr=False)


class Row(dict):
    """The ``r`` record handed to ``filter``: a missing column reads as null, not an error."""


def type_name(value: Any) -> str:
    """The Flux name of a value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Time):
        return "time"
    if isinstance(value, Duration):
        return "duration"
    if isinstance(value, Regex):
        return "regexp"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "record"
    if isinstance(value, (UserFunction, Builtin)):
        return "function"
    return "stream of tables"


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_one_type(values: list[Any], where: str = "") -> None:
    """Refuse an array whose elements differ in type: Flux's type checker does (``["a", 1]``)."""
    if len(_unify({_shape(v) for v in values})) > 1:
        found = " and ".join(sorted({type_name(v) for v in values}))
        raise FluxError(f"{where}an array's elements must all have one type, found {found}")


def _shape(value: Any) -> Any:
    """A hashable picture of a value's Flux type; ``None`` inside an array means "empty"."""
    if isinstance(value, list):
        inner = _unify({_shape(v) for v in value})
        return ("array", next(iter(inner)) if len(inner) == 1 else None)
    if isinstance(value, dict):
        return ("record", tuple(sorted((k, _shape(v)) for k, v in value.items())))
    return type_name(value)


def _unify(shapes: set[Any]) -> set[Any]:
    """Drop the shapes of empty arrays when a fuller array shape is present (``[[], [1]]`` is fine)."""
    empty = ("array", None)
    if empty in shapes and any(isinstance(s, tuple) and s[0] == "array" and s != empty for s in shapes):
        return shapes - {empty}
    return shapes
