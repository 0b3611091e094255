"""What hosts hand the connector, judged as their forms judge it: anchored patterns, RFC 3339
date-times, text for numbers and true/false, JSON records typed as text, Flux parameters as
JSON text. Every case is refused before anything is sent, naming the field, or carried exactly.
"""
from __future__ import annotations

import json

import pytest

from influx_connector import api, cli
from influx_connector.errors import ValidationError
from influx_connector.influxdb import is_id
from influx_connector.sandbox import Sandbox

from .conftest import BUCKET, ORG
from .helpers import TOKEN

CONN = {"host": "localhost", "token": TOKEN, "org": "my-org", "bucket": "my-bucket"}


def refused(values_or_op: dict | str, params: dict | None = None) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        if params is None:
            api.connect(values_or_op)  # type: ignore[arg-type]
        else:
            api.connect(CONN).render(values_or_op, params)  # type: ignore[arg-type]
    assert TOKEN not in str(caught.value)
    return caught.value.by_field()


# --- a pattern ends at the end of the text --------------------------------------------------------


@pytest.mark.parametrize(("values", "field"), [
    ({**CONN, "token": "x" * 8 + "\n"}, "token"),
    ({**CONN, "host": "localhost\n"}, "host"),
    ({**CONN, "base_path": "/influx\n"}, "base_path"),
    ({**CONN, "headers": {"X-Trace": "abc\n"}}, "headers.X-Trace"),
    ({**CONN, "headers": {"X-Trace\n": "abc"}}, "headers"),
])
def test_a_trailing_line_break_does_not_pass_a_connection_pattern(values: dict, field: str) -> None:
    assert field in refused(values)


@pytest.mark.parametrize(("op", "params", "field"), [
    ("retrieve_bucket", {"bucket_id": "0123456789abcdef\n"}, "bucket_id"),
    ("delete_bucket", {"bucket_id": "0123456789abcdef\n"}, "bucket_id"),
    ("query_suggestions_name", {"name": "range\n"}, "name"),
    ("list_buckets", {"id": "0123456789abcdef\n"}, "id"),
    ("list_organizations", {"org_id": "0123456789abcdef\n"}, "org_id"),
])
def test_a_trailing_line_break_does_not_pass_an_operation_pattern(op: str, params: dict, field: str) -> None:
    assert field in refused(op, params)


def test_an_organization_id_with_a_line_break_is_sent_as_a_name() -> None:
    assert is_id("0123456789abcdef") and not is_id("0123456789abcdef\n")
    url = api.connect(CONN).render("list_buckets", {"org": "0123456789abcdef\n"}).url
    assert "orgID=" not in url and "org=0123456789abcdef%0A" in url


def test_patterns_mean_in_python_what_they_mean_in_the_browser() -> None:
    from influx_connector import patterns

    assert not patterns.search(r"^\d+$", "\u0663")  # ECMAScript's \d is 0-9 only
    assert patterns.search(r"^\s$", "\ufeff") and not patterns.search(r"^\s$", "\x1c")
    assert not patterns.search(r"^.$", "\r") and patterns.search(r"^.$", "\x85")
    assert not patterns.search(r"^a$", "a\n")
    assert patterns.problems(r"^\Z") and patterns.problems(r"(?P<n>a)") and patterns.problems(r"a{")
    assert patterns.problems(r"\-") and not patterns.problems(r"^[a\-z]$")


@pytest.mark.parametrize(("pattern", "words"), [
    (r"^\w+\Z", "'\\Z' is not portable"), (r"^(?P<n>a)$", "groups are portable"), (r"(?i)^a$", "groups are portable"),
    (r"^a{2,$", "must be escaped as \\{"), (r"^\-$", "write '-' without the backslash"), (r"^a*+$", "possessive"),
])
def test_the_loader_refuses_a_pattern_a_form_would_read_otherwise(tmp_path, pattern: str, words: str) -> None:
    from influx_connector.errors import ManifestError

    (tmp_path / "probe.yaml").write_text(
        "id: probe\ntitle: Probe\nparams:\n  x:\n    type: string\n    pattern: '" + pattern + "'\n"
        "request: {method: GET, path: /x}\nresponse: {codec: json}\n", encoding="utf-8")
    with pytest.raises(ManifestError) as caught:
        api.load(extra_operation_dirs=[tmp_path], strict=True)
    problem = next(p for p in caught.value.problems if p.file.endswith("probe.yaml"))
    assert problem.pointer == "/params/x/pattern" and problem.line == 6 and words in problem.message, problem


# --- date-times are RFC 3339 ----------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "2024-02-30T00:00:00Z", "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2024-06-30T23:59:60Z",
    "2024-01-01T00:00:60Z", "\uff12\uff10\uff12\uff14-01-01T00:00:00Z", "2024-01-0\u0663T00:00:00Z",
    "2024-01-01T00:00:00+05", "2024-01-01T00:00:00+0530", "2024-01-01T00:00:00.1234567890Z",
    "2024-01-01 00:00:00Z", "2024-01-01T00:00:00Z\n", "2024-01-01T00:00:00+24:00",
])
def test_date_times_that_are_not_rfc3339_are_refused(text: str) -> None:
    messages = refused("delete_data", {"bucket": "b", "start": text, "stop": "2024-12-31T00:00:00Z"})
    assert list(messages) == ["start"]
    assert "RFC 3339" in messages["start"][0]
    if ":60" in text:
        assert "leap second" in messages["start"][0]


@pytest.mark.parametrize(("text", "sent"), [
    ("2024-02-29T00:00:00Z", "2024-02-29T00:00:00Z"), ("2000-02-29T12:30:00.123456789+05:30", None),
    ("2024-01-01t00:00:00z", "2024-01-01T00:00:00Z"), ("2024-01-01T00:00:00-00:00", None),
])
def test_rfc3339_date_times_are_sent_as_servers_parse_them(text: str, sent: str | None) -> None:
    request = api.connect(CONN).render("delete_data", {"bucket": "b", "start": text, "stop": text})
    assert request.json["start"] == (sent or text)


# --- numbers and true/false as text ---------------------------------------------------------------


def test_a_host_gives_the_port_and_other_options_as_text(sandbox: Sandbox) -> None:
    settings = sandbox.connection_settings
    values = {**settings, "port": str(settings["port"]), "verify_tls": "true", "timeout": " 7.5 ", "retries": "2"}
    with api.connect(values) as conn:
        assert (conn.values["port"], conn.values["verify_tls"], conn.values["timeout"], conn.values["retries"]) == (
            settings["port"], True, 7.5, 2)
        result = conn.run("list_buckets", {"limit": "5", "all_pages": "no"})
        assert result.status == 200 and "?limit=5&" in result.meta["request"]["url"]


@pytest.mark.parametrize(("field", "text", "message"), [
    ("port", "80a", "must be a whole number (got '80a')"),
    ("port", "8086.0", "must be a whole number (got '8086.0')"),
    ("port", "70000", "must be at most 65535 (got 70000)"),
    ("port", "\u0663", "must be a whole number (got '\u0663')"),
    ("timeout", "1e3", "must be a number, such as 2.5 (got '1e3')"),
    ("timeout", "0", "must be greater than 0 (got 0)"),
    ("verify_tls", "maybe", "must be true or false (also yes/no, 1/0) (got 'maybe')"),
])
def test_bad_text_for_a_number_is_refused_as_the_command_line_refuses_it(
        field: str, text: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert refused({**CONN, field: text}) == {field: [message]}


def test_the_command_line_and_the_api_word_bad_text_alike(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["render", "list_buckets", "--host", "localhost", "--token", TOKEN, "-p", "limit=ten"])
    err = capsys.readouterr().err
    assert code == 2 and "limit: must be a whole number (got 'ten')" in err
    assert refused("list_buckets", {"limit": "ten"}) == {"limit": ["must be a whole number (got 'ten')"]}


# --- Flux parameters as JSON text -----------------------------------------------------------------


def test_query_parameters_can_be_given_as_json_text() -> None:
    conn = api.connect(CONN)
    request = conn.render("query_data", {"query": "buckets()", "params": '{"host": "a", "n": 5}'})
    assert request.json["params"] == {"host": "a", "n": 5}
    assert "params" not in conn.render("query_data", {"query": "buckets()", "params": " { } "}).json
    messages = refused("query_data", {"query": "buckets()", "params": '{"host": }'})
    assert messages == {"params": ["is not valid JSON (line 1, column 10: expecting value)"]}
    assert refused("query_data", {"query": "buckets()", "params": "[1]"}) == {
        "params": ["must be JSON of an object, not a list"]}
    assert "params" in refused("query_data", {"query": "buckets()", "params": '{"v": NaN}'})


# --- JSON records typed as text -------------------------------------------------------------------


def test_json_records_typed_as_text_are_written_when_the_format_says_so(sandbox: Sandbox) -> None:
    records = '[{"measurement": "air", "tags": {"room": "attic"}, "fields": {"temp": 21.5}, "time": 1700000000}]'
    with api.connect(sandbox.connection_settings) as conn:
        result = conn.run("write_data", {"bucket": BUCKET, "precision": "s", "data_format": "json", "data": records})
        assert result.data["points"] == 1
        assert sandbox.requests[-1].body == b"air,room=attic temp=21.5 1700000000"
        # Line protocol is never guessed to be JSON, even when a measurement starts with "[".
        conn.run("write_data", {"bucket": BUCKET, "data": '[m] v=1 1700000000000000000'})
        assert sandbox.requests[-1].body == b"[m] v=1 1700000000000000000"


@pytest.mark.parametrize(("text", "message"), [
    ('[{"measurement": "m", "fields": {"v": 1}', "is not valid JSON (line 1, column 41: expecting ',' delimiter)"),
    ("[{\"measurement\": \"m\",\n \"fields\": {\"v\": }}]", "is not valid JSON (line 2, column 18: expecting value)"),
    ("m v=1", "is not valid JSON (line 1, column 1: expecting value)"),
    ('"m v=1"', "must be JSON of a list or an object, not text"),
    ("[]", "must not be empty"),
])
def test_json_records_that_do_not_parse_are_a_field_error(text: str, message: str, sandbox: Sandbox) -> None:
    with api.connect(sandbox.connection_settings) as conn, pytest.raises(ValidationError) as caught:
        conn.run("write_data", {"bucket": BUCKET, "data_format": "json", "data": text})
    assert caught.value.by_field() == {"data": [message]}
    assert sandbox.requests == []


def test_json_that_does_not_parse_exits_2_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["render", "write_data", "--host", "localhost", "--token", TOKEN, "--org", ORG,
                     "--bucket", BUCKET, "-p", "data_format=json", "-p", 'data=[{"measurement": }]'])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert "data: is not valid JSON (line 1, column 18: expecting value)" in err


def test_the_command_line_reads_records_from_a_file_whatever_the_format(tmp_path, capsys) -> None:
    data = tmp_path / "records.json"
    data.write_text(json.dumps([{"measurement": "m", "fields": {"v": 1.5}}]), encoding="utf-8")
    code = cli.main(["render", "write_data", "--host", "localhost", "--token", TOKEN, "--org", ORG,
                     "--bucket", BUCKET, "--data", f"@{data}"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["body"] == "m v=1.5"
