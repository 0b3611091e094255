"""The authoring contract: loading reports every problem with file, line, column, pointer and hint."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from influx_connector import api, resources
from influx_connector.errors import ManifestError
from influx_connector.manifest import load_data_source
from influx_connector.plugins import default_host

from .helpers import ADDED_OPERATIONS, SEED_OPERATIONS

ROOT = resources.manifest_dir()


def provided() -> dict:
    return default_host().provided_names()


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A writable copy of the built-in data source."""
    shutil.copy(ROOT / "connector.yaml", tmp_path / "connector.yaml")
    shutil.copytree(ROOT / "operations", tmp_path / "operations")
    return tmp_path


def load_problems(path: Path) -> list:
    with pytest.raises(ManifestError) as caught:
        load_data_source(path / "connector.yaml", (), provided())
    return caught.value.problems


def test_builtin_manifest_loads_the_seed_operations_in_its_order_then_the_added_ones() -> None:
    connector = api.load()
    assert list(connector.operations) == list(SEED_OPERATIONS + ADDED_OPERATIONS)
    titles = [op.title for op in connector.operations.values()]
    assert titles[0] == "Write data" and titles[10] == "Delete a bucket"
    assert "Retrieve query suggestions for a branching suggestion" in titles


def test_every_schema_property_has_a_description() -> None:
    docs = {name: json.loads((ROOT / "schemas" / name).read_text())
            for name in ("connector.schema.json", "operation.schema.json")}

    def described(prop: dict, doc: dict) -> bool:
        if prop.get("description"):
            return True
        ref = prop.get("$ref", "")
        if "#/definitions/" in ref:
            file, _, name = ref.partition("#/definitions/")
            return bool((docs[file] if file else doc)["definitions"][name].get("description"))
        return False

    def walk(node, where, doc):
        if isinstance(node, dict):
            for name, prop in (node.get("properties") or {}).items():
                assert described(prop, doc), f"{where}/properties/{name} has no description"
                walk(prop, f"{where}/properties/{name}", doc)
            for name, sub in (node.get("definitions") or {}).items():
                walk(sub, f"{where}/definitions/{name}", doc)
            for key in ("items", "additionalProperties"):
                walk(node.get(key), f"{where}/{key}", doc)
            for key in ("oneOf", "anyOf"):
                for i, sub in enumerate(node.get(key) or []):
                    walk(sub, f"{where}/{key}/{i}", doc)

    for name, doc in docs.items():
        jsonschema.Draft7Validator.check_schema(doc)
        walk(doc, name, doc)


def test_misspelt_key_is_reported_with_position_and_did_you_mean(source: Path) -> None:
    path = source / "operations" / "retrieve_bucket.yaml"
    text = path.read_text().replace("    required: true", "    reqired: true", 1)
    path.write_text(text)
    line = next(i for i, text_line in enumerate(text.splitlines(), 1) if "reqired" in text_line)
    [problem] = load_problems(source)
    assert problem.file.endswith("retrieve_bucket.yaml")
    assert (problem.line, problem.column) == (line, 5)
    assert problem.pointer == "/params/bucket_id/reqired"
    assert "unknown key 'reqired'" in problem.message
    assert problem.hint == "did you mean 'required'?"
    assert f"retrieve_bucket.yaml:{line}:5: /params/bucket_id/reqired" in str(problem)


def test_all_problems_in_all_files_are_reported_at_once(source: Path) -> None:
    ops = source / "operations"
    (ops / "delete_bucket.yaml").write_text((ops / "delete_bucket.yaml").read_text().replace("method: DELETE", "method: REMOVE"))
    (ops / "list_buckets.yaml").write_text((ops / "list_buckets.yaml").read_text().replace("codec: json", "codec: jsno"))
    (ops / "generate_ast.yaml").write_text((ops / "generate_ast.yaml").read_text().replace(
        "query: {$param: query}", "query: {$param: qurey}"))
    problems = load_problems(source)
    text = "\n".join(map(str, problems))
    assert len(problems) == 3, text
    assert "delete_bucket.yaml" in text and "'REMOVE' is not one of" in text
    assert "no plugin provides the codec 'jsno' (did you mean 'json'?)" in text
    assert "'qurey' is not a parameter of this operation (did you mean 'query'?)" in text
    assert all(p.line > 1 for p in problems)


def test_yaml_syntax_error_has_its_position(source: Path) -> None:
    (source / "operations" / "broken.yaml").write_text("id: broken\ntitle: [unclosed\n")
    [problem] = load_problems(source)
    assert problem.file.endswith("broken.yaml") and problem.line >= 2
    assert "not valid YAML" in problem.message


def test_missing_required_key_and_unknown_template_key(source: Path) -> None:
    (source / "operations" / "extra.yaml").write_text(
        "id: extra\ntitle: Extra\nrequest:\n  method: GET\n  path: /x/{thing}\n  query:\n    a: {$parm: x}\n")
    problems = load_problems(source)
    text = "\n".join(map(str, problems))
    assert "missing required key 'response'" in text
    (source / "operations" / "extra.yaml").write_text(
        "id: extra\ntitle: Extra\nrequest:\n  method: GET\n  path: /x/{thing}\n  query:\n    a: {$parm: x}\n"
        "response: {codec: json}\n")
    text = "\n".join(map(str, load_problems(source)))
    assert "extra.yaml:7:9: /request/query/a/$parm: unknown template key '$parm' (did you mean '$param'?)" in text
    assert "path field '{thing}' is not a parameter" in text


def test_duplicate_operation_id_is_a_problem(source: Path) -> None:
    shutil.copy(source / "operations" / "delete_bucket.yaml", source / "operations" / "zz_copy.yaml")
    [problem] = load_problems(source)
    assert "operation id 'delete_bucket' is already used by" in problem.message


def test_connector_problems_name_connection_fields(source: Path) -> None:
    path = source / "connector.yaml"
    path.write_text(path.read_text().replace("timeout_from: timeout", "timeout_from: timout")
                    .replace("default_from: org\n", "default_from: orgg\n", 1))
    text = "\n".join(map(str, load_problems(source)))
    assert "'timout' is not a connection field (did you mean 'timeout'?)" in text
    assert "'orgg' is not a connection field (did you mean 'org'?)" in text


def test_an_added_operation_file_needs_no_python(source: Path) -> None:
    (source / "operations" / "ping.yaml").write_text(
        "id: ping\ntitle: Ping\nrequest: {method: GET, path: /ping}\nresponse: {codec: empty, success: [204]}\n")
    connector = load_data_source(source / "connector.yaml", (), provided())
    assert "ping" in connector.operations and connector.operations["ping"].request.path == "/ping"


def test_a_default_that_does_not_fit_its_field_is_reported(source: Path) -> None:
    # A call that leaves the field out uses the default without checking it again, so it is
    # checked once, here.
    ops = source / "operations"
    (ops / "list_buckets.yaml").write_text((ops / "list_buckets.yaml").read_text().replace(
        "    default: 20\n", "    default: 500\n"))
    (problem,) = load_problems(source)
    assert problem.file.endswith("list_buckets.yaml") and problem.pointer == "/params/limit/default"
    assert "the default does not fit the field: 500 is greater than the maximum of 100" in problem.message


def test_a_result_is_declared_instead_of_decoded(source: Path) -> None:
    """An answer with nothing to decode (a 204) gets a declared result; its templates are checked."""
    (source / "operations" / "ping.yaml").write_text(
        "id: ping\ntitle: Ping\nparams: {name: {type: string}}\nrequest: {method: POST, path: /ping}\n"
        "response: {success: [204], result: {pinged: true, name: {$param: name}}}\n")
    connector = load_data_source(source / "connector.yaml", (), provided())
    assert dict(connector.operations["ping"].response.result) == {"pinged": True, "name": {"$param": "name"}}
    (source / "operations" / "ping.yaml").write_text(
        "id: ping\ntitle: Ping\nrequest: {method: POST, path: /ping}\n"
        "response: {success: [204], result: {name: {$param: nmae}}}\n")
    assert any("nmae" in p.message and p.pointer.startswith("/response/result") for p in load_problems(source))


def test_a_response_needs_a_codec_or_a_result(source: Path) -> None:
    (source / "operations" / "ping.yaml").write_text(
        "id: ping\ntitle: Ping\nrequest: {method: GET, path: /ping}\nresponse: {success: [204]}\n")
    problems = load_problems(source)
    assert any(p.pointer == "/response" and "codec" in p.message for p in problems), problems
