"""The host's side of a form, for the tests: corpora of form data, and rjsf's verdicts on them.

``judge_in_node`` hands every form and every case to ``tests/js/form_verdicts.cjs`` in one node
process, which validates them as react-jsonschema-form 6 and 5 do (their @rjsf/validator-ajv8,
from ``frontend/node_modules`` and ``frontend/rjsf5/node_modules``) and compiles each schema
with Ajv in strict mode. Without node or those packages it fails, saying how to install them.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from influx_connector.model import Param

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tests" / "js" / "form_verdicts.cjs"
RJSF_DIRS = (ROOT / "frontend", ROOT / "frontend" / "rjsf5")
INSTALL = ("install Node.js 18 or later (Debian: apt-get install nodejs npm) and the npm packages from the "
           "lockfiles: npm ci --prefix frontend && npm ci --prefix frontend/rjsf5 (.ci/run does both)")


def judge_in_node(forms: Mapping[str, Any], cases: list[dict[str, Any]]) -> dict[str, Any]:
    """rjsf's verdicts on ``cases`` ({form, data}) and Ajv's strict compile of ``forms``."""
    node = shutil.which("node")
    if node is None:
        pytest.fail(f"node is not installed: {INSTALL}")
    for folder in RJSF_DIRS:
        if not (folder / "node_modules" / "@rjsf" / "validator-ajv8").is_dir():
            pytest.fail(f"{folder.relative_to(ROOT)}/node_modules has no @rjsf/validator-ajv8: {INSTALL}")
    done = subprocess.run([node, str(SCRIPT), *map(str, RJSF_DIRS)], input=json.dumps({"forms": forms, "cases": cases}),
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    if done.returncode != 0:
        pytest.fail(f"{SCRIPT.name} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout)


def form_fields(errors: list[Mapping[str, Any]]) -> set[str]:
    """The top-level fields rjsf's errors name (errors of the whole form, such as 'if', name none)."""
    out = set()
    for e in errors:
        prop = (e.get("property") or "").lstrip(".")
        if prop:
            out.add(prop.split(".")[0].split("[")[0])
    return out


def connector_fields(exc: Any) -> set[str]:
    return {e.field.split(".")[0].split("[")[0] for e in exc.errors}


# --- corpora -------------------------------------------------------------------------------------

# Text that patterns, blank rules and anchors must judge alike in both engines.
TEXT_PROBES = (
    "", " ", "   ", "\t", "\n", "\u00a0", "\u3000", "\u2028", "\ufeff", "\x1c", "\x85", " \u00a0\t",
    "x", "abc", "x\n", "x\r\n", "\nx", " x", "x ", "x y", "x\ty", "_abc", "a/b", "..", "/x", "/x/..", "/x/.", "/influx",
    "/influx/", "x.y", "range", "strings.title", "a.b.c", "9lives", "0123456789abcdef", "0123456789ABCDEF",
    "0123456789abcde", "0123456789abcdef\n", "0123456789abcdef0", "\u0663", "\uff11\uff12", "\u00ff", "\u00e9t\u00e9",
    "[::1]", "[::1]\n", "h:80", "localhost", "localhost\n", "db.example.com", "user@h", "h?x", "h#x",
    "token-\u00fc", "x" * 256, "\U0001f600", "x\u2029", "a\x00b",
)
DATE_TIME_PROBES = (
    "2024-01-31T12:00:00Z", "2024-01-31t12:00:00z", "2024-01-31T12:00:00.123456789Z", "2024-01-31T12:00:00.1234567890Z",
    "2024-01-31T12:00:00+05:30", "2024-01-31T12:00:00+05", "2024-01-31T12:00:00+0530", "2024-01-31T12:00:00+24:00",
    "2024-01-31 12:00:00Z", "2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
    "2000-02-29T00:00:00Z", "2024-02-30T00:00:00Z", "2024-04-31T00:00:00Z", "2024-13-01T00:00:00Z",
    "2016-12-31T23:59:60Z", "2024-01-01T00:00:60Z", "2024-01-01T24:00:00Z", "\uff12\uff10\uff12\uff14-01-01T00:00:00Z",
    "2024-01-01T00:00:00Z\n", "2024-01-01", "2024-01-01T00:00:00", "0000-02-29T00:00:00Z",
)
JSON_PROBES = (
    '{"a": 1}', "{}", " { } ", "\n{\n}\n", "[]", "[1]", "5", "null", '"s"', "true", "{bad", '{"a": NaN}',
    '{"a": Infinity}', '{"a": 1}\n', "\u00a0{}", '{"a": 1} x', "{'a': 1}", '{"name": "x", "orgID": "0123456789abcdef"}',
    '{"query": "from(bucket: \\"b\\")"}',
)
RECORD_PROBES = (
    '[{"measurement": "m", "fields": {"v": 1}}]', '{"measurement": "m", "fields": {"v": 1.5}}', "[]", " [ ] ", "{}",
    "5", '"m v=1"', "null", "{bad", "m v=1", '[{"measurement": "m", "fields": {"v": NaN}}]',
)
HOST_NUMBER_TEXT = ("8086", " 8086 ", "+5", "-0", "007", "1.5", "2.50", "-0.0", "abc", "1e3", "0x10", "70000", "0",
                    "1", "-1", "\u0663", "\uff11", "5.", ".5", "1_000", "inf", "nan", "3600", "3600.0", "3600.5",
                    "0.0", "0.001", "20", "100", "101", "9223372036", "9223372037", "1000000", "1000001")
BOOLEAN_PROBES = (True, False, "true", "FALSE", "Yes", "no", "1", "0", "maybe", "on", "", " ", 1, 0, [True])
HEADER_PROBES = ({"X-A": "v"}, {"X-A": "v\n"}, {"X-A": " v"}, {"X-A": ""}, {"bad name": "v"}, {"X-A": 5}, {},
                 {"X-A": "a b\tc"}, {"X-\u00e9": "v"}, "text")


@dataclass
class Corpus:
    """Cases for one form: (label, data) pairs over a valid base."""

    base: dict[str, Any]
    cases: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def add(self, label: str, data: Mapping[str, Any]) -> None:
        self.cases.append((label, dict(data)))

    def vary(self, name: str, kind: str, values: Any) -> None:
        for value in values:
            self.add(f"{kind}: {name}={value!r:.60}", {**self.base, name: value})


def as_form_data(params: tuple[Param, ...], form_schema: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters as a form holds them: a list or object for a text field becomes JSON text
    (with the format choice that reads it as JSON)."""
    props = form_schema["properties"]
    out = dict(values)
    for p in params:
        value = out.get(p.name)
        if isinstance(value, (list, dict)) and props[p.name].get("type") == "string":
            out[p.name] = json.dumps(value)
            out.update(p.coerce_when)
    return out


def _numbers(schema: Mapping[str, Any]) -> list[Any]:
    out: list[Any] = [0, 1, -1, 7, 1.5, 7.0, 2 ** 63]
    for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if key in schema:
            out += [schema[key], schema[key] - 1, schema[key] + 1, schema[key] + 0.5]
    return out


def corpus(params: tuple[Param, ...], form_schema: Mapping[str, Any], base: Mapping[str, Any],
           examples: list[Mapping[str, Any]] = (), groups: tuple[tuple[str, ...], ...] = (),
           skip_text: tuple[str, ...] = ()) -> Corpus:
    """Empty data, the examples, and each field varied by every kind of value it can be wrong in."""
    found = Corpus(as_form_data(params, form_schema, base))
    found.add("empty", {})
    for i, example in enumerate(examples):
        found.add(f"example {i}", as_form_data(params, form_schema, example))
    for p in params:
        found.add(f"without {p.name}", {k: v for k, v in found.base.items() if k != p.name})
        prop = form_schema["properties"][p.name]
        declared = p.schema.get("type")
        types = declared if isinstance(declared, list) else [declared]
        for kind in ("integer", "boolean", "array", "object"):
            if kind not in types and not (kind == "integer" and "number" in types):
                found.vary(p.name, "type", [{"integer": 7, "boolean": True, "array": ["x"], "object": {"k": "v"}}[kind]])
        if "string" not in types and "object" not in types:
            found.vary(p.name, "type", ["text"])
        if "enum" in p.schema:
            enum = list(p.schema["enum"])
            found.vary(p.name, "enum", [*enum, "nope", str(enum[0]).upper(), f"{enum[0]} ", ""])
        elif declared in ("integer", "number", "boolean"):
            numeric = declared != "boolean"
            found.vary(p.name, "range" if numeric else "boolean",
                       _numbers(p.schema) if numeric else [v for v in BOOLEAN_PROBES if not isinstance(v, str)])
            found.vary(p.name, "host text", HOST_NUMBER_TEXT if numeric else [v for v in BOOLEAN_PROBES if isinstance(v, str)])
            found.vary(p.name, "blank", ["", "   "])
        elif p.coerce == "json":
            json_mode = {**found.base, **p.coerce_when}
            probes = RECORD_PROBES if p.coerce_when else JSON_PROBES
            for value in probes:
                found.add(f"json: {p.name}={value!r:.60}", {**json_mode, p.name: value})
            if p.coerce_when:
                found.vary(p.name, "text", ["m v=1", "[x", "", "   "])
        elif prop.get("type") == "string":
            if p.schema.get("format") == "date-time":
                found.vary(p.name, "format", DATE_TIME_PROBES)
            if p.name not in skip_text:
                found.vary(p.name, "text", TEXT_PROBES)
            else:
                found.vary(p.name, "blank", ["", "   "])
            for key in ("minLength", "maxLength"):
                if key in p.schema:
                    n = p.schema[key]
                    found.vary(p.name, "length", ["x" * max(n - 1, 0), "x" * n, "x" * (n + 1)])
        elif p.schema.get("type") == "object":
            found.vary(p.name, "object", HEADER_PROBES)
    for group in groups:
        grouped = {n for grp in groups for n in grp}
        without = {k: v for k, v in found.base.items() if k not in grouped}
        found.add(f"one-of: none of {sorted(grouped)}", without)
        for name in group:
            value = found.base.get(name, "x")
            found.add(f"one-of: only {name}", {**without, name: value})
            found.add(f"one-of: only {name}, blank", {**without, name: "   "})
        if "body" in grouped:
            for body in ("{}", " ", '{"name": "x"}', "{bad"):
                found.add(f"one-of: body {body!r}", {**without, "body": body})
                found.add(f"one-of: body {body!r} and {group[0]}", {**without, "body": body, group[0]: "x"})
    return found
