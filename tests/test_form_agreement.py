"""The form and the connector are one contract: what rjsf's validator accepts, the connector
accepts, and the other way round, naming the same fields.

Every form (the connection and each operation, with and without connection defaults) gets a
corpus of inputs (empty, each example, each field varied by every kind of value it can be wrong
in, host text for numbers and true/false, the groups of "give one of") and each input is judged
by react-jsonschema-form 6 and 5 (their ajv8 validator, run with node, as a host runs it: defaults
filled in, a cleared text field undefined, the schema whole and as rjsf resolves it) and by the
connector (``api.connect``, or ``Connection.render`` which validates first). One node process
judges the whole corpus.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from influx_connector import api, forms, patterns
from influx_connector.connection import Connection
from influx_connector.errors import ValidationError

from .formcheck import connector_fields, corpus, form_fields, judge_in_node
from .helpers import TOKEN

pytestmark = pytest.mark.slow

CONNECTOR = api.load()
# A second manifest with the declarations this one does not make (tests/fixtures/formcombos).
COMBOS = api.load(Path(__file__).resolve().parent / "fixtures" / "formcombos" / "connector.yaml")
DEFAULTS = {"token": TOKEN, "host": "localhost", "org": "my-org", "bucket": "my-bucket", "database": "my-db"}
BARE = {"token": TOKEN, "host": "localhost"}
CONNECTIONS = {CONNECTOR.id: ({"token": TOKEN, "host": "localhost"}, DEFAULTS, BARE),
               COMBOS.id: ({"key": "k3y0k", "host": "localhost"}, {"key": "k3y0k", "host": "h", "region": "us"},
                           {"key": "k3y0k", "host": "h", "region": ""})}


@dataclass(frozen=True)
class Form:
    connector: Any
    target: str  # an operation id, or "connection"
    mode: str | None  # which connection an operation runs on: "defaults" or "bare"
    form: dict[str, Any]


def _forms() -> dict[str, Form]:
    out: dict[str, Form] = {}
    for connector in (CONNECTOR, COMBOS):
        prefix = "" if connector is CONNECTOR else f"{connector.id}:"
        out[f"{prefix}connection"] = Form(connector, "connection", None, forms.connection_form(connector))
        for op in connector.operations.values():
            out[prefix + op.id] = Form(connector, op.id, "defaults", forms.operation_form(connector, op))
            if any(p.default_from for p in op.params):
                bare = CONNECTIONS[connector.id][2]
                out[f"{prefix}{op.id}@bare"] = Form(connector, op.id, "bare",
                                                     forms.operation_form(connector, op, connection=bare))
    return out


FORMS = _forms()


def _cases() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for key, found in FORMS.items():
        if found.target == "connection":
            spec = found.connector.connection
            cases = corpus(spec.fields, found.form["schema"], CONNECTIONS[found.connector.id][0],
                           skip_text=("ca_bundle",))
        else:
            op = found.connector.operations[found.target]
            examples = [e["params"] for e in op.examples]
            cases = corpus(op.params, found.form["schema"], examples[0], examples, op.requires_one_of)
        for label, data in cases.cases:
            yield key, label, data


CASES = list(_cases())
# Inputs the tests of single defects below read, judged in the same node run.
START = {"bucket": "b", "stop": "2024-12-31T00:00:00Z"}
EXTRA: dict[str, tuple[str, dict[str, Any]]] = {
    "epoch untouched": ("query_influxql", {"db": "telegraf", "q": "SELECT 1"}),
    "params as text": ("query_data", {"query": "buckets()", "params": '{"v": 1}'}),
    "params not JSON": ("query_data", {"query": "buckets()", "params": '{"v": }'}),
    "records not JSON": ("write_data", {"data_format": "json", "data": '[{"measurement": }]'}),
    "token with a line break": ("connection", {"token": "x" * 8 + "\n", "host": "localhost"}),
    "host with a line break": ("connection", {"token": TOKEN, "host": "localhost\n"}),
    "bucket ID with a line break": ("retrieve_bucket", {"bucket_id": "0123456789abcdef\n"}),
    "offset +05": ("delete_data", {**START, "start": "2024-01-01T00:00:00+05"}),
    "offset +0530": ("delete_data", {**START, "start": "2024-01-01T00:00:00+0530"}),
    "ten fraction digits": ("delete_data", {**START, "start": "2024-01-01T00:00:00.1234567890Z"}),
    "February 30": ("delete_data", {**START, "start": "2024-02-30T00:00:00Z"}),
    "leap second": ("delete_data", {**START, "start": "2016-12-31T23:59:60Z"}),
    "RFC 3339": ("delete_data", {**START, "start": "2024-02-29T23:59:59.999999999+05:30"}),
    "blank query": ("query_data", {"query": "   "}),
    "empty org": ("write_data", {"org": "", "data": "m v=1"}),
    "empty org, bare connection": ("write_data@bare", {"org": "", "bucket": "b", "data": "m v=1"}),
    "nothing for a bucket": ("create_bucket", {}),
    "nothing for a bucket, bare connection": ("create_bucket@bare", {}),
    "a bucket body": ("create_bucket", {"body": '{"name": "x", "orgID": "0123456789abcdef"}'}),
    "an empty bucket body": ("create_bucket", {"body": "{}"}),
    "nothing to update": ("update_bucket", {"bucket_id": "0123456789abcdef"}),
    "port as text": ("connection", {"token": TOKEN, "host": "localhost", "port": "8086"}),
    "port as bad text": ("connection", {"token": TOKEN, "host": "localhost", "port": "80a"}),
    "verify_tls as text": ("connection", {"token": TOKEN, "host": "localhost", "verify_tls": "no"}),
}
# A form with a keyword Ajv does not know: the strict compile must refuse it.
CANARY = {"schema": {"type": "object", "properties": {"a": {"type": "string", "advanced": True}}}, "uiSchema": {}}


@pytest.fixture(scope="module")
def verdicts() -> dict[str, Any]:
    """rjsf's verdicts on every case, from one node process."""
    forms_ = {**{k: v.form for k, v in FORMS.items()}, "canary": CANARY}
    cases = [{"form": k, "data": d} for k, _, d in CASES] + [{"form": k, "data": d} for k, d in EXTRA.values()]
    return judge_in_node(forms_, cases)


def form_verdicts(verdicts: dict[str, Any], label: str) -> list[tuple[str, dict[str, Any]]]:
    """(how, result) for one EXTRA input: each rjsf version, as loaded and as typed."""
    index = len(CASES) + list(EXTRA).index(label)
    out = []
    for found in verdicts["rjsf"].values():
        for variant in ("raw", "typed"):
            out.append((f"rjsf {found['version']} {variant}", found["results"][index][variant]))
    return out


def refused_by_the_form(verdicts: dict[str, Any], label: str) -> set[str]:
    """The fields every way of judging refuses (and they all refuse the same ones)."""
    seen = {how: form_fields(r[mode]) for how, r in form_verdicts(verdicts, label) for mode in ("full", "resolved")}
    assert len({frozenset(v) for v in seen.values()}) == 1, seen
    return next(iter(seen.values()))


@pytest.fixture(scope="module")
def connections() -> Iterator[dict[tuple[str, str], Any]]:
    """A connection per data source, with and without its defaults (org, bucket, region)."""
    opened = {}
    for connector in (CONNECTOR, COMBOS):
        _, defaults, bare = CONNECTIONS[connector.id]
        opened[(connector.id, "defaults")] = Connection(connector, defaults)
        opened[(connector.id, "bare")] = Connection(connector, bare)
    yield opened
    for conn in opened.values():
        conn.close()


def connector_verdict(key: str, data: dict[str, Any], connections: dict[tuple[str, str], Any]) -> set[str]:
    """The fields the connector refuses (empty when it accepts)."""
    found = FORMS[key]
    try:
        if found.target == "connection":
            Connection(found.connector, data).close()
        else:
            connections[(found.connector.id, found.mode)].render(found.target, data)
    except ValidationError as exc:
        return connector_fields(exc)
    return set()


@pytest.mark.parametrize("key", list(FORMS))
def test_the_form_and_the_connector_judge_alike(key: str, verdicts: dict[str, Any],
                                                connections: dict[tuple[str, str], Any]) -> None:
    disagreements: list[str] = []
    judged = Counter()
    for index, (case_key, label, _data) in enumerate(CASES):
        if case_key != key:
            continue
        for found in verdicts["rjsf"].values():
            result = found["results"][index]
            for variant in ("raw", "typed"):
                # What the host hands to the connector is what the form holds once rjsf has
                # filled in defaults (and, typed, turned cleared fields into nothing).
                submitted = result[variant]["formData"]
                expected = connector_verdict(key, submitted, connections)
                for mode in ("full", "resolved"):
                    got = form_fields(result[variant][mode])
                    judged["accepted" if not got else "refused"] += 1
                    if got != expected:
                        disagreements.append(f"{label} [{variant}, {mode}, rjsf {found['version']}]: "
                                             f"form {sorted(got) or 'accepts'}, connector {sorted(expected) or 'accepts'}"
                                             f" {[(e['property'], e['name'], e['message']) for e in result[variant][mode]]}")
    assert judged["accepted"] and (judged["refused"] or not FORMS[key].form["schema"]["properties"]), judged
    assert not disagreements, f"{len(disagreements)} disagreements:\n" + "\n".join(disagreements[:60])


def test_every_form_compiles_under_ajv_strict_mode(verdicts: dict[str, Any]) -> None:
    found = dict(verdicts["strict"]["problems"])
    assert "advanced" in " ".join(found.pop("canary"))  # the check does refuse what strict mode refuses
    assert set(found) == set(FORMS)
    assert {k: v for k, v in found.items() if v} == {}
    assert verdicts["console"] == []  # rjsf's ajv logged nothing (no unknown format, no strict warning)


# --- the defects, one by one ------------------------------------------------------------------------


def test_nothing_is_preselected_that_the_yaml_does_not_default(verdicts: dict[str, Any]) -> None:
    """query_influxql's epoch was a oneOf of consts, which rjsf filled with "ns"."""
    for index, (key, label, _) in enumerate(CASES):
        if label != "empty":
            continue
        found_form = FORMS[key]
        connector = found_form.connector
        params = (connector.connection.fields if found_form.target == "connection"
                  else connector.operations[found_form.target].params)
        declared = {p.name for p in params if p.has_default}
        # An unticked checkbox is false: rjsf gives a required true/false field that value.
        unticked = {p.name for p in params if p.required and p.schema.get("type") == "boolean"}
        for found in verdicts["rjsf"].values():
            filled = found["results"][index]["raw"]["formData"]
            # rjsf 5 gives a list field an empty list: nothing, too.
            assert {k for k, v in filled.items() if v != []} - unticked == declared, (key, found["version"])
            assert all(filled[name] is False for name in set(filled) & unticked)
    for how, result in form_verdicts(verdicts, "epoch untouched"):
        assert "epoch" not in result["formData"] and not result["full"], how
    form = FORMS["query_influxql"].form
    assert form["uiSchema"]["epoch"]["ui:enumNames"][1:] == ["Nanoseconds", "Microseconds", "Milliseconds",
                                                              "Seconds", "Minutes", "Hours"]
    assert form["schema"]["properties"]["epoch"]["enum"] == ["", "ns", "u", "ms", "s", "m", "h"]
    assert all("oneOf" not in json.dumps(f.form) for f in FORMS.values())


def test_query_parameters_are_entered_as_json_text(verdicts: dict[str, Any]) -> None:
    """Params (type object, no properties) rendered as an empty fieldset."""
    prop = FORMS["query_data"].form["schema"]["properties"]["params"]
    assert prop["type"] == "string" and prop["format"] == "json-text"
    assert FORMS["query_data"].form["uiSchema"]["params"]["ui:options"]["language"] == "json"
    assert refused_by_the_form(verdicts, "params as text") == set()
    assert refused_by_the_form(verdicts, "params not JSON") == {"params"}


def test_the_write_form_says_which_format_its_data_holds(verdicts: dict[str, Any]) -> None:
    """JSON typed into the data field went out as line protocol."""
    form = FORMS["write_data"].form
    assert form["schema"]["properties"]["data_format"]["enum"] == ["line_protocol", "json"]
    assert form["uiSchema"]["data_format"]["ui:enumNames"] == ["Line protocol", "JSON records"]
    order = form["uiSchema"]["ui:order"]
    assert order.index("data_format") < order.index("data")
    assert refused_by_the_form(verdicts, "records not JSON") == {"data"}


def test_secret_header_values_are_masked_in_the_form() -> None:
    """The connection's extra headers are secrets, but their values showed in clear."""
    ui = FORMS["connection"].form["uiSchema"]["headers"]
    assert ui["additionalProperties"]["ui:widget"] == "password"
    assert FORMS["connection"].form["schema"]["properties"]["headers"]["writeOnly"] is True


def test_a_trailing_line_break_fails_the_form_too(verdicts: dict[str, Any]) -> None:
    """The form's side (tests/test_host_inputs.py has the connector's)."""
    assert refused_by_the_form(verdicts, "token with a line break") == {"token"}
    assert refused_by_the_form(verdicts, "host with a line break") == {"host"}
    assert refused_by_the_form(verdicts, "bucket ID with a line break") == {"bucket_id"}


@pytest.mark.parametrize(("label", "fields"), [
    ("offset +05", {"start"}), ("offset +0530", {"start"}), ("ten fraction digits", {"start"}),
    ("February 30", {"start"}), ("leap second", {"start"}), ("RFC 3339", set()),
])
def test_the_form_takes_rfc3339_exactly(verdicts: dict[str, Any], label: str, fields: set[str]) -> None:
    """ajv-formats' date-time takes +05, +0530 and ten fraction digits."""
    assert refused_by_the_form(verdicts, label) == fields
    prop = FORMS["delete_data"].form["schema"]["properties"]["start"]
    assert "format" not in prop and prop["pattern"]
    assert FORMS["delete_data"].form["uiSchema"]["start"]["ui:widget"] == "date-time"


def test_blank_text_and_fields_that_fall_back_to_the_connection(verdicts: dict[str, Any],
                                                                 connections: dict[tuple[str, str], Any]) -> None:
    """Blank text: "   " passed the form and failed the connector; org "" failed the form
    (minLength) though the connector falls back to the connection's organization."""
    assert refused_by_the_form(verdicts, "blank query") == {"query"}
    assert refused_by_the_form(verdicts, "empty org") == set()
    assert connections[("influxdb", "defaults")].render("write_data", EXTRA["empty org"][1]).url.endswith("org=my-org")
    assert refused_by_the_form(verdicts, "empty org, bare connection") == {"org"}
    form = FORMS["write_data"].form
    org = form["schema"]["properties"]["org"]
    assert "minLength" not in org and "Uses the connection's default organization when left empty." in org["description"]
    assert form["uiSchema"]["org"]["ui:options"]["fallback"] == "org"
    assert "org" not in form["schema"]["required"] and "org" in FORMS["write_data@bare"].form["schema"]["required"]


def test_bucket_forms_need_a_body_or_a_name(verdicts: dict[str, Any]) -> None:
    """A choice of fields: "give body, or name + org" lived only in prose, so {} passed the form."""
    assert refused_by_the_form(verdicts, "nothing for a bucket") == {"name"}
    assert refused_by_the_form(verdicts, "nothing for a bucket, bare connection") == {"name", "org"}
    assert refused_by_the_form(verdicts, "an empty bucket body") == {"name"}
    assert refused_by_the_form(verdicts, "a bucket body") == set()
    assert refused_by_the_form(verdicts, "nothing to update") == {"name"}
    for op in ("create_bucket", "update_bucket"):
        form = FORMS[op].form
        assert form["schema"]["properties"]["body"]["title"] == "Request body (JSON)"
        assert form["uiSchema"]["ui:order"][-1] == "body"
        assert "is required: give" in form["uiSchema"]["name"]["ui:options"]["messages"]["required"]


def test_forms_put_ordinary_fields_first_and_document_their_options() -> None:
    """Advanced fields came first; custom ui:options were undocumented; the token's
    help link was plain text; raw regular expressions were the only error text."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Forms for hosts", 1)[1].split("\n## ", 1)[0]
    used: set[str] = set()
    for key, found in FORMS.items():
        ui = found.form["uiSchema"]
        advanced = [n for n in ui["ui:order"] if ui.get(n, {}).get("ui:options", {}).get("advanced")]
        assert ui["ui:order"] == [n for n in ui["ui:order"] if n not in advanced] + advanced, key
        for name in ui["ui:order"]:
            used |= set(ui.get(name, {}).get("ui:options", {}))
    assert used - {"rows", "autocomplete"} <= set(forms.UI_OPTIONS)
    for option in forms.UI_OPTIONS:
        assert f"`{option}`" in section, f"ui:options.{option} is not documented in the README"
    token = FORMS["connection"].form
    assert token["uiSchema"]["token"]["ui:enableMarkdownInDescription"] is True
    assert token["schema"]["properties"]["token"]["description"].endswith(
        "[How to create a token](https://docs.influxdata.com/influxdb/cloud/security/tokens/create-token/)")
    host = CONNECTOR.connection.fields[1]
    assert token["uiSchema"]["host"]["ui:options"]["messages"]["pattern"] == host.messages["pattern"]


def test_the_readme_shows_hosts_the_custom_format_the_tests_register() -> None:
    """The json-text check a host copies from the README is the one the agreement is tested with."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    script = (Path(__file__).resolve().parent / "js" / "form_verdicts.cjs").read_text(encoding="utf-8")
    blank = f"const BLANK = /^[{patterns.SPACE_CLASS}]*$/u;"
    assert blank in readme and blank in script
    for line in ("if (BLANK.test(text)) return true;", "JSON.parse(text);"):
        assert line in readme and line in script
    assert set(forms.all_forms(CONNECTOR)["formats"]) == {"json-text"}


def test_hosts_text_for_numbers_and_true_false_passes_the_form(verdicts: dict[str, Any]) -> None:
    """The form's side (tests/test_host_inputs.py has the connector's)."""
    assert refused_by_the_form(verdicts, "port as text") == set()
    assert refused_by_the_form(verdicts, "verify_tls as text") == set()
    assert refused_by_the_form(verdicts, "port as bad text") == {"port"}
    port = FORMS["connection"].form["schema"]["properties"]["port"]
    assert port["type"] == ["integer", "string"]
