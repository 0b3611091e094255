"""Operation parameters from the command line: ``-p key=value`` text typed by the declaration,
``--params-json`` and ``--data``."""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import textvalues
from ..errors import FieldError, UsageError, ValidationError
from ..model import Operation

#: Operation parameters that ``--data`` fills, in order of preference.
DATA_PARAMS = ("data", "body")


def param_types(op: Operation, name: str) -> list[str]:
    """The JSON types a parameter declares (by its name or an alias), [] when it declares none
    (or is unknown)."""
    name = next((p.name for p in op.params if name in p.aliases), name)
    prop = (op.input_schema.get("properties") or {}).get(name) or {}
    declared = prop.get("type")
    if declared is None:
        return []
    return [declared] if isinstance(declared, str) else list(declared)


def _to_json(text: str, kind: str) -> Any:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"must be JSON ({exc.msg} at column {exc.colno})") from None
    except ValueError as exc:  # read as JSON, but not a value Python holds (an integer of 5,000 digits)
        raise ValueError(f"must be JSON ({exc})") from None
    expected = dict if kind == "object" else list
    if not isinstance(value, expected):
        raise ValueError(f"must be a JSON {'object' if kind == 'object' else 'array'}")
    return value


# Numbers and true/false as the engine reads a host's text for them (one grammar, one message).
_CONVERTERS = {**textvalues.CONVERTERS,
               "object": lambda t: _to_json(t, "object"), "array": lambda t: _to_json(t, "array")}


def convert_value(text: str, types: Sequence[str]) -> Any:
    """Text from ``-p`` as a value of the declared type(s); ValueError says what was expected."""
    if text == "" or not types:
        # Empty text means "not given" to the engine, like an untouched form field.
        return text
    if len(types) == 1:
        kind = types[0]
        return _CONVERTERS[kind](text) if kind in _CONVERTERS else text
    if text.lstrip()[:1] in ("{", "["):
        kind = "object" if text.lstrip().startswith("{") else "array"
        if kind in types:
            try:
                return _to_json(text, kind)
            except ValueError:
                if "string" not in types:
                    raise
    if "string" in types:
        return text
    for kind in types:
        if kind in ("integer", "number", "boolean"):
            try:
                return _CONVERTERS[kind](text)
            except ValueError:
                continue
    raise ValueError(f"must be {' or '.join(types)}")


def parse_assignments(items: Sequence[str]) -> list[tuple[str, str]]:
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"-p expects KEY=VALUE, got '{item}'")
        pairs.append((key.strip(), value))
    return pairs


def read_text_argument(value: str, what: str) -> str:
    """``@file`` reads a file, ``-`` reads stdin, anything else is the text itself."""
    if value == "-":
        return sys.stdin.read()
    if value.startswith("@"):
        path = Path(value[1:])
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UsageError(f"{what}: no such file: {path}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{what}: cannot read {path}: {type(exc).__name__}") from None
    return value


def data_param(op: Operation) -> str:
    for name in DATA_PARAMS:
        if op.param(name) is not None:
            return name
    raise UsageError(f"--data: operation '{op.id}' has no 'data' or 'body' parameter; use -p instead")


def data_value(text: str, types: Sequence[str]) -> Any:
    """Parsed JSON when the text is a JSON list/object the parameter accepts, else the text."""
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    if (isinstance(parsed, list) and "array" in types) or (isinstance(parsed, dict) and "object" in types):
        return parsed
    return text


def build_params(op: Operation, ns: argparse.Namespace, from_json: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Parameters from --params-json (already read), then -p (converted by declared type), then --data."""
    params: dict[str, Any] = dict(from_json or {})
    errors: list[FieldError] = []
    given: set[str] = set()
    for key, text in parse_assignments(ns.param):
        given.add(key)
        try:
            params[key] = convert_value(text, param_types(op, key))
        except ValueError as exc:
            errors.append(FieldError(key, f"{exc} (got '{text}')"))
    if errors:
        raise ValidationError(errors, f"-p values for '{op.id}'")
    if ns.data is not None:
        name = data_param(op)
        if name in given:
            raise UsageError(f"'{name}' is given twice: with --data and with -p {name}=...")
        params[name] = data_value(read_text_argument(ns.data, "--data"), param_types(op, name))
    return params


def _params_json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"--params-json: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except ValueError as exc:  # read as JSON, but not a value Python holds (an integer of 5,000 digits)
        raise UsageError(f"--params-json: not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise UsageError("--params-json must be a JSON object")
    return value

