"""Load connector.yaml and operations/*.yaml, check them against the authoring contract, compile.

Every problem in every file is collected before anything is raised, so an author fixes a whole
manifest in one pass. Each problem names file, line, column and JSON pointer, and a misspelt
key gets a did-you-mean.
"""
from __future__ import annotations

import json
import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

import jsonschema
from referencing import Registry, Resource

from . import patterns, resources
from .errors import ManifestError, ManifestProblem
from .inputs import SchemaValidator
from .model import (
    SCHEMA_KEYWORDS,
    AuthSpec,
    ConnectionSpec,
    Connector,
    Operation,
    Pagination,
    Param,
    RequestSpec,
    ResponseSpec,
    TestStep,
    frozen,
)
from .suggest import did_you_mean
from .retry import RetrySpec
from .template import TEMPLATE_KEYS, references
from .yamlsource import Located, load_file, pointer

log = logging.getLogger(__name__)

MANIFEST_VERSION = 1
_PATH_FIELD = re.compile(r"\{([^{}]*)\}")


@lru_cache(maxsize=None)
def _validators() -> tuple[jsonschema.Draft7Validator, jsonschema.Draft7Validator]:
    schema_dir = resources.schemas_dir()
    docs = {name: json.loads((schema_dir / name).read_text(encoding="utf-8"))
            for name in ("connector.schema.json", "operation.schema.json")}
    registry: Registry = Registry().with_resources(
        (name, Resource.from_contents(doc)) for name, doc in docs.items()
    )
    make = lambda doc: jsonschema.Draft7Validator(doc, registry=registry)  # noqa: E731
    return make(docs["connector.schema.json"]), make(docs["operation.schema.json"])


def _schema_at(root: Mapping[str, Any], error: jsonschema.ValidationError) -> Mapping[str, Any]:
    return error.schema if isinstance(error.schema, Mapping) else root


def _problems_from_schema(doc: Located, validator: jsonschema.Draft7Validator) -> list[ManifestProblem]:
    problems: list[ManifestProblem] = []
    for error in validator.iter_errors(doc.data):
        problems.extend(_explain(doc, error))
    return problems


def _explain(doc: Located, error: jsonschema.ValidationError) -> list[ManifestProblem]:
    """Turn one jsonschema error into problems a YAML author can act on."""
    ptr = pointer(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        known = list(_schema_at({}, error).get("properties", {}))
        extra = [k for k in error.instance if k not in known]
        out = []
        for key in extra:
            hint = did_you_mean(str(key), known).strip(" ()") or f"allowed keys: {', '.join(known)}"
            out.append(doc.problem(f"{ptr}/{key}", f"unknown key '{key}'", hint, at_key=True))
        if out:
            return out
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return [doc.problem(ptr, f"missing required key '{missing}'")]
    if error.validator in ("oneOf", "anyOf") and error.context:
        # Report the branch that got furthest: the deepest error is the most specific.
        deepest = max(error.context, key=lambda e: len(e.absolute_path))
        if len(deepest.absolute_path) > len(error.absolute_path):
            return _explain(doc, deepest)
        wanted = "; or ".join(_describe(e.schema) for e in error.context if isinstance(e.schema, Mapping))
        return [doc.problem(ptr, f"does not match any allowed form: {wanted}")]
    if error.validator == "enum":
        return [doc.problem(ptr, f"{error.instance!r} is not one of {error.validator_value}",
                            did_you_mean(str(error.instance), map(str, error.validator_value)).strip(" ()") or None)]
    if error.validator == "const":
        return [doc.problem(ptr, f"must be {error.validator_value!r}, not {error.instance!r}")]
    return [doc.problem(ptr, error.message)]


def _describe(schema: Mapping[str, Any]) -> str:
    if "required" in schema:
        return "has " + ", ".join(schema["required"])
    return json.dumps(schema)


# --- checks the JSON Schema cannot express --------------------------------------------------


class _Names:
    """What a manifest may refer to: connection fields and the names plugins provide."""

    def __init__(self, fields: Iterable[str], provided: Mapping[str, Iterable[str]]):
        self.fields = set(fields)
        self.provided = {kind: set(names) for kind, names in provided.items()}


def _check_templates(doc: Located, ptr: str, template: Any, params: set[str] | None, names: _Names,
                     problems: list[ManifestProblem]) -> None:
    """Every $param/$conn/$rule/... in a template must name something that exists."""
    for where, kind, name in references(template, ptr):
        if kind == "unknown":
            problems.append(doc.problem(where, f"unknown template key '{name}'",
                                        did_you_mean(name, TEMPLATE_KEYS).strip(" ()") or None, at_key=True))
        elif kind in ("param", "when") and params is not None and name not in params:
            problems.append(doc.problem(where, f"'{name}' is not a parameter of this operation",
                                        did_you_mean(name, params).strip(" ()") or None))
        elif kind == "param" and params is None:
            problems.append(doc.problem(where, "$param cannot be used here: there are no parameters"))
        elif kind == "conn" and name not in names.fields:
            problems.append(doc.problem(where, f"'{name}' is not a connection field",
                                        did_you_mean(name, names.fields).strip(" ()") or None))
        elif kind in ("rule", "resolver") and name not in names.provided.get(kind, ()):
            known = names.provided.get(kind, set())
            problems.append(doc.problem(where, f"no plugin provides the {kind} '{name}'",
                                        did_you_mean(name, known).strip(" ()") or None))


def _check_request(doc: Located, ptr: str, req: Mapping[str, Any], params: set[str] | None, names: _Names,
                   problems: list[ManifestProblem]) -> None:
    for name in _PATH_FIELD.findall(req.get("path", "")):
        if params is None or name not in params:
            problems.append(doc.problem(f"{ptr}/path", f"path field '{{{name}}}' is not a parameter",
                                        did_you_mean(name, params or ()).strip(" ()") or None))
    for key in ("query", "headers", "body"):
        if key in req:
            _check_templates(doc, f"{ptr}/{key}", req[key], params, names, problems)
    body = req.get("body") or {}
    if "encode" in body and body["encode"] not in names.provided.get("encoder", ()):
        problems.append(doc.problem(f"{ptr}/body/encode", f"no plugin provides the encoder '{body['encode']}'",
                                    did_you_mean(body["encode"], names.provided.get("encoder", ())).strip(" ()") or None))


def _check_operation(doc: Located, names: _Names, shared: Mapping[str, Any],
                     problems: list[ManifestProblem]) -> None:
    data = doc.data
    declared = data.get("params") or {}
    params = set(declared)
    for name, decl in declared.items():
        here = f"/params/{name}"
        if "use" in decl and decl["use"] not in shared:
            problems.append(doc.problem(f"{here}/use", f"no shared parameter '{decl['use']}' in connector.yaml",
                                        did_you_mean(decl["use"], shared).strip(" ()") or None))
        merged = {**shared.get(decl.get("use"), {}), **decl}
        if merged.get("default_from") and merged["default_from"] not in names.fields:
            problems.append(doc.problem(f"{here}/default_from",
                                        f"'{merged['default_from']}' is not a connection field",
                                        did_you_mean(merged["default_from"], names.fields).strip(" ()") or None))
        _check_param_shape(doc, here, merged, problems)
        for other, value in (merged.get("coerce_when") or {}).items():
            decl_other = {**shared.get((declared.get(other) or {}).get("use"), {}), **(declared.get(other) or {})}
            if other not in params:
                problems.append(doc.problem(f"{here}/coerce_when/{other}", f"'{other}' is not a parameter",
                                            did_you_mean(other, params).strip(" ()") or None, at_key=True))
            elif "enum" in decl_other and value not in decl_other["enum"]:
                problems.append(doc.problem(f"{here}/coerce_when/{other}",
                                            f"{value!r} is not one of {other}'s values {decl_other['enum']}"))
    _check_aliases(doc, "/params", {n: {**shared.get(d.get("use"), {}), **d} for n, d in declared.items()}, problems)
    for i, group in enumerate(data.get("requires_one_of") or []):
        for j, name in enumerate(group):
            if name not in params:
                problems.append(doc.problem(f"/requires_one_of/{i}/{j}", f"'{name}' is not a parameter",
                                            did_you_mean(name, params).strip(" ()") or None))
    _check_request(doc, "/request", data["request"], params, names, problems)
    response = data["response"]
    if response["codec"] not in names.provided.get("codec", ()):
        problems.append(doc.problem("/response/codec", f"no plugin provides the codec '{response['codec']}'",
                                    did_you_mean(response["codec"], names.provided.get("codec", ())).strip(" ()") or None))
    _check_templates(doc, "/response/options", response.get("options") or {}, params, names, problems)
    enabled_by = (response.get("paginate") or {}).get("enabled_by")
    if enabled_by and enabled_by not in params:
        problems.append(doc.problem("/response/paginate/enabled_by", f"'{enabled_by}' is not a parameter"))


def _check_param_shape(doc: Located, here: str, decl: Mapping[str, Any], problems: list[ManifestProblem]) -> None:
    titles = decl.get("enum_titles")
    if titles is not None and len(titles) != len(decl.get("enum") or []):
        problems.append(doc.problem(f"{here}/enum_titles", "needs one title per enum value"))
    schema = {k: decl[k] for k in SCHEMA_KEYWORDS if k in decl}
    unportable = [doc.problem(where, f"the pattern would not mean the same in a form as here: {problem}")
                  for where, pattern in _patterns_in(schema, here) for problem in patterns.problems(pattern)]
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


def _patterns_in(schema: Any, where: str) -> Iterable[tuple[str, str]]:
    """(pointer, pattern) for every ``pattern`` in a parameter's schema, nested ones included."""
    if not isinstance(schema, Mapping):
        return
    if isinstance(schema.get("pattern"), str):
        yield f"{where}/pattern", schema["pattern"]
    for key, shape in _SUBSCHEMAS.items():
        value = schema.get(key)
        if shape == "map" and isinstance(value, Mapping):
            for name, sub in value.items():
                yield from _patterns_in(sub, f"{where}/{key}/{name}")
        elif shape == "one-or-list" and isinstance(value, list):
            for i, sub in enumerate(value):
                yield from _patterns_in(sub, f"{where}/{key}/{i}")
        else:
            yield from _patterns_in(value, f"{where}/{key}")


def _check_aliases(doc: Located, here: str, params: Mapping[str, Any], problems: list[ManifestProblem]) -> None:
    """A parameter alias must name nothing else: no other parameter, no other alias."""
    taken: dict[str, str] = {name: name for name in params}
    for name, decl in params.items():
        for i, alias in enumerate(decl.get("aliases") or ()):
            if alias in taken:
                what = "a parameter" if taken[alias] == alias else f"an alias of '{taken[alias]}'"
                problems.append(doc.problem(f"{here}/{name}/aliases/{i}", f"'{alias}' is already {what}"))
            else:
                taken[alias] = name


# --- compile ----------------------------------------------------------------------------------


def compile_param(name: str, decl: Mapping[str, Any]) -> Param:
    schema: dict[str, Any] = {k: decl[k] for k in SCHEMA_KEYWORDS if k in decl}
    return Param(
        name=name,
        title=decl.get("title") or name.replace("_", " ").capitalize(),
        description=decl.get("description", ""),
        required=bool(decl.get("required", False)),
        default=decl.get("default"),
        has_default="default" in decl,
        default_from=decl.get("default_from"),
        schema=frozen(schema),
        messages=frozen(decl.get("messages") or {}),
        enum_titles=tuple(decl.get("enum_titles") or ()),
        coerce=decl.get("coerce"),
        secret=bool(decl.get("secret", False)),
        widget=decl.get("widget"),
        language=decl.get("language"),
        placeholder=decl.get("placeholder"),
        help_url=decl.get("help_url"),
        help_title=decl.get("help_title"),
        advanced=bool(decl.get("advanced", False)),
        aliases=tuple(decl.get("aliases") or ()),
        coerce_when=frozen(decl.get("coerce_when") or {}),
    )


def input_schema(params: Iterable[Param], title: str) -> dict[str, Any]:
    """The draft-07 JSON Schema of a set of parameters: used to validate and to draw forms."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for p in params:
        prop = {"title": p.title, **p.schema}
        if p.description:
            prop["description"] = p.description
        if p.has_default:
            prop["default"] = p.default
        if p.secret:
            prop["writeOnly"] = True
        properties[p.name] = prop
        if p.required and not p.default_from:
            required.append(p.name)
    schema = {"$schema": "http://json-schema.org/draft-07/schema#", "title": title, "type": "object",
              "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema


def compile_request(req: Mapping[str, Any]) -> RequestSpec:
    return RequestSpec(
        method=req["method"],
        path=req["path"],
        query=req.get("query"),
        headers=frozen(req.get("headers") or {}),
        body=frozen(req["body"]) if req.get("body") else None,
        timeout=_timeouts(req.get("timeout"))[1],
        connect_timeout=_timeouts(req.get("timeout"))[0],
    )


def _timeouts(value: Any) -> tuple[float | None, float | None]:
    """``timeout: 30`` is the read timeout; ``timeout: {connect: 3, read: 300}`` sets both."""
    if isinstance(value, Mapping):
        return value.get("connect"), value.get("read")
    return None, value


def compile_operation(doc: Located, shared: Mapping[str, Any]) -> Operation:
    data = doc.data
    params = tuple(compile_param(name, {**shared.get(decl.get("use"), {}), **decl})
                   for name, decl in (data.get("params") or {}).items())
    resp = data["response"]
    pag = resp.get("paginate")
    op = Operation(
        id=data["id"],
        title=data["title"],
        description=data.get("description", ""),
        params=params,
        request=compile_request(data["request"]),
        response=ResponseSpec(
            codec=resp["codec"],
            success=tuple(resp.get("success") or ()),
            stream=bool(resp.get("stream", False)),
            options=frozen(resp.get("options") or {}),
            paginate=Pagination(next=pag["next"], items=pag["items"], enabled_by=pag.get("enabled_by"),
                                max_pages=pag.get("max_pages", 1000)) if pag else None,
        ),
        requires_one_of=tuple(tuple(g) for g in data.get("requires_one_of") or ()),
        retry_safe=bool(data.get("retry_safe", False)),
        examples=tuple(data.get("examples") or ()),
        source=doc.file,
        input_schema=frozen(input_schema(params, data["title"])),
        aliases=tuple(data.get("aliases") or ()),
    )
    return op


#: The rule a field that gives the base URL's host gets when it declares no pattern of its own: a
#: name, an IPv4 address or a bracketed IPv6 address (and a port), as every URL parser reads it
#: alike. Anything else ('\\', '%', '@', '/', spaces) can make requests go to another address
#: than the one shown; with the rule in the schema, forms refuse it as the engine does.
HOST_PATTERN = "^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*\\.?)$"
#: The same, with a port after the host: for a base URL that has no port of its own after the host.
HOST_PORT_PATTERN = HOST_PATTERN[:-1] + (
    "(:([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?$")
HOST_MESSAGE = ("must be a host name or IP address: letters, digits, '-', '_' and '.' (an IPv6 address in "
                "brackets), with no scheme, path, '@', '%' or spaces")


def _with_host_rule(name: str, decl: Mapping[str, Any], base_url: str) -> Mapping[str, Any]:
    """The field's declaration, with HOST_PATTERN when it is the base URL's host and has no pattern."""
    is_host = f"://{{{name}}}" in base_url
    text = decl.get("type") in ("string", None) and "enum" not in decl
    if not is_host or not text or "pattern" in decl:
        return decl
    pattern = HOST_PATTERN if f"://{{{name}}}:" in base_url else HOST_PORT_PATTERN
    return {**decl, "pattern": pattern, "messages": {"pattern": HOST_MESSAGE, **(decl.get("messages") or {})}}


def _compile_connection(data: Mapping[str, Any]) -> ConnectionSpec:
    conn = data["connection"]
    fields = tuple(compile_param(name, _with_host_rule(name, decl, conn["base_url"]))
                   for name, decl in conn["fields"].items())
    auth = conn.get("auth")
    return ConnectionSpec(
        fields=fields,
        base_url=conn["base_url"],
        auth=AuthSpec(auth["header"], auth["value"]) if auth else None,
        headers_from=conn.get("headers_from"),
        override_headers=tuple(conn.get("override_headers") or ()),
        timeout_from=conn.get("timeout_from"),
        connect_timeout_from=conn.get("connect_timeout_from"),
        verify_tls_from=conn.get("verify_tls_from"),
        ca_bundle_from=conn.get("ca_bundle_from"),
        max_answer_from=conn.get("max_answer_from"),
        deadline_from=conn.get("deadline_from"),
        retry=_retry_spec(conn.get("retry")),
        input_schema=frozen(input_schema(fields, f"{data['title']} connection")),
    )


def _retry_spec(decl: Mapping[str, Any] | None) -> RetrySpec | None:
    if not decl:
        return None
    return RetrySpec(attempts_from=decl.get("attempts_from"), max_delay_from=decl.get("max_delay_from"),
                     total_from=decl.get("total_from"), on_status=tuple(decl.get("on_status") or ()),
                     safe_on_status=tuple(decl.get("safe_on_status") or ()))


_FIELD_REFERENCES = ("headers_from", "timeout_from", "connect_timeout_from", "verify_tls_from", "ca_bundle_from",
                     "max_answer_from", "deadline_from", "retry/attempts_from", "retry/max_delay_from",
                     "retry/total_from")


def _check_connector(doc: Located, names: _Names, problems: list[ManifestProblem]) -> None:
    conn = doc.data["connection"]
    for key in _FIELD_REFERENCES:
        section, _, name = key.rpartition("/")
        value = (conn.get(section) or {}).get(name) if section else conn.get(key)
        if value and value not in names.fields:
            problems.append(doc.problem(f"/connection/{key}", f"'{value}' is not a connection field",
                                        did_you_mean(value, names.fields).strip(" ()") or None))
    for key, text in (("base_url", conn.get("base_url", "")), ("auth/value", (conn.get("auth") or {}).get("value", ""))):
        for name in _PATH_FIELD.findall(text):
            if name not in names.fields:
                problems.append(doc.problem(f"/connection/{key}", f"'{{{name}}}' is not a connection field",
                                            did_you_mean(name, names.fields).strip(" ()") or None))
    for name, decl in conn["fields"].items():
        _check_param_shape(doc, f"/connection/fields/{name}", decl, problems)
    _check_aliases(doc, "/connection/fields", conn["fields"], problems)
    for i, step in enumerate(doc.data.get("test") or []):
        if step.get("when") and step["when"] not in names.fields:
            problems.append(doc.problem(f"/test/{i}/when", f"'{step['when']}' is not a connection field"))
        _check_request(doc, f"/test/{i}/request", step["request"], None, names, problems)


def operation_files(dirs: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for d in dirs:
        files.extend(sorted(p for p in Path(d).glob("*.y*ml") if p.suffix in (".yaml", ".yml")))
    return files


def load_connector(connector_file: Path, extra_dirs: Iterable[Path] = (),
                   provided: Mapping[str, Iterable[str]] | None = None) -> Connector:
    """Load, check and compile a connector and its operations; raise ManifestError with every problem."""
    connector_file = Path(connector_file)
    problems: list[ManifestProblem] = []
    conn_validator, op_validator = _validators()
    provided = provided if provided is not None else {}

    def display(path: Path) -> str:
        return resources.display_path(path)

    cdoc = load_file(connector_file, display(connector_file))
    schema_problems = _problems_from_schema(cdoc, conn_validator) if isinstance(cdoc.data, Mapping) else [
        cdoc.problem("", "connector.yaml must be a mapping")]
    problems.extend(schema_problems)
    fields = list(((cdoc.data or {}).get("connection") or {}).get("fields") or {}) if isinstance(cdoc.data, Mapping) else []
    names = _Names(fields, provided)
    if not schema_problems:
        _check_connector(cdoc, names, problems)
    shared = dict((cdoc.data or {}).get("params") or {}) if isinstance(cdoc.data, Mapping) else {}

    op_dirs = [connector_file.parent / "operations", *map(Path, extra_dirs)]
    ops: dict[str, Operation] = {}
    seen: dict[str, str] = {}
    declared_ids: set[str] = set()
    for path in operation_files(op_dirs):
        try:
            odoc = load_file(path, display(path))
        except ManifestError as exc:
            problems.extend(exc.problems)
            continue
        if not isinstance(odoc.data, Mapping):
            problems.append(odoc.problem("", "an operation file must be a mapping"))
            continue
        declared_ids.add(str(odoc.data.get("id")))
        found = _problems_from_schema(odoc, op_validator)
        problems.extend(found)
        if found:
            continue
        before = len(problems)
        _check_operation(odoc, names, shared, problems)
        op_id = odoc.data["id"]
        if op_id in seen:
            problems.append(odoc.problem("/id", f"operation id '{op_id}' is already used by {seen[op_id]}"))
        for i, alias in enumerate(odoc.data.get("aliases") or ()):
            if alias in seen or alias == op_id:
                problems.append(odoc.problem(f"/aliases/{i}", f"'{alias}' is already used by {seen.get(alias, odoc.file)}"))
        if len(problems) == before:
            seen[op_id] = odoc.file
            seen.update((alias, odoc.file) for alias in odoc.data.get("aliases") or ())
            ops[op_id] = compile_operation(odoc, shared)
    order = list(cdoc.data.get("operation_order") or []) if isinstance(cdoc.data, Mapping) else []
    for i, op_id in enumerate(order):
        if op_id not in declared_ids:
            problems.append(cdoc.problem(f"/operation_order/{i}", f"no operation '{op_id}'",
                                         did_you_mean(op_id, ops).strip(" ()") or None))
    if problems:
        raise ManifestError(problems)
    rank = {op_id: i for i, op_id in enumerate(order)}
    ops = dict(sorted(ops.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0])))
    data = cdoc.data
    return Connector(
        id=data["id"],
        title=data["title"],
        description=data.get("description", ""),
        connection=_compile_connection(data),
        operations=frozen(ops),
        error_keys=frozen((data.get("errors") or {}).get("json") or {}),
        test_steps=tuple(
            TestStep(name=s["name"], title=s.get("title", s["name"]), request=compile_request(s["request"]),
                     when=s.get("when"), expect_status=tuple(s.get("expect_status") or ()),
                     expect_nonempty=s.get("expect_nonempty"))
            for s in data.get("test") or ()
        ),
        docs_url=data.get("docs_url"),
        source=cdoc.file,
    )
