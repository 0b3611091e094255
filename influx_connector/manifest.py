"""Load a data source's YAML (connector.yaml, operations/*.yaml, demo.yaml), check it, compile it.

Every problem in every file is collected before anything is raised, so an author fixes a whole
manifest in one pass: the authoring schema (``manifest_schema``) and the names it refers to
(``manifest_checks``) are checked together. Each problem names file, line, column and JSON
pointer, and a misspelt key gets a did-you-mean.

A file of an extra operation folder (a flag, ``INFLUX_CONNECTOR_OPERATIONS``, a plugin) is
treated as a plugin is: when it has problems, it is left out, and the problems are listed on the
loaded data source (``DataSource.problems``), so one broken extension does not take every other
operation with it. ``strict`` (what ``validate`` uses) raises them with the others instead.

Internal to the engine (not part of what hosts use; see ``influx_connector.__all__``).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from . import manifest_schema, resources
from .cli_spec import check_command_line, compile_command_line
from .demo_spec import check_demo, compile_demo, demo_file
from .errors import ManifestError, ManifestProblem
from .manifest_checks import (
    Names,
    beside_schema_problems,
    check_connector,
    check_operation,
    mapping,
    unused_params,
)
from .model import (
    SCHEMA_KEYWORDS,
    AuthSpec,
    ConnectionSpec,
    DataSource,
    Detect,
    Operation,
    Pagination,
    Param,
    RequestSpec,
    ResponseSpec,
    TestStep,
    frozen,
)
from .retry import RetrySpec
from .yamlsource import Located, load_file

MANIFEST_VERSION = 1


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
        auth=req.get("auth"),
    )


def compile_needs(decl: Any) -> Mapping[str, tuple[str, ...]]:
    """``needs: {field: value}`` or ``{field: [values]}``: the values as a tuple each."""
    return frozen({name: tuple(value) if isinstance(value, list) else (value,)
                   for name, value in (decl or {}).items()})


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
            codec=resp.get("codec", ""),
            success=tuple(resp.get("success") or ()),
            stream=bool(resp.get("stream", False)),
            options=frozen(resp.get("options") or {}),
            paginate=Pagination(next=pag["next"], items=pag["items"], enabled_by=pag.get("enabled_by"),
                                max_pages=pag.get("max_pages", 1000)) if pag else None,
            result=(frozen(resp["result"]) if isinstance(resp.get("result"), Mapping) else resp.get("result")),
        ),
        requires_one_of=tuple(tuple(g) for g in data.get("requires_one_of") or ()),
        retry_safe=bool(data.get("retry_safe", False)),
        examples=tuple(data.get("examples") or ()),
        source=doc.file,
        input_schema=frozen(input_schema(params, data["title"])),
        aliases=tuple(data.get("aliases") or ()),
        result=frozen(data.get("result") or {}),
        needs=compile_needs(data.get("needs")),
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
        auth=AuthSpec(auth["header"], auth["value"], frozen(auth.get("schemes") or {})) if auth else None,
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
        detect=_detect(conn.get("detect")),
    )


def _detect(decl: Mapping[str, Any] | None) -> Detect | None:
    if not decl:
        return None
    return Detect(field=decl["field"], auto=decl["auto"], request=compile_request(decl["request"]),
                  header=decl["header"], rules=tuple((r["pattern"], r["value"]) for r in decl["rules"]),
                  step=decl.get("step"), title=decl.get("title", ""))


def _retry_spec(decl: Mapping[str, Any] | None) -> RetrySpec | None:
    if not decl:
        return None
    return RetrySpec(attempts_from=decl.get("attempts_from"), max_delay_from=decl.get("max_delay_from"),
                     total_from=decl.get("total_from"), on_status=tuple(decl.get("on_status") or ()),
                     safe_on_status=tuple(decl.get("safe_on_status") or ()))


def operation_files(dirs: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for d in dirs:
        files.extend(sorted(p for p in Path(d).glob("*.y*ml") if p.suffix in (".yaml", ".yml")))
    return files




def _checked(path: Path, schema: str, check: Any) -> tuple[Located | None, list[ManifestProblem]]:
    """A YAML file, and its problems: syntax, then the schema and ``check(doc, problems)`` together."""
    try:
        doc = load_file(path, resources.display_path(path))
    except ManifestError as exc:
        return None, list(exc.problems)
    if not isinstance(doc.data, Mapping):
        return doc, [doc.problem("", f"{path.name} must be a mapping")]
    schema_found = manifest_schema.schema_problems(doc, schema)
    checked: list[ManifestProblem] = []
    check(doc, checked)
    return doc, schema_found + beside_schema_problems(checked, schema_found)


def load_data_source(connector_file: Path, extra_dirs: Iterable[Path] = (),
                     provided: Mapping[str, Iterable[str]] | None = None, *, strict: bool = True) -> DataSource:
    """Load, check and compile a data source and its operations.

    Raises ManifestError with every problem (warnings included) when the data source's own files
    have errors, or, with ``strict``, when any file has. Otherwise returns the data source, whose
    ``problems`` list the warnings and the left-out extension files' problems.
    """
    connector_file = Path(connector_file)
    provided = provided if provided is not None else {}
    cdoc, blocking = _checked(connector_file, manifest_schema.CONNECTOR, lambda doc, found: None)
    data = mapping(cdoc.data if cdoc is not None else None)
    fields = mapping(mapping(data.get("connection")).get("fields"))
    schemes = mapping(mapping(mapping(data.get("connection")).get("auth")).get("schemes"))
    names = Names(fields, provided, schemes)
    if cdoc is not None and isinstance(cdoc.data, Mapping):
        checked: list[ManifestProblem] = []
        check_connector(cdoc, names, checked)
        check_command_line(cdoc, fields, checked)
        blocking += beside_schema_problems(checked, blocking)
    shared = {str(k): mapping(v) for k, v in mapping(data.get("params")).items()}
    found = _Operations(names, shared, strict)
    found.read(connector_file.parent / "operations", extension=False)
    for folder in extra_dirs:
        found.read(Path(folder), extension=True)
    ops, declared_ids, listed = found.compiled, found.declared_ids, found.listed
    blocking += found.blocking
    if cdoc is not None:
        order = data.get("operation_order")
        for i, op_id in enumerate(order if isinstance(order, list) else ()):
            if op_id not in declared_ids:
                blocking.append(cdoc.problem(f"/operation_order/{i}", f"no operation '{op_id}'",
                                             manifest_schema.hint(op_id, ops)))
    demo_path = demo_file(connector_file)
    ddoc = None
    if demo_path.is_file():
        ddoc, demo_problems = _checked(demo_path, manifest_schema.DEMO,
                                       lambda doc, out: check_demo(doc, ops, declared_ids, out))
        blocking += demo_problems
    if blocking or cdoc is None:
        raise ManifestError([*blocking, *listed])
    rank = {op_id: i for i, op_id in enumerate(data.get("operation_order") or [])}
    ops = dict(sorted(ops.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0])))
    return DataSource(
        id=data["id"],
        title=data["title"],
        description=data.get("description", ""),
        connection=_compile_connection(data),
        operations=frozen(ops),
        error_keys=frozen((data.get("errors") or {}).get("json") or {}),
        test_steps=tuple(
            TestStep(name=s["name"], title=s.get("title", s["name"]), request=compile_request(s["request"]),
                     when=s.get("when"), expect_status=tuple(s.get("expect_status") or ()),
                     expect_nonempty=s.get("expect_nonempty"), needs=compile_needs(s.get("needs")))
            for s in data.get("test") or ()
        ),
        docs_url=data.get("docs_url"),
        source=cdoc.file,
        command_line=compile_command_line(data.get("command_line"), fields),
        demo=compile_demo(ddoc) if ddoc is not None else None,
        problems=tuple(listed),
    )


class _Operations:
    """The operation files of a data source, read folder by folder: what compiled, what every
    file declares, and each file's problems, which stop the load (the data source's own folder,
    or any with ``strict``) or are listed on it (an extension's file, which is then left out)."""

    def __init__(self, names: Names, shared: Mapping[str, Any], strict: bool):
        self.names, self.shared, self.strict = names, shared, strict
        self.compiled: dict[str, Operation] = {}
        self.declared_ids: set[str] = set()
        self.blocking: list[ManifestProblem] = []
        self.listed: list[ManifestProblem] = []
        self._taken: dict[str, str] = {}  # ids and aliases -> the file that has them

    def read(self, folder: Path, extension: bool) -> None:
        for path in operation_files([folder]):
            doc, found = _checked(path, manifest_schema.OPERATION,
                                  lambda d, out: check_operation(d, self.names, self.shared, out))
            data = mapping(doc.data if doc is not None else None)
            if isinstance(data.get("id"), str):
                self.declared_ids.add(data["id"])
            if doc is not None and not found:
                found = _taken_names(doc, data, self._taken)
            if doc is not None and not found:
                self._taken.update((name, doc.file) for name in (data["id"], *(data.get("aliases") or ())))
                self.compiled[data["id"]] = compile_operation(doc, self.shared)
                self.listed += unused_params(doc, self.shared)
            elif extension and not self.strict:
                self.listed += found
            else:
                self.blocking += found


def _taken_names(doc: Located, data: Mapping[str, Any], seen: Mapping[str, str]) -> list[ManifestProblem]:
    """An operation's id and aliases must not be another operation's."""
    found = []
    op_id = data["id"]
    if op_id in seen:
        found.append(doc.problem("/id", f"operation id '{op_id}' is already used by {seen[op_id]}"))
    for i, alias in enumerate(data.get("aliases") or ()):
        if alias in seen or alias == op_id:
            found.append(doc.problem(f"/aliases/{i}", f"'{alias}' is already used by {seen.get(alias, doc.file)}"))
    return found
