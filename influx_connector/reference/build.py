"""The reference of a data source, built from its compiled YAML: connection fields, operations with
their parameters, requests and worked examples.

Everything shown comes from the manifest; nothing is written twice, so the reference cannot say
something the YAML does not.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import PurePath
from types import MappingProxyType
from typing import Any
from urllib.parse import urlencode

import yaml

from ..model import CommandLineSpec, DataSource, Operation, Param, RequestSpec
from .document import (
    Block,
    BulletList,
    Code,
    CodeBlock,
    Document,
    Heading,
    Link,
    Paragraph,
    Table,
    Text,
    anchor,
    text,
)

COMMAND = "influx-connector docs"


def plain_data(value: Any) -> Any:
    """Compiled (frozen) data as plain dicts and lists, for YAML and JSON."""
    if isinstance(value, (Mapping, MappingProxyType)):
        return {str(k): plain_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_data(v) for v in value]
    return value


def _json(value: Any) -> str:
    return json.dumps(plain_data(value), ensure_ascii=False)


def _yaml(value: Any) -> str:
    """YAML as an author writes it: a mapping of plain values in block style, the innermost
    collections in flow style."""
    value = plain_data(value)
    inner = isinstance(value, dict) and any(isinstance(v, (dict, list)) for v in value.values())
    return yaml.safe_dump(value, sort_keys=False, default_flow_style=None if inner else False,
                          allow_unicode=True, width=100)


# --- one parameter ----------------------------------------------------------------------------------


def type_text(param: Param) -> str:
    declared = param.schema.get("type")
    kinds = [declared] if isinstance(declared, str) else list(declared or ())
    words = " or ".join(kinds) or "any"
    items = param.schema.get("items")
    if "array" in kinds and isinstance(items, Mapping) and isinstance(items.get("type"), str):
        words = words.replace("array", f"array of {items['type']}")
    return words


def limits(param: Param) -> Text:
    """The rules a value must follow, in words: range, length, pattern, format, listed values."""
    schema = param.schema
    parts: list[Any] = []

    def add(*items: Any) -> None:
        if parts:
            parts.append("; ")
        parts.extend(items)

    bounds = [(key, word) for key, word in (("minimum", "at least"), ("exclusiveMinimum", "more than"),
                                             ("maximum", "at most"), ("exclusiveMaximum", "less than"))
              if key in schema]
    for key, word in bounds:
        add(f"{word} ", Code(_json(schema[key])))
    if "minLength" in schema or "maxLength" in schema:
        low, high = schema.get("minLength"), schema.get("maxLength")
        if low and high:
            add(f"{low} to {high} characters")
        elif high:
            add(f"at most {high} characters")
        elif low:
            add(f"at least {low} character{'s' if low != 1 else ''}")
    if "enum" in schema:
        values: list[Any] = ["one of "]
        for i, value in enumerate(schema["enum"]):
            values += [", " if i else "", Code(_json(value))]
            if i < len(param.enum_titles):
                values.append(f" ({param.enum_titles[i]})")
        add(*values)
    if "pattern" in schema:
        add("matches ", Code(schema["pattern"]))
    if "format" in schema:
        add("format ", Code(schema["format"]))
    return text(*parts)


def _aliases(param: Param) -> Text:
    parts: list[Any] = []
    for i, alias in enumerate(param.aliases):
        parts += [", " if i else "", Code(alias)]
    return text(*parts)


def _description(param: Param) -> Text:
    words = param.description or param.title
    extras = []
    if param.secret:
        extras.append("Secret: never shown.")
    if param.advanced:
        extras.append("Advanced.")
    return text(" ".join([words, *extras]))


def params_table(params: Iterable[Param]) -> Table:
    rows = []
    for p in params:
        default = text(Code(_json(p.default))) if p.has_default and p.default is not None else ()
        rows.append((text(Code(p.name)), text(type_text(p)), text("yes" if p.required else ""), default,
                     limits(p), text(Code(p.default_from)) if p.default_from else (), _aliases(p), _description(p)))
    return Table(("Name", "Type", "Required", "Default", "Limits", "Falls back to", "Aliases", "Description"),
                 tuple(rows))


# --- the connection ---------------------------------------------------------------------------------


def _command_line(spec: CommandLineSpec, name: str) -> Text:
    flag, variable = spec.flag_for(name), spec.variable(name)
    parts: list[Any] = []
    if flag is not None:
        parts += [Code(f"--{flag.flag}"), f" (sets {_json(flag.value)})" if flag.switch else None]
    if variable:
        parts += [", " if parts else "", Code(variable)]
    return text(*parts)


def connection_blocks(data_source: DataSource) -> list[Block]:
    spec = data_source.connection
    table = params_table(spec.fields)
    rows = tuple((*row, _command_line(data_source.command_line, p.name)) for row, p in zip(table.rows, spec.fields))
    blocks: list[Block] = [
        Heading(2, text("Connection"), "connection"),
        Paragraph(text("The connection form's fields. Requests go to ", Code(spec.base_url),
                       *((", authenticated with the header ", Code(f"{spec.auth.header}: {spec.auth.value}"))
                         if spec.auth else ()), ".")),
        Table((*table.headers, "Command line"), rows),
    ]
    if data_source.test_steps:
        blocks.append(Paragraph(text("Test connection runs these steps in order:")))
        blocks.append(BulletList(tuple(
            text(step.title, ": ", Code(f"{step.request.method} {step.request.path}"),
                 *((" (only when ", Code(step.when), " is given)") if step.when else ()))
            for step in data_source.test_steps)))
    return blocks


# --- operations -------------------------------------------------------------------------------------


def _file(source: str) -> str:
    """Where an operation is declared, the same wherever the reference is written from."""
    path = PurePath(source)
    return "/".join(path.parts[-2:])


def required_text(op: Operation) -> str:
    """The parameters an operation cannot run without, in words."""
    required = [p.name for p in op.params if p.required]
    groups = ", ".join(" + ".join(group) for group in op.requires_one_of)
    return ", ".join([*required, *([f"one of: {groups}"] if groups else [])])


def optional_text(op: Operation) -> str:
    grouped = {name for group in op.requires_one_of for name in group}
    out = []
    for p in op.params:
        if p.required or p.name in grouped:
            continue
        values = p.schema.get("enum")
        out.append(f"{p.name} ({' | '.join(map(str, values))})" if values else p.name)
    return ", ".join(out)


def request_text(request: RequestSpec) -> str:
    """The request template as the YAML declares it: the top level in block style, what is inside
    in flow style where it fits on a line."""
    declared: dict[str, Any] = {"method": request.method, "path": request.path}
    for key in ("query", "headers", "body"):
        value = getattr(request, key)
        if value:
            declared[key] = value
    if request.timeout is not None or request.connect_timeout is not None:
        declared["timeout"] = {"connect": request.connect_timeout, "read": request.timeout}
    return "".join(_yaml({key: value}) for key, value in declared.items())


def _http_request(request: Mapping[str, Any]) -> str:
    target = request.get("path", "")
    if request.get("query"):
        target += "?" + urlencode({k: _scalar(v) for k, v in request["query"].items()})
    lines = [f"{request.get('method', '')} {target}".strip()]
    lines += [f"{name}: {value}" for name, value in (request.get("headers") or {}).items()]
    if "json" in request:
        lines += ["", json.dumps(plain_data(request["json"]), ensure_ascii=False, indent=2)]
    elif "body" in request:
        lines += ["", str(request["body"])]
    return "\n".join(lines)


def _scalar(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)


def _http_response(response: Mapping[str, Any]) -> str:
    lines = [f"HTTP {response['status']}"]
    lines += [f"{name}: {value}" for name, value in (response.get("headers") or {}).items()]
    if response.get("body"):
        lines += ["", str(response["body"])]
    return "\n".join(lines)


def example_blocks(op: Operation, example: Mapping[str, Any]) -> list[Block]:
    name = str(example["name"])
    blocks: list[Block] = [Heading(4, text("Example: ", name), anchor(f"{op.id}-{name}")),
                           Paragraph(text("Parameters:")), CodeBlock(_json(example.get("params") or {}), "json")]
    if example.get("connection"):
        blocks += [Paragraph(text("Connection values:")), CodeBlock(_json(example["connection"]), "json")]
    if example.get("request"):
        blocks += [Paragraph(text("Request (the parts the example checks):")),
                   CodeBlock(_http_request(example["request"]), "http")]
    if example.get("response"):
        answer = _http_response(example["response"])
        # Shown with plain line ends; the note keeps the fact (annotated CSV ends its lines with CRLF).
        crlf = " (its lines end with CR LF)" if "\r" in answer else ""
        blocks += [Paragraph(text(f"Response{crlf}:")),
                   CodeBlock(answer.replace("\r\n", "\n").replace("\r", "\n"), "http")]
    if "result" in example:
        blocks += [Paragraph(text("Result:")), CodeBlock(json.dumps(plain_data(example["result"]), indent=2,
                                                                    ensure_ascii=False), "json")]
    if example.get("error"):
        error = example["error"]
        said = ", ".join(f"{key} {_json(value)}" for key, value in error.items())
        blocks.append(Paragraph(text("Raises ", Code("APIError"), f" ({said}).")))
    return blocks


def operation_blocks(op: Operation) -> list[Block]:
    blocks: list[Block] = [Heading(3, text(Code(op.id), ": ", op.title), op.id)]
    if op.description:
        blocks.append(Paragraph(text(op.description)))
    facts: list[Text] = [text("Declared in ", Code(_file(op.source)), ".")]
    if op.aliases:
        facts.append(text("Also called ", *_join(Code(a) for a in op.aliases), "."))
    if op.requires_one_of:
        choices = (tuple(_join((Code(n) for n in group), " + ")) for group in op.requires_one_of)
        facts.append(text("Give one of: ", *_join(choices, ", or "), "."))
    if op.needs:
        conditions = (text(Code(f), " is ", *_join((Code(v) for v in vs), " or ")) for f, vs in op.needs.items())
        facts.append(text("Only for a connection whose ", *_join(conditions, " and "),
                          " (refused before sending otherwise)."))
    facts.append(text("Retried after a failed connection or a lost answer." if op.retry_safe else
                      "Not retried once sent: doing it twice is not safe."))
    blocks.append(BulletList(tuple(facts)))
    if op.params:
        blocks.append(params_table(op.params))
    blocks += [Paragraph(text("Request:")), CodeBlock(request_text(op.request), "yaml")]
    response = op.response
    said = [text("Decoded with the ", Code(response.codec), " codec") if response.result is None else
            text("nothing to decode: the result is declared (below)")]
    if response.success:
        said.append(text("success is ", *_join(Code(str(s)) for s in response.success)))
    if response.stream:
        said.append(text("read as a stream"))
    if response.paginate is not None:
        pages = response.paginate
        said.append(text("pages followed through ", Code(pages.next),
                         *((" when ", Code(pages.enabled_by), " is true") if pages.enabled_by else ()),
                         ", items at ", Code(pages.items)))
    blocks.append(Paragraph(text("Response: ", *_join(said, "; "), ".")))
    if response.result is not None:
        blocks.append(CodeBlock(_yaml({"result": _plain(response.result)}), "yaml"))
    chart = op.result.get("chart") if op.result else None
    if chart:
        blocks.append(Paragraph(chart_text(chart)))
    for example in op.examples:
        blocks += example_blocks(op, example)
    return blocks


def chart_text(chart: Mapping[str, Any]) -> Text:
    """What a host charts of the result: the time and value columns, a line per series."""
    series = chart.get("series") or ()
    parts: list[Any] = ["Chart hint for hosts: time from ", Code(str(chart.get("time")))]
    if chart.get("values") == "numbers":
        parts += [", every column of numbers drawn, one line per column and per distinct combination of the "
                  "text columns"]
    else:
        parts += [", values from ", Code(str(chart.get("value")))]
    if series:
        parts += [", one line per distinct ", *_join(Code(str(s)) for s in series)]
    skipped = chart.get("label_skip") or ()
    if skipped:
        parts += [" (a line is labelled by its other columns, not ", *_join(Code(str(s)) for s in skipped), ")"]
    return text(*parts, ".")


def _plain(value: Any) -> Any:
    """A compiled template as plain data (mappings as dicts), for YAML."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _join(items: Iterable[Any], separator: str = ", ") -> list[Any]:
    out: list[Any] = []
    for item in items:
        if out:
            out.append(separator)
        out.extend(item if isinstance(item, tuple) else (item,))
    return out


# --- the whole reference ----------------------------------------------------------------------------


def needs_text(op: Operation) -> str:
    """What connection an operation needs, such as "api v3" ("any" when it needs none)."""
    return "; ".join(f"{name} {' or '.join(values)}" for name, values in op.needs.items()) or "any"


def _with_needs(data_source: DataSource, headers: tuple[str, ...], rows: Iterable[tuple[Text, ...]]) -> Table:
    """The table, with a "Needs" column after the title when some operation declares needs."""
    ops = list(data_source.operations.values())
    rows = list(rows)
    if not any(op.needs for op in ops):
        return Table(headers, tuple(rows))
    return Table((*headers[:2], "Needs", *headers[2:]),
                 tuple((*row[:2], text(needs_text(op)), *row[2:]) for op, row in zip(ops, rows)))


def operations_table(data_source: DataSource) -> Table:
    """id, title, needs, required and optional parameters of every operation: the README's table."""
    return _with_needs(data_source, ("id", "Title", "Required", "Optional"), (
        (text(Link(op.id, f"docs/reference.md#{op.id}")), text(op.title), text(required_text(op)),
         text(optional_text(op)))
        for op in data_source.operations.values()))


def reference(data_source: DataSource) -> Document:
    title = f"{data_source.title} data source reference"
    blocks: list[Block] = [
        Heading(1, text(title), anchor(title)),
        Paragraph(text("Generated from the data source's YAML by ", Code(COMMAND),
                       "; edit the YAML and run it again rather than editing this file.")),
    ]
    if data_source.description:
        blocks.append(Paragraph(text(data_source.description)))
    if data_source.docs_url:
        blocks.append(Paragraph(text("The service's API documentation: ", Link(data_source.docs_url,
                                                                              data_source.docs_url), ".")))
    blocks += connection_blocks(data_source)
    blocks += [Heading(2, text("Operations"), "operations"),
               _with_needs(data_source, ("Operation", "Title", "Required"), (
                   (text(Link(op.id, f"#{op.id}")), text(op.title), text(required_text(op)))
                   for op in data_source.operations.values()))]
    for op in data_source.operations.values():
        blocks += operation_blocks(op)
    return Document(title, tuple(blocks))
