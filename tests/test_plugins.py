"""The plugin host: entry points load behind a guard, allow/block lists, and send middleware."""
from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from influx_connector import api, hookspecs, plugins
from influx_connector.plugins import create_host


@pytest.fixture
def fake_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An installed distribution with two influx_connector plugins: one broken, one working."""
    (tmp_path / "broken_plugin.py").write_text("raise RuntimeError('this plugin is broken on purpose')\n")
    (tmp_path / "shouting_plugin.py").write_text(
        "from influx_connector.hookspecs import hookimpl\n"
        "@hookimpl\n"
        "def influx_connector_codecs():\n"
        "    return {'shout': lambda response: response.content.decode().upper()}\n")
    info = tmp_path / "extra_plugins-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: extra-plugins\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[influx_connector]\nbroken = broken_plugin\nshouting = shouting_plugin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for env in (plugins.ALLOW_ENV, plugins.BLOCK_ENV, plugins.STRICT_ENV):
        monkeypatch.delenv(env, raising=False)
    yield tmp_path
    sys.modules.pop("shouting_plugin", None)
    sys.modules.pop("broken_plugin", None)


def test_broken_plugin_is_reported_not_fatal(fake_dist: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="influx_connector.plugins"):
        host = create_host()
    assert [f.name for f in host.failures] == ["broken"]
    assert "broken on purpose" in host.failures[0].error
    assert "plugin broken failed to load" in caplog.text
    assert "shout" in host.table("codecs") and "annotated_csv" in host.table("codecs")
    assert api.load(host=host).id == "influxdb"


def test_strict_mode_reraises(fake_dist: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(plugins.STRICT_ENV, "1")
    with pytest.raises(RuntimeError, match="broken on purpose"):
        create_host()


def test_allow_and_block_lists(fake_dist: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(plugins.ALLOW_ENV, "influxdb,shouting")
    host = create_host()
    assert host.failures == [] and "shout" in host.table("codecs")
    monkeypatch.delenv(plugins.ALLOW_ENV)
    monkeypatch.setenv(plugins.BLOCK_ENV, "broken,shouting")
    host = create_host()
    assert host.failures == [] and "shout" not in host.table("codecs")
    assert "line_protocol" in host.table("encoders")


def test_blocking_the_influxdb_plugin_removes_the_data_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(plugins.BLOCK_ENV, "influxdb")
    host = create_host()
    assert api.datasource_files(host) == []
    with pytest.raises(Exception, match="no data source 'influxdb'"):
        api.load("influxdb", host=host)


def test_every_hook_has_a_docstring_and_the_project_prefix() -> None:
    specs = [name for name in dir(hookspecs) if name.startswith("influx_connector_")]
    assert len(specs) >= 7
    for name in specs:
        assert (getattr(hookspecs, name).__doc__ or "").strip(), name


class TraceMiddleware:
    """A wrapper around sending, as a host would add tracing."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, int]] = []

    @hookspecs.hookimpl(wrapper=True)
    def influx_connector_send(self, request, operation):
        request.headers["Zap-Trace-Span"] = "trace-123"
        response = yield
        self.seen.append((operation, response.status_code))
        return response


def test_send_middleware_wraps_every_request(sandbox) -> None:
    middleware = TraceMiddleware()
    host = create_host(extra=(middleware,))
    port = int(sandbox.url.rsplit(":", 1)[1])
    from .helpers import TOKEN

    with api.connect({"host": "127.0.0.1", "port": port, "token": TOKEN}, host=host) as conn:
        conn.run("list_buckets", {"limit": 1})
        conn.run("query_suggestions")
    assert middleware.seen == [("list_buckets", 200), ("query_suggestions", 200)]
    assert [r.headers.get("Zap-Trace-Span") for r in sandbox.requests[-2:]] == ["trace-123", "trace-123"]


def _planted_plugin(folder: Path, marker: Path) -> None:
    """A package's metadata and module, as an untrusted folder could hold them: importing the
    module leaves ``marker`` behind."""
    (folder / "planted_plugin.py").write_text(f"open({str(marker)!r}, 'w').write('imported')\n")
    info = folder / "planted_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: planted-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[influx_connector]\nplanted = planted_plugin\n")


def test_the_working_folder_is_not_searched_for_plugins(tmp_path: Path) -> None:
    """``python -m influx_connector`` in a folder someone else filled: its ``*.dist-info`` is not
    a plugin. The same files in a folder put on the path on purpose are (so the check can fail)."""
    import os
    import subprocess

    untrusted, chosen = tmp_path / "downloads", tmp_path / "site"
    untrusted.mkdir()
    chosen.mkdir()
    marker = tmp_path / "imported"
    _planted_plugin(untrusted, marker)
    repo = Path(__file__).resolve().parent.parent
    env = {**os.environ, "INFLUX_CONNECTOR_CACHE": str(tmp_path / "cache"), "PYTHONPATH": str(repo)}
    for env_name in (plugins.ALLOW_ENV, plugins.BLOCK_ENV, plugins.STRICT_ENV):
        env.pop(env_name, None)
    for argv in (["-m", "influx_connector", "operations"], ["-c", "from influx_connector import cli; cli.main(['operations'])"]):
        done = subprocess.run([sys.executable, *argv], cwd=untrusted, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert "list_buckets" in done.stdout
        assert not marker.exists(), f"python {argv[0]} loaded a plugin from the working folder"

    _planted_plugin(chosen, marker)
    env["PYTHONPATH"] += os.pathsep + str(chosen)
    done = subprocess.run([sys.executable, "-m", "influx_connector", "operations"], cwd=untrusted, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert marker.exists(), "a plugin installed on the path was not loaded"
