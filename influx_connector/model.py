"""Compiled manifests: what the engine runs once YAML has been loaded and checked.

Everything here is frozen: a compiled data source is shared by every connection and thread.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .errors import ManifestProblem
from .retry import RetrySpec

# Keys of a parameter declaration that are JSON Schema keywords, passed through to the
# compiled input schema as they are.
SCHEMA_KEYWORDS = (
    "type", "enum", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength",
    "maxLength", "pattern", "format", "items", "properties", "additionalProperties", "propertyNames",
)


@dataclass(frozen=True, eq=False)
class Param:
    """One declared field: a connection field or an operation parameter.

    Compared and hashed by identity, so the engine can cache its compiled validator.
    """

    name: str
    title: str
    description: str = ""
    required: bool = False
    default: Any = None
    has_default: bool = False
    default_from: str | None = None
    schema: Mapping[str, Any] = field(default_factory=dict)  # JSON Schema of the value
    messages: Mapping[str, str] = field(default_factory=dict)
    enum_titles: tuple[str, ...] = ()
    coerce: str | None = None
    secret: bool = False
    widget: str | None = None
    language: str | None = None
    placeholder: str | None = None
    help_url: str | None = None
    help_title: str | None = None
    advanced: bool = False
    #: Other names the value may be given under (a host's own field names).
    aliases: tuple[str, ...] = ()
    #: Parse text as JSON only while these other parameters have these values ({} is always).
    coerce_when: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Pagination:
    next: str
    items: str
    enabled_by: str | None = None
    max_pages: int = 1000


@dataclass(frozen=True)
class RequestSpec:
    method: str
    path: str
    query: Any = None  # template rendering to a mapping
    headers: Mapping[str, Any] = field(default_factory=dict)
    body: Mapping[str, Any] | None = None
    timeout: float | None = None  # read timeout for this operation, over the connection's
    connect_timeout: float | None = None
    #: One of the connection's other auth schemes (``connection.auth.schemes``) for this request.
    auth: str | None = None


@dataclass(frozen=True)
class ResponseSpec:
    #: The decoder of a successful answer; "" when ``result`` says what the result is.
    codec: str
    success: tuple[int, ...] = ()
    stream: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)
    paginate: Pagination | None = None
    #: For an answer with nothing to decode (a 204): the result, a template over the parameters
    #: and the body's figures (``{$body: key}``), rendered once the call has succeeded.
    result: Any = None


@dataclass(frozen=True)
class Operation:
    id: str
    title: str
    description: str
    params: tuple[Param, ...]
    request: RequestSpec
    response: ResponseSpec
    requires_one_of: tuple[tuple[str, ...], ...] = ()
    retry_safe: bool = False
    examples: tuple[Mapping[str, Any], ...] = ()
    source: str = ""
    input_schema: Mapping[str, Any] = field(default_factory=dict)
    #: Other ids the operation may be called by (a host's own operation names).
    aliases: tuple[str, ...] = ()
    #: How a host may show the result (``{"chart": {"time", "value", "series", "label_skip"}}``):
    #: data for the host, which the engine does not read.
    result: Mapping[str, Any] = field(default_factory=dict)
    #: Connection field -> the values it must have for the operation to apply (``needs``).
    needs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


@dataclass(frozen=True)
class AuthSpec:
    header: str
    value: str  # a {field} format over connection values
    #: Other values of the header by name, for requests that declare one (``request.auth``).
    schemes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TestStep:
    name: str
    title: str
    request: RequestSpec
    when: str | None = None
    expect_status: tuple[int, ...] = ()
    expect_nonempty: str | None = None
    needs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Detect:
    """How a connection field left at its ``auto`` value is found out from the server: one
    request, and the first rule whose pattern matches a header of the answer gives the value."""

    field: str
    auto: str
    request: RequestSpec
    header: str
    rules: tuple[tuple[str, str], ...]  # (pattern, value), in order
    #: The test step whose check this request is (its answer is judged by that step once the
    #: value is known, and reported under its name); a step of its own when None.
    step: str | None = None
    title: str = ""


@dataclass(frozen=True)
class ConnectionSpec:
    fields: tuple[Param, ...]
    base_url: str
    auth: AuthSpec | None = None
    headers_from: str | None = None
    #: Headers the extra headers may replace besides the HTTP client's own (Host and the auth
    #: header are protected otherwise).
    override_headers: tuple[str, ...] = ()
    timeout_from: str | None = None
    connect_timeout_from: str | None = None
    verify_tls_from: str | None = None
    ca_bundle_from: str | None = None
    max_answer_from: str | None = None  # MiB
    deadline_from: str | None = None  # seconds
    retry: RetrySpec | None = None
    input_schema: Mapping[str, Any] = field(default_factory=dict)
    detect: Detect | None = None

    @property
    def secret_fields(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.fields if p.secret)

    def secret_values(self, values: Mapping[str, Any] | None) -> list[Any]:
        """The secret values among connection ``values``, given by field name or by an alias."""
        values = values or {}
        return [values.get(name) for p in self.fields if p.secret for name in (p.name, *p.aliases)]


@dataclass(frozen=True)
class CliFlag:
    """A connection field the command line offers as a flag (``--<flag>``)."""

    field: str
    flag: str  # the option's name, without the dashes
    #: A switch: giving the flag sets the field to ``value`` (``--insecure`` sets verify_tls false).
    switch: bool = False
    value: Any = None
    metavar: str | None = None
    help: str | None = None


@dataclass(frozen=True)
class CommandLineSpec:
    """How the command line reads a data source's connection: its flags and environment variables."""

    flags: tuple[CliFlag, ...] = ()
    #: Whether the data source chose its flags (else there is one per plain connection field).
    flags_declared: bool = False
    #: Environment variables are named ``<env_prefix>_<FIELD>``; none are read without a prefix.
    env_prefix: str | None = None
    environment: tuple[str, ...] = ()

    def variable(self, field_name: str) -> str | None:
        """The environment variable that fills a connection field, if any."""
        if self.env_prefix is None or field_name not in self.environment:
            return None
        return f"{self.env_prefix}_{field_name.upper()}"

    def flag_for(self, field_name: str) -> CliFlag | None:
        return next((f for f in self.flags if f.field == field_name), None)


@dataclass(frozen=True)
class DemoStep:
    """One step of a data source's demo: an operation with its parameters, or the connection test."""

    title: str
    operation: str | None = None  # None: the connection test
    params: Mapping[str, Any] = field(default_factory=dict)  # demo values (see demo_spec)
    #: Values the later steps may use: variable name -> JSON pointer into this step's result data.
    save: Mapping[str, str] = field(default_factory=dict)
    #: What of the result to print (see demo_spec): the whole result when empty.
    show: Mapping[str, Any] = field(default_factory=dict)
    #: The steps after this one need it: the demo stops when it fails.
    required: bool = False
    #: Connection field values the step is for (``needs``); another connection skips it, as it
    #: skips a step whose operation does not apply.
    needs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Demo:
    """A data source's demo: steps the ``demo`` command runs in order, and the variables they share."""

    steps: tuple[DemoStep, ...]
    variables: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""


@dataclass(frozen=True)
class DataSource:
    """A compiled data source: its connection, its operations and what else its YAML declares."""

    id: str
    title: str
    description: str
    connection: ConnectionSpec
    operations: Mapping[str, Operation]
    error_keys: Mapping[str, Any] = field(default_factory=dict)  # a key, or a list tried in order
    test_steps: tuple[TestStep, ...] = ()
    docs_url: str | None = None
    source: str = ""
    command_line: CommandLineSpec = field(default_factory=CommandLineSpec)
    demo: Demo | None = None
    #: What loading found but did not stop for: files of extra operation folders that were left
    #: out (each problem of such a file is listed) and warnings. Empty for a clean manifest.
    problems: tuple[ManifestProblem, ...] = ()

    def operation(self, op_id: str) -> Operation:
        """An operation by its id or by one of its aliases."""
        from .errors import NotFoundError
        from .suggest import did_you_mean

        found = self.operations.get(op_id)
        if found is None:
            found = next((op for op in self.operations.values() if op_id in op.aliases), None)
        if found is None:
            hint = did_you_mean(op_id, self.operations)
            raise NotFoundError(
                f"no operation '{op_id}' in data source '{self.id}'{hint}; "
                f"known: {', '.join(sorted(self.operations))}"
            )
        return found


def frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


#: The earlier name of ``DataSource``, kept for code that imports it.
Connector = DataSource

#: The classes a compiled data source is made of: what a cache entry may rebuild, by name.
COMPILED_CLASSES: Mapping[str, type] = MappingProxyType({cls.__name__: cls for cls in (
    DataSource, ConnectionSpec, AuthSpec, RetrySpec, Operation, Param, RequestSpec, ResponseSpec, Pagination,
    TestStep, Detect, CommandLineSpec, CliFlag, Demo, DemoStep, ManifestProblem)})
