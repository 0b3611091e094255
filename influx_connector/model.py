"""Compiled manifests: what the engine runs once YAML has been loaded and checked.

Everything here is frozen: a compiled connector is shared by every connection and thread.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

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


@dataclass(frozen=True)
class ResponseSpec:
    codec: str
    success: tuple[int, ...] = ()
    stream: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)
    paginate: Pagination | None = None


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

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


@dataclass(frozen=True)
class AuthSpec:
    header: str
    value: str  # a {field} format over connection values


@dataclass(frozen=True)
class TestStep:
    name: str
    title: str
    request: RequestSpec
    when: str | None = None
    expect_status: tuple[int, ...] = ()
    expect_nonempty: str | None = None


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

    @property
    def secret_fields(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.fields if p.secret)

    def secret_values(self, values: Mapping[str, Any] | None) -> list[Any]:
        """The secret values among connection ``values``, given by field name or by an alias."""
        values = values or {}
        return [values.get(name) for p in self.fields if p.secret for name in (p.name, *p.aliases)]


@dataclass(frozen=True)
class Connector:
    id: str
    title: str
    description: str
    connection: ConnectionSpec
    operations: Mapping[str, Operation]
    error_keys: Mapping[str, Any] = field(default_factory=dict)  # a key, or a list tried in order
    test_steps: tuple[TestStep, ...] = ()
    docs_url: str | None = None
    source: str = ""

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


#: The classes a compiled connector is made of: what a cache entry may rebuild, by name.
COMPILED_CLASSES: Mapping[str, type] = MappingProxyType({cls.__name__: cls for cls in (
    Connector, ConnectionSpec, AuthSpec, RetrySpec, Operation, Param, RequestSpec, ResponseSpec, Pagination,
    TestStep)})
