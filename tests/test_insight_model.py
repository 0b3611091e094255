"""Saved data sources and queries of the Insight² / ToolJet InfluxDB model run unchanged.

A host coming from that model stores the data source as ``{api_token, host, port, protocol}``
(the port as text) and each query as flat options: ``operation`` (its own names: write,
abstract_syntax_tree, query_suggestions_for_branching, analyze_flux_query, ...) beside that
operation's fields (``body`` holding line protocol, Flux, or a JSON request body, by operation).
The aliases declared in the YAML take them as they are, through the API and the command line,
and the ``{"status": "ok", "data"}`` envelope is there when asked for.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from influx_connector import api, cli
from influx_connector.errors import ValidationError
from influx_connector.sandbox import Sandbox

from .conftest import BUCKET, ORG
from .helpers import SEED_OPERATIONS, TOKEN

# The eleven operations, in the model's order, by its operation names.
MODEL_OPERATIONS = ("write", "query_data", "abstract_syntax_tree", "query_suggestions",
                    "query_suggestions_for_branching", "analyze_flux_query", "list_buckets", "create_bucket",
                    "retrieve_bucket", "update_bucket", "delete_bucket")
FLUX = f'from(bucket: "{BUCKET}") |> range(start: 2023-11-01T00:00:00Z, stop: 2023-12-01T00:00:00Z)'


def saved_source(sandbox: Sandbox) -> dict[str, Any]:
    """A saved data source: the model's field names, the port as text, no default org or bucket."""
    settings = sandbox.connection_settings
    return {"api_token": TOKEN, "host": settings["host"], "port": str(settings["port"]), "protocol": "http"}


def saved_queries(sandbox: Sandbox, bucket_id: Callable[[], str], name: str) -> list[dict[str, Any]]:
    """One saved query per operation, written from the model's field names. Queries about the
    bucket the create query made read its ID when they run (a saved query would hold it)."""
    return [
        {"operation": "write", "bucket": BUCKET, "org": ORG, "precision": "",
         "body": "air,room=attic temp=21.5 1700000000000000000\nair,room=cellar temp=12.5 1700000001000000000"},
        {"operation": "query_data", "org": ORG, "body": FLUX},
        {"operation": "abstract_syntax_tree", "body": json.dumps({"query": FLUX})},
        {"operation": "query_suggestions"},
        {"operation": "query_suggestions_for_branching", "name": "range"},
        {"operation": "analyze_flux_query", "body": '{"query": "from(bucket: \\"b\\""}'},
        {"operation": "list_buckets"},
        {"operation": "create_bucket", "body": json.dumps({"orgID": sandbox.org.id, "name": name,
                                                           "retentionRules": [{"type": "expire", "everySeconds": 3600}]})},
        {"operation": "retrieve_bucket", "bucket_id": bucket_id},
        {"operation": "update_bucket", "bucket_id": bucket_id, "body": '{"description": "kept by the model"}'},
        {"operation": "delete_bucket", "bucket_id": bucket_id},
    ]


def check_answers(envelopes: list[dict[str, Any]], name: str) -> None:
    """What each of the eleven saved queries must have returned, in its envelope."""
    assert [e["status"] for e in envelopes] == ["ok"] * 11
    data = [e["data"] for e in envelopes]
    assert set(envelopes[0]) == {"status", "data"}
    assert data[0]["points"] == 2 and data[0]["bucket"] == BUCKET
    assert sorted((row["room"], row["_value"]) for row in data[1]) == [("attic", 21.5), ("cellar", 12.5)]
    assert data[2]["ast"]["type"] == "Package"
    assert any(f["name"] == "range" for f in data[3]["funcs"])
    assert data[4]["name"] == "range"
    assert data[5]["errors"] and data[5]["errors"][0]["line"] == 1
    assert BUCKET in [b["name"] for b in data[6]["buckets"]]
    created = data[7]
    assert created["name"] == name and created["retentionRules"][0]["everySeconds"] == 3600
    assert data[8]["id"] == created["id"] and data[9]["description"] == "kept by the model"
    assert data[10] == {"deleted": True, "bucket_id": created["id"]}


def test_saved_queries_run_through_the_api(sandbox: Sandbox) -> None:
    created: dict[str, str] = {}
    source = saved_source(sandbox)
    envelopes = []
    for query in saved_queries(sandbox, lambda: created["id"], "model-api"):
        query = {k: (v() if callable(v) else v) for k, v in query.items()}
        envelope = api.run_saved(source, query, envelope=True)
        if query["operation"] == "create_bucket":
            created["id"] = envelope["data"]["id"]
        envelopes.append(envelope)
    assert [q["operation"] for q in saved_queries(sandbox, str, "x")] == list(MODEL_OPERATIONS)
    check_answers(envelopes, "model-api")
    assert not any(b.name == "model-api" for b in sandbox.store.buckets.values())


def test_saved_queries_run_through_the_command_line(sandbox: Sandbox, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    created: dict[str, str] = {}
    config = tmp_path / "source.json"
    config.write_text(json.dumps(saved_source(sandbox)), encoding="utf-8")
    envelopes = []
    for i, query in enumerate(saved_queries(sandbox, lambda: created["id"], "model-cli")):
        saved = tmp_path / f"query-{i}.json"
        saved.write_text(json.dumps({k: (v() if callable(v) else v) for k, v in query.items()}), encoding="utf-8")
        code = cli.main(["run", "--config", str(config), "--params-json", f"@{saved}", "--envelope"])
        out, err = capsys.readouterr()
        assert code == 0, err
        envelopes.append(json.loads(out))
        if query["operation"] == "create_bucket":
            created["id"] = envelopes[-1]["data"]["id"]
    check_answers(envelopes, "model-cli")


def test_the_same_aliases_run_as_operation_ids_and_field_names(sandbox: Sandbox) -> None:
    """Aliases work wherever a name goes: the model's operation ids and field names with conn.run."""
    with api.connect(saved_source(sandbox)) as conn:
        result = conn.run("write", {"bucket": BUCKET, "org": ORG, "body": "m v=1 1700000000000000000"})
        assert result.meta["operation"] == "write_data" and result.data["points"] == 1
        assert conn.run("abstract_syntax_tree", {"query": "x = 1"}).data["ast"]["type"] == "Package"


def test_a_failed_saved_query_comes_back_in_a_failed_envelope(sandbox: Sandbox, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "source.json"
    config.write_text(json.dumps(saved_source(sandbox)), encoding="utf-8")
    code = cli.main(["run", "--config", str(config), "--params-json",
                     json.dumps({"operation": "retrieve_bucket", "bucket_id": "0123456789abcdef"}), "--envelope"])
    out, err = capsys.readouterr()
    assert code == 4 and "404" in err
    envelope = json.loads(out)
    assert envelope["status"] == "failed" and "bucket not found" in envelope["description"]
    code = cli.main(["run", "--config", str(config), "--params-json", json.dumps({"operation": "write", "body": ""}),
                     "--envelope"])
    out, _ = capsys.readouterr()
    assert code == 2 and json.loads(out)["errors"].keys() >= {"bucket", "org", "data"}
    assert TOKEN not in out


def test_a_field_given_by_its_name_and_its_alias_is_refused(sandbox: Sandbox) -> None:
    with pytest.raises(ValidationError) as caught:
        api.run_saved(saved_source(sandbox), {"operation": "write", "bucket": BUCKET, "org": ORG,
                                              "body": "m v=1", "data": "m v=2"})
    assert caught.value.by_field() == {"data": ["is given twice, as 'body' and as 'data'"]}
    with pytest.raises(ValidationError) as caught:
        api.connect({**saved_source(sandbox), "token": TOKEN})
    assert "token" in caught.value.by_field() and TOKEN not in str(caught.value)
    with pytest.raises(ValidationError) as caught:
        api.run_saved(saved_source(sandbox), {"bucket": BUCKET})
    assert set(caught.value.by_field()) == {"operation"}


def test_the_model_names_are_declared_in_yaml_and_listed(capsys: pytest.CaptureFixture[str]) -> None:
    connector = api.load()
    assert [connector.operation(name).id for name in MODEL_OPERATIONS] == list(SEED_OPERATIONS)
    assert cli.main(["operations"]) == 0
    listing = {e["id"]: e for e in json.loads(capsys.readouterr().out)}
    assert listing["write_data"]["aliases"] == ["write"] and "aliases" not in listing["list_buckets"]
    assert cli.main(["describe", "write_data"]) == 0
    params = {p["name"]: p for p in json.loads(capsys.readouterr().out)["params"]}
    assert params["data"]["aliases"] == ["body"]


@pytest.mark.parametrize(("operation", "connector_yaml", "message"), [
    ("id: second\naliases: [first]\ntitle: Second\nrequest: {method: GET, path: /b}\nresponse: {codec: json}\n",
     None, "'first' is already used by"),
    ("id: second\ntitle: Second\nparams:\n  a: {type: string, aliases: [b]}\n  b: {type: string}\n"
     "request: {method: GET, path: /b}\nresponse: {codec: json}\n", None, "'b' is already a parameter"),
    ("id: second\ntitle: Second\nparams:\n  a: {type: string, aliases: [c]}\n  b: {type: string, aliases: [c]}\n"
     "request: {method: GET, path: /b}\nresponse: {codec: json}\n", None, "'c' is already an alias of 'a'"),
    ("id: second\ntitle: Second\nparams:\n  a: {type: string, aliases: [Bad-Name]}\n"
     "request: {method: GET, path: /b}\nresponse: {codec: json}\n", None, "does not match"),
])
def test_aliases_that_collide_are_manifest_problems(tmp_path: Path, operation: str, connector_yaml: str | None,
                                                    message: str) -> None:
    from influx_connector.errors import ManifestError
    from influx_connector.manifest import load_data_source
    from influx_connector.plugins import default_host

    (tmp_path / "operations").mkdir()
    (tmp_path / "connector.yaml").write_text(
        "manifest_version: 1\nid: probe\ntitle: Probe\nconnection:\n  fields:\n    host: {type: string}\n"
        "  base_url: 'http://{host}'\n", encoding="utf-8")
    (tmp_path / "operations" / "a_first.yaml").write_text(
        "id: first\ntitle: First\nrequest: {method: GET, path: /a}\nresponse: {codec: json}\n", encoding="utf-8")
    (tmp_path / "operations" / "b_second.yaml").write_text(operation, encoding="utf-8")
    with pytest.raises(ManifestError) as caught:
        load_data_source(tmp_path / "connector.yaml", (), default_host().provided_names())
    assert any(message in str(p) and "b_second.yaml:" in str(p) for p in caught.value.problems), caught.value.problems
