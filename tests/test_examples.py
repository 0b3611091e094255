"""Every example in every operation file, run offline: params → request, canned answer → result.

One generic test serves every operation, including ones a connector author adds later.
"""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests

from influx_connector import api
from influx_connector.connection import decode_response
from influx_connector.errors import APIError
from influx_connector.plugins import default_host

from .helpers import EXAMPLE_CONNECTION, canned_response, request_parts
from .openapi_contract import contract_for

CONNECTOR = api.load()
CASES = [(op.id, i, ex) for op in CONNECTOR.operations.values() for i, ex in enumerate(op.examples)]


def test_every_operation_has_an_example() -> None:
    assert {op_id for op_id, _, _ in CASES} == set(CONNECTOR.operations)


@pytest.mark.parametrize(("op_id", "index", "example"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_example(op_id: str, index: int, example: dict) -> None:
    conn = api.connect({**EXAMPLE_CONNECTION, **example.get("connection", {})})
    op, params = conn.validate(op_id, example["params"])
    request = conn.render(op_id, example["params"])
    parts = request_parts(request)
    expected = example.get("request")
    if expected:
        if "method" in expected:
            assert parts["method"] == expected["method"]
        if "path" in expected:
            assert parts["path"] == expected["path"]
        if "query" in expected:
            assert dict(parts["query"]) == {k: str(v) for k, v in expected["query"].items()}
            assert len(parts["query"]) == len(expected["query"]), "a query parameter is repeated"
        for name, value in (expected.get("headers") or {}).items():
            assert parts["headers"].get(name) == value
        if "json" in expected:
            assert parts["json"] == expected["json"]
        if "body" in expected:
            assert parts["body"].decode("utf-8") == expected["body"]
    canned = example.get("response")
    if canned is None:
        return
    response = canned_response(canned["status"], canned.get("headers"), canned.get("body", ""))
    decode = lambda: decode_response(CONNECTOR, op, params, request.summary, response,  # noqa: E731
                                     default_host(), conn.redactor)
    if "error" in example:
        with pytest.raises(APIError) as caught:
            decode()
        for key, value in example["error"].items():
            assert getattr(caught.value, key) == value
    else:
        assert decode() == example["result"]


@pytest.mark.parametrize(("op_id", "index", "example"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_every_rendered_example_request_satisfies_the_contract(op_id: str, index: int, example: dict) -> None:
    request = api.connect(EXAMPLE_CONNECTION).render(op_id, example["params"])
    url = urlsplit(request.url)
    parts = request_parts(request)
    # Headers as requests would send them, with its defaults for anything the engine left out.
    prepared = requests.Session().prepare_request(
        requests.Request(request.method, request.url, headers=dict(request.headers), data=request.body))
    # An operation for InfluxDB 3 (/health, /ping included) is checked against its contract.
    v3 = "v3" in api.load().operation(op_id).needs.get("api", ())
    problems = contract_for(url.path, v3).check_request(request.method, url.path, parts["query"],
                                                    dict(prepared.headers), request.body)
    assert problems == []
