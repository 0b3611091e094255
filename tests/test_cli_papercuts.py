"""The command line as a new user meets it: every output format, ordinary events that are not
bugs, and hints that name the flag or variable to set."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from influx_connector import api
from influx_connector.cli import main
from influx_connector.cli.main import command_registry

from .conftest import ORG
from .helpers import ALL_OPERATIONS, TOKEN

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("INFLUX_HOST", "INFLUX_TOKEN", "INFLUX_ORG", "INFLUX_BUCKET", api.OPERATIONS_ENV, api.SOURCE_ENV):
        monkeypatch.delenv(var, raising=False)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def sandbox_flags(sandbox) -> list[str]:  # type: ignore[no-untyped-def]
    return ["--host", "127.0.0.1", "--port", sandbox.url.rsplit(":", 1)[1], "--token", TOKEN, "--org", ORG]


# --- --format table, for every command or a clear refusal -------------------------------------------------


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(("operation", "params", "heading"), [
    ("list_buckets", [], "buckets:"),
    ("list_organizations", [], "orgs:"),
    ("health", [], "FIELD"),
    ("query_suggestions", [], "funcs:"),
    ("analyze_query", ["-p", "query=from(bucket: \"b\") |> range(start: -1h"], "errors:"),
    ("write_data", ["-p", "bucket=sandbox-bucket", "--data", "cpu v=1"], "FIELD"),
    ("generate_ast", ["-p", "query=buckets()"], "FIELD"),
])
def test_run_prints_a_table_for_every_kind_of_result(sandbox, capsys, operation: str, params: list[str],
                                                     heading: str) -> None:
    code, out, err = run_cli(capsys, "run", operation, *sandbox_flags(sandbox), *params, "--format", "table")
    assert code == 0, err
    assert not _is_json(out), out
    assert heading in out.splitlines()[0] or any(line.startswith(heading) for line in out.splitlines()), out


def test_every_command_prints_a_table_or_refuses_clearly(sandbox, capsys) -> None:
    """Each command the command line has either prints a table for --format table or says, with
    exit 2, that it has none; none ignores the flag."""
    flags = sandbox_flags(sandbox)
    argv = {"operations": [], "describe": ["write_data"], "forms": [], "validate": [], "run": ["health", *flags],
            "render": ["health", *flags], "test": flags, "demo": flags, "docs": ["--out", "-"],
            "sandbox": ["--port", "0"], "serve": ["--port", "0"]}
    registry = list(command_registry())
    assert {c.name for c in registry} == set(argv), "a command this test does not know"
    for command in registry:
        code, out, err = run_cli(capsys, command.name, *argv[command.name], "--format", "table")
        if "table" in command.formats:
            assert code in (0, 1), (command.name, err)
            assert out.strip() and not _is_json(out), (command.name, out)
        else:
            assert code == 2 and out == "", command.name
            assert err.startswith(f"error: {command.name}: --format table is not available"), err


# --- ordinary events are not internal errors ------------------------------------------------------------------


@pytest.mark.slow
def test_a_closed_output_is_not_an_internal_error(tmp_path: Path) -> None:
    """`influx-connector forms | head -1`: the reader goes away before the output is written."""
    env = {**os.environ, "INFLUX_CONNECTOR_CACHE": str(tmp_path / "cache")}
    proc = subprocess.Popen([sys.executable, "-m", "influx_connector", "forms"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the process has printed anything: it starts slower than this
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141, err
    assert err == "", err


def test_a_port_in_use_is_named_with_what_to_do(capsys) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = run_cli(capsys, "sandbox", "--port", str(port))
    assert code == 2 and out == ""
    assert err.strip() == (f"error: sandbox: port {port} on 127.0.0.1 is already in use (another sandbox or "
                           "server listens there): pick another with --port, or --port 0 for a free one")


# --- hints ------------------------------------------------------------------------------------------------------


def test_no_connection_names_the_flags_and_variables(capsys) -> None:
    code, out, err = run_cli(capsys, "run", "health")
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert lines[0] == "error: invalid connection:"
    assert lines[-1] == ("hint: give token with --token or INFLUX_TOKEN; host with --host or INFLUX_HOST; "
                         "or put them in a file named with --config")


def test_a_refused_token_hints_at_the_token(sandbox, capsys) -> None:
    flags = [f if f != TOKEN else "wrong-token-4d2c" for f in sandbox_flags(sandbox)]
    code, _, err = run_cli(capsys, "run", "list_buckets", *flags)
    assert code == 4
    assert err.splitlines()[-1] == "hint: the server did not accept the credentials: check them (--token or INFLUX_TOKEN)"
    assert "wrong-token-4d2c" not in err


def test_https_to_an_http_server_hints_at_http(sandbox, capsys) -> None:
    code, _, err = run_cli(capsys, "run", "health", *sandbox_flags(sandbox), "--protocol", "https")
    assert code == 5
    assert "WRONG_VERSION_NUMBER" in err or "wrong version number" in err
    assert err.splitlines()[-1] == ("hint: the server answered in plain http, not https: connect over http with "
                                    "--protocol http, or an http:// URL")


# --- validate ----------------------------------------------------------------------------------------------------


BROKEN_OPERATION = """\
id: broken_op
title: Broken
params:
  size: {type: sting, title: Size}
  verbose: {type: boolean}
request:
  method: GET
  path: /things/{thing}
  query: {n: {$param: sise}}
response: {codec: jsno, sucess: [200]}
"""

GOOD_OPERATION = """\
id: ping_server
title: Ping the server
params:
  unused: {type: string}
request: {method: GET, path: /ping}
response: {codec: empty, success: [204]}
"""


@pytest.fixture
def extra(tmp_path: Path) -> Path:
    folder = tmp_path / "extra"
    folder.mkdir()
    (folder / "broken_op.yaml").write_text(BROKEN_OPERATION, encoding="utf-8")
    (folder / "ping_server.yaml").write_text(GOOD_OPERATION, encoding="utf-8")
    return folder


def test_validate_reports_every_problem_of_a_file_in_one_round(extra: Path, capsys) -> None:
    code, out, err = run_cli(capsys, "validate", str(extra))
    assert code == 3
    problems = out.splitlines()
    text = "\n".join(problems)
    # The schema's and the references' problems together: the typo, the unknown key, the
    # parameter and path field that do not exist, the codec nothing provides.
    assert "broken_op.yaml:4:16: /params/size/type: 'sting' is not one of" in text
    assert "(did you mean 'string'?)" in text and "{\"enum\"" not in text
    assert "/response/sucess: unknown key 'sucess' (did you mean 'success'?)" in text
    assert "/request/query/n/$param: 'sise' is not a parameter of this operation (did you mean 'size'?)" in text
    assert "/request/path: path field '{thing}' is not a parameter" in text
    assert "/response/codec: no plugin provides the codec 'jsno' (did you mean 'json'?)" in text
    assert sum("broken_op.yaml" in line for line in problems) == 5, text
    # A parameter nothing uses: a warning, in a file that has no error.
    assert ("ping_server.yaml:4:3: warning: /params/unused: nothing uses the parameter 'unused'" in text), text
    assert "5 problems found, and 1 warning" in err


def test_validate_reads_the_operations_variable(extra: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv(api.OPERATIONS_ENV, str(extra))
    code, out, _ = run_cli(capsys, "validate")
    assert code == 3 and "broken_op.yaml" in out


def test_validate_an_operations_folder_and_the_same_folder_twice(extra: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys) -> None:
    (extra / "broken_op.yaml").unlink()
    monkeypatch.setenv(api.OPERATIONS_ENV, str(extra))
    code, out, err = run_cli(capsys, "validate", str(extra), "--operations-dir", str(extra))
    assert code == 0, out + err
    assert out.splitlines()[-1].startswith("OK: influxdb")
    assert out.splitlines()[-1].endswith(f": {len(ALL_OPERATIONS) + 1} operations (1 warning)")
    assert "already used" not in out


def test_validate_json_and_table_reports(extra: Path, capsys) -> None:
    code, out, _ = run_cli(capsys, "validate", str(extra), "--format", "json")
    report = json.loads(out)
    assert code == 3 and report["ok"] is False
    assert {p["severity"] for p in report["problems"]} == {"error", "warning"}
    code, out, _ = run_cli(capsys, "validate", str(extra), "--format", "table")
    assert code == 3
    assert out.splitlines()[0].split()[:4] == ["SEVERITY", "FILE", "LINE", "COL"]


# --- a broken extension file ------------------------------------------------------------------------------------


def test_a_broken_extension_file_leaves_the_other_operations_running(extra: Path, sandbox, capsys) -> None:
    loaded = api.load(extra_operation_dirs=[extra])
    assert "ping_server" in loaded.operations and "write_data" in loaded.operations
    assert "broken_op" not in loaded.operations
    errors = [p for p in loaded.problems if p.is_error]
    assert len(errors) == 5 and all(p.file.endswith("broken_op.yaml") for p in errors)
    assert [p.pointer for p in loaded.problems if not p.is_error] == ["/params/unused"]
    code, out, err = run_cli(capsys, "run", "ping_server", "--operations-dir", str(extra), *sandbox_flags(sandbox))
    assert code == 0 and json.loads(out)["status"] == 204
    code, out, err = run_cli(capsys, "operations", "--operations-dir", str(extra))
    assert code == 0 and "ping_server" in out
    from influx_connector.errors import ManifestError

    with pytest.raises(ManifestError) as caught:
        api.load(extra_operation_dirs=[extra], strict=True)
    assert len([p for p in caught.value.problems if p.is_error]) == 5


def test_demo_steps_are_checked_with_the_manifest(tmp_path: Path, capsys) -> None:
    import shutil

    from influx_connector.influxdb import connector_file

    shutil.copy(connector_file(), tmp_path / "connector.yaml")
    shutil.copytree(connector_file().parent / "operations", tmp_path / "operations")
    (tmp_path / "demo.yaml").write_text(
        "demo_version: 1\nsteps:\n"
        "  - title: A\n    operation: list_bucket\n"
        "  - title: B\n    operation: list_buckets\n    params: {limt: 2, name: {$var: bucket}}\n"
        "  - title: C\n    operation: health\n    params: {x: {$nwo: s}}\n", encoding="utf-8")
    code, out, _ = run_cli(capsys, "validate", str(tmp_path))
    assert code == 3
    assert "demo.yaml:4:16: /steps/0/operation: no operation 'list_bucket' (did you mean 'list_buckets'?)" in out
    assert "/steps/1/params/limt: 'limt' is not a parameter of 'list_buckets' (did you mean 'limit'?)" in out
    assert "/steps/1/params/name/$var: no variable 'bucket' is defined before this" in out
    assert "/steps/2/params/x: '$nwo' is not one of ['$var', '$now', '$format'] (did you mean '$now'?)" in out
