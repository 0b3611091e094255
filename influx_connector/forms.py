"""Forms for hosts: a draft-07 JSON Schema and a react-jsonschema-form uiSchema per form.

Both come from the same compiled declarations the engine validates with, so what the form asks
for and what ``run`` accepts cannot drift apart.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from .model import Connector, Operation, Param

_TEXT_WIDGETS = ("code", "textarea")


def _form_property(p: Param, base: Mapping[str, Any], fallback_titles: Mapping[str, str]) -> dict[str, Any]:
    prop = dict(base)
    types = prop.get("type")
    if p.widget in _TEXT_WIDGETS and isinstance(types, list) and "string" in types:
        # A multi-type field (JSON text or object, line protocol or records) is typed as text in a form.
        prop["type"] = "string"
    if p.enum_titles and "enum" in prop:
        prop["oneOf"] = [{"const": v, "title": t} for v, t in zip(prop.pop("enum"), p.enum_titles)]
    if p.default_from:
        source = fallback_titles.get(p.default_from, p.default_from)
        note = f"Uses the connection's {source} when left empty."
        prop["description"] = f"{prop['description']} {note}" if prop.get("description") else note
    return prop


def _ui(p: Param) -> dict[str, Any]:
    ui: dict[str, Any] = {}
    text_field = p.schema.get("type") in (None, "string")
    if (p.secret and text_field) or p.widget == "password":
        ui["ui:widget"] = "password"
        ui["ui:options"] = {"autocomplete": "off"}
    elif p.widget in _TEXT_WIDGETS:
        ui["ui:widget"] = "textarea"
        options: dict[str, Any] = {"rows": 8}
        if p.widget == "code":
            options["editor"] = "code"
        if p.language:
            options["language"] = p.language
        ui["ui:options"] = options
    elif p.widget in ("checkbox", "select", "updown", "text"):
        ui["ui:widget"] = p.widget
    if p.placeholder:
        ui["ui:placeholder"] = p.placeholder
    if p.help_url:
        ui["ui:help"] = p.help_url
    if p.advanced:
        ui.setdefault("ui:options", {})["advanced"] = True
    return ui


def form(params: Iterable[Param], schema: Mapping[str, Any], title: str, description: str = "",
         fallback_titles: Mapping[str, str] | None = None) -> dict[str, Any]:
    params = tuple(params)
    props = schema.get("properties", {})
    form_schema: dict[str, Any] = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": title,
        "type": "object",
        "properties": {p.name: _form_property(p, props[p.name], fallback_titles or {}) for p in params},
        "additionalProperties": False,
    }
    if description:
        form_schema["description"] = description
    if schema.get("required"):
        form_schema["required"] = list(schema["required"])
    ui: dict[str, Any] = {"ui:order": [p.name for p in params]}
    for p in params:
        field_ui = _ui(p)
        if field_ui:
            ui[p.name] = field_ui
    return {"schema": form_schema, "uiSchema": ui}


def connection_form(connector: Connector) -> dict[str, Any]:
    spec = connector.connection
    return form(spec.fields, spec.input_schema, connector.title, connector.description)


def operation_form(connector: Connector, op: Operation) -> dict[str, Any]:
    titles = {p.name: p.title.lower() for p in connector.connection.fields}
    out = form(op.params, op.input_schema, op.title, op.description, titles)
    if op.requires_one_of:
        # Not an anyOf: a field filled from the connection would look missing to the form.
        alternatives = " or ".join(" + ".join(titles_of(op, g)) for g in op.requires_one_of)
        out["schema"]["description"] = f"{op.description} Give {alternatives}.".strip()
    return out


def titles_of(op: Operation, names: Iterable[str]) -> list[str]:
    return [(op.param(n).title if op.param(n) else n) for n in names]


def all_forms(connector: Connector) -> dict[str, Any]:
    """Everything a host needs to draw the data source: connection form and operation forms."""
    return {
        "id": connector.id,
        "title": connector.title,
        "description": connector.description,
        "connection": connection_form(connector),
        "operations": [{"id": op.id, "title": op.title, "form": operation_form(connector, op)}
                       for op in connector.operations.values()],
    }
