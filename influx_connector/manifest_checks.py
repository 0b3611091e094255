"""Checks the authoring schema cannot express: that every name a manifest uses exists.

A template's ``$param``, a ``default_from``, a codec or rule a plugin should provide, a path
field, an alias that is already taken. The checks run on whatever parsed, also where the schema
found problems, so an author sees every mistake of a file in one round; they skip what is not
of the expected shape (the schema reports that) and never raise.

Internal to the engine (not part of what hosts use; see ``influx_connector.__all__``).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import jsonschema

from . import patterns
from .errors import ManifestProblem
from .inputs import SchemaValidator
from .manifest_schema import hint
from .model import SCHEMA_KEYWORDS
from .template import TEMPLATE_KEYS, references
from .yamlsource import Located

PATH_FIELD = re.compile(r"\{([^{}]*)\}")

#: Keys of connection: that name a connection field (a/b is key b inside a).
FIELD_REFERENCES = ("headers_from", "timeout_from", "connect_timeout_from", "verify_tls_from", "ca_bundle_from",
                    "max_answer_from", "deadline_from", "retry/attempts_from", "retry/max_delay_from",
                    "retry/total_from")


def mapping(value: Any) -> Mapping[str, Any]:
    """``value`` when it is a mapping, else an empty one: checks read malformed files too."""
    return value if isinstance(value, Mapping) else {}


def items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


class Names:
    """What a manifest may refer to: connection fields and the names plugins provide."""

    def __init__(self, fields: Iterable[str], provided: Mapping[str, Iterable[str]],
                 auth_schemes: Iterable[str] = ()):
        # The declarations too, when given as a mapping: ``needs`` checks a value against the enum.
        self.declared = {str(k): mapping(v) for k, v in fields.items()} if isinstance(fields, Mapping) else {}
        self.fields = set(fields)
        self.provided = {kind: set(names) for kind, names in provided.items()}
        self.auth_schemes = set(auth_schemes)

    def missing(self, kind: str, name: Any) -> bool:
        return isinstance(name, str) and name not in self.provided.get(kind, ())


def check_templates(doc: Located, ptr: str, template: Any, params: set[str] | None, names: Names,
                    problems: list[ManifestProblem]) -> None:
    """Every $param/$conn/$rule/... in a template must name something that exists."""
    for where, kind, name in references(template, ptr):
        if kind == "unknown":
            problems.append(doc.problem(where, f"unknown template key '{name}'", hint(name, TEMPLATE_KEYS),
                                        at_key=True))
        elif kind in ("param", "when") and params is not None and name not in params:
            problems.append(doc.problem(where, f"'{name}' is not a parameter of this operation", hint(name, params)))
        elif kind == "param" and params is None:
            problems.append(doc.problem(where, "$param cannot be used here: there are no parameters"))
        elif kind == "conn" and name not in names.fields:
            problems.append(doc.problem(where, f"'{name}' is not a connection field", hint(name, names.fields)))
        elif kind in ("rule", "resolver") and names.missing(kind, name):
            problems.append(doc.problem(where, f"no plugin provides the {kind} '{name}'",
                                        hint(name, names.provided.get(kind, ()))))


def check_request(doc: Located, ptr: str, req: Any, params: set[str] | None, names: Names,
                  problems: list[ManifestProblem]) -> None:
    req = mapping(req)
    path = req.get("path")
    for name in PATH_FIELD.findall(path if isinstance(path, str) else ""):
        if params is None or name not in params:
            problems.append(doc.problem(f"{ptr}/path", f"path field '{{{name}}}' is not a parameter",
                                        hint(name, params or ())))
    for key in ("query", "headers", "body"):
        if key in req:
            check_templates(doc, f"{ptr}/{key}", req[key], params, names, problems)
    scheme = req.get("auth")
    if isinstance(scheme, str) and scheme not in names.auth_schemes:
        problems.append(doc.problem(f"{ptr}/auth", f"'{scheme}' is not an auth scheme of the connection",
                                    hint(scheme, names.auth_schemes)))
    encoder = mapping(req.get("body")).get("encode")
    if names.missing("encoder", encoder):
        problems.append(doc.problem(f"{ptr}/body/encode", f"no plugin provides the encoder '{encoder}'",
                                    hint(encoder, names.provided.get("encoder", ()))))


def check_needs(doc: Located, ptr: str, needs: Any, names: Names, problems: list[ManifestProblem]) -> None:
    """``needs`` names connection fields, with values each field can have."""
    for name, wanted in mapping(needs).items():
        if name not in names.fields:
            problems.append(doc.problem(f"{ptr}/{name}", f"'{name}' is not a connection field",
                                        hint(name, names.fields), at_key=True))
            continue
        check_field_value(doc, f"{ptr}/{name}", name, wanted, names, problems)


def check_field_value(doc: Located, ptr: str, name: str, values: Any, names: Names,
                      problems: list[ManifestProblem]) -> None:
    enum = names.declared.get(name, {}).get("enum")
    for i, value in enumerate(values if isinstance(values, list) else [values]):
        if isinstance(enum, list) and isinstance(value, str) and value not in enum:
            where = f"{ptr}/{i}" if isinstance(values, list) else ptr
            problems.append(doc.problem(where, f"{value!r} is not one of {name}'s values {enum}"))


def declared_params(data: Mapping[str, Any], shared: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """An operation's parameter declarations, each merged over the shared one it names with ``use``."""
    out: dict[str, Mapping[str, Any]] = {}
    for name, decl in mapping(data.get("params")).items():
        decl = mapping(decl)
        use = decl.get("use")
        out[str(name)] = {**(mapping(shared.get(use)) if isinstance(use, str) else {}), **decl}
    return out


def check_operation(doc: Located, names: Names, shared: Mapping[str, Any], problems: list[ManifestProblem]) -> None:
    data = mapping(doc.data)
    declared = declared_params(data, shared)
    params = set(declared)
    for name, decl in declared.items():
        here = f"/params/{name}"
        use = mapping(mapping(data.get("params")).get(name)).get("use")
        if isinstance(use, str) and use not in shared:
            problems.append(doc.problem(f"{here}/use", f"no shared parameter '{use}' in connector.yaml",
                                        hint(use, shared)))
        default_from = decl.get("default_from")
        if isinstance(default_from, str) and default_from and default_from not in names.fields:
            problems.append(doc.problem(f"{here}/default_from", f"'{default_from}' is not a connection field",
                                        hint(default_from, names.fields)))
        check_param_shape(doc, here, decl, problems)
        for other, value in mapping(decl.get("coerce_when")).items():
            if other not in params:
                problems.append(doc.problem(f"{here}/coerce_when/{other}", f"'{other}' is not a parameter",
                                            hint(other, params), at_key=True))
            elif isinstance(declared[other].get("enum"), list) and value not in declared[other]["enum"]:
                problems.append(doc.problem(f"{here}/coerce_when/{other}",
                                            f"{value!r} is not one of {other}'s values {declared[other]['enum']}"))
    check_aliases(doc, "/params", declared, problems)
    for i, group in enumerate(items(data.get("requires_one_of"))):
        for j, name in enumerate(items(group)):
            if isinstance(name, str) and name not in params:
                problems.append(doc.problem(f"/requires_one_of/{i}/{j}", f"'{name}' is not a parameter",
                                            hint(name, params)))
    check_needs(doc, "/needs", data.get("needs"), names, problems)
    if "request" in data:
        check_request(doc, "/request", data["request"], params, names, problems)
    response = mapping(data.get("response"))
    codec = response.get("codec")
    if names.missing("codec", codec):
        problems.append(doc.problem("/response/codec", f"no plugin provides the codec '{codec}'",
                                    hint(codec, names.provided.get("codec", ()))))
    check_templates(doc, "/response/options", mapping(response.get("options")), params, names, problems)
    if "result" in response:
        check_templates(doc, "/response/result", response["result"], params, names, problems)
    enabled_by = mapping(response.get("paginate")).get("enabled_by")
    if isinstance(enabled_by, str) and enabled_by not in params:
        problems.append(doc.problem("/response/paginate/enabled_by", f"'{enabled_by}' is not a parameter",
                                    hint(enabled_by, params)))


def unused_params(doc: Located, shared: Mapping[str, Any]) -> list[ManifestProblem]:
    """Warnings for parameters nothing uses: no template, path, pagination or other parameter's
    coerce_when refers to them, so a value given for one would change nothing."""
    data = mapping(doc.data)
    declared = declared_params(data, shared)
    request, response = mapping(data.get("request")), mapping(data.get("response"))
    used = {name for _, kind, name in references([request.get(k) for k in ("query", "headers", "body")])
            if kind in ("param", "when")}
    used |= {name for _, kind, name in references([response.get("options"), response.get("result")])
             if kind in ("param", "when")}
    path = request.get("path")
    used |= set(PATH_FIELD.findall(path if isinstance(path, str) else ""))
    enabled_by = mapping(response.get("paginate")).get("enabled_by")
    if isinstance(enabled_by, str):
        used.add(enabled_by)
    used |= {other for decl in declared.values() for other in mapping(decl.get("coerce_when"))}
    return [doc.problem(f"/params/{name}", f"nothing uses the parameter '{name}': no request template, path, "
                                           "pagination or coerce_when refers to it",
                        f"refer to it with {{$param: {name}}}, or remove it", at_key=True, severity="warning")
            for name in declared if name not in used]


def check_param_shape(doc: Located, here: str, decl: Mapping[str, Any], problems: list[ManifestProblem]) -> None:
    titles, values = decl.get("enum_titles"), decl.get("enum")
    if isinstance(titles, list) and len(titles) != len(values if isinstance(values, list) else []):
        problems.append(doc.problem(f"{here}/enum_titles", "needs one title per enum value"))
    schema = {k: decl[k] for k in SCHEMA_KEYWORDS if k in decl}
    unportable = [doc.problem(where, f"the pattern would not mean the same in a form as here: {problem}")
                  for where, pattern in patterns_in(schema, here) for problem in patterns.problems(pattern)]
    problems.extend(unportable)
    try:
        jsonschema.Draft7Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        problems.append(doc.problem(here, f"not a valid JSON Schema: {exc.message}"))
        return
    if unportable:
        return
    # Defaults are checked here, once, so that a call using one need not check it again.
    if decl.get("default") is not None:
        wrong = next(iter(SchemaValidator(schema).iter_errors(decl["default"])), None)
        if wrong is not None:
            problems.append(doc.problem(f"{here}/default", f"the default does not fit the field: {wrong.message}"))


# Keywords whose value is a schema, or a mapping or list of schemas, that may hold a pattern.
_SUBSCHEMAS = {"items": "one-or-list", "additionalProperties": "one", "propertyNames": "one", "properties": "map"}


def patterns_in(schema: Any, where: str) -> Iterable[tuple[str, str]]:
    """(pointer, pattern) for every ``pattern`` in a parameter's schema, nested ones included."""
    if not isinstance(schema, Mapping):
        return
    if isinstance(schema.get("pattern"), str):
        yield f"{where}/pattern", schema["pattern"]
    for key, shape in _SUBSCHEMAS.items():
        value = schema.get(key)
        if shape == "map" and isinstance(value, Mapping):
            for name, sub in value.items():
                yield from patterns_in(sub, f"{where}/{key}/{name}")
        elif shape == "one-or-list" and isinstance(value, list):
            for i, sub in enumerate(value):
                yield from patterns_in(sub, f"{where}/{key}/{i}")
        else:
            yield from patterns_in(value, f"{where}/{key}")


def check_aliases(doc: Located, here: str, params: Mapping[str, Any], problems: list[ManifestProblem]) -> None:
    """A parameter alias must name nothing else: no other parameter, no other alias."""
    taken: dict[str, str] = {name: name for name in params}
    for name, decl in params.items():
        for i, alias in enumerate(items(mapping(decl).get("aliases"))):
            if not isinstance(alias, str):
                continue
            if alias in taken:
                what = "a parameter" if taken[alias] == alias else f"an alias of '{taken[alias]}'"
                problems.append(doc.problem(f"{here}/{name}/aliases/{i}", f"'{alias}' is already {what}"))
            else:
                taken[alias] = name


def check_connector(doc: Located, names: Names, problems: list[ManifestProblem]) -> None:
    data = mapping(doc.data)
    conn = mapping(data.get("connection"))
    for key in FIELD_REFERENCES:
        section, _, name = key.rpartition("/")
        value = mapping(conn.get(section)).get(name) if section else conn.get(key)
        if isinstance(value, str) and value and value not in names.fields:
            problems.append(doc.problem(f"/connection/{key}", f"'{value}' is not a connection field",
                                        hint(value, names.fields)))
    for key, text in (("base_url", conn.get("base_url")), ("auth/value", mapping(conn.get("auth")).get("value"))):
        for name in PATH_FIELD.findall(text if isinstance(text, str) else ""):
            if name not in names.fields:
                problems.append(doc.problem(f"/connection/{key}", f"'{{{name}}}' is not a connection field",
                                            hint(name, names.fields)))
    fields = {str(n): mapping(d) for n, d in mapping(conn.get("fields")).items()}
    for name, decl in fields.items():
        check_param_shape(doc, f"/connection/fields/{name}", decl, problems)
    check_aliases(doc, "/connection/fields", fields, problems)
    for i, step in enumerate(items(data.get("test"))):
        step = mapping(step)
        when = step.get("when")
        if isinstance(when, str) and when and when not in names.fields:
            problems.append(doc.problem(f"/test/{i}/when", f"'{when}' is not a connection field",
                                        hint(when, names.fields)))
        check_needs(doc, f"/test/{i}/needs", step.get("needs"), names, problems)
        if "request" in step:
            check_request(doc, f"/test/{i}/request", step["request"], None, names, problems)
    detect = mapping(conn.get("detect"))
    field = detect.get("field")
    if isinstance(field, str) and field not in names.fields:
        problems.append(doc.problem("/connection/detect/field", f"'{field}' is not a connection field",
                                    hint(field, names.fields)))
    elif isinstance(field, str):
        check_field_value(doc, "/connection/detect/auto", field, detect.get("auto"), names, problems)
        for i, rule in enumerate(items(detect.get("rules"))):
            pattern = mapping(rule).get("pattern")
            try:
                re.compile(pattern) if isinstance(pattern, str) else None
            except re.error as exc:
                problems.append(doc.problem(f"/connection/detect/rules/{i}/pattern",
                                            f"not a valid regular expression: {exc}"))
            check_field_value(doc, f"/connection/detect/rules/{i}/value", field, mapping(rule).get("value"), names,
                              problems)
    if "request" in detect:
        check_request(doc, "/connection/detect/request", detect["request"], None, names, problems)
    step_names = {str(mapping(step).get("name")) for step in items(data.get("test"))}
    if isinstance(detect.get("step"), str) and detect["step"] not in step_names:
        problems.append(doc.problem("/connection/detect/step", f"no test step '{detect['step']}'",
                                    hint(detect["step"], step_names)))


def beside_schema_problems(found: list[ManifestProblem], schema: list[ManifestProblem]) -> list[ManifestProblem]:
    """The checks' problems that a schema problem does not already explain: a check at a node that
    holds a schema problem (a parameter whose type is misspelt is not also "not a valid JSON
    Schema") is left out."""
    spots = [p.pointer for p in schema]
    return [p for p in found
            if not any(spot == p.pointer or spot.startswith(p.pointer.rstrip("/") + "/") for spot in spots)]
