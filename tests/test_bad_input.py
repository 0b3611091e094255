"""A bad-input matrix for every operation: missing, wrong type, empty, out of range.

Cases are derived from the declarations themselves, so an operation added later is covered too.
Each must fail with an error naming the field, and the server must receive nothing.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from influx_connector import api
from influx_connector.errors import ValidationError

from .helpers import TOKEN

CONNECTOR = api.load()
VALID = {op.id: dict(op.examples[0]["params"]) for op in CONNECTOR.operations.values()}


def wrong_value(types: list) -> Any:
    """A value whose JSON type is none of the declared ones."""
    for candidate in (12345, "twelve", [1], {"a": 1}, True):
        kind = {int: "integer", str: "string", list: "array", dict: "object", bool: "boolean"}[type(candidate)]
        if kind not in types and not (kind == "integer" and "number" in types):
            return candidate
    return None


def cases() -> Iterator[tuple[str, str, str, Any]]:
    for op in CONNECTOR.operations.values():
        for p in op.params:
            schema = p.schema
            types = schema.get("type")
            types = types if isinstance(types, list) else [types]
            if p.required:
                yield op.id, p.name, "missing", None
                yield op.id, p.name, "empty", ""
            wrong = wrong_value(types)
            if wrong is not None:
                yield op.id, p.name, "wrong type", wrong
            if "minimum" in schema:
                yield op.id, p.name, "below minimum", schema["minimum"] - 1
            if "maximum" in schema:
                yield op.id, p.name, "above maximum", schema["maximum"] + 1
            if "maxLength" in schema:
                yield op.id, p.name, "too long", "x" * (schema["maxLength"] + 1)
            if "pattern" in schema:
                yield op.id, p.name, "bad form", "_../%2F"
            if "enum" in schema:
                yield op.id, p.name, "not in enum", "bogus"
            if "format" in schema:
                yield op.id, p.name, "bad format", "yesterday"


CASES = list(cases())


def test_every_operation_has_bad_input_cases() -> None:
    covered = {op_id for op_id, *_ in CASES}
    with_params = {op.id for op in CONNECTOR.operations.values() if op.params}
    assert covered == with_params
    assert len(CASES) >= 40


@pytest.mark.parametrize(("op_id", "field", "kind", "value"), CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CASES])
def test_bad_input_is_refused_before_sending(sandbox, op_id: str, field: str, kind: str, value: Any) -> None:
    port = int(sandbox.url.rsplit(":", 1)[1])
    params = dict(VALID[op_id])
    if kind == "missing":
        params.pop(field, None)
    else:
        params[field] = value
    # A raw body would make the structured fields optional: test those fields on their own.
    if field != "body":
        params.pop("body", None) if "body" in params and op_id in ("create_bucket", "update_bucket") else None
    with api.connect({"host": "127.0.0.1", "port": port, "token": TOKEN}) as conn:
        with pytest.raises(ValidationError) as caught:
            conn.run(op_id, params)
    fields = caught.value.by_field()
    assert any(f == field or f.startswith(field + ".") or f.startswith(field + "[") for f in fields), fields
    assert sandbox.requests == [], "a request was sent despite bad input"


@pytest.mark.parametrize("op_id", [op.id for op in CONNECTOR.operations.values()])
def test_unknown_parameter_is_refused_with_a_suggestion(sandbox, op_id: str) -> None:
    port = int(sandbox.url.rsplit(":", 1)[1])
    params = {**VALID[op_id], "limt": 5}
    with api.connect({"host": "127.0.0.1", "port": port, "token": TOKEN}) as conn:
        with pytest.raises(ValidationError) as caught:
            conn.run(op_id, params)
    assert "limt" in caught.value.by_field()
    if CONNECTOR.operations[op_id].param("limit"):
        assert "did you mean 'limit'" in caught.value.by_field()["limt"][0]
    assert sandbox.requests == []


@pytest.mark.parametrize(("records", "field", "words"), [
    ([{"fields": {"v": 1}}], "data[0].measurement", "required"),
    ([{"measurement": "m", "fields": {}}], "data[0].fields", ""),
    ([{"measurement": "m", "fields": {"v": float("nan")}}], "data[0].fields.v", "NaN"),
    ([{"measurement": "m", "fields": {"v": 2**63}}], "data[0].fields.v", ""),
    ([{"measurement": "m", "tags": {"t": "a\nb"}, "fields": {"v": 1}}], "data[0].tags.t", "line feed (\\n) at index 1"),
    ([{"measurement": "m", "fields": {"v": "x" * 70000}}], "data[0].fields.v", ""),
    ([{"measurement": "m", "tags": {"t": "x" * 70000}, "fields": {"v": 1}}], "data[0]", ""),
])
def test_bad_records_name_the_record_and_field(sandbox, records: list, field: str, words: str) -> None:
    port = int(sandbox.url.rsplit(":", 1)[1])
    with api.connect({"host": "127.0.0.1", "port": port, "token": TOKEN}) as conn:
        with pytest.raises(ValidationError) as caught:
            conn.run("write_data", {"bucket": "b", "org": "o", "data": records})
    fields = caught.value.by_field()
    assert any(f.startswith(field) for f in fields), fields
    assert words in str(caught.value)
    assert sandbox.requests == []


def test_raw_body_must_be_json(sandbox) -> None:
    port = int(sandbox.url.rsplit(":", 1)[1])
    with api.connect({"host": "127.0.0.1", "port": port, "token": TOKEN}) as conn:
        with pytest.raises(ValidationError) as caught:
            conn.run("create_bucket", {"body": "{not json"})
        assert "is not valid JSON" in caught.value.by_field()["body"][0]
        with pytest.raises(ValidationError) as caught:
            conn.run("create_bucket", {"body": "[1, 2]"})
        assert caught.value.by_field()["body"] == ["must be JSON of an object, not a list"]
        with pytest.raises(ValidationError) as caught:
            conn.run("update_bucket", {"bucket_id": "0123456789abcdef"})
        assert "give Query" not in str(caught.value) and "body" in str(caught.value)
    assert sandbox.requests == []
