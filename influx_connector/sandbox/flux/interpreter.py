"""Evaluates the parsed AST: expressions, function calls and top-level statements.

Evaluation is eager and in source order; a ``yield()`` records its result the moment it
runs, so results come out in the order the query reaches them. Expression statements that
produce tables and are not already yielded become the implicit ``_result``, as on the real
server.
"""
from __future__ import annotations

import re
from typing import Any

from ..store import Org, Store
from .args import Args
from .conversions import duration_from_parts
from .errors import FluxError
from .operators import binary, logical, unary
from .source import UnboundedRead, unbounded_error
from .table import Stream, Table
from .timefmt import parse_rfc3339
from .values import Builtin, Duration, Regex, Row, Time, UserFunction, check_one_type, type_name

Node = dict[str, Any]

NO_STREAMING_DATA = (
    'this Flux script returns no streaming data. Consider adding a "yield" or invoking '
    "streaming functions directly, without performing an assignment"
)


class Scope:
    def __init__(self, parent: Scope | None = None) -> None:
        self.parent = parent
        self.names: dict[str, Any] = {}

    def lookup(self, name: str) -> tuple[bool, Any]:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.names:
                return True, scope.names[name]
            scope = scope.parent
        return False, None


class Interpreter:
    def __init__(
        self,
        *,
        store: Store,
        org: Org,
        now_ns: int,
        params: dict[str, Any] | None,
        builtins: dict[str, Builtin],
    ) -> None:
        self.store = store
        self.org = org
        self.now_ns = now_ns
        self.builtins = builtins
        self.results: list[tuple[str, list[Table]]] = []
        self.globals = Scope()
        self.globals.names.update(builtins)
        self.globals.names.update({"true": True, "false": False})
        if params is not None:
            self.globals.names["params"] = params

    # --- results --------------------------------------------------------------------------

    def add_result(self, name: str, stream: Stream) -> None:
        if any(existing == name for existing, _ in self.results):
            raise FluxError(f'duplicate yield name "{name}": every result of a query needs its own name')
        self.results.append((name, stream.tables))

    # --- statements -----------------------------------------------------------------------

    def run(self, file: Node, predefined: dict[str, Any] | None = None) -> list[tuple[str, list[Table]]]:
        """Run ``file``; ``predefined`` names (the request's ``extern``) share its package scope."""
        for imp in file["imports"]:
            raise FluxError(f'unsupported import "{imp["path"]["value"]}": the sandbox has no Flux packages')
        scope = Scope(self.globals)
        scope.names.update(predefined or {})
        for stmt in file["body"]:
            kind = stmt["type"]
            if kind == "VariableAssignment":
                scope.names[stmt["id"]["name"]] = self.eval(stmt["init"], scope)
            elif kind == "OptionStatement":
                self._option(stmt["assignment"], scope)
            elif kind == "ExpressionStatement":
                value = self.eval(stmt["expression"], scope)
                if isinstance(value, UnboundedRead):
                    raise unbounded_error(value)
                if isinstance(value, Stream) and not value.yielded:
                    self.add_result("_result", value)
            else:
                raise FluxError(f"{kind} is not allowed at the top level of a query")
        if not self.results:
            raise FluxError(NO_STREAMING_DATA)
        return self.results

    def _option(self, assignment: Node, scope: Scope) -> None:
        # Plain options behave like variables; options that configure Flux itself (now,
        # location, task, ...) would change semantics the sandbox does not model.
        if assignment["type"] != "VariableAssignment" or assignment["id"]["name"] in ("now", "location"):
            raise FluxError(f'unsupported option "{assignment["location"]["source"]}"')
        scope.names[assignment["id"]["name"]] = self.eval(assignment["init"], scope)

    # --- expressions ----------------------------------------------------------------------

    def eval(self, node: Node, scope: Scope) -> Any:
        method = getattr(self, "_eval_" + node["type"], None)
        if method is None:
            raise FluxError(f'unsupported expression "{node["location"]["source"]}" ({node["type"]})')
        return method(node, scope)

    def _eval_Identifier(self, node: Node, scope: Scope) -> Any:
        found, value = scope.lookup(node["name"])
        if not found:
            raise FluxError(f"undefined identifier {node['name']}")
        return value

    def _eval_IntegerLiteral(self, node: Node, scope: Scope) -> int:
        return int(node["value"])

    def _eval_FloatLiteral(self, node: Node, scope: Scope) -> float:
        return float(node["value"])

    def _eval_StringLiteral(self, node: Node, scope: Scope) -> str:
        return node["value"]

    def _eval_BooleanLiteral(self, node: Node, scope: Scope) -> bool:
        return bool(node["value"])

    def _eval_StringExpression(self, node: Node, scope: Scope) -> str:
        out = []
        for part in node["parts"]:
            if part["type"] == "TextPart":
                out.append(part["value"])
                continue
            value = self.eval(part["expression"], scope)
            if not isinstance(value, str):
                # Flux only interpolates strings; other types need string(v:) first.
                raise FluxError(f"string interpolation needs a string, got {type_name(value)}")
            out.append(value)
        return "".join(out)

    def _eval_RegexpLiteral(self, node: Node, scope: Scope) -> Regex:
        try:
            return Regex(re.compile(node["value"]))
        except re.error as exc:
            raise FluxError(f"invalid regular expression /{node['value']}/: {exc}") from None

    def _eval_DurationLiteral(self, node: Node, scope: Scope) -> Duration:
        return duration_from_parts((part["magnitude"], part["unit"]) for part in node["values"])

    def _eval_DateTimeLiteral(self, node: Node, scope: Scope) -> Time:
        return Time(parse_rfc3339(node["value"]))

    def _eval_ParenExpression(self, node: Node, scope: Scope) -> Any:
        return self.eval(node["expression"], scope)

    def _eval_ArrayExpression(self, node: Node, scope: Scope) -> list[Any]:
        values = [self.eval(e, scope) for e in node["elements"]]
        check_one_type(values, f'{node["location"]["source"]}: ')
        return values

    def _eval_ObjectExpression(self, node: Node, scope: Scope) -> dict[str, Any]:
        record: dict[str, Any] = {}
        if "with" in node:
            base = self.eval(node["with"], scope)
            if not isinstance(base, dict):
                raise FluxError(f"cannot extend a {type_name(base)} with new properties")
            record.update(base)
        record.update(self._properties(node["properties"], scope))
        return record

    def _properties(self, properties: list[Node], scope: Scope) -> dict[str, Any]:
        out = {}
        for prop in properties:
            key = prop["key"]
            name = key["name"] if key["type"] == "Identifier" else key["value"]
            # {a} is shorthand for {a: a}.
            out[name] = self.eval(prop["value"] if prop["value"] is not None else key, scope)
        return out

    def _eval_MemberExpression(self, node: Node, scope: Scope) -> Any:
        obj = self.eval(node["object"], scope)
        prop = node["property"]
        name = prop["name"] if prop["type"] == "Identifier" else prop["value"]
        if not isinstance(obj, dict):
            raise FluxError(f'cannot read property "{name}" of a {type_name(obj)}')
        if name in obj:
            return obj[name]
        if isinstance(obj, Row):
            return None
        raise FluxError(f'{node["object"]["location"]["source"]} has no property "{name}"')

    def _eval_IndexExpression(self, node: Node, scope: Scope) -> Any:
        array = self.eval(node["array"], scope)
        index = self.eval(node["index"], scope)
        if not isinstance(array, list) or not isinstance(index, int) or isinstance(index, bool):
            raise FluxError(f"cannot index a {type_name(array)} with a {type_name(index)}")
        if not 0 <= index < len(array):
            raise FluxError(f"array index {index} out of bounds (length {len(array)})")
        return array[index]

    def _eval_FunctionExpression(self, node: Node, scope: Scope) -> UserFunction:
        return UserFunction(node, scope)

    def _eval_BinaryExpression(self, node: Node, scope: Scope) -> Any:
        return binary(node["operator"], self.eval(node["left"], scope), self.eval(node["right"], scope))

    def _eval_LogicalExpression(self, node: Node, scope: Scope) -> Any:
        left = self.eval(node["left"], scope)
        return logical(node["operator"], left, lambda: self.eval(node["right"], scope))

    def _eval_UnaryExpression(self, node: Node, scope: Scope) -> Any:
        return unary(node["operator"], self.eval(node["argument"], scope))

    def _eval_ConditionalExpression(self, node: Node, scope: Scope) -> Any:
        test = self.eval(node["test"], scope)
        if test is not None and not isinstance(test, bool):
            raise FluxError(f"if needs a bool condition, got {type_name(test)}")
        return self.eval(node["consequent"] if test else node["alternate"], scope)

    def _eval_CallExpression(self, node: Node, scope: Scope, piped: Any = None, has_pipe: bool = False) -> Any:
        callee = node["callee"]
        if callee["type"] == "Identifier" and not scope.lookup(callee["name"])[0]:
            supported = ", ".join(self.builtins)
            raise FluxError(f'unsupported function "{callee["name"]}" (the sandbox supports: {supported})')
        fn = self.eval(callee, scope)
        arguments = node.get("arguments", [])
        args = self._properties(arguments[0]["properties"], scope) if arguments else {}
        return self.call(fn, args, callee["location"]["source"], piped=piped, has_pipe=has_pipe)

    def _eval_PipeExpression(self, node: Node, scope: Scope) -> Any:
        piped = self.eval(node["argument"], scope)
        return self._eval_CallExpression(node["call"], scope, piped=piped, has_pipe=True)

    # --- calls ----------------------------------------------------------------------------

    def call(self, fn: Any, args: dict[str, Any], label: str, *, piped: Any = None, has_pipe: bool = False) -> Any:
        if isinstance(fn, Builtin):
            if has_pipe:
                if "tables" in args:
                    raise FluxError(f'error calling function "{fn.name}": "tables" is both piped and passed')
                args = {**args, "tables": piped}
            return fn.impl(Args(fn.name, args, fn.params, self))
        if isinstance(fn, UserFunction):
            return self._call_user(fn, args, label, piped, has_pipe)
        raise FluxError(f"{label} is a {type_name(fn)}, not a function")

    def _call_user(self, fn: UserFunction, args: dict[str, Any], label: str, piped: Any, has_pipe: bool) -> Any:
        node = fn.node
        scope = Scope(fn.scope)
        declared = set()
        for param in node["params"]:
            name = param["key"]["name"]
            default = param["value"]
            declared.add(name)
            if name in args:
                scope.names[name] = args[name]
            elif default is not None and default["type"] == "PipeLiteral" and has_pipe:
                scope.names[name] = piped
            elif default is not None and default["type"] != "PipeLiteral":
                scope.names[name] = self.eval(default, fn.scope)
            else:
                raise FluxError(f'error calling function "{label}": missing required argument "{name}"')
        for name in args:
            if name not in declared:
                raise FluxError(f'error calling function "{label}": unexpected argument "{name}"')
        body = node["body"]
        if body["type"] != "Block":
            return self.eval(body, scope)
        for stmt in body["body"]:
            if stmt["type"] == "ReturnStatement":
                return self.eval(stmt["argument"], scope)
            if stmt["type"] == "VariableAssignment":
                scope.names[stmt["id"]["name"]] = self.eval(stmt["init"], scope)
            elif stmt["type"] == "ExpressionStatement":
                self.eval(stmt["expression"], scope)
            else:
                raise FluxError(f'{stmt["type"]} is not allowed in a function body')
        raise FluxError(f'function "{label}" ends without a return statement')
