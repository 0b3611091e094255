"""The README's main command: the demo runs every operation, against its own sandbox or a given server."""
from __future__ import annotations

import pytest

from influx_connector.cli import main

from .conftest import ORG
from .helpers import ALL_OPERATIONS, TOKEN


@pytest.fixture(autouse=True)
def no_influx_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("INFLUX_HOST", "INFLUX_TOKEN", "INFLUX_ORG", "INFLUX_BUCKET"):
        monkeypatch.delenv(name, raising=False)


def test_demo_starts_the_sandbox_and_runs_every_operation(capsys: pytest.CaptureFixture) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "Started the sandbox" in out
    assert f"{len(ALL_OPERATIONS)} of {len(ALL_OPERATIONS)} operations ran; 0 calls failed" in out
    assert out.count("✓") == len(ALL_OPERATIONS) + 1 and "✗" not in out
    assert '"_value": 12.5' in out  # the line-protocol point came back through the query


def test_demo_against_a_given_server(sandbox, capsys: pytest.CaptureFixture) -> None:
    port = sandbox.url.rsplit(":", 1)[1]
    assert main(["demo", "--host", "127.0.0.1", "--port", port, "--token", TOKEN, "--org", ORG]) == 0
    out = capsys.readouterr().out
    assert "Started the sandbox" not in out and "0 calls failed" in out
    assert any(r.path == "/api/v2/write" for r in sandbox.requests)
    assert TOKEN not in out


def test_demo_reports_failures_with_a_wrong_token(sandbox, capsys: pytest.CaptureFixture) -> None:
    port = sandbox.url.rsplit(":", 1)[1]
    assert main(["demo", "--host", "127.0.0.1", "--port", port, "--token", "wrong-token-123",
                 "--org", ORG]) == 1
    out = capsys.readouterr().out
    assert "✗ Create a bucket" in out and "401" in out and "wrong-token-123" not in out
