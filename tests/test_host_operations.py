"""The operations a saved data source lists are those its server serves: the manifest's ``needs``
against the connection's values, and, for a field found out from the server (InfluxDB's API set
to ``auto``), what Test connection found out, remembered in the service's database."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from influx_connector.host import build_app, start
from influx_connector.host.openapi import document
from influx_connector.sandbox import Sandbox

from .helpers import TOKEN
from .hostkit import Client
from .test_second_manifest import KEY as NOTES_KEY
from .test_second_manifest import NOTES, notes_server  # noqa: F401 (a fixture)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[Client, Any]]:
    with start(build_app(tmp_path / "host.sqlite3", sources=[NOTES])) as running:
        yield Client(running.url, running.key), running


@pytest.fixture
def sandbox3() -> Iterator[Sandbox]:
    with Sandbox(token=TOKEN, api="v3", bucket=None) as sb:
        yield sb


def listed(client: Client, source_id: str) -> dict[str, Any]:
    answer = client.get(f"/api/data-sources/{source_id}/operations")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    # What the served OpenAPI document promises.
    schemas = document()["components"]["schemas"]
    jsonschema.validate(body, {**schemas["SourceOperations"], "$defs": schemas})
    return body


def available(body: dict[str, Any]) -> list[str]:
    return [o["id"] for o in body["operations"] if o["available"]]


def test_auto_lists_everything_until_tested_then_only_its_servers_operations(service, sandbox: Sandbox) -> None:
    client, _ = service
    saved = client.save_source("v2 server", "influxdb", {**sandbox.connection_settings, "api": "auto"})
    before = listed(client, saved["id"])
    assert before["undetermined"] == ["api"] and before["detected"] == {}
    assert all(o["available"] for o in before["operations"])

    assert client.post(f"/api/data-sources/{saved['id']}/test").json()["ok"] is True
    after = listed(client, saved["id"])
    assert after["undetermined"] == [] and after["detected"] == {"api": "v2"}
    ops = {o["id"]: o for o in after["operations"]}
    assert ops["query_data"]["available"] and ops["query_data"]["reason"] is None
    sql = ops["query_sql"]
    assert not sql["available"] and sql["needs"] == {"api": ["v3"]}
    assert "speaks API v2 (found out from the server's answer)" in sql["reason"]
    # Listed in the data source's declared order, the refused ones left in their places.
    assert [o["id"] for o in after["operations"]] == [o["id"] for o in before["operations"]]
    assert client.get(f"/api/data-sources/{saved['id']}").json()["detected"] == {"api": "v2"}

    # Running one for the other API is refused before sending, naming the server's API.
    sent = len(sandbox.requests)
    refused = client.post("/api/run", {"data_source": saved["id"], "operation": "query_sql",
                                       "params": {"db": "b", "q": "SELECT 1"}})
    assert refused.status_code == 422
    assert "this server speaks API v2" in " ".join(refused.json()["error"]["by_field"]["api"])
    assert len(sandbox.requests) == sent


def test_what_a_test_found_out_is_shared_by_every_process_and_forgotten_when_the_values_change(
        tmp_path: Path, sandbox3: Sandbox) -> None:
    db = tmp_path / "shared.sqlite3"
    with start(build_app(db)) as one, start(build_app(db)) as two:
        first, second = Client(one.url, one.key), Client(two.url, two.key)
        saved = first.save_source("v3 server", "influxdb", dict(sandbox3.connection_settings))
        assert "query_data" in available(listed(second, saved["id"]))  # the other process opens it too
        assert first.post(f"/api/data-sources/{saved['id']}/test").json()["ok"] is True
        # The other process's open connection learns it: a new revision.
        there = listed(second, saved["id"])
        assert there["detected"] == {"api": "v3"} and "query_data" not in available(there)
        assert "query_sql" in available(there) and "create_database" in available(there)

        # A new name reaches the same server: still known. New values may not: found out again.
        renamed = second.put(f"/api/data-sources/{saved['id']}", {"name": "renamed", "values": {
            k: v for k, v in sandbox3.connection_settings.items() if k != "token"}}).json()
        assert renamed["detected"] == {"api": "v3"}
        moved = second.put(f"/api/data-sources/{saved['id']}", {"values": {
            **{k: v for k, v in sandbox3.connection_settings.items() if k != "token"}, "timeout": 7}}).json()
        assert moved["detected"] == {}
        assert listed(first, saved["id"])["undetermined"] == ["api"]


def test_a_set_api_needs_no_test_and_the_reason_says_so(service, sandbox3: Sandbox) -> None:
    client, _ = service
    saved = client.save_source("v3", "influxdb", {**sandbox3.connection_settings, "api": "v3"})
    body = listed(client, saved["id"])
    assert body["undetermined"] == [] and body["detected"] == {}
    ops = {o["id"]: o for o in body["operations"]}
    assert {"query_sql", "query_influxql_v3", "write_lp", "create_database", "ping"} <= set(available(body))
    assert not ops["write_data"]["available"]
    assert "speaks API v3 (as the connection is set)" in ops["write_data"]["reason"]


def test_a_data_source_without_needs_lists_all_its_operations(service, notes_server) -> None:
    client, _ = service
    saved = client.save_source("notes", "notes", {"host": "127.0.0.1", "port": notes_server[0], "api_key": NOTES_KEY})
    body = listed(client, saved["id"])
    assert body["undetermined"] == [] and available(body) == ["add_note", "get_note", "list_notes"]
    assert client.get("/api/data-sources/nosuch/operations").status_code == 404
