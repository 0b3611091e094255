"""Check input values against declared fields: every problem, keyed by field, before any I/O.

Used for connection values and for operation parameters alike, from the same declarations that
draw the forms.
"""
from __future__ import annotations

import json
import math
import re
import weakref
from typing import Any, Iterable, Iterator, Mapping

import jsonschema

from .errors import FieldError, ValidationError
from .model import Param
from .suggest import did_you_mean

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)
_TYPE_NAMES = {"string": "text", "integer": "a whole number", "number": "a number", "boolean": "true or false",
               "object": "an object", "array": "a list", "null": "null"}

format_checker = jsonschema.FormatChecker(formats=())


@format_checker.checks("date-time")
def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        return False
    month, day = int(value[5:7]), int(value[8:10])
    hour, minute, second = int(value[11:13]), int(value[14:16]), int(value[17:19])
    return 1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61


_validators: "weakref.WeakKeyDictionary[Param, jsonschema.Draft7Validator]" = weakref.WeakKeyDictionary()


def _validator(param: Param) -> jsonschema.Draft7Validator:
    """The compiled validator of a parameter, built on first use (not on every call)."""
    found = _validators.get(param)
    if found is None:
        found = _validators[param] = jsonschema.Draft7Validator(dict(param.schema), format_checker=format_checker)
    return found


def _path(name: str, parts: Iterable[Any]) -> str:
    out = name
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return {str: "string", dict: "object", list: "array", type(None): "null"}.get(type(value), type(value).__name__)


def explain(error: jsonschema.ValidationError, messages: Mapping[str, str]) -> str:
    """A message for one schema failure, in words a form user understands."""
    kind, limit, value = error.validator, error.validator_value, error.instance
    if kind in messages:
        return messages[kind]
    if kind == "type":
        wanted = limit if isinstance(limit, list) else [limit]
        return f"must be {' or '.join(_TYPE_NAMES.get(t, t) for t in wanted)}, not {_type_of(value)}"
    if kind == "minLength":
        return "must not be empty" if limit == 1 else f"must be at least {limit} characters long"
    if kind == "maxLength":
        return f"must be at most {limit} characters long (it has {len(value)})"
    if kind == "minimum":
        return f"must be at least {limit} (got {value})"
    if kind == "maximum":
        return f"must be at most {limit} (got {value})"
    if kind == "exclusiveMinimum":
        return f"must be greater than {limit} (got {value})"
    if kind == "exclusiveMaximum":
        return f"must be less than {limit} (got {value})"
    if kind == "enum":
        hint = did_you_mean(str(value), [str(v) for v in limit])
        return f"must be one of {', '.join(map(str, limit))} (got {value!r}){hint}"
    if kind == "pattern":
        return f"does not have the expected form (pattern {limit})"
    if kind == "format" and limit == "date-time":
        return f"must be an RFC3339 date-time such as 2024-01-31T12:00:00Z (got {value!r})"
    if kind == "additionalProperties":
        return error.message.replace("Additional properties are not allowed", "unknown keys")
    if kind == "required":
        return error.message.replace("is a required property", "is required")
    return error.message


def _whole(value: Any, schema: Mapping[str, Any]) -> Any:
    """An integral float (7.0) given for a field declared only 'integer', as the int it stands
    for: JSON Schema counts 7.0 as an integer, but a query string ("limit=7.0"), a URL port
    and a server's JSON decoder do not."""
    declared = schema.get("type")
    types = declared if isinstance(declared, list) else [declared]
    if type(value) is float and value.is_integer() and "integer" in types and "number" not in types:
        return int(value)
    return value


_ATOMS = (int, bool, type(None))


def _clean(value: Any) -> bool:
    """True when nothing in ``value`` can be unsendable: a quick scan over exact types, with no
    path strings, so a million records cost little; anything else gets the exact walk."""
    stack = [value]
    pop, extend = stack.pop, stack.extend
    while stack:
        item = pop()
        kind = type(item)
        if kind is str:
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return False
        elif kind is float:
            if item - item != 0.0:  # NaN or infinity
                return False
        elif kind is dict:
            extend(item.keys())
            extend(item.values())
        elif kind is list or kind is tuple:
            extend(item)
        elif kind not in _ATOMS:
            return False  # subclasses and other mappings: let the exact walk decide
    return True


def _unsendable(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(path, problem) for what no request can carry: a lone surrogate in text (JSON can hold
    one as an escape, UTF-8 cannot) and NaN or infinity (JSON has no such numbers)."""
    if _clean(value):
        return
    yield from _unsendable_walk(value, path)


def _unsendable_walk(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """The exact walk behind ``_unsendable``, naming the path of each problem."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            yield path, "contains a lone surrogate, which is not valid Unicode text"
    elif isinstance(value, float):
        if not math.isfinite(value):
            yield path, "must be a finite number: NaN and infinity cannot be sent"
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _unsendable_walk(key, path)
            yield from _unsendable_walk(item, f"{path}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _unsendable_walk(item, f"{path}[{index}]")


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def check(
    params: tuple[Param, ...],
    values: Mapping[str, Any] | None,
    *,
    fallback: Mapping[str, Any] | None = None,
    requires_one_of: tuple[tuple[str, ...], ...] = (),
    subject: str = "input",
) -> dict[str, Any]:
    """Validated values with defaults applied; raise ValidationError listing every problem.

    ``fallback`` supplies values for parameters declared with ``default_from`` (the connection).
    Empty text counts as not given, so an untouched form field does not override a default.
    """
    values = dict(values or {})
    fallback = fallback or {}
    errors: list[FieldError] = []
    known = {p.name for p in params}
    for name in values:
        if name not in known:
            hint = did_you_mean(name, known)
            errors.append(FieldError(name, f"unknown field{hint}; known fields: {', '.join(sorted(known)) or 'none'}"))
    out: dict[str, Any] = {}
    emptied: set[str] = set()
    for p in params:
        value = values.get(p.name)
        if _is_empty(value):
            if value is not None:
                emptied.add(p.name)
            value = None
        if value is not None and p.coerce == "json" and isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as exc:
                errors.append(FieldError(p.name, f"is not valid JSON: {exc}"))
                continue
            if not isinstance(value, dict):
                errors.append(FieldError(p.name, f"must be a JSON object, not {_type_of(value)}"))
                continue
        if p.coerce == "json" and isinstance(value, dict) and not value:
            emptied.add(p.name)  # an empty body says nothing: it counts as not given
            value = None
        if value is None and p.default_from and not _is_empty(fallback.get(p.default_from)):
            value = fallback[p.default_from]
        if value is None and p.has_default and p.default is not None:
            out[p.name] = p.default  # checked against the field's schema when the manifest was loaded
            continue
        if value is None:
            if p.required:
                where = f" or set '{p.default_from}' on the connection" if p.default_from else ""
                errors.append(FieldError(p.name, ("must not be empty" if p.name in emptied else "is required")
                                         + (f" (give it{where})" if where else "")))
            continue
        value = _whole(value, p.schema)
        validator = _validator(p)
        problems = sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.absolute_path)))
        for err in problems:
            errors.append(FieldError(_path(p.name, err.absolute_path), explain(err, p.messages)))
        if not problems:
            errors.extend(FieldError(path, message) for path, message in _unsendable(value, p.name))
        out[p.name] = value
    flagged = {e.field.split(".")[0].split("[")[0] for e in errors}
    grouped = {n for g in requires_one_of for n in g}
    if requires_one_of and not flagged & grouped and not any(all(n in out for n in g) for g in requires_one_of):
        # Key the error by the first missing field of the alternative that is closest to complete.
        best = max(requires_one_of, key=lambda g: sum(n in out for n in g) / len(g))
        missing = next(n for n in best if n not in out)
        options = " or ".join("+".join(g) for g in requires_one_of)
        errors.append(FieldError(missing, f"is required: give {options}"))
    if errors:
        raise ValidationError(errors, subject)
    return out
