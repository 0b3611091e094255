"""Forms come from the same declarations as validation: schema, uiSchema, defaults, secrets."""
from __future__ import annotations

import jsonschema
import pytest

from influx_connector import api, forms
from influx_connector.errors import ValidationError

from .helpers import ALL_OPERATIONS

CONNECTOR = api.load()


def test_connection_form_matches_the_seed_fields() -> None:
    form = forms.connection_form(CONNECTOR)
    schema, ui = form["schema"], form["uiSchema"]
    jsonschema.Draft7Validator.check_schema(schema)
    assert ui["ui:order"][:4] == ["token", "host", "port", "protocol"]
    assert schema["properties"]["token"]["title"] == "API token"
    assert ui["token"]["ui:widget"] == "password" and schema["properties"]["token"]["writeOnly"] is True
    assert schema["properties"]["port"]["default"] == 8086
    assert schema["properties"]["protocol"]["enum"] == ["http", "https"]
    assert ui["protocol"]["ui:enumNames"] == ["HTTP", "HTTPS"]
    assert schema["required"] == ["token", "host"]
    assert ui["org"]["ui:options"]["advanced"] is True


@pytest.mark.parametrize("op_id", list(CONNECTOR.operations))
def test_every_operation_form_is_valid_draft7_and_ordered(op_id: str) -> None:
    op = CONNECTOR.operations[op_id]
    form = forms.operation_form(CONNECTOR, op)
    jsonschema.Draft7Validator.check_schema(form["schema"])
    # Ordinary fields first, advanced ones after them, each in the YAML's order.
    assert form["uiSchema"]["ui:order"] == ([p.name for p in op.params if not p.advanced]
                                            + [p.name for p in op.params if p.advanced])
    assert form["schema"]["title"] == op.title
    # The example parameters a host would submit are accepted by the form schema too.
    example = op.examples[0]["params"]
    as_form = {k: (v if not isinstance(v, (dict, list)) or form["schema"]["properties"][k].get("type") != "string"
                   else str(v)) for k, v in example.items()}
    jsonschema.Draft7Validator(form["schema"]).validate(as_form)


def test_flux_and_line_protocol_get_a_code_editor() -> None:
    query = forms.operation_form(CONNECTOR, CONNECTOR.operations["query_data"])
    assert query["uiSchema"]["query"]["ui:widget"] == "textarea"
    assert {k: v for k, v in query["uiSchema"]["query"]["ui:options"].items() if k != "messages"} == {
        "rows": 8, "editor": "code", "language": "flux"}
    write = forms.operation_form(CONNECTOR, CONNECTOR.operations["write_data"])
    assert write["uiSchema"]["data"]["ui:options"]["language"] == "line-protocol"
    assert write["schema"]["properties"]["data"]["type"] == "string"
    assert write["schema"]["properties"]["precision"]["enum"][0] == "ns"
    assert write["uiSchema"]["precision"]["ui:enumNames"][0] == "Nanoseconds"
    assert "Uses the connection's default bucket" in write["schema"]["properties"]["bucket"]["description"]
    assert "bucket" not in write["schema"].get("required", [])


def test_form_schema_and_engine_agree_on_limits() -> None:
    form = forms.operation_form(CONNECTOR, CONNECTOR.operations["list_buckets"])
    limit = form["schema"]["properties"]["limit"]
    assert (limit["minimum"], limit["maximum"], limit["default"]) == (1, 100, 20)
    conn = api.connect({"host": "localhost", "token": "form-test-token"})
    with pytest.raises(ValidationError) as caught:
        conn.render("list_buckets", {"limit": limit["maximum"] + 1})
    assert caught.value.by_field() == {"limit": ["must be at most 100 (got 101)"]}
    assert "limit=100" in conn.render("list_buckets", {"limit": limit["maximum"]}).url


def test_all_forms_lists_operations_in_seed_order() -> None:
    everything = forms.all_forms(CONNECTOR)
    assert [o["title"] for o in everything["operations"]][:2] == ["Write data", "Query data"]
    assert [o["id"] for o in everything["operations"]] == list(ALL_OPERATIONS)
