"""A data source's demo: steps in YAML (``demo.yaml`` beside connector.yaml), checked and compiled.

The demo is data, like the operations: which operations run, with which parameters, what each
step keeps for the later ones and what of a result is printed. The ``demo`` command runs it.
Values may hold three directives, and nothing else runs:

  {$var: name}                      a variable, or a value an earlier step saved
  {$now: s, offset: -60}            the time now plus offset seconds: s, ms, us, ns since 1970, or rfc3339
  {$format: "demo-{n}", n: ...}     text with each {name} replaced by that key's value ({{ and }} for braces)

Internal to the engine (not part of what hosts use; see ``influx_connector.__all__``).
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from .errors import ManifestProblem
from .model import Demo, DemoStep, Operation, frozen
from .suggest import did_you_mean
from .yamlsource import Located

FILE_NAME = "demo.yaml"
DIRECTIVES = ("$var", "$now", "$format")
TIME_UNITS = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000, "rfc3339": None}
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([a-z_][a-z0-9_]*)\}|[{}]")


def demo_file(connector_file: Path) -> Path:
    return Path(connector_file).parent / FILE_NAME


# --- checks ---------------------------------------------------------------------------------------


def check_demo(doc: Located, operations: Mapping[str, Operation], declared_ids: set[str],
               problems: list[ManifestProblem]) -> None:
    """What the schema cannot say: operations and parameters exist, variables are defined before
    they are used, and directives are well formed. Runs on whatever parsed, so every problem is
    reported in one round."""
    data = doc.data if isinstance(doc.data, Mapping) else {}
    known: set[str] = set()
    variables = data.get("variables")
    if isinstance(variables, Mapping):
        for name, value in variables.items():
            _check_value(doc, f"/variables/{name}", value, known, problems)
            known.add(str(name))
    steps = data.get("steps")
    for i, step in enumerate(steps if isinstance(steps, list) else ()):
        if not isinstance(step, Mapping):
            continue
        here = f"/steps/{i}"
        op_id = step.get("operation")
        op = _find(operations, op_id) if isinstance(op_id, str) else None
        if isinstance(op_id, str) and op is None and op_id not in declared_ids:
            problems.append(doc.problem(f"{here}/operation", f"no operation '{op_id}'",
                                        did_you_mean(op_id, operations).strip(" ()") or None))
        params = step.get("params")
        if isinstance(params, Mapping):
            if op_id is None:
                problems.append(doc.problem(f"{here}/params", "the connection test takes no parameters"))
            names = {n for p in op.params for n in (p.name, *p.aliases)} if op is not None else None
            for name, value in params.items():
                if op is not None and names is not None and name not in names:
                    problems.append(doc.problem(f"{here}/params/{name}", f"'{name}' is not a parameter of '{op.id}'",
                                                did_you_mean(str(name), names).strip(" ()") or None, at_key=True))
                _check_value(doc, f"{here}/params/{name}", value, known, problems)
        save = step.get("save")
        if isinstance(save, Mapping):
            if op_id is None:
                problems.append(doc.problem(f"{here}/save", "the connection test has no result to save from"))
            known.update(str(name) for name in save)


def _find(operations: Mapping[str, Operation], op_id: str) -> Operation | None:
    return operations.get(op_id) or next((op for op in operations.values() if op_id in op.aliases), None)


def _check_value(doc: Located, ptr: str, value: Any, known: set[str], problems: list[ManifestProblem]) -> None:
    """Variables used before they are set, and placeholders without a value; the directives'
    own shape is the schema's (``schemas/demo.schema.json``)."""
    for where, key, node in _directives(value, ptr):
        if key == "$var" and isinstance(node["$var"], str) and node["$var"] not in known:
            problems.append(doc.problem(f"{where}", f"no variable '{node['$var']}' is defined before this",
                                        did_you_mean(str(node["$var"]), known).strip(" ()") or None))
        elif key == "$format" and isinstance(node["$format"], str):
            for match in _PLACEHOLDER.finditer(node["$format"]):
                if match.group(0) in ("{", "}"):
                    problems.append(doc.problem(where, "a lone brace: write {{ or }} for a brace in the text"))
                elif match.group(1) and match.group(1) not in node:
                    problems.append(doc.problem(where, f"{{{match.group(1)}}} has no key '{match.group(1)}' beside it"))


def _directives(value: Any, ptr: str) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(pointer, directive, node) for every ``$`` key, nested ones included."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str) and key.startswith("$"):
                yield f"{ptr}/{key}", key, value
            else:
                yield from _directives(item, f"{ptr}/{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _directives(item, f"{ptr}/{i}")


def compile_needs(decl: Any) -> Mapping[str, tuple[str, ...]]:
    """A step's ``needs`` as the engine keeps an operation's (field -> values)."""
    return frozen({name: tuple(v) if isinstance(v, list) else (v,) for name, v in (decl or {}).items()})


def compile_demo(doc: Located) -> Demo:
    data = doc.data
    steps = tuple(DemoStep(title=s["title"], operation=s.get("operation"), params=frozen(s.get("params") or {}),
                           save=frozen(s.get("save") or {}), show=frozen(s.get("show") or {}),
                           required=bool(s.get("required", False)), needs=compile_needs(s.get("needs")))
                  for s in data["steps"])
    return Demo(steps=steps, variables=frozen(data.get("variables") or {}), source=doc.file)


# --- values ---------------------------------------------------------------------------------------


def render(value: Any, variables: Mapping[str, Any], clock: Callable[[], float] = time.time) -> Any:
    """A demo value with its directives replaced; a checked demo refers only to what exists."""
    if isinstance(value, Mapping):
        if "$var" in value:
            return variables[value["$var"]]
        if "$now" in value:
            return _now(value["$now"], value.get("offset", 0), clock)
        if "$format" in value:
            parts = {k: render(v, variables, clock) for k, v in value.items() if k != "$format"}
            return _PLACEHOLDER.sub(lambda m: {"{{": "{", "}}": "}"}.get(m.group(0)) or str(parts[m.group(1)]),
                                    value["$format"])
        return {k: render(v, variables, clock) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [render(v, variables, clock) for v in value]
    return value


def _now(unit: str, offset: float, clock: Callable[[], float]) -> Any:
    at = int(clock()) + offset
    scale = TIME_UNITS[unit]
    if scale is None:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
    return int(at * scale)


def show(data: Any, spec: Mapping[str, Any]) -> Any:
    """The part of a result a step prints (see ``schemas/demo.schema.json``)."""
    if "at" in spec:
        data = resolve(data, spec["at"])
    if "each" in spec and isinstance(data, list):
        data = [show(item, spec["each"]) for item in data]
    if "pick" in spec and isinstance(data, Mapping):
        data = {key: data.get(key) for key in spec["pick"]}
    if "count" in spec:
        data = f"{len(data) if isinstance(data, (list, Mapping)) else 0} {spec['count']}"
    return data


def resolve(data: Any, ptr: str) -> Any:
    """The value at a JSON pointer, or None where the data has nothing there."""
    for token in ptr.split("/")[1:] if ptr else ():
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(data, Mapping):
            data = data.get(token)
        elif isinstance(data, list) and token.isdigit() and int(token) < len(data):
            data = data[int(token)]
        else:
            return None
    return data
