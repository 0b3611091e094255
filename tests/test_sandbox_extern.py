"""The sandbox's Flux engine: a query request's ``extern`` file, and ``time(v:)``/``duration(v:)``.

The official clients' side of these is tested through the clients themselves
(``test_official_python_client.py``, ``test_official_js_client.py``); here the evaluator is
held to every node form, every refusal and every malformed shape, which no client sends.
"""
from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from influx_connector.sandbox.flux import FluxError, parse_ast, run_query
from influx_connector.sandbox.flux.extern import extern_bindings
from influx_connector.sandbox.flux.values import Duration, Regex, Time
from influx_connector.sandbox.store import FieldPoint, Store

S = 1_000_000_000
T2023 = 1_672_531_200 * S  # 2023-01-01T00:00:00Z


def option(name: str, init: Any) -> dict[str, Any]:
    """An option statement as influxdb-client builds it (no location, no file type)."""
    return {"type": "OptionStatement",
            "assignment": {"type": "VariableAssignment", "id": {"type": "Identifier", "name": name}, "init": init}}


def lit(kind: str, value: Any) -> dict[str, Any]:
    return {"type": kind, "value": value}


def file(*statements: Any, **extra: Any) -> dict[str, Any]:
    return {"imports": [], "body": list(statements), **extra}


def value_of(init: Any) -> Any:
    return extern_bindings(file(option("p", init)))["p"]


# --- values ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("init, expected", [
    (lit("StringLiteral", 'a "quoted"\nline'), 'a "quoted"\nline'),
    (lit("IntegerLiteral", "42"), 42),
    (lit("IntegerLiteral", "-7"), -7),  # how influxdb-client sends a negative int
    (lit("IntegerLiteral", "9223372036854775807"), 2**63 - 1),
    (lit("IntegerLiteral", "-9223372036854775808"), -(2**63)),
    (lit("FloatLiteral", 1.5), 1.5),
    (lit("FloatLiteral", -2), -2.0),
    (lit("BooleanLiteral", True), True),
    (lit("BooleanLiteral", False), False),
    (lit("DateTimeLiteral", "2023-01-02T03:04:05.123456000Z"), Time(T2023 + 86_400 * S + 3 * 3600 * S + 245 * S + 123_456_000)),
    (lit("DateTimeLiteral", "2023-01-01T01:00:00+01:00"), Time(T2023)),
    ({"type": "DurationLiteral", "values": [{"magnitude": 5_400_000_000, "unit": "us"}]}, Duration(0, 5_400 * S)),
    ({"type": "DurationLiteral", "values": [{"magnitude": 1, "unit": "y"}, {"magnitude": 2, "unit": "mo"},
                                            {"magnitude": 3, "unit": "d"}]}, Duration(14, 3 * 86_400 * S)),
    ({"type": "UnaryExpression", "operator": "-",
      "argument": {"type": "DurationLiteral", "values": [{"magnitude": 3_600_000_000, "unit": "us"}]}},
     Duration(0, -3_600 * S)),
    ({"type": "UnaryExpression", "operator": "-", "argument": lit("FloatLiteral", 2.5)}, -2.5),
    ({"type": "UnaryExpression", "operator": "not", "argument": lit("BooleanLiteral", True)}, False),
    ({"type": "ArrayExpression", "elements": [lit("StringLiteral", "a"), lit("StringLiteral", "b")]}, ["a", "b"]),
    ({"type": "ArrayExpression", "elements": []}, []),
    ({"type": "ArrayExpression", "elements": [{"type": "ArrayExpression", "elements": []},
                                              {"type": "ArrayExpression", "elements": [lit("IntegerLiteral", "1")]}]},
     [[], [1]]),
    ({"type": "ObjectExpression", "properties": [
        {"type": "Property", "key": {"type": "Identifier", "name": "low"}, "value": lit("IntegerLiteral", "2")},
        {"type": "Property", "key": {"type": "StringLiteral", "value": "the name"}, "value": lit("StringLiteral", "x")},
    ]}, {"low": 2, "the name": "x"}),
])
def test_each_literal_form_evaluates(init: Any, expected: Any) -> None:
    got = value_of(init)
    assert got == expected and type(got) is type(expected)


def test_a_regular_expression_literal_becomes_a_regex() -> None:
    got = value_of(lit("RegexpLiteral", "^cpu[0-9]+$"))
    assert isinstance(got, Regex) and got.pattern.search("cpu12") and not got.pattern.search("xcpu1")


def test_statements_run_in_order_and_see_earlier_names() -> None:
    names = extern_bindings(file(
        option("a", lit("IntegerLiteral", "1")),
        {"type": "VariableAssignment", "id": {"type": "Identifier", "name": "b"},
         "init": {"type": "ArrayExpression", "elements": [{"type": "Identifier", "name": "a"},
                                                          lit("IntegerLiteral", "2")]}},
        option("a", lit("IntegerLiteral", "3")),  # an option may be set again; the last value holds
        option("t", {"type": "Identifier", "name": "true"}),
        type="File", package=None, name="extern.flux",
    ))
    assert names == {"a": 3, "b": [1, 2], "t": True}
    assert extern_bindings(None) == {} and extern_bindings(file()) == {} and extern_bindings({}) == {}


def test_the_ast_the_server_returns_for_options_is_an_extern_it_runs() -> None:
    ast = parse_ast('option host = "a"\noption limits = {low: -2, tags: ["x", "y"]}\nstart = 2023-01-01T00:00:00Z\n'
                    "option every = 1h30m")
    assert extern_bindings(ast["files"][0]) == {
        "host": "a", "limits": {"low": -2, "tags": ["x", "y"]}, "start": Time(T2023), "every": Duration(0, 5_400 * S)}


# --- what the query sees ----------------------------------------------------------------------------


@pytest.fixture
def store() -> Store:
    store = Store()
    org = store.add_org("acme")
    bucket = store.add_bucket(org.id, "demo")
    store.write(bucket, [FieldPoint("cpu", (("host", host),), "v", "double", float(i), T2023 + i * 60 * S)
                         for i, host in enumerate(["a", "b", "a"])])
    return store


def run(store: Store, query: str, extern: Any, **kwargs: Any) -> list[str]:
    """The data rows (no annotations, no header) of the answer."""
    org = next(iter(store.orgs.values()))
    text = run_query(query, store=store, org=org, now_ns=T2023 + 3600 * S, extern=extern, **kwargs)
    return [line for line in text.split("\r\n") if line.startswith(",,")]


def test_the_query_reads_extern_names_as_the_real_server_does(store: Store) -> None:
    extern = file(option("bucket", lit("StringLiteral", "demo")), option("host", lit("StringLiteral", "a")),
                  option("start", lit("DateTimeLiteral", "2023-01-01T00:00:00Z")),
                  option("floor", lit("FloatLiteral", 0.5)))
    rows = run(store, "from(bucket: bucket) |> range(start: start) |> filter(fn: (r) => r.host == host and r._value > floor)",
               extern)
    assert [row.split(",")[6] for row in rows] == ["2"]


def test_a_negative_duration_from_the_extern_is_a_relative_start(store: Store) -> None:
    since = {"type": "UnaryExpression", "operator": "-",
             "argument": {"type": "DurationLiteral", "values": [{"magnitude": 59 * 60 * 10**6, "unit": "us"}]}}
    rows = run(store, 'from(bucket: "demo") |> range(start: since)', file(option("since", since)))
    assert sorted(row.split(",")[5] for row in rows) == ["2023-01-01T00:01:00Z", "2023-01-01T00:02:00Z"]


def test_the_query_may_set_an_extern_option_again(store: Store) -> None:
    rows = run(store, 'option host = "b"\nfrom(bucket: "demo") |> range(start: 0) |> filter(fn: (r) => r.host == host)',
               file(option("host", lit("StringLiteral", "a"))))
    assert [row.split(",")[-1] for row in rows] == ["b"]


def test_params_still_work_beside_an_empty_extern(store: Store) -> None:
    rows = run(store, 'from(bucket: "demo") |> range(start: 0) |> filter(fn: (r) => r.host == params.h)',
               file(), params={"h": "b"})
    assert len(rows) == 1


# --- refusals ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("extern, message", [
    (file(option("p", {"type": "BinaryExpression", "operator": "+", "left": lit("IntegerLiteral", "1"),
                       "right": lit("IntegerLiteral", "2")})),
     "extern.body[0].assignment.init: unsupported node BinaryExpression in extern"),
    (file(option("p", {"type": "CallExpression", "callee": {"type": "Identifier", "name": "now"}})),
     "extern.body[0].assignment.init: unsupported node CallExpression"),
    (file(option("p", lit("UnsignedIntegerLiteral", "5"))), "unsupported node UnsignedIntegerLiteral"),
    (file(option("p", {"type": "FunctionExpression", "params": [], "body": lit("IntegerLiteral", "1")})),
     "unsupported node FunctionExpression"),
    (file({"type": "ExpressionStatement", "expression": lit("IntegerLiteral", "1")}),
     "extern.body[0]: unsupported node ExpressionStatement in extern (the sandbox evaluates option statements"),
    (file({"type": "OptionStatement", "assignment": {
        "type": "MemberAssignment", "member": {"type": "MemberExpression"}, "init": lit("IntegerLiteral", "1")}}),
     "extern.body[0].assignment: unsupported node MemberAssignment"),
    ({"imports": [{"type": "ImportDeclaration", "path": lit("StringLiteral", "profiler")}], "body": []},
     'extern.imports[0]: unsupported import "profiler": the sandbox has no Flux packages'),
    (file(option("p", {"type": "ObjectExpression", "with": {"type": "Identifier", "name": "r"}, "properties": []})),
     "unsupported node ObjectExpression with"),
    (file(option("p", {"type": "UnaryExpression", "operator": "exists", "argument": lit("IntegerLiteral", "1")})),
     "unsupported unary operator 'exists'"),
    (file(option("now", lit("DateTimeLiteral", "2023-01-01T00:00:00Z"))), 'unsupported option "now"'),
    (file(option("p", {"type": "Identifier", "name": "q"})), "extern.body[0].assignment.init: undefined identifier q"),
    (file(option("p", {"type": "ArrayExpression", "elements": [lit("IntegerLiteral", "1"), lit("StringLiteral", "a")]})),
     "an array's elements must all have one type, found int and string"),
    (file(option("p", {"type": "ArrayExpression", "elements": [lit("IntegerLiteral", "1"), lit("FloatLiteral", 1.5)]})),
     "found float and int"),
    (file(option("p", lit("IntegerLiteral", "1180591620717411303424"))), "is not a 64-bit integer"),
    (file(option("p", lit("IntegerLiteral", 42))), "IntegerLiteral value must be a string of decimal digits, got a number"),
    (file(option("p", lit("IntegerLiteral", "4.2"))), 'IntegerLiteral value "4.2" is not a 64-bit integer'),
    (file(option("p", lit("FloatLiteral", "1.5"))), "FloatLiteral value must be a finite JSON number"),
    (file(option("p", lit("BooleanLiteral", "true"))), "BooleanLiteral value must be true or false, got a string"),
    (file(option("p", lit("StringLiteral", None))), "StringLiteral value must be a string, got null"),
    (file(option("p", lit("DateTimeLiteral", "yesterday"))), "DateTimeLiteral invalid RFC3339 time 'yesterday'"),
    (file(option("p", {"type": "DurationLiteral", "values": []})), "DurationLiteral needs a non-empty values array"),
    (file(option("p", {"type": "DurationLiteral", "values": [{"magnitude": 1, "unit": "fortnight"}]})),
     "unknown duration unit 'fortnight'"),
    (file(option("p", {"type": "DurationLiteral", "values": [{"magnitude": "1", "unit": "h"}]})),
     "extern.body[0].assignment.init.values[0]: magnitude must be a 64-bit integer"),
    (file(option("p", lit("RegexpLiteral", "("))), "invalid regular expression /(/"),
    (file(option("p", None)), "extern.body[0].assignment.init: expected an AST node (a JSON object), got null"),
    (file(option("p", {"value": "x"})), "extern.body[0].assignment.init: the node has no type"),
    (file({"type": "OptionStatement", "assignment": {"type": "VariableAssignment", "id": {"type": "Identifier"},
                                                      "init": lit("IntegerLiteral", "1")}}),
     "extern.body[0].assignment.id: an Identifier needs a non-empty name"),
    (file(option("p", {"type": "ObjectExpression", "properties": [
        {"type": "Property", "key": lit("IntegerLiteral", "1"), "value": lit("IntegerLiteral", "1")}]})),
     "properties[0].key: unsupported node IntegerLiteral"),
    ({"body": "option a = 1"}, "extern.body: expected an array, got a string"),
    ([], "extern: expected a File (a JSON object), got an array"),
    ({"type": "Package", "body": []}, "extern: unsupported node Package in extern"),
    ({"package": {"type": "PackageClause", "name": {"type": "Identifier", "name": "other"}}, "body": []},
     'extern.package: the sandbox runs only package "main"'),
])
def test_what_the_sandbox_cannot_evaluate_is_refused_by_name(extern: Any, message: str) -> None:
    with pytest.raises(FluxError) as caught:
        extern_bindings(extern)
    assert message in str(caught.value)
    assert caught.value.status == 400


def test_an_extern_error_comes_before_the_query_runs(store: Store) -> None:
    with pytest.raises(FluxError, match=re.escape("unsupported node CallExpression")):
        run(store, "this is not flux", file(option("p", {"type": "CallExpression"})))


# --- time(v:) and duration(v:), which the JavaScript client's flux`` template writes --------------------


@pytest.mark.parametrize("query, expected", [
    ('range(start: time(v: "2023-01-01T00:01:00Z"))', ["2023-01-01T00:01:00Z", "2023-01-01T00:02:00Z"]),
    (f"range(start: time(v: {T2023 + 120 * S}))", ["2023-01-01T00:02:00Z"]),
    ("range(start: time(v: 2023-01-01T00:02:00Z))", ["2023-01-01T00:02:00Z"]),
    ('range(start: duration(v: "-59m"))', ["2023-01-01T00:01:00Z", "2023-01-01T00:02:00Z"]),
    ('range(start: 0, stop: duration(v: "-59m30s"))', ["2023-01-01T00:00:00Z"]),
    ("range(start: duration(v: -58 * 60 * 1000000000))", ["2023-01-01T00:02:00Z"]),
    ('range(start: 2022-12-01T00:00:00Z, stop: duration(v: "-1mo"))', []),
])
def test_time_and_duration_conversions(store: Store, query: str, expected: list[str]) -> None:
    rows = run(store, f'from(bucket: "demo") |> {query}', None)
    assert sorted(row.split(",")[5] for row in rows) == expected


@pytest.mark.parametrize("call, message", [
    ('time(v: "soon")', "error calling function \"time\": invalid RFC3339 time 'soon'"),
    ("time(v: 1.5)", 'error calling function "time": cannot convert float to time'),
    ('duration(v: "1 hour")', 'error calling function "duration": invalid duration "1 hour"'),
    ("duration(v: true)", 'error calling function "duration": cannot convert bool to duration'),
    ("time()", 'error calling function "time": missing required argument "v"'),
])
def test_a_conversion_that_cannot_be_made_is_an_error(store: Store, call: str, message: str) -> None:
    with pytest.raises(FluxError) as caught:
        run(store, f'from(bucket: "demo") |> range(start: {call})', None)
    assert message in str(caught.value)


# --- the query route -----------------------------------------------------------------------------------
# No client sends these bodies (the Python client sends extern only, the JavaScript client and the
# connector params only), so they are made by hand.


def test_params_and_a_non_empty_extern_together_are_a_400(make_sandbox) -> None:
    sb = make_sandbox(token="t", org="acme", bucket="demo")
    post = lambda body: requests.post(f"{sb.url}/api/v2/query", params={"org": "acme"}, json=body,  # noqa: E731
                                      headers={"Authorization": "Token t"}, timeout=10)
    query = 'from(bucket: "demo") |> range(start: -1h)'
    both = post({"query": query, "params": {"a": 1}, "extern": file(option("b", lit("IntegerLiteral", "2")))})
    assert (both.status_code, both.json()) == (400, {"code": "invalid", "message": "params and extern cannot be used together"})
    assert post({"query": query, "params": {"a": 1}, "extern": file()}).status_code == 200


def test_nan_in_any_json_body_is_not_json(make_sandbox) -> None:
    sb = make_sandbox(token="t", org="acme", bucket=None)
    resp = requests.post(f"{sb.url}/api/v2/buckets", data=b'{"name": "b", "orgID": "x", "n": NaN}',
                         headers={"Authorization": "Token t", "Content-Type": "application/json"}, timeout=10)
    assert resp.status_code == 400
    assert resp.json()["message"] == "failed to decode request body: invalid character 'N' looking for beginning of value"


def test_an_array_of_mixed_types_in_the_query_text_is_refused_too(store: Store) -> None:
    # The JavaScript client's flux template writes a JS array as it is: ["a", 1] fails type checking.
    with pytest.raises(FluxError, match=re.escape('["a", 1]: an array\'s elements must all have one type, found int and string')):
        run(store, 'hosts = ["a", 1]\nfrom(bucket: "demo") |> range(start: 0)', None)
    assert len(run(store, 'hosts = [["a"], []]\nfrom(bucket: "demo") |> range(start: 0) |> filter(fn: (r) => r.host == hosts[0][0])',
                   None)) == 2
