"""The README's main command: the demo runs every operation, against its own sandbox or a given server."""
from __future__ import annotations

import pytest

from influx_connector.cli import main

from .conftest import ORG
from .helpers import ALL_OPERATIONS, TOKEN, V3_OPERATIONS

#: What a v2 server serves: everything but InfluxDB 3's own operations (ping is for any server).
V2_OPERATIONS = [op for op in ALL_OPERATIONS if op not in V3_OPERATIONS or op == "ping"]
#: What an InfluxDB 3 server serves: its operations, and the v1 compatibility ones.
ON_V3 = [*V3_OPERATIONS, "write_data_v1", "query_influxql"]


@pytest.fixture(autouse=True)
def no_influx_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("INFLUX_HOST", "INFLUX_TOKEN", "INFLUX_ORG", "INFLUX_BUCKET", "INFLUX_DATABASE", "INFLUX_API"):
        monkeypatch.delenv(name, raising=False)


def test_demo_starts_the_sandbox_and_runs_every_operation(capsys: pytest.CaptureFixture) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "Started the sandbox" in out
    assert f"{len(V2_OPERATIONS)} of {len(V2_OPERATIONS)} operations ran; 0 calls failed" in out
    assert out.count("✓") == len(V2_OPERATIONS) + 1 and "✗" not in out
    assert '"_value": 12.5' in out  # the line-protocol point came back through the query
    assert "query_sql" not in out


def test_demo_with_api_v3_runs_every_v3_operation(capsys: pytest.CaptureFixture) -> None:
    assert main(["demo", "--api", "v3"]) == 0
    out = capsys.readouterr().out
    assert "Started the sandbox InfluxDB 3 API" in out
    assert f"{len(ON_V3)} of {len(ON_V3)} operations ran; 0 calls failed" in out and "✗" not in out
    assert all(f"[{op}]" in out for op in ON_V3)
    assert '{"room": "cellar", "mean_temp": 12.5, "points": 1}' in out  # SQL read the line-protocol point
    assert "[query_data]" not in out and "[list_buckets]" not in out


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
