"""pytest fixtures for host apps: a fresh sandbox InfluxDB per test, and a connection to it.

Installed through the ``pytest11`` entry point, so any project that has influx-connector
installed can use the fixtures without configuration::

    def test_my_dashboard_reads_what_it_wrote(influx_connection, influx_sandbox):
        influx_connection.run("write_data", {"data": "cpu,host=a load=0.5"})
        rows = influx_connection.run("query_data", {"query": 'from(bucket: "sandbox-bucket") |> range(start: 0)'}).data
        assert rows[0]["_value"] == 0.5
        assert len(influx_sandbox.requests) == 2

    @pytest.mark.influx_sandbox(org="acme", bucket="metrics", max_body_bytes=1024)
    def test_with_other_settings(influx_settings): ...

The fixtures are function-scoped: each test starts from an empty server, so tests cannot leak
data into each other. Everything is imported when a fixture is first used, not when pytest
loads the plugin, to keep unrelated test runs from paying for it.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from influx_connector.connection import Connection
    from influx_connector.sandbox.server import Sandbox

MARKER = "influx_sandbox"

#: What the fixtures use unless a test's ``influx_sandbox`` marker says otherwise.
DEFAULTS: dict[str, Any] = {"token": "sandbox-token", "org": "sandbox-org", "bucket": "sandbox-bucket"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): settings for the influx_sandbox fixture, passed to "
        "influx_connector.sandbox.Sandbox (token, org, org_id, bucket, extra_tokens, extra_orgs, max_body_bytes)",
    )


def sandbox_options(node: pytest.Item) -> dict[str, Any]:
    """The Sandbox keyword arguments for a test: the defaults, then markers from outermost to closest."""
    options = dict(DEFAULTS)
    for marker in reversed(list(node.iter_markers(MARKER))):
        if marker.args:
            raise pytest.UsageError(f"@pytest.mark.{MARKER} takes keyword arguments only, such as org='acme'")
        options.update(marker.kwargs)
    return options


@pytest.fixture
def influx_sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """A started sandbox InfluxDB v2 API on 127.0.0.1 (a free port), stopped after the test.

    Inspect ``.store`` for what was written, ``.requests``/``.responses`` for what went over the
    wire; set ``.midstream_error`` to make the next query answers end in an error table.
    """
    from influx_connector.sandbox.server import Sandbox

    try:
        sandbox = Sandbox(**sandbox_options(request.node))
    except TypeError as exc:
        raise pytest.UsageError(f"@pytest.mark.{MARKER}: {exc}") from None
    with sandbox:
        yield sandbox


@pytest.fixture
def influx_settings(influx_sandbox: Sandbox) -> dict[str, Any]:
    """Connection values for the sandbox, as a host app's connection form would hold them."""
    return influx_sandbox.connection_settings


@pytest.fixture
def influx_connection(influx_settings: dict[str, Any]) -> Iterator[Connection]:
    """A connector ``Connection`` to the sandbox, closed after the test."""
    from influx_connector import api

    with api.connect(influx_settings) as connection:
        yield connection
