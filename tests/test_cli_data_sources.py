"""The command line picks its data source generically, and plugins add commands to it.

Plugins here are installed packages as a user would have them: a ``*.dist-info`` with an
``influx_connector`` entry point on the import path, found through the package metadata.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from influx_connector import api, plugins
from influx_connector.cli import main

NOTES = Path(__file__).parent / "fixtures" / "notes" / "connector.yaml"


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on the import path where a test installs plugins with ``install``; the
    process-wide plugin host is made again before and after."""
    for name in (plugins.ALLOW_ENV, plugins.BLOCK_ENV, plugins.STRICT_ENV, api.SOURCE_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    plugins.reset_default_host()
    yield tmp_path
    plugins.reset_default_host()
    for module in [m for m in sys.modules if m.startswith("cli_test_plugin_")]:
        sys.modules.pop(module)


def install(folder: Path, name: str, source: str) -> None:
    """An installed distribution whose module ``cli_test_plugin_<name>`` is an entry point."""
    module = f"cli_test_plugin_{name}"
    (folder / f"{module}.py").write_text(source, encoding="utf-8")
    info = folder / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[influx_connector]\n{name} = {module}\n")


NOTES_PLUGIN = f"""
from influx_connector.hookspecs import hookimpl

@hookimpl
def influx_connector_datasources():
    return [{str(NOTES)!r}]
"""


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_with_two_data_sources_installed_one_is_named(installed: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    install(installed, "notes", NOTES_PLUGIN)
    code, out, err = run_cli(capsys, "operations")
    assert code == 2 and out == ""
    assert "error: several data sources are installed (influxdb, notes): name the one to use" in err
    assert api.SOURCE_ENV in err
    code, out, _ = run_cli(capsys, "operations", "--data-source", "notes")
    assert code == 0 and [e["id"] for e in json.loads(out)] == ["add_note", "get_note", "list_notes"]
    code, out, _ = run_cli(capsys, "--source", "influxdb", "operations")
    assert code == 0 and "write_data" in out
    monkeypatch.setenv(api.SOURCE_ENV, "notes")
    code, out, _ = run_cli(capsys, "describe", "--connection")
    assert code == 0 and json.loads(out)["id"] == "notes"
    # A command that needs no data source runs all the same.
    code, out, _ = run_cli(capsys, "validate", str(NOTES.parent))
    assert code == 0 and out.startswith("OK: notes")


def test_an_unknown_data_source_lists_the_installed_ones(installed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "operations", "--data-source", "influx")
    assert code == 2
    assert err.startswith("error: no data source 'influx' (did you mean 'influxdb'?); installed: influxdb")


def test_an_allow_list_that_drops_the_data_source_says_so(installed: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(plugins.ALLOW_ENV, "x")
    code, out, err = run_cli(capsys, "operations")
    assert code == 2 and out == ""
    assert err.strip() == ("error: no data source is installed; plugins not loaded: "
                           "influxdb (left out by INFLUX_CONNECTOR_PLUGINS=x)")
    # Its flags are gone with it: the error says why rather than that --host is unknown.
    code, _, err = run_cli(capsys, "run", "health", "--host", "localhost")
    assert code == 2 and "left out by INFLUX_CONNECTOR_PLUGINS=x" in err and "unrecognized" not in err


def test_a_plugin_adds_a_command(installed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    install(installed, "hello", """
from influx_connector.hookspecs import hookimpl

def _arguments(parser):
    parser.add_argument("--name", default="world")

def _hello(inv):
    print(f"hello {inv.args.name} from {inv.data_source().id}")
    return 0

@hookimpl
def influx_connector_register_commands(commands):
    commands.add("hello", _hello, help="say hello", arguments=_arguments, uses="data source")
    commands.add("operations", _hello, help="a name that is taken")
""")
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0 and "say hello" in out and "sandbox" in out
    code, out, err = run_cli(capsys, "hello", "--name", "you")
    assert (code, out) == (0, "hello you from influxdb\n")
    assert "warning: command 'operations' of hello not added: influx-connector already has that name" in err
    code, out, _ = run_cli(capsys, "operations")
    assert code == 0 and json.loads(out)[0]["id"] == "write_data"
    code, _, err = run_cli(capsys, "hello", "--format", "table")
    assert code == 2 and "hello: --format table is not available: it has no output formats" in err


def test_a_plugin_whose_commands_fail_is_skipped(installed: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    install(installed, "faulty", """
from influx_connector.hookspecs import hookimpl

@hookimpl
def influx_connector_register_commands(commands):
    raise RuntimeError("no commands today")
""")
    code, out, err = run_cli(capsys, "operations")
    assert code == 0 and json.loads(out)
    assert "warning: plugin faulty could not add its commands: RuntimeError: no commands today" in err
    monkeypatch.setenv(plugins.STRICT_ENV, "1")
    code, out, err = run_cli(capsys, "operations")
    assert code == 3 and out == ""
    assert err.startswith("error: plugin 'faulty' failed to load: RuntimeError: no commands today")


def test_a_plugin_that_fails_to_load_in_strict_mode_is_named(installed: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    install(installed, "broken", "raise ImportError('a dependency is missing')\n")
    code, out, err = run_cli(capsys, "operations")
    assert code == 0 and json.loads(out)
    assert "warning: plugin broken failed to load and was skipped: ImportError: a dependency is missing" in err
    monkeypatch.setenv(plugins.STRICT_ENV, "1")
    plugins.reset_default_host()
    code, out, err = run_cli(capsys, "operations")
    assert code == 3 and out == ""
    assert err.startswith("error: plugin 'broken' failed to load: ImportError: a dependency is missing")
    assert "internal error" not in err and "Traceback" not in err


def test_connection_fields_named_like_the_command_lines_own_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """A field named like an option of the command line (data, format) gets no flag of its own
    unless the data source words one; a declared flag that clashes is a manifest problem."""
    import shutil

    shutil.copytree(NOTES.parent, tmp_path / "notes")
    source = tmp_path / "notes" / "connector.yaml"
    text = source.read_text().replace("  base_url:", "    data: {type: string, title: Data}\n"
                                                  "    format: {type: string, title: Format}\n  base_url:")
    source.write_text(text)
    monkeypatch.delenv(api.SOURCE_ENV, raising=False)
    code, out, err = run_cli(capsys, "render", "get_note", "--data-source", str(source), "--host", "h",
                             "--api-key", "key-1234", "-p", "note_id=1", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["url"] == "http://h:80/v1/notes/1"
    source.write_text(text + "command_line:\n  flags: [host, api_key, format]\n")
    code, out, err = run_cli(capsys, "render", "get_note", "--data-source", str(source), "-p", "note_id=1")
    assert code == 3 and out == ""
    assert "the flag --format is one the command line uses itself (give the field another flag name" in err
