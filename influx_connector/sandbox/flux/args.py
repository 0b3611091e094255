"""Checked access to the named arguments of a built-in function call.

Flux passes every argument by name; each accessor checks presence and type and, when one is
wrong, raises a FluxError in the server's ``error calling function "x": ...`` form.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .errors import FluxError
from .source import UnboundedRead, unbounded_error
from .table import Stream
from .timefmt import NS_PER_SECOND, add_duration
from .values import Builtin, Duration, Time, UserFunction, type_name

MISSING: Any = object()


class Args:
    def __init__(self, function: str, values: dict[str, Any], params: Iterable[str], interpreter: Any) -> None:
        self.function = function
        self.values = values
        self.interpreter = interpreter  # gives access to the store, org, now and results
        for name in values:
            if name not in params:
                raise self.error(f'unexpected argument "{name}"')

    def error(self, message: str) -> FluxError:
        return FluxError(f'error calling function "{self.function}": {message}')

    def has(self, name: str) -> bool:
        return name in self.values

    def get(self, name: str, default: Any = MISSING) -> Any:
        if name in self.values:
            return self.values[name]
        if default is MISSING:
            raise self.error(f'missing required argument "{name}"')
        return default

    def _typed(self, name: str, default: Any, check: Any, expected: str) -> Any:
        value = self.get(name, default)
        if value is default and default is not MISSING:
            return value
        if not check(value):
            raise self.error(f'argument "{name}" must be {expected}, got {type_name(value)}')
        return value

    def string(self, name: str, default: Any = MISSING) -> str:
        return self._typed(name, default, lambda v: isinstance(v, str), "a string")

    def strings(self, name: str, default: Any = MISSING) -> list[str]:
        return self._typed(
            name, default, lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v), "an array of strings"
        )

    def boolean(self, name: str, default: Any = MISSING) -> bool:
        return self._typed(name, default, lambda v: isinstance(v, bool), "a bool")

    def integer(self, name: str, default: Any = MISSING) -> int:
        return self._typed(name, default, lambda v: isinstance(v, int) and not isinstance(v, bool), "an int")

    def duration(self, name: str, default: Any = MISSING) -> Duration:
        return self._typed(name, default, lambda v: isinstance(v, Duration), "a duration")

    def function_value(self, name: str) -> Builtin | UserFunction:
        return self._typed(name, MISSING, lambda v: isinstance(v, (Builtin, UserFunction)), "a function")

    def time_bound(self, name: str, default: Any = MISSING) -> int:
        """A range bound in nanoseconds: a time, a duration relative to now, or an int of
        Unix seconds (the three forms ``range()`` accepts)."""
        value = self.get(name, default)
        if isinstance(value, Time):
            return value.ns
        if isinstance(value, Duration):
            return add_duration(self.interpreter.now_ns, value.months, value.nanos)
        if isinstance(value, int) and not isinstance(value, bool):
            return value * NS_PER_SECOND
        raise self.error(f'argument "{name}" must be a time, duration or int, got {type_name(value)}')

    def stream(self) -> Stream:
        """The piped-in tables. Anything still unbounded (``from()`` without ``range()``)
        is refused here, the one place every transformation reads its input."""
        value = self.get("tables")
        if isinstance(value, UnboundedRead):
            raise unbounded_error(value)
        if not isinstance(value, Stream):
            raise self.error(f'argument "tables" must be a stream of tables, got {type_name(value)}')
        return value
