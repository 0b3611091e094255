"""The sandbox's Flux subset: AST JSON, syntax analysis, query semantics and the exact
annotated CSV the real server writes."""
from __future__ import annotations

import calendar
import csv
from datetime import datetime
from typing import Any

import pytest

from influx_connector.sandbox.flux import FluxError, analyze, parse_ast, run_query
from influx_connector.sandbox.store import FieldPoint, Store

S = 1_000_000_000
MS = 1_000_000


def ts(text: str) -> int:
    """Nanoseconds for 'YYYY-MM-DDTHH:MM:SS' (UTC), built independently of the code under test."""
    return calendar.timegm(datetime.strptime(text, "%Y-%m-%dT%H:%M:%S").timetuple()) * S


NOW = ts("2023-01-31T06:00:00")


def point(measurement: str, tags: dict[str, str], field: str, value: Any, time_ns: int) -> FieldPoint:
    kind = {bool: "boolean", int: "long", float: "double", str: "string"}[type(value)]
    return FieldPoint(measurement, tuple(sorted(tags.items())), field, kind, value, time_ns)


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def org(store: Store):
    return store.add_org("acme")


@pytest.fixture
def bucket(store: Store, org):
    return store.add_bucket(org.id, "demo")


def run(store: Store, org, query: str, **kwargs: Any) -> str:
    return run_query(query, store=store, org=org, now_ns=kwargs.pop("now_ns", NOW), **kwargs)


def tables(text: str) -> list[dict[str, Any]]:
    """Parse annotated CSV into [{"result", "table", "group", "types", "rows"}] per table ID."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    header: list[str] = []
    group: list[str] = []
    types: list[str] = []
    default_result = ""
    for line in text.split("\r\n"):
        if not line:
            continue
        fields = next(csv.reader([line]))
        if fields[0] == "#datatype":
            types = fields
        elif fields[0] == "#group":
            group = fields
        elif fields[0] == "#default":
            default_result = fields[1]
        elif fields[1] == "result":
            header = fields
        else:
            row = dict(zip(header[3:], fields[3:]))
            entry = out.setdefault(
                (default_result, fields[2]),
                {
                    "result": default_result,
                    "table": int(fields[2]),
                    "columns": header[3:],
                    "group": [h for h, g in zip(header[3:], group[3:]) if g == "true"],
                    "types": dict(zip(header[3:], types[3:])),
                    "rows": [],
                },
            )
            entry["rows"].append(row)
    return list(out.values())


def values(text: str, column: str = "_value") -> list[str]:
    return [row[column] for t in tables(text) for row in t["rows"]]


def strip_locations(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: strip_locations(v) for k, v in node.items() if k != "location"}
    if isinstance(node, list):
        return [strip_locations(v) for v in node]
    return node


# --- AST ---------------------------------------------------------------------------------

TYPICAL = 'from(bucket:"b") |> range(start: -1h) |> filter(fn: (r) => r._measurement == "cpu" and r.host =~ /a.*/)'


def test_ast_of_a_typical_query_matches_the_flux_json_shape() -> None:
    ast = parse_ast(TYPICAL)
    assert ast["type"] == "Package" and ast["package"] == "main"
    (file,) = ast["files"]
    assert file["type"] == "File"
    assert file["metadata"] == "parser-type=rust"
    assert "package" not in file and file["imports"] == []  # no package clause: omitted, as the contract types it

    def ident(name: str) -> dict[str, Any]:
        return {"type": "Identifier", "name": name}

    def call(name: str, **props: Any) -> dict[str, Any]:
        return {
            "type": "CallExpression",
            "callee": ident(name),
            "arguments": [
                {
                    "type": "ObjectExpression",
                    "properties": [{"type": "Property", "key": ident(k), "value": v} for k, v in props.items()],
                }
            ],
        }

    predicate = {
        "type": "FunctionExpression",
        "params": [{"type": "Property", "key": ident("r"), "value": None}],
        "body": {
            "type": "LogicalExpression",
            "operator": "and",
            "left": {
                "type": "BinaryExpression",
                "operator": "==",
                "left": {"type": "MemberExpression", "object": ident("r"), "property": ident("_measurement")},
                "right": {"type": "StringLiteral", "value": "cpu"},
            },
            "right": {
                "type": "BinaryExpression",
                "operator": "=~",
                "left": {"type": "MemberExpression", "object": ident("r"), "property": ident("host")},
                "right": {"type": "RegexpLiteral", "value": "a.*"},
            },
        },
    }
    expected = [
        {
            "type": "ExpressionStatement",
            "expression": {
                "type": "PipeExpression",
                "argument": {
                    "type": "PipeExpression",
                    "argument": call("from", bucket={"type": "StringLiteral", "value": "b"}),
                    "call": call(
                        "range",
                        start={
                            "type": "UnaryExpression",
                            "operator": "-",
                            "argument": {"type": "DurationLiteral", "values": [{"magnitude": 1, "unit": "h"}]},
                        },
                    ),
                },
                "call": call("filter", fn=predicate),
            },
        }
    ]
    assert strip_locations(file["body"]) == expected


def test_ast_locations_give_line_column_and_source() -> None:
    file = parse_ast(TYPICAL)["files"][0]
    assert file["location"] == {
        "start": {"line": 1, "column": 1},
        "end": {"line": 1, "column": len(TYPICAL) + 1},
        "source": TYPICAL,
    }
    from_call = file["body"][0]["expression"]["argument"]["argument"]
    assert from_call["location"]["source"] == 'from(bucket:"b")'
    assert from_call["location"]["end"] == {"line": 1, "column": 17}
    bucket_arg = from_call["arguments"][0]["properties"][0]
    assert bucket_arg["location"]["start"] == {"line": 1, "column": 6}
    assert bucket_arg["value"]["location"]["source"] == '"b"'


def test_ast_literals_statements_and_comments() -> None:
    query = (
        'import "strings"\n'
        "// a comment line\n"
        "data = from(bucket: \"b\") // trailing comment\n"
        "  |> range(start: 2023-01-31T05:41:24.001Z, stop: 2023-02-01)\n"
        "  |> limit(n: 10, offset: 2)\n"
        'x = "q\\"uote\\\\ \\n\\t"\n'
        "y = 1.5\n"
        "z = now()\n"
        "w = -1h30m\n"
        'v = r["host"]\n'
    )
    file = parse_ast(query)["files"][0]
    assert strip_locations(file["imports"]) == [
        {"type": "ImportDeclaration", "as": None, "path": {"type": "StringLiteral", "value": "strings"}}
    ]
    body = strip_locations(file["body"])
    assert [s["type"] for s in body] == ["VariableAssignment"] * 6
    pipe = body[0]["init"]
    assert pipe["type"] == "PipeExpression"
    limit_args = pipe["call"]["arguments"][0]["properties"]
    assert [p["value"] for p in limit_args] == [
        {"type": "IntegerLiteral", "value": "10"},
        {"type": "IntegerLiteral", "value": "2"},
    ]
    range_args = pipe["argument"]["call"]["arguments"][0]["properties"]
    assert range_args[0]["value"] == {"type": "DateTimeLiteral", "value": "2023-01-31T05:41:24.001+00:00"}
    assert range_args[1]["value"] == {"type": "DateTimeLiteral", "value": "2023-02-01T00:00:00+00:00"}
    assert body[1]["init"] == {"type": "StringLiteral", "value": 'q"uote\\ \n\t'}
    assert body[2]["init"] == {"type": "FloatLiteral", "value": 1.5}
    # A call without arguments has no "arguments" key, as in the real serializer.
    assert body[3]["init"] == {"type": "CallExpression", "callee": {"type": "Identifier", "name": "now"}}
    assert body[4]["init"]["argument"]["values"] == [{"magnitude": 1, "unit": "h"}, {"magnitude": 30, "unit": "m"}]
    assert body[5]["init"]["property"] == {"type": "StringLiteral", "value": "host"}


def test_parse_ast_raises_flux_error_with_line_and_column() -> None:
    with pytest.raises(FluxError, match=r"@2:20-2:20: expected RPAREN, got EOF"):
        parse_ast('from(bucket: "b")\n  |> range(start: 0')


# --- analyze -----------------------------------------------------------------------------


def test_analyze_accepts_valid_flux_even_with_unsupported_functions() -> None:
    assert analyze(TYPICAL) == []
    assert analyze('import "experimental"\nfrom(bucket: "b") |> range(start: -1h) |> pivot(x: 1)') == []


def test_analyze_reports_missing_paren_at_eof() -> None:
    query = 'from(bucket: "b")\n  |> range(start: -1h'
    assert analyze(query) == [
        {"line": 2, "column": 22, "character": len(query), "message": "expected RPAREN, got EOF"}
    ]


def test_analyze_reports_unexpected_token_with_its_position() -> None:
    query = 'from(bucket: "b")\n  |> range(start: -1h,, stop: now())'
    [error] = analyze(query)
    assert (error["line"], error["column"], error["character"]) == (2, 23, query.index(",,") + 1)
    assert error["message"] == "expected RPAREN, got COMMA (,) at 2:23"


def test_analyze_reports_pipe_into_non_call_and_bad_strings() -> None:
    assert analyze("a |> b")[0]["message"] == "pipe destination must be a function call"
    [error] = analyze('x = 1\ny = "open')
    assert (error["line"], error["column"], error["message"]) == (2, 5, "unterminated string literal")


# --- exact CSV ---------------------------------------------------------------------------


def test_exact_csv_bytes_for_a_small_dataset(store: Store, org, bucket) -> None:
    store.write(
        bucket,
        [
            point("cpu", {"host": "a"}, "usage_user", 1.5, ts("2023-01-31T05:41:24") + 1 * MS),
            point("cpu", {"host": "a"}, "usage_user", 2.0, ts("2023-01-31T05:41:25")),
            point("cpu", {"host": "b"}, "usage_user", 0.25, ts("2023-01-31T05:41:24")),
            point("mem", {"host": "a"}, "used", 10, ts("2023-01-31T05:41:24")),
        ],
    )
    query = (
        'from(bucket: "demo")\n'
        "  |> range(start: 2023-01-31T05:00:00Z, stop: 2023-01-31T06:00:00Z)\n"
        '  |> filter(fn: (r) => r._measurement == "cpu")\n'
    )
    expected = (
        "#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,double,string,string,string\r\n"
        "#group,false,false,true,true,false,false,true,true,true\r\n"
        "#default,_result,,,,,,,,\r\n"
        ",result,table,_start,_stop,_time,_value,_field,_measurement,host\r\n"
        ",,0,2023-01-31T05:00:00Z,2023-01-31T06:00:00Z,2023-01-31T05:41:24.001Z,1.5,usage_user,cpu,a\r\n"
        ",,0,2023-01-31T05:00:00Z,2023-01-31T06:00:00Z,2023-01-31T05:41:25Z,2,usage_user,cpu,a\r\n"
        ",,1,2023-01-31T05:00:00Z,2023-01-31T06:00:00Z,2023-01-31T05:41:24Z,0.25,usage_user,cpu,b\r\n"
        "\r\n"
    )
    assert run(store, org, query) == expected


def test_schema_change_starts_a_new_block_after_an_empty_line(store: Store, org, bucket) -> None:
    t = ts("2023-01-31T05:30:00")
    store.write(
        bucket,
        [
            point("cpu", {"host": "a"}, "load", 1.0, t),
            point("cpu", {"host": "b"}, "load", 2.0, t),
            point("cpu", {"host": "c", "region": "eu"}, "load", 3.0, t),
            point("cpu", {"host": "d"}, "procs", 4, t),
        ],
    )
    out = run(store, org, 'from(bucket: "demo") |> range(start: -1h) |> keep(columns: ["_value", "_field", "host", "region"])')
    expected = (
        "#datatype,string,long,double,string,string\r\n"
        "#group,false,false,false,true,true\r\n"
        "#default,_result,,,,\r\n"
        ",result,table,_value,_field,host\r\n"
        ",,0,1,load,a\r\n"
        ",,1,2,load,b\r\n"
        "\r\n"
        "#datatype,string,long,double,string,string,string\r\n"
        "#group,false,false,false,true,true,true\r\n"
        "#default,_result,,,,,\r\n"
        ",result,table,_value,_field,host,region\r\n"
        ",,2,3,load,c,eu\r\n"
        "\r\n"
        "#datatype,string,long,long,string,string\r\n"
        "#group,false,false,false,true,true\r\n"
        "#default,_result,,,,\r\n"
        ",result,table,_value,_field,host\r\n"
        ",,3,4,procs,d\r\n"
        "\r\n"
    )
    assert out == expected


def test_cells_are_quoted_like_go_csv_and_types_formatted(store: Store, org, bucket) -> None:
    t = ts("2023-01-31T05:30:00")
    store.write(
        bucket,
        [
            point("m", {"t": " lead"}, "s", 'a,"b"\nc', t + 120),
            point("m", {"t": "x"}, "big", 1e21, t),
            point("m", {"t": "x"}, "tiny", 1e-7, t),
            point("m", {"t": "x"}, "ok", True, t),
            point("m", {"t": "x"}, "neg", -0.5, t),
        ],
    )
    out = run(store, org, 'from(bucket: "demo") |> range(start: -1h) |> keep(columns: ["_time", "_value", "_field"])')
    # Series order: the " lead" tag sorts before "x", then fields by name.
    assert ',,0,2023-01-31T05:30:00.00000012Z,"a,""b""\r\nc",s\r\n' in out
    assert ",,1,2023-01-31T05:30:00Z,1000000000000000000000,big\r\n" in out
    assert ",,2,2023-01-31T05:30:00Z,-0.5,neg\r\n" in out
    assert ",,3,2023-01-31T05:30:00Z,true,ok\r\n" in out
    assert ",,4,2023-01-31T05:30:00Z,0.0000001,tiny\r\n" in out
    assert "#datatype,string,long,dateTime:RFC3339,boolean,string\r\n" in out
    lead = run(store, org, 'from(bucket: "demo") |> range(start: -1h) |> filter(fn: (r) => r._field == "s") |> keep(columns: ["t"])')
    assert ',,0," lead"\r\n' in lead


def test_query_with_no_tables_writes_one_empty_line(store: Store, org, bucket) -> None:
    store.write(bucket, [point("cpu", {}, "v", 1.0, ts("2023-01-30T00:00:00"))])
    assert run(store, org, 'from(bucket: "demo") |> range(start: -1h)') == "\r\n"


def test_empty_table_block_carries_table_id_and_key_in_default_row(store: Store, org, bucket) -> None:
    store.write(bucket, [point("cpu", {"host": "a"}, "v", 1.0, ts("2023-01-31T05:30:00"))])
    out = run(store, org, 'from(bucket: "demo") |> range(start: -1h) |> limit(n: 0)')
    assert out == (
        "#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,double,string,string,string\r\n"
        "#group,false,false,true,true,false,false,true,true,true\r\n"
        "#default,_result,0,2023-01-31T05:00:00Z,2023-01-31T06:00:00Z,,,v,cpu,a\r\n"
        ",result,table,_start,_stop,_time,_value,_field,_measurement,host\r\n"
        "\r\n"
    )


# --- yields ------------------------------------------------------------------------------


def test_several_yields_are_separate_results_in_order(store: Store, org, bucket) -> None:
    t = ts("2023-01-31T05:30:00")
    store.write(bucket, [point("cpu", {"host": "a"}, "v", 1.0, t), point("cpu", {"host": "b"}, "v", 3.0, t)])
    query = (
        'data = from(bucket: "demo") |> range(start: -1h)\n'
        'data |> max() |> yield(name: "biggest")\n'
        'data |> group() |> count() |> yield(name: "n")\n'
    )
    out = run(store, org, query)
    parsed = tables(out)
    assert [(t["result"], t["table"]) for t in parsed] == [("biggest", 0), ("biggest", 1), ("n", 0)]
    assert parsed[2]["rows"] == [{"_value": "2"}]
    assert parsed[2]["types"] == {"_value": "long"}
    # Between results: the result's closing empty line, then a fresh annotation block.
    assert ",,1,2023-01-31T05:00:00Z,2023-01-31T06:00:00Z,2023-01-31T05:30:00Z,3,v,cpu,b\r\n\r\n#datatype,string,long,long\r\n" in out
    assert "#default,n,,\r\n,result,table,_value\r\n" in out
    assert out.endswith(",,0,2\r\n\r\n")


def test_unyielded_expression_statement_is_the_implicit_result(store: Store, org, bucket) -> None:
    store.write(bucket, [point("cpu", {}, "v", 1.0, ts("2023-01-31T05:30:00"))])
    query = 'x = from(bucket: "demo") |> range(start: -1h)\nx |> yield(name: "raw")\nx |> count()'
    assert [t["result"] for t in tables(run(store, org, query))] == ["raw", "_result"]


def test_duplicate_yield_names_and_queries_without_results_are_errors(store: Store, org, bucket) -> None:
    with pytest.raises(FluxError, match='duplicate yield name "a"'):
        run(store, org, 'x = from(bucket: "demo") |> range(start: -1h)\nx |> yield(name: "a")\nx |> yield(name: "a")')
    with pytest.raises(FluxError, match="returns no streaming data"):
        run(store, org, 'x = from(bucket: "demo") |> range(start: -1h)')


# --- from / range ------------------------------------------------------------------------


def test_range_bounds_are_start_inclusive_stop_exclusive(store: Store, org, bucket) -> None:
    base = ts("2023-01-31T05:00:00")
    store.write(bucket, [point("cpu", {}, "v", float(i), base + i * 60 * S) for i in range(6)])
    out = run(store, org, 'from(bucket: "demo") |> range(start: 2023-01-31T05:01:00Z, stop: 2023-01-31T05:04:00Z)')
    assert values(out) == ["1", "2", "3"]
    assert {r["_start"] for r in tables(out)[0]["rows"]} == {"2023-01-31T05:01:00Z"}
    # Durations count back from now; stop defaults to now.
    assert values(run(store, org, 'from(bucket: "demo") |> range(start: -2m)', now_ns=base + 5 * 60 * S)) == [
        "3",
        "4",
    ]
    # -1h30m mixes units; stop may be a duration too.
    assert values(run(store, org, 'from(bucket: "demo") |> range(start: -1h30m, stop: -1h28m)', now_ns=base + 90 * 60 * S)) == [
        "0",
        "1",
    ]
    # Integers are Unix seconds; now() is the query's now.
    unix = base // S + 4 * 60
    assert values(run(store, org, f'from(bucket: "demo") |> range(start: {unix}, stop: now())')) == ["4", "5"]


def test_range_with_calendar_months(store: Store, org, bucket) -> None:
    store.write(
        bucket,
        [point("m", {}, "v", 1.0, ts("2022-12-30T00:00:00")), point("m", {}, "v", 2.0, ts("2022-12-31T12:00:00"))],
    )
    # One calendar month before 2023-01-31T06:00Z is 2022-12-31T06:00Z.
    out = run(store, org, 'from(bucket: "demo") |> range(start: -1mo)')
    assert values(out) == ["2"]
    assert tables(out)[0]["rows"][0]["_start"] == "2022-12-31T06:00:00Z"


def test_bucket_by_id_and_buckets_of_other_orgs(store: Store, org, bucket) -> None:
    store.write(bucket, [point("cpu", {}, "v", 1.0, ts("2023-01-31T05:30:00"))])
    assert values(run(store, org, f'from(bucketID: "{bucket.id}") |> range(start: -1h)')) == ["1"]
    other = store.add_org("other")
    with pytest.raises(FluxError, match='could not find bucket "demo"'):
        run(store, other, 'from(bucket: "demo") |> range(start: -1h)')
    with pytest.raises(FluxError, match='could not find bucket "nope"'):
        run(store, org, 'from(bucket: "nope") |> range(start: -1h)')


def test_unbounded_from_is_refused(store: Store, org, bucket) -> None:
    message = "cannot submit unbounded read to \"demo\"; try bounding 'from' with a call to 'range'"
    with pytest.raises(FluxError) as exc:
        run(store, org, 'from(bucket: "demo") |> filter(fn: (r) => true) |> range(start: -1h)')
    assert str(exc.value) == message
    with pytest.raises(FluxError) as exc:
        run(store, org, 'from(bucket: "demo")')
    assert str(exc.value) == message


def test_unsupported_function_names_the_supported_set(store: Store, org, bucket) -> None:
    with pytest.raises(FluxError) as exc:
        run(store, org, 'from(bucket: "demo") |> range(start: -1h) |> pivot(rowKey: ["_time"])')
    assert str(exc.value).startswith('unsupported function "pivot" (the sandbox supports: from, range, filter,')
    assert "aggregateWindow" in str(exc.value)


def test_imports_unknown_arguments_and_runtime_type_errors_are_flux_errors(store: Store, org, bucket) -> None:
    store.write(bucket, [point("cpu", {}, "v", 1.0, ts("2023-01-31T05:30:00"))])
    with pytest.raises(FluxError, match='unsupported import "strings"'):
        run(store, org, 'import "strings"\nfrom(bucket: "demo") |> range(start: -1h)')
    with pytest.raises(FluxError, match='error calling function "range": unexpected argument "begin"'):
        run(store, org, 'from(bucket: "demo") |> range(begin: -1h)')
    with pytest.raises(FluxError, match='missing required argument "start"'):
        run(store, org, 'from(bucket: "demo") |> range()')
    with pytest.raises(FluxError, match="unsupported binary expression float == string"):
        run(store, org, 'from(bucket: "demo") |> range(start: -1h) |> filter(fn: (r) => r._value == "1")')


# --- filter ------------------------------------------------------------------------------


@pytest.fixture
def hosts(store: Store, bucket) -> None:
    t = ts("2023-01-31T05:30:00")
    store.write(
        bucket,
        [
            point("cpu", {"host": "alpha"}, "usage", 10.0, t),
            point("cpu", {"host": "beta"}, "usage", 55.5, t),
            point("cpu", {"host": "gamma", "region": "eu"}, "usage", 90.0, t),
            point("cpu", {"host": "alpha"}, "count", 3, t),
            point("disk", {"host": "alpha"}, "ok", True, t),
        ],
    )


@pytest.mark.parametrize(
    "predicate, expected",
    [
        ('r._measurement == "cpu" and r._field == "usage"', ["alpha", "beta", "gamma"]),
        ('r["host"] =~ /^a/ and r._field != "count"', ["alpha", "alpha"]),
        ('r.host !~ /a$/', []),
        ('r._field == "usage" and r._value >= 55.5', ["beta", "gamma"]),
        ('r._field == "usage" and r._value < 50', ["alpha"]),
        ('r._field == "count" and r._value > 2', ["alpha"]),
        ('exists r.region', ["gamma"]),
        ('not exists r.region and r._measurement == "cpu" and r._field == "usage"', ["alpha", "beta"]),
        ('r.region == "eu" or r._measurement == "disk"', ["gamma", "alpha"]),
        ('not (r.region == "eu")', []),
        ('r._value == true', ["alpha"]),
        ('r._time == 2023-01-31T05:30:00Z and r._field == "usage" and r.host == params.host', ["beta"]),
    ],
)
def test_filter_predicates(store: Store, org, hosts, predicate: str, expected: list[str]) -> None:
    # The bool and float _value columns make some comparisons type errors in Flux; those
    # rows are kept away by the left operand first, as and short-circuits.
    query = f'from(bucket: "demo") |> range(start: -1h) |> filter(fn: (r) => r._field != "x" and ({predicate}))'
    if predicate == "r._value == true":
        query = f'from(bucket: "demo") |> range(start: -1h) |> filter(fn: (r) => r._field == "ok" and {predicate})'
    out = run(store, org, query, params={"host": "beta"})
    assert values(out, "host") == expected


def test_variables_and_user_defined_functions(store: Store, org, hosts) -> None:
    query = """
usage = "usage"
top = (tables=<-, n) => tables |> group() |> sort(columns: ["_value"], desc: true) |> limit(n: n)
above = (r, min) => r._field == usage and r._value > min
from(bucket: "demo") |> range(start: -1h) |> filter(fn: (r) => above(r: r, min: 20.0)) |> top(n: 1)
"""
    assert values(run(store, org, query), "host") == ["gamma"]
    interpolated = 'name = "bet"\nfrom(bucket: "demo") |> range(start: -1h) |> filter(fn: (r) => r.host == "${name}a")'
    assert values(run(store, org, interpolated), "host") == ["beta"]


def test_filter_drops_tables_that_become_empty(store: Store, org, hosts) -> None:
    out = run(store, org, 'from(bucket: "demo") |> range(start: -1h) |> filter(fn: (r) => r.host == "beta")')
    assert [t["table"] for t in tables(out)] == [0]


# --- keep / drop / group / sort / limit --------------------------------------------------


def test_keep_and_drop_change_columns_and_group_key(store: Store, org, hosts) -> None:
    kept = tables(run(store, org, 'from(bucket: "demo") |> range(start: -1h) |> filter(fn: (r) => r._field == "usage") |> keep(columns: ["_value", "host", "nope"])'))
    assert kept[0]["columns"] == ["_value", "host"]
    assert kept[0]["group"] == ["host"]
    dropped = tables(run(store, org, 'from(bucket: "demo") |> range(start: -1h) |> filter(fn: (r) => r.host == "beta") |> drop(columns: ["_start", "_stop", "_time"])'))
    assert dropped[0]["columns"] == ["_value", "_field", "_measurement", "host"]
    assert dropped[0]["group"] == ["_field", "_measurement", "host"]


def test_group_by_columns_and_group_all(store: Store, org, hosts) -> None:
    by_field = tables(run(store, org, 'from(bucket: "demo") |> range(start: -1h) |> filter(fn: (r) => r._measurement == "cpu") |> group(columns: ["_field"], mode: "by")'))
    assert [(t["group"], [r["host"] for r in t["rows"]]) for t in by_field] == [
        (["_field"], ["alpha"]),
        (["_field"], ["alpha", "beta", "gamma"]),
    ]
    assert [t["rows"][0]["_field"] for t in by_field] == ["count", "usage"]
    # Rows of tables without "region" get an empty (null) cell in the merged table.
    assert [r["region"] for r in by_field[1]["rows"]] == ["", "", "eu"]
    everything = tables(run(store, org, 'from(bucket: "demo") |> range(start: -1h) |> filter(fn: (r) => r._field == "usage") |> group()'))
    assert len(everything) == 1 and everything[0]["group"] == []
    assert len(everything[0]["rows"]) == 3
    except_mode = tables(run(store, org, 'from(bucket: "demo") |> range(start: -1h) |> filter(fn: (r) => r._field == "usage") |> group(columns: ["_time", "_value", "host", "region"], mode: "except")'))
    assert [t["group"] for t in except_mode] == [["_start", "_stop", "_field", "_measurement"]]


def test_group_refuses_mixed_value_types(store: Store, org, hosts) -> None:
    with pytest.raises(FluxError, match="schema collision"):
        run(store, org, 'from(bucket: "demo") |> range(start: -1h) |> group()')


def test_sort_and_limit(store: Store, org, hosts) -> None:
    base = 'from(bucket: "demo") |> range(start: -1h) |> filter(fn: (r) => r._field == "usage") |> group()'
    assert values(run(store, org, base + " |> sort()")) == ["10", "55.5", "90"]
    assert values(run(store, org, base + " |> sort(desc: true)")) == ["90", "55.5", "10"]
    assert values(run(store, org, base + ' |> sort(columns: ["host"], desc: true)'), "host") == ["gamma", "beta", "alpha"]
    # Sorting on a column with nulls puts them first.
    assert values(run(store, org, base + ' |> sort(columns: ["region"], desc: false)'), "region") == ["", "", "eu"]
    assert values(run(store, org, base + " |> sort() |> limit(n: 2)")) == ["10", "55.5"]
    assert values(run(store, org, base + " |> sort() |> limit(n: 2, offset: 2)")) == ["90"]


# --- selectors and aggregates ------------------------------------------------------------


@pytest.fixture
def series(store: Store, bucket) -> None:
    base = ts("2023-01-31T05:00:00")
    ints = [5, 2, 9, 2, 7]
    store.write(bucket, [point("m", {"host": "a"}, "n", v, base + i * 60 * S) for i, v in enumerate(ints)])
    store.write(bucket, [point("m", {"host": "a"}, "s", f"v{i}", base + i * 60 * S) for i in range(3)])


@pytest.mark.parametrize(
    "fn, value, time",
    [
        ("first", "5", "05:00:00"),
        ("last", "7", "05:04:00"),
        ("min", "2", "05:01:00"),
        ("max", "9", "05:02:00"),
    ],
)
def test_selectors_return_the_whole_selected_row(store: Store, org, series, fn: str, value: str, time: str) -> None:
    out = run(store, org, f'from(bucket: "demo") |> range(start: -1h) |> filter(fn: (r) => r._field == "n") |> {fn}()')
    [table] = tables(out)
    assert table["rows"] == [
        {
            "_start": "2023-01-31T05:00:00Z",
            "_stop": "2023-01-31T06:00:00Z",
            "_time": f"2023-01-31T{time}Z",
            "_value": value,
            "_field": "n",
            "_measurement": "m",
            "host": "a",
        }
    ]


def test_aggregates_keep_group_key_columns_and_set_types(store: Store, org, series) -> None:
    base = 'from(bucket: "demo") |> range(start: -1h) |> filter(fn: (r) => r._field == "n")'
    mean = tables(run(store, org, base + " |> mean()"))[0]
    assert mean["columns"] == ["_start", "_stop", "_field", "_measurement", "host", "_value"]
    assert mean["types"]["_value"] == "double"
    assert mean["rows"][0]["_value"] == "5"
    total = tables(run(store, org, base + " |> sum()"))[0]
    assert (total["types"]["_value"], total["rows"][0]["_value"]) == ("long", "25")
    count = tables(run(store, org, 'from(bucket: "demo") |> range(start: -1h) |> count()'))
    assert [(t["types"]["_value"], t["rows"][0]["_value"]) for t in count] == [("long", "5"), ("long", "3")]
    # count() works on strings; mean() does not.
    with pytest.raises(FluxError, match="unsupported column type string"):
        run(store, org, 'from(bucket: "demo") |> range(start: -1h) |> filter(fn: (r) => r._field == "s") |> mean()')


def test_aggregates_after_group_keep_only_the_new_key(store: Store, org, series) -> None:
    out = run(store, org, 'from(bucket: "demo") |> range(start: -1h) |> filter(fn: (r) => r._field == "n") |> group(columns: ["host"]) |> max() |> yield(name: "top")')
    [table] = tables(out)
    assert table["group"] == ["host"]
    assert table["rows"][0]["_value"] == "9"
    mean = tables(run(store, org, 'from(bucket: "demo") |> range(start: -1h) |> filter(fn: (r) => r._field == "n") |> group(columns: ["host"]) |> mean()'))
    assert mean[0]["columns"] == ["host", "_value"]
    assert mean[0]["rows"] == [{"host": "a", "_value": "5"}]


# --- aggregateWindow ---------------------------------------------------------------------


@pytest.fixture
def windowed(store: Store, bucket) -> None:
    base = ts("2023-01-31T05:00:00")
    samples = [(0, 1.0), (20, 2.0), (70, 4.0), (200, 8.0)]  # seconds after 05:00
    store.write(bucket, [point("m", {"host": "a"}, "v", v, base + s * S) for s, v in samples])


def window_rows(out: str) -> list[tuple[str, str]]:
    return [(r["_time"][11:19], r["_value"]) for t in tables(out) for r in t["rows"]]


def test_aggregate_window_mean_with_empty_windows(store: Store, org, windowed) -> None:
    query = 'from(bucket: "demo") |> range(start: 2023-01-31T05:00:30Z, stop: 2023-01-31T05:04:00Z) |> aggregateWindow(every: 1m, fn: mean)'
    out = run(store, org, query)
    # Windows are epoch-aligned and clipped to the range: the first one is 05:00:30-05:01.
    assert window_rows(out) == [("05:01:00", ""), ("05:02:00", "4"), ("05:03:00", ""), ("05:04:00", "8")]
    [table] = tables(out)
    assert table["columns"] == ["_start", "_stop", "_time", "_value", "_field", "_measurement", "host"]
    assert {r["_start"] for r in table["rows"]} == {"2023-01-31T05:00:30Z"}


def test_aggregate_window_count_fills_zero_and_other_functions(store: Store, org, windowed) -> None:
    base = 'from(bucket: "demo") |> range(start: 2023-01-31T05:00:00Z, stop: 2023-01-31T05:04:00Z)'
    count = run(store, org, base + " |> aggregateWindow(every: 1m, fn: count)")
    assert window_rows(count) == [("05:01:00", "2"), ("05:02:00", "1"), ("05:03:00", "0"), ("05:04:00", "1")]
    assert tables(count)[0]["types"]["_value"] == "long"
    assert window_rows(run(store, org, base + " |> aggregateWindow(every: 2m, fn: sum)")) == [
        ("05:02:00", "7"),
        ("05:04:00", "8"),
    ]
    assert window_rows(run(store, org, base + " |> aggregateWindow(every: 1m, fn: max, createEmpty: false)")) == [
        ("05:01:00", "2"),
        ("05:02:00", "4"),
        ("05:04:00", "8"),
    ]
    assert window_rows(run(store, org, base + ' |> aggregateWindow(every: 1m, fn: first, createEmpty: false, timeSrc: "_start")')) == [
        ("05:00:00", "1"),
        ("05:01:00", "4"),
        ("05:03:00", "8"),
    ]
    for fn, expected in (("last", "2"), ("min", "1")):
        assert window_rows(run(store, org, base + f" |> aggregateWindow(every: 1m, fn: {fn})"))[0] == ("05:01:00", expected)


def test_aggregate_window_clips_windows_to_the_range(store: Store, org, windowed) -> None:
    query = 'from(bucket: "demo") |> range(start: 2023-01-31T05:00:30Z, stop: 2023-01-31T05:03:30Z)'
    stops = run(store, org, query + " |> aggregateWindow(every: 1m, fn: count)")
    assert window_rows(stops) == [("05:01:00", "0"), ("05:02:00", "1"), ("05:03:00", "0"), ("05:03:30", "1")]
    starts = run(store, org, query + ' |> aggregateWindow(every: 1m, fn: count, timeSrc: "_start")')
    assert [t for t, _ in window_rows(starts)] == ["05:00:30", "05:01:00", "05:02:00", "05:03:00"]


def test_aggregate_window_refuses_custom_functions(store: Store, org, windowed) -> None:
    with pytest.raises(FluxError, match="fn must be one of"):
        run(store, org, 'from(bucket: "demo") |> range(start: -1h) |> aggregateWindow(every: 1m, fn: (tables=<-, column) => tables)')


# --- mid-stream error --------------------------------------------------------------------


def test_midstream_error_after_the_first_table(store: Store, org, bucket) -> None:
    t = ts("2023-01-31T05:30:00")
    store.write(bucket, [point("cpu", {"host": "a"}, "v", 1.0, t), point("cpu", {"host": "b"}, "v", 2.0, t)])
    out = run(store, org, 'from(bucket: "demo") |> range(start: -1h)', midstream_error='panic: "disk", full')
    assert out == (
        "#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,double,string,string,string\r\n"
        "#group,false,false,true,true,false,false,true,true,true\r\n"
        "#default,_result,,,,,,,,\r\n"
        ",result,table,_start,_stop,_time,_value,_field,_measurement,host\r\n"
        ",,0,2023-01-31T05:00:00Z,2023-01-31T06:00:00Z,2023-01-31T05:30:00Z,1,v,cpu,a\r\n"
        "\r\n"
        "#datatype,string,string\r\n"
        "#group,true,true\r\n"
        "#default,,\r\n"
        ",error,reference\r\n"
        ',"panic: ""disk"", full",\r\n'
        "\r\n"
    )


def test_midstream_error_without_tables_is_just_the_error_table(store: Store, org, bucket) -> None:
    out = run(store, org, 'from(bucket: "demo") |> range(start: -1h)', midstream_error="boom")
    assert out == "#datatype,string,string\r\n#group,true,true\r\n#default,,\r\n,error,reference\r\n,boom,\r\n\r\n"
