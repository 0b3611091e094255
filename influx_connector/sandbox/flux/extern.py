"""The ``extern`` of a query request: a Flux file, as AST JSON, evaluated before the query.

This is how the official clients pass query parameters: influxdb-client (Python) turns each
``params`` entry into ``option <name> = <literal>`` in ``extern`` and never sends the API's
``params`` object. The real server merges that file into the query's package, so its options
and variables are names the query can read. The sandbox evaluates the forms clients build:
option and variable assignments of literals (strings, integers, floats, booleans, durations,
date-times, regular expressions), arrays and records of them, unary minus and ``not``, and
names the file assigned earlier. Anything else is refused with the node's type and place.

The JSON comes from the network: every node is checked for shape before it is used, so a
malformed file is a 400 naming what is wrong, never a crash.
"""
from __future__ import annotations

import math
import re
from typing import Any

from .conversions import duration_from_parts
from .errors import FluxError
from .operators import unary
from .timefmt import parse_rfc3339
from .values import Duration, Regex, Time, check_one_type

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)
_UNARY_OPERATORS = ("-", "+", "not")
#: Options that configure Flux itself, which the sandbox does not model (as in the query text).
_RESERVED_OPTIONS = ("now", "location")


def extern_bindings(extern: Any) -> dict[str, Any]:
    """The names an ``extern`` file assigns, in order, with their values.

    ``None`` (no extern) gives no names. Raises FluxError (a 400) for a file the sandbox
    cannot evaluate, naming the node and where it sits (``extern.body[0].assignment.init``).
    """
    if extern is None:
        return {}
    return _File(extern).bindings


class _File:
    def __init__(self, node: Any) -> None:
        self.bindings: dict[str, Any] = {}
        file = _node(node, "extern", "File")
        self._check_package(file.get("package"))
        for i, imp in enumerate(_list(file, "imports", "extern")):
            path = _node(imp, f"extern.imports[{i}]", "ImportDeclaration").get("path")
            name = path.get("value") if isinstance(path, dict) else None
            raise FluxError(f'extern.imports[{i}]: unsupported import "{name}": the sandbox has no Flux packages')
        for i, stmt in enumerate(_list(file, "body", "extern")):
            self._statement(stmt, f"extern.body[{i}]")

    @staticmethod
    def _check_package(package: Any) -> None:
        if package is None:
            return
        clause = _node(package, "extern.package", "PackageClause")
        name = clause.get("name")
        if not isinstance(name, dict) or name.get("name") != "main":
            raise FluxError('extern.package: the sandbox runs only package "main"')

    def _statement(self, stmt: Any, where: str) -> None:
        kind = _type(stmt, where)
        if kind == "OptionStatement":
            where += ".assignment"
            assignment = _node(stmt.get("assignment"), where, "VariableAssignment", "MemberAssignment")
            if assignment.get("type") == "MemberAssignment":
                raise _unsupported("MemberAssignment", where, "options of Flux packages")
        elif kind == "VariableAssignment":
            assignment = stmt
        else:
            raise _unsupported(kind, where, "option statements and variable assignments")
        name = _identifier(assignment.get("id"), where + ".id")
        if kind == "OptionStatement" and name in _RESERVED_OPTIONS:
            raise FluxError(f'{where}: unsupported option "{name}"')
        self.bindings[name] = self._value(assignment.get("init"), where + ".init")

    def _value(self, node: Any, where: str) -> Any:
        kind = _type(node, where)
        if kind == "Identifier":
            return self._name(node, where)
        method = getattr(self, "_" + kind, None)
        if method is None:
            raise _unsupported(kind, where, "literals, arrays and records of them, and unary minus")
        return method(node, where)

    def _name(self, node: dict[str, Any], where: str) -> Any:
        name = _identifier(node, where)
        if name in self.bindings:
            return self.bindings[name]
        if name in ("true", "false"):
            return name == "true"
        raise FluxError(f"{where}: undefined identifier {name}")

    @staticmethod
    def _StringLiteral(node: dict[str, Any], where: str) -> str:
        return _field(node, "value", str, where, "a string")

    @staticmethod
    def _IntegerLiteral(node: dict[str, Any], where: str) -> int:
        # Flux's AST JSON carries integers as decimal strings (int64 does not fit a JSON number).
        text = _field(node, "value", str, where, "a string of decimal digits")
        if not _INTEGER.fullmatch(text) or not INT64_MIN <= int(text) <= INT64_MAX:
            raise FluxError(f'{where}: IntegerLiteral value "{text}" is not a 64-bit integer')
        return int(text)

    @staticmethod
    def _FloatLiteral(node: dict[str, Any], where: str) -> float:
        value = node.get("value")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise FluxError(f"{where}: FloatLiteral value must be a finite JSON number")
        return float(value)

    @staticmethod
    def _BooleanLiteral(node: dict[str, Any], where: str) -> bool:
        return _field(node, "value", bool, where, "true or false")

    @staticmethod
    def _DateTimeLiteral(node: dict[str, Any], where: str) -> Time:
        text = _field(node, "value", str, where, "an RFC3339 time")
        try:
            return Time(parse_rfc3339(text))
        except ValueError as exc:
            raise FluxError(f"{where}: DateTimeLiteral {exc}") from None

    @staticmethod
    def _DurationLiteral(node: dict[str, Any], where: str) -> Duration:
        parts = node.get("values")
        if not isinstance(parts, list) or not parts:
            raise FluxError(f"{where}: DurationLiteral needs a non-empty values array")
        pairs = []
        for i, part in enumerate(parts):
            magnitude = part.get("magnitude") if isinstance(part, dict) else None
            unit = part.get("unit") if isinstance(part, dict) else None
            if isinstance(magnitude, bool) or not isinstance(magnitude, int) or not INT64_MIN <= magnitude <= INT64_MAX:
                raise FluxError(f"{where}.values[{i}]: magnitude must be a 64-bit integer")
            if not isinstance(unit, str):
                raise FluxError(f"{where}.values[{i}]: unit must be a string")
            pairs.append((magnitude, unit))
        try:
            return duration_from_parts(pairs)
        except FluxError as exc:
            raise FluxError(f"{where}: {exc}") from None

    @staticmethod
    def _RegexpLiteral(node: dict[str, Any], where: str) -> Regex:
        pattern = _field(node, "value", str, where, "a string")
        try:
            return Regex(re.compile(pattern))
        except re.error as exc:
            raise FluxError(f"{where}: invalid regular expression /{pattern}/: {exc}") from None

    def _UnaryExpression(self, node: dict[str, Any], where: str) -> Any:
        op = node.get("operator")
        if op not in _UNARY_OPERATORS:
            raise FluxError(f"{where}: unsupported unary operator {op!r} (the sandbox evaluates -, + and not)")
        return unary(op, self._value(node.get("argument"), where + ".argument"))

    def _ArrayExpression(self, node: dict[str, Any], where: str) -> list[Any]:
        values = [self._value(e, f"{where}.elements[{i}]") for i, e in enumerate(_list(node, "elements", where))]
        check_one_type(values, where + ": ")
        return values

    def _ObjectExpression(self, node: dict[str, Any], where: str) -> dict[str, Any]:
        if node.get("with") is not None:
            raise _unsupported("ObjectExpression with", where + ".with", "records written out in full")
        record: dict[str, Any] = {}
        for i, prop in enumerate(_list(node, "properties", where)):
            at = f"{where}.properties[{i}]"
            _node(prop, at, "Property")
            key = prop.get("key")
            key_type = _type(key, at + ".key")
            if key_type == "Identifier":
                label = _identifier(key, at + ".key")
            elif key_type == "StringLiteral":
                label = _field(key, "value", str, at + ".key", "a string")
            else:
                raise _unsupported(key_type, at + ".key", "identifiers and strings as record keys")
            record[label] = self._value(prop.get("value"), at + ".value")
        return record


def _unsupported(kind: str, where: str, supported: str) -> FluxError:
    return FluxError(f"{where}: unsupported node {kind} in extern (the sandbox evaluates {supported})")


def _type(node: Any, where: str) -> str:
    if not isinstance(node, dict):
        raise FluxError(f"{where}: expected an AST node (a JSON object), got {_json_kind(node)}")
    kind = node.get("type")
    if not isinstance(kind, str) or not kind:
        raise FluxError(f"{where}: the node has no type")
    return kind


def _node(node: Any, where: str, *kinds: str) -> dict[str, Any]:
    """``node`` as an object of one of ``kinds``; the type may be left out for the first one,
    as clients do for the file itself."""
    if not isinstance(node, dict):
        raise FluxError(f"{where}: expected a {kinds[0]} (a JSON object), got {_json_kind(node)}")
    kind = node.get("type", kinds[0])
    if kind not in kinds:
        raise _unsupported(str(kind), where, " or ".join(kinds) + " here")
    return node


def _list(node: dict[str, Any], key: str, where: str) -> list[Any]:
    value = node.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise FluxError(f"{where}.{key}: expected an array, got {_json_kind(value)}")
    return value


def _field(node: dict[str, Any], key: str, kind: type, where: str, expected: str) -> Any:
    value = node.get(key)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise FluxError(f"{where}: {node.get('type')} {key} must be {expected}, got {_json_kind(value)}")
    return value


def _identifier(node: Any, where: str) -> str:
    _node(node, where, "Identifier")
    name = node.get("name")
    if not isinstance(name, str) or not name:
        raise FluxError(f"{where}: an Identifier needs a non-empty name")
    return name


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    names: dict[type, str] = {str: "a string", list: "an array", dict: "an object"}
    return names.get(type(value), type(value).__name__)
