"""Extending the data source: an operation file outside the package shows up and runs."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from influx_connector import api, forms
from influx_connector.cli import main

from .helpers import ALL_OPERATIONS, TOKEN

PING = """\
id: ping_server
title: Ping the server
description: Checks that the server answers and reports its version.
params:
  verbose:
    type: boolean
    title: Verbose
    default: false
request:
  method: GET
  path: /ping
response:
  success: [204]
  codec: empty
  options:
    data:
      alive: true
examples:
  - name: a ping is a bare GET
    params: {}
    request: {method: GET, path: /ping}
"""


@pytest.fixture
def extra_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "my-operations"
    folder.mkdir()
    (folder / "ping_server.yaml").write_text(PING)
    return folder


def test_extra_folder_by_argument(extra_dir: Path, sandbox) -> None:
    connector = api.load(extra_operation_dirs=[extra_dir])
    assert "ping_server" in connector.operations and len(connector.operations) == len(ALL_OPERATIONS) + 1
    assert "ping_server" not in api.load().operations  # the package itself is unchanged
    form = forms.operation_form(connector, connector.operations["ping_server"])
    assert form["schema"]["properties"]["verbose"]["default"] is False
    port = int(sandbox.url.rsplit(":", 1)[1])
    with api.connect({"host": "127.0.0.1", "port": port, "token": TOKEN}, extra_operation_dirs=[extra_dir]) as c:
        result = c.run("ping_server")
    assert (result.status, result.data) == (204, {"alive": True})
    assert sandbox.requests[-1].path == "/ping"


def test_extra_folder_by_environment(extra_dir: Path, sandbox, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv(api.OPERATIONS_ENV, str(extra_dir))
    assert "ping_server" in api.load().operations
    assert main(["operations"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[-1]["id"] == "ping_server"
    assert main(["forms"]) == 0
    assert "Ping the server" in capsys.readouterr().out
    port = sandbox.url.rsplit(":", 1)[1]
    assert main(["run", "ping_server", "--host", "127.0.0.1", "--port", port, "--token", TOKEN]) == 0
    assert json.loads(capsys.readouterr().out)["data"] == {"alive": True}


def test_a_file_dropped_later_shows_up_without_restart(extra_dir: Path) -> None:
    before = api.load(extra_operation_dirs=[extra_dir])
    (extra_dir / "health.yaml").write_text(
        "id: server_health\ntitle: Server health\nrequest: {method: GET, path: /health}\nresponse: {codec: json}\n")
    after = api.load(extra_operation_dirs=[extra_dir])
    assert "server_health" not in before.operations and "server_health" in after.operations


def test_a_broken_extra_file_is_reported_with_its_position(extra_dir: Path, capsys: pytest.CaptureFixture) -> None:
    (extra_dir / "bad.yaml").write_text("id: bad\ntitle: Bad\nrequest: {method: GET, path: /x}\n"
                                        "response: {codec: json, sucess: [200]}\n")
    assert main(["validate", "--operations-dir", str(extra_dir)]) == 3
    out = capsys.readouterr().out
    assert "bad.yaml:4:" in out and "unknown key 'sucess'" in out and "did you mean 'success'" in out


@pytest.mark.parametrize("chart, problem", [
    ("{time: t, value: v}", None),
    ("{time: t, values: numbers}", None),
    ("{time: t}", "does not match any allowed form"),
    ("{time: t, value: v, values: numbers}", "is valid under each of"),
    ("{time: t, values: words}", "is not one of ['numbers']"),
])
def test_a_chart_hint_names_one_value_column_or_asks_for_every_column_of_numbers(
        tmp_path: Path, chart: str, problem: str | None) -> None:
    (tmp_path / "charted.yaml").write_text(
        f"id: charted\ntitle: Charted\nresult:\n  chart: {chart}\nrequest: {{method: GET, path: /query}}\n"
        "response: {codec: json}\n")
    loaded = api.load(extra_operation_dirs=[tmp_path])
    if problem is None:
        assert "charted" in loaded.operations and not loaded.problems
    else:
        assert "charted" not in loaded.operations
        assert any("/result/chart" in str(p) and problem in str(p) for p in loaded.problems), loaded.problems
