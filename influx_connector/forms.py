"""Forms for hosts: a draft-07 JSON Schema and a react-jsonschema-form uiSchema per form.

Both come from the same compiled declarations the engine validates with, and the schema says
what the engine accepts, no more and no less, as ajv reads it (the validator rjsf 5 and 6 run):

- blank text counts as not given, in both: a required text field refuses it (``not``), an
  optional one accepts it; a field that falls back to the connection is optional in the form;
- a number or true/false field also takes text (``"8086"``, ``"yes"``) with a pattern that
  admits exactly what the engine converts, range included (``textvalues``);
- patterns are the declared ones, which mean the same in both engines (``patterns``); date-times
  carry RFC 3339 as a pattern in place of ``format: date-time`` (``formats``);
- JSON given as text (a raw request body, Flux parameters, records chosen as the write format)
  is a text field with the custom format ``json-text`` and a pattern for its JSON type;
- "give one of these groups" (``requires_one_of``) is an ``if``/``else`` that rjsf resolves,
  making the first group required while no group is complete.

The uiSchema orders ordinary fields before advanced ones and carries, in ``ui:options``, what a
host needs beyond rjsf's own keys (see ``UI_OPTIONS``).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from . import formats, patterns
from .inputs import json_types, text_rule
from .model import DataSource, Operation, Param

_TEXT_WIDGETS = ("code", "textarea")
_TEXT_TYPES = ("integer", "number", "boolean")  # types a host may give as text
_BLANK = f"^[{patterns.SPACE_CLASS}]*$"
_JSON_SPACE = "[ \\t\\n\\r]*"
_EMPTY_OBJECT = f"^{_JSON_SPACE}\\{{{_JSON_SPACE}\\}}{_JSON_SPACE}$"
_ANY = ".|[\\n\\r\\u2028\\u2029]"  # any one character, in both engines
_TYPE_WORDS = {"string": "text", "integer": "a whole number", "number": "a number", "boolean": "true or false",
               "object": "an object", "array": "a list"}
_EMPTY_ARRAY = f"^{_JSON_SPACE}\\[{_JSON_SPACE}\\]{_JSON_SPACE}$"

#: The keys of ``ui:options`` that are not rjsf's own: what each tells a host.
UI_OPTIONS = {
    "advanced": "true: show the field in a collapsed 'Advanced' section, after the others",
    "editor": "'code': a code editor suits the field better than a plain text area",
    "language": "the language of a code field: flux, json, sql or line-protocol",
    "fallback": "the connection field whose value is used when this one is left empty",
    "messages": "friendly error messages for the field, by JSON Schema keyword (ajv's error 'name')",
}


def _json_condition(p: Param) -> dict[str, Any]:
    """The ``if`` under which a JSON-text field's text is JSON (``coerce_when``)."""
    return {"properties": {name: {"const": value} for name, value in p.coerce_when.items()},
            "required": list(p.coerce_when)}


def _empty_text(p: Param, as_json: bool) -> str:
    """A pattern for text the engine counts as not given: blank, or an empty JSON object or list."""
    empty = [_BLANK]
    if as_json:
        empty += [e for t, e in (("object", _EMPTY_OBJECT), ("array", _EMPTY_ARRAY)) if t in json_types(p)]
    return "|".join(empty)


def _not_given(p: Param) -> dict[str, Any]:
    """What ``not`` refuses for a field that must be given (any text for non-text fields passes)."""
    return {"type": "string", "pattern": _empty_text(p, p.coerce == "json" and not p.coerce_when)}


class _Field:
    """One parameter as a form shows it, given whether its connection fallback is available."""

    def __init__(self, p: Param, base: Mapping[str, Any], has_fallback: bool, fallback_title: str | None):
        self.p = p
        self.has_fallback = has_fallback
        self.fallback_title = fallback_title
        # Required in the form: needed, and neither defaulted nor filled from the connection.
        self.required = p.required and not (p.has_default and p.default is not None) and not has_fallback
        self.rule = text_rule(p)
        self.messages: dict[str, str] = {}
        self.prop = self._property(dict(base))

    @property
    def name(self) -> str:
        return self.p.name

    def _property(self, prop: dict[str, Any]) -> dict[str, Any]:
        p = self.p
        types = prop.get("type")
        if isinstance(types, list) and "string" in types and (p.widget in _TEXT_WIDGETS or p.coerce == "json"):
            prop["type"] = "string"  # JSON text or object, line protocol or records: text in a form
        for key, message in (("minimum", "must be at least {}"), ("maximum", "must be at most {}"),
                             ("exclusiveMinimum", "must be greater than {}"),
                             ("exclusiveMaximum", "must be less than {}"),
                             ("maxLength", "must be at most {} characters long")):
            if key in prop:
                self.messages[key] = message.format(prop[key])
        if "enum" in prop:
            self.messages["enum"] = "must be one of " + ", ".join(p.enum_titles or map(str, prop["enum"]))
            if not self.required and not p.has_default and "" not in prop["enum"]:
                prop["enum"] = ["", *prop["enum"]]  # an explicit empty choice: "" is not given
        wanted = prop.get("type")
        if isinstance(wanted, str):
            self.messages["type"] = f"must be {_TYPE_WORDS.get(wanted, wanted)}"
        pieces: list[str] = []  # patterns the text must match, all of them
        if "pattern" in prop:
            pieces.append(prop.pop("pattern"))
            self.messages["pattern"] = p.messages.get("pattern") or "does not have the expected form"
        if prop.get("format") == "date-time":
            # ajv-formats' date-time is looser than RFC 3339 and refuses blank text, which an
            # optional field allows: the form says RFC 3339 as a pattern (the widget stays a
            # date-time picker, through the uiSchema).
            del prop["format"]
            pieces.append(formats.DATE_TIME_PATTERN)
            self.messages["pattern"] = formats.date_time_problem("")
        if p.coerce == "json" and not p.coerce_when:
            prop["format"] = formats.JSON_TEXT
            pieces.append(formats.json_type_pattern(json_types(p)))
            self.messages["format"] = "must be valid JSON"
            self.messages["pattern"] = f"must be JSON of {_json_words(p)}"
        if prop.get("type") in _TEXT_TYPES:
            # The number itself, or a host's text for it (blank text, when bounds that are not
            # whole numbers leave no text rule).
            prop["type"] = [prop["type"], "string"]
            pieces.append(self.rule.pattern if self.rule is not None else "(?!)")
            self.messages["pattern"] = self.messages["type"] = (
                self.rule.message if self.rule is not None else f"must be {_TYPE_WORDS[str(wanted)]}")
        text = "string" in prop["type"]
        if text:
            self._blank_rules(prop, pieces)
        if "minLength" in prop and prop["minLength"] <= 1 and not self.required:
            del prop["minLength"]  # blank text is "not given", which an optional field allows
        if prop.get("minLength") == 1:
            self.messages["minLength"] = "must not be empty"
        elif "minLength" in prop:
            self.messages["minLength"] = f"must be at least {prop['minLength']} characters long"
        if self.has_fallback:
            note = f"Uses the connection's {self.fallback_title} when left empty."
            prop["description"] = f"{prop['description']} {note}" if prop.get("description") else note
        return prop

    def _blank_rules(self, prop: dict[str, Any], pieces: list[str]) -> None:
        """Blank text: refused by a required field, accepted (as not given) by an optional one."""
        if self.required:
            prop["not"] = _not_given(self.p)
            self.messages["not"] = "must not be empty"
            if prop.get("type") == "string" and not prop.get("minLength"):
                prop["minLength"] = 1
            pattern = _all_of(pieces)
        else:
            minimum = prop.pop("minLength", 0)
            if minimum > 1:
                pieces.append(f"^(?:{_ANY}){{{minimum},}}")
            pattern = _all_of(pieces)
            if pattern is not None:
                pattern = f"{_BLANK}|{_group(pattern)}"
        if pattern is not None:
            prop["pattern"] = pattern




def _json_words(p: Param) -> str:
    return " or ".join(_TYPE_WORDS.get(t, t) for t in json_types(p))


def _group(pattern: str) -> str:
    return f"(?:{pattern})"


def _all_of(pieces: list[str]) -> str | None:
    """One pattern that matches text where each of ``pieces`` matches (JSON Schema: somewhere)."""
    if not pieces:
        return None
    if len(pieces) == 1:
        return pieces[0]
    return "^" + "".join(f"(?=(?:{_ANY})*?(?:{piece}))" for piece in pieces)


def _ui(f: _Field) -> dict[str, Any]:
    p = f.p
    ui: dict[str, Any] = {}
    options: dict[str, Any] = {}
    text_field = p.schema.get("type") in (None, "string")
    if (p.secret and text_field) or p.widget == "password":
        ui["ui:widget"] = "password"
        options["autocomplete"] = "off"
    elif p.secret and p.schema.get("type") == "object":
        # The values of a secret mapping (headers) are the secrets: masked like a password.
        ui["additionalProperties"] = {"ui:widget": "password", "ui:options": {"autocomplete": "off"}}
    elif p.widget in _TEXT_WIDGETS:
        ui["ui:widget"] = "textarea"
        options["rows"] = 8
        if p.widget == "code":
            options["editor"] = "code"
        if p.language:
            options["language"] = p.language
    elif p.widget in ("checkbox", "select", "radio", "updown", "text"):
        ui["ui:widget"] = p.widget
    if p.enum_titles:
        offset = len(f.prop["enum"]) - len(p.enum_titles)
        ui["ui:enumNames"] = [""] * offset + list(p.enum_titles)
    if p.schema.get("format") == "date-time":
        ui["ui:widget"] = "date-time"
    if p.placeholder:
        ui["ui:placeholder"] = p.placeholder
    if p.help_url:
        ui["ui:enableMarkdownInDescription"] = True
    if p.advanced:
        options["advanced"] = True
    if f.has_fallback:
        options["fallback"] = p.default_from
    if f.messages:
        options["messages"] = dict(sorted(f.messages.items()))
    if options:
        ui["ui:options"] = options
    return ui


_MARKDOWN = str.maketrans({c: "\\" + c for c in "\\`*_{}[]<>()#+!|"})


def _markdown_description(p: Param, description: str) -> str:
    """The description as markdown (its own text escaped) with the help link after it."""
    link = f"[{(p.help_title or 'Documentation').translate(_MARKDOWN)}]({p.help_url})"
    return f"{description.translate(_MARKDOWN)} {link}".strip()


# --- requires_one_of as conditions ----------------------------------------------------------------


def _given(fields: Mapping[str, _Field], names: Iterable[str]) -> dict[str, Any]:
    """A schema that holds when every one of ``names`` is given (present, and not blank)."""
    names = list(names)
    return {"required": names, "properties": {n: {"not": _not_given(fields[n].p)} for n in names}}


def _one_of_groups(op: Operation, fields: Mapping[str, _Field]) -> list[list[str]]:
    """The groups still to give: fields the connection or a default fills count as given."""
    out = []
    for group in op.requires_one_of:
        left = [n for n in group if not fields[n].has_fallback and not (fields[n].p.has_default
                                                                          and fields[n].p.default is not None)]
        if not left:
            return []  # a group is always complete: the rule never bites
        out.append(left)
    return out


def _one_of_condition(groups: list[list[str]], fields: Mapping[str, _Field]) -> dict[str, Any]:
    """While no group is complete, the first group the input has begun (else the first) is
    required: the same choice the engine makes, so both name the same fields."""
    first = _given(fields, groups[0])
    node: dict[str, Any] = first
    for group in reversed(groups):
        if len(group) > 1 and not (group is groups[0] and node == first):
            begun = {"anyOf": [_given(fields, [n]) for n in group]}
            node = {"if": begun, "then": _given(fields, group), "else": node}
    complete = {"anyOf": [_given(fields, g) for g in groups]} if len(groups) > 1 else _given(fields, groups[0])
    return {"if": complete, "else": node}


def _attach(schema: dict[str, Any], condition: dict[str, Any]) -> None:
    """Add an if/then/else to a schema that may have one already (nested in each branch, since
    rjsf resolves nested conditions but not several in an allOf)."""
    if "if" not in schema:
        schema.update(condition)
        return
    for branch in ("then", "else"):
        schema.setdefault(branch, {})
        _attach(schema[branch], condition)


def _one_of_message(op: Operation) -> str:
    def title(name: str) -> str:
        found = op.param(name)
        return found.title if found else name

    return "is required: give " + ", or ".join(" + ".join(title(n) for n in g) for g in op.requires_one_of)


# --- the forms ----------------------------------------------------------------------------------------


def form(params: Iterable[Param], schema: Mapping[str, Any], title: str, description: str = "",
         fallback_titles: Mapping[str, str] | None = None, connection: Mapping[str, Any] | None = None,
         op: Operation | None = None) -> dict[str, Any]:
    """The form of a set of parameters.

    ``fallback_titles`` names the connection fields parameters fall back to; ``connection``, when
    given, holds the connection's values, so a field whose fallback is empty there is required.
    """
    params = tuple(params)
    props = schema.get("properties", {})
    titles = fallback_titles or {}
    fields: dict[str, _Field] = {}
    for p in params:
        fallback = p.default_from
        has_fallback = (connection is None or not _blank(connection.get(fallback))) if fallback else False
        fields[p.name] = _Field(p, props[p.name], has_fallback, titles.get(p.default_from or "", p.default_from))
    form_schema: dict[str, Any] = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": title,
        "type": "object",
        "properties": {},
        "additionalProperties": False,
    }
    if description:
        form_schema["description"] = description
    required = [f.name for f in fields.values() if f.required]
    if required:
        form_schema["required"] = required
    for f in fields.values():
        if f.p.help_url:
            f.prop["description"] = _markdown_description(f.p, f.prop.get("description", ""))
        form_schema["properties"][f.name] = f.prop
        if f.required:
            f.messages.setdefault("required", "is required")
    for p in params:
        if p.coerce_when:
            f = fields[p.name]
            # rjsf 5 validates the schema with the branch merged in, where the branch's "not"
            # replaces the field's own: so it refuses blank text too.
            then = {"type": "string", "format": formats.JSON_TEXT,
                    "pattern": f"{_BLANK}|{formats.json_type_pattern(json_types(p))}",
                    "not": {"type": "string", "pattern": _empty_text(p, as_json=True)}}
            _attach(form_schema, {"if": _json_condition(p), "then": {"properties": {p.name: then}}})
            f.messages.update({"format": "must be valid JSON", "pattern": f"must be JSON of {_json_words(p)}",
                               "not": "must not be empty"})
    if op is not None and op.requires_one_of:
        groups = _one_of_groups(op, fields)
        if groups:
            _attach(form_schema, _one_of_condition(groups, fields))
            message = _one_of_message(op)
            for name in {n for g in groups for n in g}:
                fields[name].messages.update({"required": message, "not": message})
    order = [p.name for p in params if not p.advanced] + [p.name for p in params if p.advanced]
    ui: dict[str, Any] = {"ui:order": order}
    for name in order:
        field_ui = _ui(fields[name])
        if field_ui:
            ui[name] = field_ui
    return {"schema": form_schema, "uiSchema": ui}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and patterns.is_blank(value))


def connection_form(data_source: DataSource) -> dict[str, Any]:
    spec = data_source.connection
    return form(spec.fields, spec.input_schema, data_source.title, data_source.description)


def operation_form(data_source: DataSource, op: Operation,
                   connection: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """An operation's form. With ``connection`` (its values), fields that fall back to an empty
    connection field are required; without it, the connection is taken to fill them."""
    titles = {p.name: p.title.lower() for p in data_source.connection.fields}
    if connection is not None:  # what the connection will hold: its defaults fill what is not given
        defaults = {p.name: p.default for p in data_source.connection.fields if p.has_default}
        connection = {**defaults, **{k: v for k, v in connection.items() if not _blank(v)}}
    description = op.description
    if op.requires_one_of:
        alternatives = " or ".join(" + ".join(titles_of(op, g)) for g in op.requires_one_of)
        description = f"{op.description} Give {alternatives}.".strip()
    return form(op.params, op.input_schema, op.title, description, titles, connection, op)


def titles_of(op: Operation, names: Iterable[str]) -> list[str]:
    return [(p.title if (p := op.param(n)) else n) for n in names]


def all_forms(data_source: DataSource, connection: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Everything a host needs to draw the data source: connection form, operation forms, and
    the custom formats its form validator must know."""
    return {
        "id": data_source.id,
        "title": data_source.title,
        "description": data_source.description,
        "formats": dict(formats.CUSTOM_FORMATS),
        "connection": connection_form(data_source),
        # "needs": the connection field values an operation is for ({"api": ["v3"]}): a host lists
        # it only for a connection that has one of them (Connection.operations() does that).
        "operations": [{"id": op.id, "title": op.title, "aliases": list(op.aliases),
                        "needs": {name: list(values) for name, values in op.needs.items()},
                        "form": operation_form(data_source, op, connection)}
                       for op in data_source.operations.values()],
    }
