"""The influx-connector command line, called in-process through ``main`` and once as a subprocess."""
from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
from datetime import UTC
from urllib.parse import urlsplit

import pytest

from influx_connector import api, cli, influxdb, resources
from influx_connector.forms import all_forms

from .helpers import ALL_OPERATIONS

TOKEN = "cli-test-token-5f3a9c"
SANDBOX_TOKEN = "sandbox-token-0123456789"
SANDBOX_ORG = "sandbox-org"
SANDBOX_BUCKET = "sandbox-bucket"
OPERATION_IDS = set(ALL_OPERATIONS)
CONN = ["--host", "localhost", "--token", TOKEN]
# Where the parts of a URL go, as InfluxDB's base URL places them.
INFLUX_URL = cli.url_fields(api.load().connection.base_url)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own influx settings must not leak into the tests."""
    for var in ("INFLUX_HOST", "INFLUX_TOKEN", "INFLUX_ORG", "INFLUX_BUCKET", api.OPERATIONS_ENV):
        monkeypatch.delenv(var, raising=False)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def rendered(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    code, out, err = run_cli(capsys, "render", *argv)
    assert code == 0, err
    return json.loads(out)


# --- operations, describe, forms ---------------------------------------------------------------------


def test_operations_lists_all_with_titles_and_required(capsys):
    code, out, _ = run_cli(capsys, "operations")
    assert code == 0
    listing = json.loads(out)
    assert [e["id"] for e in listing] == list(ALL_OPERATIONS)
    assert {e["id"] for e in listing} == OPERATION_IDS
    by_id = {e["id"]: e for e in listing}
    assert by_id["write_data"]["title"] == "Write data"
    assert by_id["list_buckets"]["title"] == "List buckets"
    assert by_id["write_data"]["required"] == ["bucket", "org", "data"]
    assert by_id["create_bucket"]["requires_one_of"] == [["name", "org"], ["body"]]


def test_operations_table_has_aligned_columns(capsys):
    code, out, _ = run_cli(capsys, "operations", "--format", "table")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "TITLE", "REQUIRED"]
    assert len(lines) == 2 + len(ALL_OPERATIONS)
    title_col = lines[0].index("TITLE")
    write = next(line for line in lines if line.startswith("write_data "))
    assert write[title_col:].startswith("Write data")
    assert write.rstrip().endswith("bucket, org, data")


def test_format_flag_is_accepted_before_the_subcommand(capsys):
    code, out, _ = run_cli(capsys, "--format", "table", "operations")
    assert code == 0
    assert out.startswith("ID")


def test_describe_shows_params_form_and_description(capsys):
    code, out, _ = run_cli(capsys, "describe", "write_data")
    assert code == 0
    doc = json.loads(out)
    assert doc["id"] == "write_data"
    assert doc["description"].startswith("Writes points to a bucket")
    params = {p["name"]: p for p in doc["params"]}
    assert params["data"]["required"] is True
    assert params["bucket"]["default_from"] == "bucket"
    assert params["precision"]["default"] == "ns"
    assert "default" not in params["data"]
    assert set(doc["form"]) == {"schema", "uiSchema"}
    assert doc["form"]["schema"]["properties"]["precision"]["enum"][0] == "ns"
    assert doc["form"]["uiSchema"]["ui:order"] == ["bucket", "org", "precision", "data_format", "data", "batch_size"]


def test_describe_connection_shows_connection_form(capsys):
    code, out, _ = run_cli(capsys, "describe", "--connection")
    assert code == 0
    doc = json.loads(out)
    fields = {f["name"]: f for f in doc["fields"]}
    assert fields["token"]["secret"] is True and fields["token"]["required"] is True
    assert fields["port"]["default"] == 8086
    assert doc["form"]["uiSchema"]["token"]["ui:widget"] == "password"


def test_describe_unknown_operation_suggests_the_closest(capsys):
    code, _, err = run_cli(capsys, "describe", "list_bucket")
    assert code == 2
    assert err.startswith("error: no operation 'list_bucket'")
    assert "did you mean 'list_buckets'" in err


def test_describe_needs_an_operation_or_connection(capsys):
    code, _, err = run_cli(capsys, "describe")
    assert code == 2
    assert "--connection" in err


def test_forms_prints_what_a_host_loads(capsys):
    code, out, _ = run_cli(capsys, "forms")
    assert code == 0
    expected = json.loads(json.dumps(all_forms(api.load())))
    assert json.loads(out) == expected
    assert len(expected["operations"]) == len(ALL_OPERATIONS)


# --- validate ----------------------------------------------------------------------------------------------


def test_validate_builtin_manifest_is_ok(capsys):
    code, out, _ = run_cli(capsys, "validate")
    assert code == 0
    assert out.startswith("OK: influxdb")
    assert f"{len(ALL_OPERATIONS)} operations" in out


def test_validate_reports_a_misspelt_key_with_its_position(tmp_path, capsys):
    shutil.copy(influxdb.connector_file(), tmp_path / "connector.yaml")
    ops = tmp_path / "operations"
    ops.mkdir()
    # connector.yaml orders all built-in operations, so copy them; then add a broken one.
    for f in (resources.manifest_dir() / "operations").glob("*.yaml"):
        shutil.copy(f, ops / f.name)
    (ops / "ping.yaml").write_text(
        "id: ping\n"
        "title: Ping\n"
        "params:\n"
        "  verbose:\n"
        "    type: boolean\n"
        "    reqired: true\n"
        "request:\n"
        "  method: GET\n"
        "  path: /ping\n"
        "response:\n"
        "  codec: empty\n",
        encoding="utf-8")
    code, out, err = run_cli(capsys, "validate", str(tmp_path))
    assert code == 3
    assert re.search(r"ping\.yaml:6:5: /params/verbose/reqired: unknown key 'reqired'", out), out
    assert "did you mean 'required'" in out
    assert "1 problem found" in err


def test_validate_json_format_lists_problems(tmp_path, capsys):
    shutil.copy(influxdb.connector_file(), tmp_path / "connector.yaml")
    (tmp_path / "operations").mkdir()
    code, out, _ = run_cli(capsys, "validate", str(tmp_path), "--format", "json")
    assert code == 3
    doc = json.loads(out)
    assert doc["ok"] is False
    # operation_order names every built-in operation, and this folder has none of them.
    assert len(doc["problems"]) == len(ALL_OPERATIONS)
    assert all(p["file"].endswith("connector.yaml") and p["line"] > 1 for p in doc["problems"])


def test_validate_a_folder_without_connector_yaml_is_a_usage_error(tmp_path, capsys):
    code, _, err = run_cli(capsys, "validate", str(tmp_path))
    assert code == 2
    assert "no connector.yaml" in err


# --- render, connection values -------------------------------------------------------------------------------


def test_render_curl_masks_the_token(capsys):
    code, out, err = run_cli(capsys, "render", "list_buckets", *CONN, "--curl", "-p", "limit=5")
    assert code == 0, err
    assert TOKEN not in out + err
    assert "Token ****" in out
    assert out.startswith("curl --request GET 'http://localhost:8086/api/v2/buckets?limit=5'")


def test_render_json_masks_the_token(capsys):
    doc = rendered(capsys, "list_buckets", *CONN)
    assert doc["headers"]["Authorization"] == "Token ****"
    assert TOKEN not in json.dumps(doc)


def test_common_options_work_before_and_after_the_subcommand(capsys):
    code, out, err = run_cli(capsys, "--host", "before.example", "--token", TOKEN, "--header", "X-A: 1",
                             "render", "list_buckets", "--port", "9999", "--header", "X-B: 2")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["url"].startswith("http://before.example:9999/api/v2/buckets")
    # Both headers are there; their values are masked, as every extra header's value is a secret.
    assert doc["headers"]["X-A"] == doc["headers"]["X-B"] == "****"


def test_influx_host_environment_is_split_into_fields(monkeypatch, capsys):
    monkeypatch.setenv("INFLUX_HOST", "https://example.com/prefix/")
    monkeypatch.setenv("INFLUX_TOKEN", TOKEN)
    monkeypatch.setenv("INFLUX_ORG", "env-org")
    doc = rendered(capsys, "list_buckets")
    assert doc["url"] == "https://example.com:443/prefix/api/v2/buckets?limit=20&org=env-org"
    assert TOKEN not in json.dumps(doc)


@pytest.mark.parametrize(("url", "expected"), [
    ("http://localhost:8086", {"protocol": "http", "host": "localhost", "port": 8086, "base_path": ""}),
    ("https://example.com/prefix", {"protocol": "https", "host": "example.com", "port": 443, "base_path": "/prefix"}),
    ("http://example.com", {"protocol": "http", "host": "example.com", "port": 80, "base_path": ""}),
    ("http://[::1]:9999/a/b/", {"protocol": "http", "host": "[::1]", "port": 9999, "base_path": "/a/b"}),
    ("influx.local", {"host": "influx.local"}),
])
def test_split_host_url(url, expected):
    assert cli.split_host_url(url, "INFLUX_HOST", INFLUX_URL) == expected


@pytest.mark.parametrize("url", ["http://user:pw@h:8086", "http://h:port", "http://h:8086/?x=1"])
def test_split_host_url_rejects_bad_urls_without_echoing_them(url):
    with pytest.raises(cli.UsageError) as info:
        cli.split_host_url(url, "INFLUX_HOST", INFLUX_URL)
    assert str(info.value).startswith("INFLUX_HOST:")
    assert url not in str(info.value)


def test_bad_influx_host_exits_2(monkeypatch, capsys):
    monkeypatch.setenv("INFLUX_HOST", "http://h:notaport")
    monkeypatch.setenv("INFLUX_TOKEN", TOKEN)
    code, _, err = run_cli(capsys, "render", "list_buckets")
    assert code == 2
    assert "INFLUX_HOST: the port" in err


def test_host_flag_accepts_a_url(capsys):
    doc = rendered(capsys, "list_buckets", "--host", "https://db.example:9443/influx", "--token", TOKEN)
    assert doc["url"].startswith("https://db.example:9443/influx/api/v2/buckets")


def test_precedence_flags_over_environment_over_config(tmp_path, monkeypatch, capsys):
    config = tmp_path / "conn.yaml"
    config.write_text("host: config-host\nport: 1111\norg: config-org\nbucket: config-bucket\n"
                      f"token: {TOKEN}\nheaders: {{X-Config: c}}\n", encoding="utf-8")
    monkeypatch.setenv("INFLUX_HOST", "http://env-host:2222")
    monkeypatch.setenv("INFLUX_ORG", "env-org")
    doc = rendered(capsys, "write_data", "--config", str(config), "--port", "3333", "--header", "X-Flag: f",
                   "--data", "cpu v=1")
    url = urlsplit(doc["url"])
    assert url.netloc == "env-host:3333"  # host from env, port from the flag
    assert "org=env-org" in url.query  # env over config
    assert "bucket=config-bucket" in url.query  # only in the config file
    assert doc["headers"]["X-Config"] == doc["headers"]["X-Flag"] == "****"  # both merged in, values masked


def test_json_config_file_is_read(tmp_path, capsys):
    config = tmp_path / "conn.json"
    config.write_text(json.dumps({"host": "json-host", "token": TOKEN, "protocol": "https"}), encoding="utf-8")
    doc = rendered(capsys, "list_buckets", "--config", str(config))
    assert doc["url"].startswith("https://json-host:8086/")


@pytest.mark.parametrize(("content", "message"), [
    ("- a\n- b\n", "must be a mapping"),
    (f"token: {TOKEN}\nhost: [unclosed\n", "not valid YAML or JSON"),
])
def test_bad_config_file_is_a_usage_error_that_hides_its_content(tmp_path, capsys, content, message):
    config = tmp_path / "conn.yaml"
    config.write_text(content, encoding="utf-8")
    code, out, err = run_cli(capsys, "render", "list_buckets", "--config", str(config))
    assert code == 2
    assert message in err
    assert TOKEN not in out + err


def test_invalid_connection_value_lists_each_field(capsys):
    code, _, err = run_cli(capsys, "render", "list_buckets", "--host", "localhost", "--port", "0")
    assert code == 2
    lines = err.splitlines()
    assert lines[0] == "error: invalid connection:"
    assert "  token: is required" in lines
    assert any(line.startswith("  port: must be at least 1") for line in lines)


def test_bad_header_flag_exits_2(capsys):
    code, _, err = run_cli(capsys, "render", "list_buckets", *CONN, "--header", "no-colon-here")
    assert code == 2
    assert "Name: value" in err


def test_insecure_warns_on_stderr(capsys):
    code, _, err = run_cli(capsys, "render", "list_buckets", *CONN, "--protocol", "https", "--insecure")
    assert code == 0
    assert "warning: TLS certificate verification is off" in err


# --- parameters -------------------------------------------------------------------------------------------------------


def test_p_values_are_converted_by_declared_type(capsys):
    doc = rendered(capsys, "list_buckets", *CONN, "-p", "limit=7", "-p", "offset=3", "-p", "all_pages=no")
    assert "limit=7&offset=3" in doc["url"]
    doc = rendered(capsys, "query_data", *CONN, "-p", "org=o", "-p", "query=buckets()",
                   "-p", 'params={"n": 1}')
    assert doc["json"]["params"] == {"n": 1}


@pytest.mark.parametrize(("text", "types", "expected"), [
    ("42", ["integer"], 42),
    ("-3", ["integer"], -3),
    ("2.5", ["number"], 2.5),
    ("5", ["number"], 5),
    ("yes", ["boolean"], True),
    ("0", ["boolean"], False),
    ("FALSE", ["boolean"], False),
    ('{"a": 1}', ["object"], {"a": 1}),
    ("[1, 2]", ["array"], [1, 2]),
    ('[{"measurement": "m"}]', ["string", "array", "object"], [{"measurement": "m"}]),
    ("cpu v=1", ["string", "array", "object"], "cpu v=1"),
    ("[not json", ["string", "array"], "[not json"),
    ("plain", [], "plain"),
    ("", ["integer"], ""),
])
def test_convert_value(text, types, expected):
    value = cli.convert_value(text, types)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(("text", "types"), [
    ("1.5", ["integer"]), ("1_000", ["integer"]), ("maybe", ["boolean"]), ("nan", ["number"]),
    ("[1]", ["object"]), ("{bad", ["object"]),
])
def test_convert_value_rejects(text, types):
    with pytest.raises(ValueError):
        cli.convert_value(text, types)


def test_bad_integer_is_a_usage_error_naming_the_parameter(capsys):
    code, out, err = run_cli(capsys, "render", "list_buckets", *CONN, "-p", "limit=ten")
    assert code == 2
    assert out == ""
    assert "limit: must be a whole number (got 'ten')" in err


def test_p_without_equals_sign_exits_2(capsys):
    code, _, err = run_cli(capsys, "render", "list_buckets", *CONN, "-p", "limit")
    assert code == 2
    assert "KEY=VALUE" in err


def test_missing_required_parameter_names_the_field(capsys):
    code, out, err = run_cli(capsys, "render", "query_data", *CONN, "--org", "o")
    assert code == 2
    assert out == ""
    assert err.splitlines() == ["error: invalid parameters for 'query_data':", "  query: is required"]


def test_unknown_parameter_is_reported_with_a_suggestion(capsys):
    code, _, err = run_cli(capsys, "render", "list_buckets", *CONN, "-p", "limt=5")
    assert code == 2
    assert "did you mean 'limit'" in err


def test_params_json_is_merged_and_p_wins(capsys):
    doc = rendered(capsys, "list_buckets", *CONN, "--params-json", '{"limit": 3, "offset": 1}', "-p", "limit=4")
    assert "limit=4&offset=1" in doc["url"]


def test_params_json_holding_a_number_python_cannot_read_is_a_usage_error(capsys):
    # Valid JSON, but past Python's 4,300-digit limit for reading an integer.
    code, out, err = run_cli(capsys, "render", "list_buckets", *CONN, "--params-json", '{"limit": ' + "9" * 5000 + "}")
    assert code == 2, err
    assert out == ""
    assert err.startswith("error: --params-json: not valid JSON (") and "4300" in err


def test_data_text_fills_the_data_parameter(capsys):
    doc = rendered(capsys, "write_data", *CONN, "-p", "bucket=b", "-p", "org=o", "--data", "cpu v=1")
    assert doc["body"] == "cpu v=1"


def test_data_json_records_are_passed_parsed(capsys):
    records = [{"measurement": "air", "tags": {"room": "a"}, "fields": {"t": 21.5}, "time": 1}]
    doc = rendered(capsys, "write_data", *CONN, "--org", "o", "--bucket", "b", "-p", "precision=s",
                   "--data", json.dumps(records))
    assert doc["body"] == "air,room=a t=21.5 1"
    assert doc["summary"]["count"] == 1


def test_data_from_file_and_stdin(tmp_path, monkeypatch, capsys):
    lines = tmp_path / "points.lp"
    lines.write_text("cpu v=1\ncpu v=2\n", encoding="utf-8")
    doc = rendered(capsys, "write_data", *CONN, "--org", "o", "--bucket", "b", "--data", f"@{lines}")
    assert doc["summary"]["count"] == 2
    monkeypatch.setattr(sys, "stdin", io.StringIO("mem v=3\n"))
    doc = rendered(capsys, "write_data", *CONN, "--org", "o", "--bucket", "b", "--data", "-")
    assert doc["body"].startswith("mem v=3")


def test_data_fills_body_when_there_is_no_data_parameter(capsys):
    doc = rendered(capsys, "create_bucket", *CONN, "--data", '{"orgID": "0123456789abcdef", "name": "raw"}')
    assert doc["json"] == {"orgID": "0123456789abcdef", "name": "raw"}


def test_data_for_an_operation_without_data_or_body_exits_2(capsys):
    code, _, err = run_cli(capsys, "render", "list_buckets", *CONN, "--data", "x")
    assert code == 2
    assert "has no 'data' or 'body' parameter" in err


def test_data_missing_file_exits_2(tmp_path, capsys):
    code, _, err = run_cli(capsys, "render", "write_data", *CONN, "--data", f"@{tmp_path / 'nope.lp'}")
    assert code == 2
    assert "--data: no such file" in err


# --- run, test, errors ------------------------------------------------------------------------------------------------


def test_run_against_an_unreachable_port_exits_5_without_the_token(capsys):
    code, out, err = run_cli(capsys, "run", "list_buckets", "--host", "127.0.0.1", "--port", "9",
                             "--token", TOKEN, "--timeout", "3")
    assert code == 5
    assert out == ""
    assert err.startswith("error: could not reach http://127.0.0.1:9")
    assert TOKEN not in err


def test_connection_test_against_an_unreachable_port_exits_1(capsys):
    code, out, err = run_cli(capsys, "test", "--host", "127.0.0.1", "--port", "9", "--token", TOKEN,
                             "--timeout", "3", "--format", "table")
    assert code == 1
    assert out.splitlines()[0].split() == ["STATUS", "STEP", "MESSAGE"]
    assert re.search(r"^failed\s+Server is reachable\s+could not reach", out, re.M)
    assert re.search(r"^not run\s+Token is accepted", out, re.M)
    assert TOKEN not in out + err


def test_test_help_documents_the_exit_status(capsys):
    code, out, _ = run_cli(capsys, "test", "--help")
    assert code == 0
    assert "1 when a step failed" in out


def test_no_subcommand_prints_help_and_exits_2(capsys):
    code, _, err = run_cli(capsys)
    assert code == 2
    assert "usage: influx-connector" in err


def test_unexpected_exception_is_an_internal_error(monkeypatch, capsys):
    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(cli.api, "load", boom)
    code, _, err = run_cli(capsys, "operations")
    assert code == 70
    assert err.startswith("internal error: RuntimeError: boom")


def test_verbose_logs_debug_on_stderr(capsys):
    code, _, err = run_cli(capsys, "-v", "run", "list_buckets", "--host", "127.0.0.1", "--port", "9",
                           "--token", TOKEN, "--timeout", "3")
    assert code == 5
    assert "DEBUG influx_connector" in err
    assert TOKEN not in err


def test_json_output_converts_bytes_and_datetimes():
    from datetime import datetime

    # Bytes whole, in the documented shape (not decoded as text: they need not be UTF-8).
    text = cli.to_json({"b": b"caf\xc3\xa9\xff", "t": datetime(2024, 1, 2, tzinfo=UTC)})
    assert json.loads(text) == {"b": {"$binary": {"base64": "Y2Fmw6n/", "size": 6}},
                                "t": "2024-01-02T00:00:00+00:00"}


def test_rows_table_for_flat_rows():
    rows = [{"_time": "2024-01-01T00:00:00Z", "_value": 1.5, "host": "a"}, {"_value": None, "host": "bb", "x": True}]
    assert cli.is_flat_rows(rows)
    assert not cli.is_flat_rows([{"nested": {"a": 1}}])
    assert not cli.is_flat_rows({"buckets": []})
    lines = cli.rows_table(rows).splitlines()
    assert lines[0].split() == ["_time", "_value", "host", "x"]
    assert lines[3].split() == ["bb", "true"]
    assert lines[2].index("1.5") == lines[0].index("_value")


def test_module_runs_as_a_subprocess():
    proc = subprocess.run([sys.executable, "-m", "influx_connector", "operations"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)) == len(ALL_OPERATIONS)


def test_subprocess_exit_code_and_masked_error_for_unreachable_server():
    proc = subprocess.run([sys.executable, "-m", "influx_connector", "run", "list_buckets",
                           "--host", "127.0.0.1", "--port", "9", "--timeout", "3"],
                          capture_output=True, text=True, timeout=120,
                          env={**_plain_env(), "INFLUX_TOKEN": TOKEN})
    assert proc.returncode == 5
    assert "could not reach" in proc.stderr
    assert TOKEN not in proc.stdout + proc.stderr


def _plain_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("INFLUX")}


# --- against the sandbox server -------------------------------------------------------------------------------------


@pytest.fixture
def sandbox_args():
    """A started Sandbox (started here, not through conftest) and the flags that reach it."""
    from influx_connector.sandbox import Sandbox

    with Sandbox(token=SANDBOX_TOKEN, org=SANDBOX_ORG, bucket=SANDBOX_BUCKET) as sb:
        port = str(urlsplit(sb.url).port)
        yield ["--host", "127.0.0.1", "--port", port, "--token", SANDBOX_TOKEN, "--org", SANDBOX_ORG]


def test_sandbox_list_buckets(capsys, sandbox_args):
    code, out, err = run_cli(capsys, "run", "list_buckets", *sandbox_args)
    assert code == 0, err
    result = json.loads(out)
    assert result["status"] == 200
    assert SANDBOX_BUCKET in {b["name"] for b in result["data"]["buckets"]}
    assert SANDBOX_TOKEN not in out


def test_sandbox_write_then_query(capsys, sandbox_args):
    code, out, err = run_cli(capsys, "run", "write_data", *sandbox_args, "-p", f"bucket={SANDBOX_BUCKET}",
                             "--data", "cpu v=1")
    assert code == 0, err
    written = json.loads(out)
    assert written["status"] == 204
    assert written["data"]["points"] == 1
    code, out, err = run_cli(capsys, "run", "query_data", *sandbox_args,
                             "-p", f'query=from(bucket: "{SANDBOX_BUCKET}") |> range(start: 0)')
    assert code == 0, err
    rows = json.loads(out)["data"]
    assert [(r["_measurement"], r["_field"], r["_value"]) for r in rows] == [("cpu", "v", 1.0)]
    code, out, err = run_cli(capsys, "run", "query_data", *sandbox_args, "--format", "table",
                             "-p", f'query=from(bucket: "{SANDBOX_BUCKET}") |> range(start: 0)')
    assert code == 0, err
    header = out.splitlines()[0].split()
    assert "_value" in header and "_measurement" in header


def test_sandbox_connection_test_passes(capsys, sandbox_args):
    code, out, err = run_cli(capsys, "test", *sandbox_args, "--bucket", SANDBOX_BUCKET)
    assert code == 0, err
    report = json.loads(out)
    assert report["ok"] is True
    assert [s["status"] for s in report["steps"]] == ["passed"] * 4


def test_sandbox_connection_test_with_a_wrong_token_fails(capsys, sandbox_args):
    args = [a if a != SANDBOX_TOKEN else "wrong-token-abcdef" for a in sandbox_args]
    code, out, err = run_cli(capsys, "test", *args, "--format", "table")
    assert code == 1
    assert re.search(r"^passed\s+Server is reachable", out, re.M)
    assert re.search(r"^failed\s+Token is accepted\s+test:token: HTTP 401", out, re.M)
    assert "wrong-token-abcdef" not in out + err


def test_run_draws_a_progress_bar_for_batched_writes(sandbox_args, capsys):
    data = "\n".join(f"m v={i} {i}" for i in range(12))
    code, out, err = run_cli(capsys, "run", "write_data", *sandbox_args, "-p", f"bucket={SANDBOX_BUCKET}",
                             "-p", "batch_size=5", "--data", data, "--progress", "always")
    assert code == 0 and json.loads(out)["data"]["points"] == 12
    frames = err.strip("\n").split("\r")[1:]
    assert [f.split("%")[0].split()[-1] for f in frames] == ["41", "83", "100"]
    assert frames[-1].endswith("12/12 records, 3 batches")
    _, _, quiet = run_cli(capsys, "run", "write_data", *sandbox_args, "-p", f"bucket={SANDBOX_BUCKET}", "--data", data)
    assert "records" not in quiet  # auto: stderr is not a terminal here
