"""Hooks see the engine's own types: what a plugin gets and gives is declared, not patched on."""
from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from typing import Any

import pytest

from influx_connector import api, hookspecs
from influx_connector.errors import APIError, DecodeError
from influx_connector.hookspecs import hookimpl
from influx_connector.influxdb import resolve_org_id, stream_annotated_csv, write_error_facts
from influx_connector.messages import ErrorFacts, HTTPRequest, HTTPResponse, HTTPTransport, Lookup
from influx_connector.plugins import create_host
from influx_connector.sandbox import Sandbox

from .conftest import ORG


def test_every_hook_names_the_types_it_takes_and_returns() -> None:
    """No hook takes or returns the HTTP library's objects; the request and answer hooks name the engine's types."""
    for name in [n for n in dir(hookspecs) if n.startswith("influx_connector_")]:
        spec = inspect.signature(getattr(hookspecs, name))
        annotations = [str(p.annotation) for p in spec.parameters.values()] + [str(spec.return_annotation)]
        assert all("requests" not in a and "Session" not in a for a in annotations), name
    send = inspect.signature(hookspecs.influx_connector_send)
    assert [str(p.annotation) for p in send.parameters.values()] == ["HTTPRequest", "HTTPTransport", "str"]
    assert send.return_annotation == "HTTPResponse"
    assert "Codec" in str(inspect.signature(hookspecs.influx_connector_codecs).return_annotation)
    assert "Lookup" in str(inspect.signature(hookspecs.influx_connector_resolvers).return_annotation)
    assert "ErrorFacts" in str(inspect.signature(hookspecs.influx_connector_error_details).return_annotation)


def test_streaming_is_declared_by_the_codecs_registration() -> None:
    host = create_host()
    assert host.codec("annotated_csv").stream is stream_annotated_csv
    assert host.codec("json").stream is None  # a plain function registered is a Codec's decode
    assert not hasattr(host.codec("annotated_csv").decode, "stream")  # nothing patched on


class Seen:
    """A send wrapper and a resolver that record the types they are handed."""

    def __init__(self) -> None:
        self.sends: list[tuple[Any, Any, Any]] = []
        self.lookups: list[Any] = []

    @hookimpl(wrapper=True)
    def influx_connector_send(self, request: HTTPRequest, transport: HTTPTransport) -> Iterator[Any]:
        response = yield
        self.sends.append((request, transport, response))
        return response

    @hookimpl
    def influx_connector_resolvers(self) -> dict[str, Any]:
        def resolve(value: Any, lookup: Any) -> Any:
            self.lookups.append(lookup)
            return resolve_org_id(value, lookup)

        return {"influx_org_id": resolve}


def test_send_hooks_and_resolvers_get_the_engines_types(sandbox: Sandbox) -> None:
    seen = Seen()
    with api.connect(sandbox.connection_settings, host=create_host(extra=(seen,))) as conn:
        conn.run("create_bucket", {"name": "typed", "org": ORG})
    request, transport, response = seen.sends[-1]
    assert isinstance(request, HTTPRequest) and request.method == "POST" and request.url.endswith("/api/v2/buckets")
    assert isinstance(transport, HTTPTransport) and isinstance(response, HTTPResponse)
    assert response.status_code == 201 and response.success is True
    # The resolver sees a lookup, not the connection (no values, no token, no transport).
    [lookup] = seen.lookups
    assert isinstance(lookup, Lookup) and not hasattr(lookup, "values") and not hasattr(lookup, "transport")
    assert sandbox.token not in repr(lookup) and sandbox.token not in repr(request)


class Canned:
    """A send hook that answers by itself, as a cache would, without the network."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    @hookimpl(tryfirst=True)
    def influx_connector_send(self, request: HTTPRequest) -> HTTPResponse:
        return HTTPResponse.of(200, {"Content-Type": "application/json"}, self.body)


def test_a_send_hook_may_answer_itself_within_the_answer_limit(sandbox: Sandbox) -> None:
    answer = {"buckets": [{"id": "0123456789abcdef", "name": "from-the-cache"}], "links": {}}
    host = create_host(extra=(Canned(json.dumps(answer).encode()),))
    before = len(sandbox.requests)
    with api.connect(sandbox.connection_settings, host=host) as conn:
        assert conn.run("list_buckets").data["buckets"][0]["name"] == "from-the-cache"
    assert len(sandbox.requests) == before  # nothing went to the server
    big = Canned(b'{"buckets": [], "pad": "' + b"x" * 2_000_000 + b'"}')
    with api.connect({**sandbox.connection_settings, "max_answer_mb": 1}, host=create_host(extra=(big,))) as conn:
        with pytest.raises(DecodeError, match="larger than the most an answer may hold"):
            conn.run("list_buckets")


def test_a_partial_write_is_declared_in_the_facts_and_reaches_the_host_as_before() -> None:
    facts = write_error_facts(422, "partial write: unable to parse 'cpu x': bad dropped=2")
    assert isinstance(facts, ErrorFacts) and facts.partial_write and facts.dropped == 2
    assert facts.as_details() == {"rejected_lines": [{"line": "cpu x", "reason": "bad"}], "partial_write": True,
                                  "dropped": 2}
    refused = write_error_facts(400, "unable to parse 'cpu x': bad")
    assert not refused.partial_write and "partial_write" not in refused.as_details()


class PartialInWords:
    """A plugin that puts partial_write in a plain mapping: details for the host, not a signal."""

    @hookimpl
    def influx_connector_error_details(self, status: int) -> dict[str, Any] | None:
        return {"partial_write": True, "said_by": "plain mapping"} if status == 400 else None


def test_only_declared_facts_steer_a_batched_write(sandbox: Sandbox) -> None:
    data = "cpu v=1 1\ncpu v= 2\ncpu v=3 3"  # the second batch is refused (400) by the server
    with api.connect(sandbox.connection_settings, host=create_host(extra=(PartialInWords(),))) as conn:
        with pytest.raises(APIError) as caught:
            conn.run("write_data", {"data": data, "batch_size": 1})
    error = caught.value
    assert error.status == 400 and error.partial_write is False
    assert error.details["failed_batch"]["first"] == 1  # the write stopped at the refused batch
    assert error.details["records_not_sent"] == 1
