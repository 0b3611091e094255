"""Check input values against declared fields: every problem, keyed by field, before any I/O.

Used for connection values and for operation parameters alike, from the same declarations that
draw the forms.

Internal to the engine (not part of what hosts use; see ``influx_connector.__all__``).
"""
from __future__ import annotations

import math
import weakref
from collections.abc import Iterable, Iterator, Mapping
from itertools import chain, compress, repeat
from operator import is_
from typing import Any, cast

import jsonschema

from . import formats, patterns, textvalues
from .errors import FieldError, ValidationError
from .model import Param
from .suggest import did_you_mean

_TYPE_NAMES = {"string": "text", "integer": "a whole number", "number": "a number", "boolean": "true or false",
               "object": "an object", "array": "a list", "null": "null"}

format_checker = jsonschema.FormatChecker(formats=())


@format_checker.checks("date-time")
def _is_datetime(value: object) -> bool:
    return not isinstance(value, str) or formats.is_date_time(value)


def _pattern(validator: Any, pattern: str, instance: Any, schema: Mapping[str, Any]) -> Iterator[Any]:
    """JSON Schema's ``pattern`` with the meaning it has in the browser (see ``patterns``)."""
    if validator.is_type(instance, "string") and not patterns.search(pattern, instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


#: Draft 7, with patterns read as forms read them: ``$`` is the end of the text, ``\d`` is 0-9.
SchemaValidator = jsonschema.validators.extend(jsonschema.Draft7Validator, {"pattern": _pattern})

_validators: weakref.WeakKeyDictionary[Param, Any] = weakref.WeakKeyDictionary()
_text_rules: weakref.WeakKeyDictionary[Param, textvalues.TextRule | None] = weakref.WeakKeyDictionary()


def _validator(param: Param) -> Any:
    """The compiled validator of a parameter, built on first use (not on every call)."""
    found = _validators.get(param)
    if found is None:
        found = _validators[param] = SchemaValidator(dict(param.schema), format_checker=format_checker)
    return found


def text_rule(param: Param) -> textvalues.TextRule | None:
    """How a number or boolean field reads text (a host's "8086"), or None for other fields."""
    if param not in _text_rules:
        _text_rules[param] = textvalues.text_rule(param.schema)
    return _text_rules[param]


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
    # A validator sets all three on every error it yields (only a hand-made error lacks them).
    kind, limit, value = cast(str, error.validator), cast(Any, error.validator_value), cast(Any, error.instance)
    if kind in messages:
        return messages[kind]
    if kind == "type":
        wanted: list[str] = limit if isinstance(limit, list) else [limit]
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
        return f"{formats.date_time_problem(value)} (got {value!r})"
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


#: The exact types the quick scan knows; anything else (a subclass, another mapping) gets the exact walk.
_SCANNED = frozenset((dict, list, tuple, str, float, int, bool, type(None)))
#: Top-level items scanned at a time: bounds the scan's own lists, whatever the input's size.
_SCAN_SLICE = 4096


def _clean(value: Any) -> bool:
    """True when nothing in ``value`` can be unsendable: a quick scan over exact types, with no
    path strings, so a million records cost little; anything else gets the exact walk.

    The scan goes a level of nesting at a time, and handles each level's values by type in a few
    calls that run in C, never one Python step per value: the texts of a level are joined and
    tested at once (a lone surrogate stays lone when joined), its floats summed (NaN or an
    infinity makes the sum one; a sum that overflows is only a false alarm), its dicts' keys
    joined and their values, and its lists' items, make the next level. A false alarm costs the
    exact walk, which finds nothing; a real problem cannot pass."""
    if (type(value) is list or type(value) is tuple) and len(value) > _SCAN_SLICE:
        return all(_clean_levels([value[at:at + _SCAN_SLICE]]) for at in range(0, len(value), _SCAN_SLICE))
    return _clean_levels([value])


def _clean_levels(level: list[Any]) -> bool:
    while level:
        types = list(map(type, level))
        kinds = set(types)
        if not kinds <= _SCANNED:
            return False
        deeper: list[Any] = []
        for kind in kinds:
            if kind is int or kind is bool or kind is _NONE:
                continue
            items = level if len(kinds) == 1 else list(compress(level, map(is_, types, repeat(kind))))
            if kind is str:
                text = "".join(items)
                if not text.isascii() and not _is_text(text):
                    return False
            elif kind is float:
                total = sum(items)
                if total - total != 0.0:  # NaN for NaN and the infinities, 0.0 for any finite sum
                    return False
            elif kind is dict:
                try:
                    keys = "".join(chain.from_iterable(items))
                except TypeError:  # a key that is not text: the exact walk decides
                    return False
                if not keys.isascii() and not _is_text(keys):
                    return False
                deeper.extend(chain.from_iterable(map(dict.values, items)))
            else:  # list or tuple
                deeper.extend(chain.from_iterable(items))
        level = deeper
    return True


_NONE = type(None)


def _is_text(text: str) -> bool:
    """Whether ``text`` can be sent as UTF-8 (a lone surrogate cannot)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
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


def _is_empty(value: Any, param: Param | None = None) -> bool:
    """None and blank text count as not given. A field of listed values (an enum) holds one
    of them or nothing: only "" is nothing there, as in a form's select."""
    if param is not None and "enum" in param.schema and isinstance(value, str):
        return value == ""
    return value is None or (isinstance(value, str) and patterns.is_blank(value))


def json_types(param: Param) -> tuple[str, ...]:
    """The types a JSON-text field's text may decode to: its declared types other than text."""
    declared = param.schema.get("type")
    types = declared if isinstance(declared, list) else [declared]
    return tuple(t for t in types if t and t != "string")


def parses_json(param: Param, values: Mapping[str, Any], params: Iterable[Param]) -> bool:
    """Whether a text value of ``param`` is JSON to decode: always for ``coerce: json``, or only
    while the parameters named in ``coerce_when`` hold the given values (defaults count)."""
    if param.coerce != "json":
        return False
    by_name = {p.name: p for p in params}
    for name, wanted in param.coerce_when.items():
        value = values.get(name)
        if _is_empty(value):
            other = by_name.get(name)
            value = other.default if other is not None and other.has_default else None
        if value != wanted:
            return False
    return True


def _decode_json(param: Param, text: str) -> Any:
    """The value of a JSON-text field; ValueError with a message naming where the text is wrong."""
    try:
        value = formats.parse_json(text)
    except ValueError as exc:
        raise ValueError(f"is not valid JSON ({exc})") from None
    allowed = json_types(param)
    kind = _type_of(value)
    if kind not in allowed and not (kind == "integer" and "number" in allowed):
        wanted = " or ".join(_TYPE_NAMES.get(t, t) for t in allowed)
        raise ValueError(f"must be JSON of {wanted}, not {_TYPE_NAMES.get(kind, kind)}")
    return value


def canonical(params: Iterable[Param], values: Mapping[str, Any] | None) -> tuple[dict[str, Any], list[FieldError]]:
    """``values`` keyed by declared names: a value given under an alias (a host's own field
    name) moves to its field; the same field given under two names is an error."""
    out: dict[str, Any] = {}
    errors: list[FieldError] = []
    alias_of = {alias: p.name for p in params for alias in p.aliases}
    for key, value in (values or {}).items():
        name = alias_of.get(key, key)
        if name in out:
            other = next(k for k in (values or {}) if alias_of.get(k, k) == name and k != key)
            errors.append(FieldError(name, f"is given twice, as '{other}' and as '{key}'"))
            continue
        out[name] = value
    return out, errors


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
    Blank text counts as not given, so an untouched form field does not override a default.
    A number or boolean may come as text (``"8086"``, ``"yes"``), as hosts store them.
    """
    values, errors = canonical(params, values)
    fallback = fallback or {}
    known = {p.name for p in params}
    for name in values:
        if name not in known:
            hint = did_you_mean(name, known)
            errors.append(FieldError(name, f"unknown field{hint}; known fields: {', '.join(sorted(known)) or 'none'}"))
    out: dict[str, Any] = {}
    given: set[str] = set()  # given or filled in, valid or not: what requires_one_of counts
    emptied: set[str] = set()
    for p in params:
        value = values.get(p.name)
        if _is_empty(value, p):
            if value is not None:
                emptied.add(p.name)
            value = None
        rule = text_rule(p) if isinstance(value, str) else None
        if rule is not None and isinstance(value, str):
            given.add(p.name)
            try:
                value = rule.convert(value)
            except ValueError as exc:
                errors.append(FieldError(p.name, f"{exc} (got {value!r})"))
                continue
        if value is not None and isinstance(value, str) and parses_json(p, values, params):
            given.add(p.name)
            try:
                value = _decode_json(p, value)
            except ValueError as exc:
                errors.append(FieldError(p.name, str(exc)))
                continue
        if p.coerce == "json" and isinstance(value, (dict, list)) and not value:
            emptied.add(p.name)  # an empty body or list says nothing: it counts as not given
            given.discard(p.name)
            value = None
        if value is None and p.default_from and not _is_empty(fallback.get(p.default_from)):
            value = fallback[p.default_from]
        if value is None and p.has_default and p.default is not None:
            out[p.name] = p.default  # checked against the field's schema when the manifest was loaded
            given.add(p.name)
            continue
        if value is None:
            if p.required:
                where = f" or set '{p.default_from}' on the connection" if p.default_from else ""
                errors.append(FieldError(p.name, ("must not be empty" if p.name in emptied else "is required")
                                         + (f" (give it{where})" if where else "")))
            continue
        given.add(p.name)
        value = _whole(value, p.schema)
        validator = _validator(p)
        problems = sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.absolute_path)))
        for err in problems:
            errors.append(FieldError(_path(p.name, err.absolute_path), explain(err, p.messages)))
        if not problems:
            errors.extend(FieldError(path, message) for path, message in _unsendable(value, p.name))
        out[p.name] = _canonical_time(value, p.schema)
    if requires_one_of and not any(all(n in given for n in g) for g in requires_one_of):
        # The first alternative the input has begun, or else the first one: the same choice
        # the form's conditions make, so both name the same fields.
        chosen = next((g for g in requires_one_of if any(n in given for n in g)), requires_one_of[0])
        options = " or ".join("+".join(g) for g in requires_one_of)
        errors.extend(FieldError(n, f"is required: give {options}") for n in chosen if n not in given)
    if errors:
        raise ValidationError(errors, subject)
    return out


def _canonical_time(value: Any, schema: Mapping[str, Any]) -> Any:
    """A date-time as servers parse it: RFC 3339 allows a lower-case 't' and 'z', Go does not."""
    if schema.get("format") == "date-time" and isinstance(value, str):
        return (value[:10] + "T" + value[11:-1] + value[-1].upper()) if len(value) > 11 else value
    return value
