"""Tests for the annotated CSV decoder. Every sample is written by hand in the server's format:
CRLF line ends, an empty annotation column, the result name only in #default."""
from __future__ import annotations

import io
import itertools
import json
import math
from datetime import UTC, datetime

import pytest
import requests

from influx_connector.errors import APIError, DecodeError
from influx_connector.influxdb.annotated_csv import (
    Column,
    Table,
    decode,
    iter_rows,
    iter_tables,
    lines_from_chunks,
    parse_rfc3339_ns,
)

START = "2023-01-01T00:00:00Z"
STOP = "2023-01-02T00:00:00Z"
UTC = UTC

ANNOTATIONS = (
    "#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,double,string,string,string",
    "#group,false,false,true,true,false,false,true,true,true",
    "#default,_result,,,,,,,,",
    ",result,table,_start,_stop,_time,_value,_field,_measurement,host",
)


def crlf(*rows: str) -> str:
    """Rows as the server writes them: each one ended by CRLF."""
    return "".join(f"{row}\r\n" for row in rows)


def data_row(table: int, time: str, value: str, host: str, field: str = "temp") -> str:
    return f",,{table},{START},{STOP},{time},{value},{field},cpu,{host}"


def cpu_block(*rows: str, result: str = "_result") -> tuple[str, ...]:
    annotations = list(ANNOTATIONS)
    annotations[2] = f"#default,{result},,,,,,,,"
    return (*annotations, *rows)


def single(datatype: str, cell: str, *, default: str = "", typed: bool = False):
    """Decode a one-column table holding one cell and return that cell's value."""
    text = crlf(
        f"#datatype,string,long,{datatype}",
        "#group,false,false,false",
        f"#default,_result,,{default}",
        ",result,table,v",
        f",,0,{cell}",
    )
    (row,) = decode(text, typed=typed)
    return row["v"]


SAMPLE = crlf(*cpu_block(data_row(0, "2023-01-01T05:41:24.001Z", "1.5", "a"))) + "\r\n"


# --- the basic shape ------------------------------------------------------------------------


def test_server_sample_decodes_to_rows():
    assert decode(SAMPLE) == [
        {
            "result": "_result",
            "table": 0,
            "_start": START,
            "_stop": STOP,
            "_time": "2023-01-01T05:41:24.001Z",
            "_value": 1.5,
            "_field": "temp",
            "_measurement": "cpu",
            "host": "a",
        }
    ]


def test_rows_start_with_result_and_table_and_drop_the_annotation_column():
    (row,) = decode(SAMPLE)
    assert list(row)[:2] == ["result", "table"]
    assert "" not in row
    assert type(row["table"]) is int


def test_tables_shape():
    (table,) = decode(SAMPLE, shape="tables")
    assert table["result"] == "_result"
    assert table["table"] == 0
    assert table["group_key"] == {
        "_start": START,
        "_stop": STOP,
        "_field": "temp",
        "_measurement": "cpu",
        "host": "a",
    }
    assert table["columns"][0] == {"name": "result", "datatype": "string", "group": False, "default": "_result"}
    assert table["columns"][5] == {"name": "_value", "datatype": "double", "group": False, "default": None}
    assert [c["name"] for c in table["columns"]] == ANNOTATIONS[3].split(",")[1:]
    assert table["rows"] == decode(SAMPLE)


def test_iter_tables_gives_table_objects():
    (table,) = list(iter_tables(SAMPLE.splitlines(keepends=True)))
    assert isinstance(table, Table)
    assert table.columns[2] == Column("_start", "dateTime:RFC3339", True, None)
    assert table.columns[0] == Column("result", "string", False, "_result")
    assert len(table.rows) == 1


def test_csv_shape_returns_text_unchanged():
    assert decode(SAMPLE, shape="csv") is SAMPLE
    assert decode(SAMPLE.splitlines(keepends=True), shape="csv") == SAMPLE


def test_csv_shape_puts_back_newlines_that_iter_lines_dropped():
    lines = SAMPLE.splitlines()
    assert decode(lines, shape="csv") == "\n".join(lines)


def test_unknown_shape_is_a_value_error():
    with pytest.raises(ValueError, match="unknown shape 'table'"):
        decode(SAMPLE, shape="table")


def test_empty_input_has_no_tables():
    assert decode("") == []
    assert decode("\r\n") == []
    assert list(iter_tables([])) == []


# --- datatypes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "datatype, cell, json_value, typed_value",
    [
        ("long", "-9223372036854775808", -(2**63), -(2**63)),
        ("long", "9223372036854775807", 2**63 - 1, 2**63 - 1),
        ("unsignedLong", "18446744073709551615", 2**64 - 1, 2**64 - 1),
        ("unsignedLong", "0", 0, 0),
        ("double", "1.5", 1.5, 1.5),
        ("double", "-2e-05", -2e-05, -2e-05),
        ("double", "3", 3.0, 3.0),
        ("boolean", "true", True, True),
        ("boolean", "false", False, False),
        ("string", "hello world", "hello world", "hello world"),
        ("dateTime:number", "1672531200000000001", 1672531200000000001, 1672531200000000001),
        ("duration", "1500", 1500, 1500),
        ("base64Binary", "aGk=", "aGk=", b"hi"),
        ("someFutureType", "raw text", "raw text", "raw text"),
    ],
)
def test_datatype_conversion(datatype, cell, json_value, typed_value):
    value = single(datatype, cell)
    assert value == json_value and type(value) is type(json_value)
    typed = single(datatype, cell, typed=True)
    assert typed == typed_value and type(typed) is type(typed_value)


@pytest.mark.parametrize(
    "cell, json_value, check",
    [
        ("NaN", "NaN", math.isnan),
        ("+Inf", "+Inf", lambda v: v == math.inf),
        ("Inf", "+Inf", lambda v: v == math.inf),
        ("-Inf", "-Inf", lambda v: v == -math.inf),
    ],
)
def test_non_finite_doubles(cell, json_value, check):
    assert single("double", cell) == json_value
    typed = single("double", cell, typed=True)
    assert isinstance(typed, float) and check(typed)


@pytest.mark.parametrize(
    "cell, json_text, nanos",
    [
        ("2023-01-31T05:41:24Z", "2023-01-31T05:41:24Z", 1675143684_000000000),
        ("2023-01-31T05:41:24.001Z", "2023-01-31T05:41:24.001Z", 1675143684_001000000),
        ("2023-01-31T05:41:24.123456Z", "2023-01-31T05:41:24.123456Z", 1675143684_123456000),
        ("2023-01-31T05:41:24.123456789Z", "2023-01-31T05:41:24.123456789Z", 1675143684_123456789),
        ("2023-01-31T05:41:24.100Z", "2023-01-31T05:41:24.100Z", 1675143684_100000000),
        ("2023-01-31T07:41:24.5+02:00", "2023-01-31T05:41:24.5Z", 1675143684_500000000),
        ("2023-01-30T23:11:24.000000001-06:30", "2023-01-31T05:41:24.000000001Z", 1675143684_000000001),
        ("2023-01-31t05:41:24z", "2023-01-31T05:41:24Z", 1675143684_000000000),
        ("1969-12-31T23:59:59.999999999Z", "1969-12-31T23:59:59.999999999Z", -1),
        ("2024-02-29T00:00:00Z", "2024-02-29T00:00:00Z", 1709164800_000000000),
    ],
)
def test_datetimes_keep_every_digit_and_become_utc(cell, json_text, nanos):
    assert single("dateTime:RFC3339", cell) == json_text
    assert single("dateTime:RFC3339Nano", cell) == json_text
    assert single("dateTime", cell) == json_text
    assert parse_rfc3339_ns(cell) == nanos


def test_typed_datetime_is_aware_utc_truncated_to_microseconds():
    value = single("dateTime:RFC3339", "2023-01-31T07:41:24.123456789+02:00", typed=True)
    assert value == datetime(2023, 1, 31, 5, 41, 24, 123456, tzinfo=UTC)
    assert value.utcoffset().total_seconds() == 0
    before_epoch = single("dateTime:RFC3339", "1969-12-31T23:59:59.9999999Z", typed=True)
    assert before_epoch == datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


def test_offset_can_move_the_date_across_a_year():
    assert single("dateTime:RFC3339", "2023-01-01T00:30:00+01:00") == "2022-12-31T23:30:00Z"
    assert parse_rfc3339_ns("2023-01-01T00:30:00+01:00") == parse_rfc3339_ns("2022-12-31T23:30:00Z")


@pytest.mark.parametrize(
    "cell, reason",
    [
        ("2023-01-31T05:41:24", "needs a time zone"),
        ("2023-01-31T05:41:24.1234567890Z", "1 to 9 digits"),
        ("2023-01-31T05:41:24.Z", "1 to 9 digits"),
        ("2023-13-01T00:00:00Z", "no such date"),
        ("2023-02-29T00:00:00Z", "no such date"),
        ("2023-01-01T24:00:00Z", "time of day out of range"),
        ("2023-01-01T00:00:60Z", "time of day out of range"),
        ("2023-01-01T00:00:00+24:00", "offset out of range"),
        ("2023-01-01 00:00:00Z", "not an RFC3339 timestamp"),
        ("yesterday", "not an RFC3339 timestamp"),
    ],
)
def test_bad_datetimes_are_decode_errors(cell, reason):
    with pytest.raises(DecodeError, match=reason) as info:
        single("dateTime:RFC3339", cell)
    assert str(info.value).startswith("line 5: column 'v' (dateTime:RFC3339): invalid literal")
    with pytest.raises(ValueError):
        parse_rfc3339_ns(cell)


@pytest.mark.parametrize(
    "cell, nanos",
    [
        ("1h30m", 5_400_000_000_000),
        ("-5s", -5_000_000_000),
        ("100ms", 100_000_000),
        ("3us", 3_000),
        ("3\u00b5s", 3_000),
        ("7ns", 7),
        ("2d", 172_800_000_000_000),
        ("1w", 604_800_000_000_000),
        ("1m1s", 61_000_000_000),
        ("-12", -12),
        ("0", 0),
    ],
)
def test_duration_literals_become_nanoseconds(cell, nanos):
    assert single("duration", cell) == nanos
    assert single("duration", cell, typed=True) == nanos


@pytest.mark.parametrize(
    "cell, reason",
    [("1mo", "no fixed length"), ("2y", "no fixed length"), ("5x", "unknown duration unit"), ("h", "number before"), ("-", "invalid literal")],
)
def test_bad_durations_are_decode_errors(cell, reason):
    with pytest.raises(DecodeError, match=reason):
        single("duration", cell)


@pytest.mark.parametrize(
    "datatype, cell",
    [
        ("long", "abc"),
        ("long", "1.5"),
        ("long", "1_000"),
        ("long", " 7"),
        ("long", "9223372036854775808"),
        ("unsignedLong", "-1"),
        ("unsignedLong", "18446744073709551616"),
        ("double", "one"),
        ("double", "1_0.5"),
        ("boolean", "yes"),
        ("base64Binary", "not base64!"),
        ("dateTime:number", "soon"),
    ],
)
def test_unparsable_cells_are_decode_errors(datatype, cell):
    with pytest.raises(DecodeError) as info:
        single(datatype, cell)
    assert str(info.value).startswith(f"line 5: column 'v' ({datatype}): invalid literal {cell!r}")


def test_decode_error_message_names_line_column_and_literal():
    with pytest.raises(DecodeError) as info:
        single("long", "abc")
    assert str(info.value) == "line 5: column 'v' (long): invalid literal 'abc'"


def test_out_of_range_long_says_so():
    with pytest.raises(DecodeError, match=r"out of range for a 64-bit signed integer"):
        single("long", "-9223372036854775809")


# --- empty cells and defaults ---------------------------------------------------------------


def test_empty_cells_take_the_default_or_become_none():
    text = crlf(
        "#datatype,string,long,long,double,string,boolean,dateTime:RFC3339",
        "#group,false,false,false,false,false,false,false",
        "#default,_result,,7,,fallback,true,2023-01-01T01:00:00+01:00",
        ",result,table,a,b,c,d,e",
        ",,0,,,,,",
        ",,0,1,2.5,x,false,2024-01-01T00:00:00Z",
    )
    first, second = decode(text)
    assert first == {
        "result": "_result",
        "table": 0,
        "a": 7,
        "b": None,
        "c": "fallback",
        "d": True,
        "e": "2023-01-01T00:00:00Z",
    }
    assert second["a"] == 1 and second["c"] == "x" and second["d"] is False
    typed_first, _ = decode(text, typed=True)
    assert typed_first["e"] == datetime(2023, 1, 1, tzinfo=UTC)


def test_result_cell_overrides_the_default_when_present():
    text = crlf(*cpu_block(data_row(0, START, "1", "a").replace(",,0,", ",explicit,0,", 1)))
    (row,) = decode(text)
    assert row["result"] == "explicit"


def test_bad_default_is_reported_on_the_default_line():
    text = crlf(
        "#group,false,false,false",
        "#datatype,string,long,long",
        "#default,_result,,many",
        ",result,table,v",
        ",,0,1",
    )
    with pytest.raises(DecodeError, match=r"^line 3: column 'v' \(long\): invalid literal 'many' in #default$"):
        decode(text)


# --- tables, blocks, results ----------------------------------------------------------------


def test_several_tables_in_one_block():
    text = crlf(
        *cpu_block(
            data_row(0, "2023-01-01T01:00:00Z", "1", "a"),
            data_row(0, "2023-01-01T02:00:00Z", "2", "a"),
            data_row(1, "2023-01-01T01:00:00Z", "3", "b"),
            data_row(2, "2023-01-01T01:00:00Z", "4", "c"),
        )
    )
    tables = list(iter_tables(text))
    assert [(t.table, len(t.rows)) for t in tables] == [(0, 2), (1, 1), (2, 1)]
    assert [t.group_key["host"] for t in tables] == ["a", "b", "c"]
    assert [row["_value"] for row in tables[0].rows] == [1.0, 2.0]
    assert tables[0].columns is tables[1].columns  # one schema object per block


def test_several_results_separated_by_blank_lines():
    text = (
        crlf(*cpu_block(data_row(0, START, "1", "a"), data_row(1, START, "2", "b")))
        + "\r\n"
        + crlf(*cpu_block(data_row(0, START, "10", "a"), result="mean"))
        + "\r\n"
    )
    tables = list(iter_tables(text))
    assert [(t.result, t.table) for t in tables] == [("_result", 0), ("_result", 1), ("mean", 0)]
    assert [row["result"] for row in decode(text)] == ["_result", "_result", "mean"]
    assert tables[2].rows[0]["_value"] == 10.0


def test_schema_change_mid_result_starts_new_columns():
    second = crlf(
        "#datatype,string,long,string,long",
        "#group,false,false,true,false",
        "#default,_result,,,",
        ",result,table,_field,_value",
        ",,1,count,42",
    )
    text = crlf(*cpu_block(data_row(0, START, "1.5", "a"))) + "\r\n" + second + "\r\n"
    first_table, second_table = decode(text, shape="tables")
    assert first_table["rows"][0]["_value"] == 1.5
    assert second_table["rows"] == [{"result": "_result", "table": 1, "_field": "count", "_value": 42}]
    assert second_table["group_key"] == {"_field": "count"}
    assert [c["name"] for c in second_table["columns"]] == ["result", "table", "_field", "_value"]


def test_new_result_name_in_the_same_block_starts_a_new_table():
    text = crlf(
        "#datatype,string,long,long",
        "#group,false,false,false",
        "#default,,,",
        ",result,table,v",
        ",first,0,1",
        ",second,0,2",
    )
    tables = list(iter_tables(text))
    assert [(t.result, t.table, t.rows[0]["v"]) for t in tables] == [("first", 0, 1), ("second", 0, 2)]


def test_annotation_row_right_after_data_starts_a_new_block():
    text = crlf(
        *cpu_block(data_row(0, START, "1", "a")),
        "#datatype,string,long,string",
        "#group,false,false,false",
        "#default,_result,,",
        ",result,table,name",
        ",,1,x",
    )
    tables = list(iter_tables(text))
    assert [t.table for t in tables] == [0, 1]
    assert tables[1].rows == [{"result": "_result", "table": 1, "name": "x"}]


def test_annotations_in_any_order_and_unknown_ones_ignored():
    text = crlf(
        "#default,_result,,9",
        "#unknown,whatever,goes,here",
        "#group,false,false,true",
        "#datatype,string,long,long",
        ",result,table,v",
        ",,3,",
    )
    (table,) = list(iter_tables(text))
    assert table.rows == [{"result": "_result", "table": 3, "v": 9}]
    assert table.columns[2] == Column("v", "long", True, "9")
    assert table.group_key == {"v": 9}


def test_group_key_excludes_result_and_table_even_if_marked():
    text = crlf(
        "#datatype,string,long,string",
        "#group,true,true,true",
        "#default,_result,,",
        ",result,table,host",
        ",,0,a",
    )
    (table,) = list(iter_tables(text))
    assert table.group_key == {"host": "a"}


def test_empty_table_gets_group_key_and_id_from_defaults():
    text = crlf(
        "#datatype,string,long,dateTime:RFC3339,string,double",
        "#group,false,false,true,true,false",
        "#default,_result,4,2023-01-01T01:00:00+01:00,a,",
        ",result,table,_start,host,_value",
    ) + "\r\n"
    (table,) = list(iter_tables(text))
    assert table.rows == []
    assert table.table == 4
    assert table.result == "_result"
    assert table.group_key == {"_start": "2023-01-01T00:00:00Z", "host": "a"}
    (typed,) = list(iter_tables(text, typed=True))
    assert typed.group_key["_start"] == datetime(2023, 1, 1, tzinfo=UTC)


def test_empty_table_without_table_default_is_table_zero():
    text = crlf("#datatype,string,long,string", "#group,false,false,true", "#default,_result,,h", ",result,table,host")
    (table,) = decode(text, shape="tables")
    assert table["table"] == 0 and table["rows"] == [] and table["group_key"] == {"host": "h"}


def test_empty_table_between_full_ones():
    empty = crlf("#datatype,string,long,string", "#group,false,false,true", "#default,_result,1,h", ",result,table,host")
    text = crlf(*cpu_block(data_row(0, START, "1", "a"))) + "\r\n" + empty + "\r\n" + crlf(
        *cpu_block(data_row(2, START, "1", "b"))
    )
    assert [(t.table, len(t.rows)) for t in iter_tables(text)] == [(0, 1), (1, 0), (2, 1)]


# --- text encoding details ------------------------------------------------------------------


def test_lf_crlf_and_missing_final_newline_decode_the_same():
    expected = decode(SAMPLE)
    assert decode(SAMPLE.replace("\r\n", "\n")) == expected
    assert decode(SAMPLE.rstrip("\r\n")) == expected
    assert decode(SAMPLE.rstrip("\r\n").replace("\r\n", "\n")) == expected


def test_utf8_bom_is_ignored():
    assert decode("\ufeff" + SAMPLE) == decode(SAMPLE)
    lines = ("\ufeff" + SAMPLE).splitlines()
    assert decode(lines) == decode(SAMPLE)


def test_bytes_lines_are_decoded_as_utf8():
    lines = [line.encode("utf-8") for line in SAMPLE.replace(",a\r\n", ",\u00e9t\u00e9\r\n").splitlines()]
    (row,) = list(iter_rows(lines))
    assert row["host"] == "\u00e9t\u00e9"


QUOTED = crlf(
    "#datatype,string,long,string,string",
    "#group,false,false,false,false",
    "#default,_result,,,",
    ",result,table,note,after",
    ',,0,"a, b","x"',
    ',,0,"say ""hi""",y',
    ',,0,"two\r\nlines, and ""quotes""",z',
    ",,0,plain,w",
)
# The server's CSV writer turns an LF inside a quoted cell into CRLF: it is read back as the LF written.
QUOTED_NOTES = ["a, b", 'say "hi"', 'two\nlines, and "quotes"', "plain"]


def test_quoted_cells_from_a_string():
    rows = decode(QUOTED)
    assert [row["note"] for row in rows] == QUOTED_NOTES
    assert [row["after"] for row in rows] == ["x", "y", "z", "w"]


def test_quoted_cells_from_lines_with_endings():
    rows = list(iter_rows(QUOTED.splitlines(keepends=True)))
    assert [row["note"] for row in rows] == QUOTED_NOTES


def test_quoted_cells_from_lines_without_endings_keep_a_newline():
    # iter_lines() drops the terminators, so the CRLF inside the quoted cell comes back as LF.
    rows = list(iter_rows(QUOTED.splitlines()))
    assert [row["note"] for row in rows] == ["a, b", 'say "hi"', 'two\nlines, and "quotes"', "plain"]


def test_unicode_line_separator_in_a_cell_survives_splitlines_keepends():
    text = crlf("#datatype,string,long,string", "#group,false,false,false", "#default,_result,,", ",result,table,s", ",,0,a\u2028b\x0cc")
    assert [row["s"] for row in decode(text.splitlines(keepends=True))] == ["a\u2028b\x0cc"]
    assert [row["s"] for row in decode(text)] == ["a\u2028b\x0cc"]


def test_large_cell_beyond_the_csv_default_limit():
    big = "x" * 300_000
    assert single("string", big) == big


# --- errors inside the stream ---------------------------------------------------------------

ERROR_BLOCK = crlf(
    "#datatype,string,string",
    "#group,true,true",
    "#default,,",
    ",error,reference",
    ',"panic: runtime error, index out of range",897',
)


def test_error_table_mid_stream_after_tables_were_yielded():
    text = crlf(*cpu_block(data_row(0, START, "1", "a"), data_row(1, START, "2", "b"))) + "\r\n" + ERROR_BLOCK
    tables = iter_tables(text.splitlines(keepends=True))
    assert next(tables).table == 0
    assert next(tables).table == 1
    with pytest.raises(APIError) as info:
        next(tables)
    error = info.value
    assert error.status == 200
    assert error.code == "query error"
    assert error.message == "panic: runtime error, index out of range"
    assert error.reference == "897"


def test_error_table_propagates_from_decode_and_iter_rows():
    text = crlf(*cpu_block(data_row(0, START, "1", "a"))) + "\r\n" + ERROR_BLOCK
    with pytest.raises(APIError, match="index out of range"):
        decode(text)
    rows = iter_rows(text)
    assert next(rows)["host"] == "a"
    with pytest.raises(APIError):
        next(rows)


def test_error_table_with_long_reference_and_no_annotations():
    docs_style = crlf("#datatype,string,long", "#group,true,true", "#default,,", ",error,reference", ",failed to compile,897")
    with pytest.raises(APIError) as info:
        decode(docs_style)
    assert (info.value.message, info.value.reference) == ("failed to compile", "897")
    plain = crlf(",error,reference", ",bad query,")
    with pytest.raises(APIError) as info:
        decode(plain)
    assert info.value.message == "bad query"
    assert info.value.reference is None


def test_error_table_without_a_row_still_raises():
    text = crlf("#datatype,string,string", "#group,true,true", "#default,,", ",error,reference") + "\r\n"
    with pytest.raises(APIError) as info:
        decode(text)
    assert info.value.status == 200 and info.value.code == "query error"


# --- no annotations -------------------------------------------------------------------------


def test_plain_csv_without_annotations():
    text = crlf(
        ",result,table,_time,_value,host",
        ",_result,0,2023-01-01T00:00:00Z,1.5,a",
        ",_result,1,2023-01-01T00:00:00Z,,b",
    )
    tables = list(iter_tables(text))
    assert [t.table for t in tables] == [0, 1]
    assert tables[0].rows == [
        {"result": "_result", "table": 0, "_time": "2023-01-01T00:00:00Z", "_value": "1.5", "host": "a"}
    ]
    assert tables[1].rows[0]["_value"] is None
    assert all(c.datatype == "string" and c.default is None and not c.group for c in tables[0].columns)
    assert tables[0].group_key == {}


def test_plain_csv_without_an_annotation_column():
    rows = decode("name,value\nx,1\ny,2\n")
    assert rows == [
        {"result": "", "table": 0, "name": "x", "value": "1"},
        {"result": "", "table": 0, "name": "y", "value": "2"},
    ]
    assert list(rows[0])[:2] == ["result", "table"]


# --- malformed input ------------------------------------------------------------------------


def test_row_with_too_many_cells_names_its_line():
    text = crlf(*cpu_block(data_row(0, START, "1", "a"), data_row(0, START, "1", "a") + ",extra"))
    with pytest.raises(DecodeError, match=r"^line 6: the row has 11 cells but the header has 10$"):
        decode(text)


def test_row_with_too_few_cells_names_its_line():
    text = crlf(*cpu_block(",,0,x"))
    with pytest.raises(DecodeError, match=r"^line 5: the row has 4 cells"):
        decode(text)


def test_data_row_where_the_header_should_be():
    text = crlf(*ANNOTATIONS[:3], data_row(0, START, "1", "a"))
    with pytest.raises(DecodeError, match=r"^line 4: expected a header row, but column 2 has no name$"):
        decode(text)


def test_header_after_annotations_must_have_empty_first_cell():
    text = crlf("#datatype,string,long", "#group,false,false", "#default,_result,", "x,result,table")
    with pytest.raises(DecodeError, match=r"^line 4: expected a header row"):
        decode(text)


def test_annotation_with_wrong_cell_count():
    text = crlf("#datatype,string,long", "#group,false,false,false", ",result,table,v", ",,0,1")
    with pytest.raises(DecodeError, match=r"^line 3: the header has 4 cells but the #datatype annotation on line 1 has 3$"):
        decode(text)


def test_repeated_header_names_are_rejected():
    with pytest.raises(DecodeError, match="repeats a column name"):
        decode(crlf(",result,table,v,v", ",_result,0,1,2"))


def test_unterminated_quote_is_a_decode_error():
    text = crlf("#datatype,string,long,string", "#group,false,false,false", "#default,_result,,", ",result,table,s") + ',,0,"never closed\r\n'
    with pytest.raises(DecodeError, match=r"^line \d+: malformed CSV"):
        decode(text)


def test_line_numbers_count_lines_inside_quoted_cells():
    text = QUOTED + ",,0,x\r\n"  # QUOTED spans 9 lines (one cell holds a line break)
    with pytest.raises(DecodeError, match=r"^line 10: the row has 4 cells"):
        decode(text)


def test_line_numbers_count_blank_lines_and_earlier_blocks():
    text = SAMPLE + crlf(*cpu_block(data_row(0, START, "oops", "a")))
    with pytest.raises(DecodeError, match=r"^line 11: column '_value' \(double\): invalid literal 'oops'$"):
        decode(text)


# --- modes and streaming --------------------------------------------------------------------

MIXED = crlf(
    "#datatype,string,long,dateTime:RFC3339,double,double,unsignedLong,boolean,base64Binary,duration,string",
    "#group,false,false,false,false,false,false,false,false,false,true",
    "#default,_result,,,,,,,,,",
    ",result,table,_time,a,b,u,ok,blob,d,tag",
    ",,0,2023-01-01T00:00:00.123456789+05:30,NaN,-Inf,18446744073709551615,true,AAEC,1h,x",
    ",,0,2023-01-01T00:00:00Z,+Inf,2.5,1,false,,,x",
)


def test_json_ready_output_survives_strict_json_dumps():
    for shape in ("rows", "tables"):
        decoded = decode(MIXED, shape=shape)
        text = json.dumps(decoded, allow_nan=False)
        assert json.loads(text) == decoded
    first, second = decode(MIXED)
    assert first["_time"] == "2022-12-31T18:30:00.123456789Z"
    assert (first["a"], first["b"], second["a"]) == ("NaN", "-Inf", "+Inf")
    assert first["blob"] == "AAEC" and second["blob"] is None
    assert first["d"] == 3_600_000_000_000


def test_typed_mode_gives_python_objects():
    first, second = decode(MIXED, typed=True)
    assert first["_time"] == datetime(2022, 12, 31, 18, 30, 0, 123456, tzinfo=UTC)
    assert math.isnan(first["a"]) and first["b"] == -math.inf and second["a"] == math.inf
    assert first["blob"] == b"\x00\x01\x02"
    assert first["u"] == 2**64 - 1 and first["ok"] is True
    with pytest.raises(ValueError):
        json.dumps(first, allow_nan=False, default=str)


def test_iter_tables_streams_without_reading_everything():
    def endless():
        yield from ANNOTATIONS
        for table in itertools.count():
            yield data_row(table, START, "1", "h")
            yield data_row(table, START, "2", "h")

    tables = iter_tables(endless())
    first, second = next(tables), next(tables)
    assert (first.table, second.table) == (0, 1)
    assert [row["_value"] for row in first.rows] == [1.0, 2.0]


def test_iter_rows_streams_without_reading_everything():
    pulled: list[str] = []

    def endless():
        for line in itertools.chain(ANNOTATIONS, (data_row(0, START, str(i), "h") for i in itertools.count())):
            pulled.append(line)
            yield line

    rows = iter_rows(endless())
    assert [next(rows)["_value"] for _ in range(3)] == [0.0, 1.0, 2.0]
    assert len(pulled) <= len(ANNOTATIONS) + 4


def test_tables_before_a_bad_row_are_already_yielded():
    # The blank line closes table 0, so it is yielded before the bad row is even read.
    text = crlf(*cpu_block(data_row(0, START, "1", "a"))) + "\r\n" + crlf(*cpu_block(data_row(1, START, "bad", "b")))
    tables = iter_tables(text)
    assert next(tables).table == 0
    with pytest.raises(DecodeError, match="^line 11: column '_value'"):
        next(tables)


# --- feeding from an HTTP response ----------------------------------------------------------

LONG_ANSWER = (
    crlf(*cpu_block(*[data_row(i // 20, START, f"{i}.25", "h\u00e9") for i in range(60)]))
    + "\r\n"
    + QUOTED
    + "\r\n"
    + crlf(*cpu_block(data_row(0, START, "1", "x"), result="mean"))
    + "\r\n"
)


def fake_response(body: bytes) -> requests.Response:
    response = requests.Response()
    response.raw = io.BytesIO(body)
    response.encoding = "utf-8"
    response.status_code = 200
    return response


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 7, 64, 127, 512])
def test_requests_iter_lines_survives_crlf_split_across_chunks(chunk_size):
    # iter_lines() yields an extra empty line when a chunk ends between \r and \n.
    expected = decode(LONG_ANSWER, shape="tables")
    lines = list(fake_response(LONG_ANSWER.encode()).iter_lines(chunk_size=chunk_size, decode_unicode=True))
    decoded = decode(lines, shape="tables")
    assert [(t["result"], t["table"], len(t["rows"])) for t in decoded] == [
        (t["result"], t["table"], len(t["rows"])) for t in expected
    ]
    assert decoded[0]["rows"] == expected[0]["rows"]


@pytest.mark.parametrize("chunk_size", [1, 2, 5, 64, 4096])
def test_lines_from_chunks_is_exact_for_any_chunking(chunk_size):
    text = LONG_ANSWER + crlf(*cpu_block(data_row(9, START, "2", "a\u2028b\x85c"))) + "\r\n"
    body = text.encode()
    byte_chunks = [body[i : i + chunk_size] for i in range(0, len(body), chunk_size)]
    text_chunks = [text[i : i + chunk_size] for i in range(0, len(text), chunk_size)]
    assert "".join(lines_from_chunks(text_chunks)) == text
    assert "".join(lines_from_chunks(byte_chunks)) == text
    assert decode(lines_from_chunks(byte_chunks), shape="tables") == decode(text, shape="tables")


def test_lines_from_chunks_keeps_terminators_and_holds_back_a_lone_cr():
    assert list(lines_from_chunks(["a,b\r", "\nc,d\r\n", "e"])) == ["a,b\r\n", "c,d\r\n", "e"]
    assert list(lines_from_chunks([b"\xc3", b"\xa9\n"])) == ["\u00e9\n"]
    assert list(lines_from_chunks([])) == []


def test_empty_line_inside_an_annotated_block_does_not_end_it():
    text = crlf(*ANNOTATIONS[:2], "", ANNOTATIONS[2], ANNOTATIONS[3], "", data_row(0, START, "1", "a"), "", data_row(0, START, "2", "a"))
    (table,) = list(iter_tables(text))
    assert [row["_value"] for row in table.rows] == [1.0, 2.0]
    assert table.columns[5].datatype == "double"


def test_empty_line_ends_an_unannotated_block():
    text = crlf(",result,table,a", ",_result,0,1", "", ",result,table,b", ",_result,1,2")
    assert decode(text) == [
        {"result": "_result", "table": 0, "a": "1"},
        {"result": "_result", "table": 1, "b": "2"},
    ]


# --- the fast path equals the reference decoding ----------------------------------------------
#
# A whole text, bytes, and lines_from_chunks() go through the fast path (whole spans of data
# lines at a time); any other iterable of lines goes through the reference path (csv.reader, one
# cell at a time), which the tests above define. Here both read the same corpus and must agree on
# every value, every table and every error (type, message, line number).

from influx_connector.influxdb.annotated_csv import ResultList, RowStream  # noqa: E402


def reference(text: str, shape: str = "rows", typed: bool = False):
    return decode(list(io.StringIO(text, newline="")), shape=shape, typed=typed)


def normal(value):
    """NaN != NaN: compare decoded values with NaN replaced by a marker."""
    if isinstance(value, float) and value != value:
        return "<NaN>"
    if isinstance(value, dict):
        return {key: normal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normal(item) for item in value]
    if isinstance(value, Table):
        return (value.result, value.table, value.columns, normal(value.group_key), normal(value.rows))
    return value


def outcome(call):
    """The value of call(), or what it raised: the type, the message and the query-error details."""
    try:
        return ("ok", normal(call()))
    except (DecodeError, APIError) as exc:
        return ("raised", type(exc).__name__, str(exc), getattr(exc, "reference", None))


def chunked(data, size_of):
    pieces, start = [], 0
    while start < len(data):
        size = size_of()
        pieces.append(data[start : start + size])
        start += size
    return pieces


_CELLS = {
    "string": ["a", "host-1", "with space", "comma,inside", 'quote"inside', "new\nline", "crlf\r\nline",
               "\u00e9t\u00e9 \u2713", "#hash", "sep\u2028x", "\x0bvt", "back\\slash", " lead", "tail "],
    "long": ["0", "-5", "42", "9223372036854775807", "-9223372036854775808", "+7", "007"],
    "unsignedLong": ["0", "1", "18446744073709551615", "+3"],
    "double": ["1.5", "-2e-05", "3", "0", "1e308", "-0.0", "NaN", "+Inf", "-Inf", "Inf", "123456.789012345678"],
    "boolean": ["true", "false", "True", "F", "1", "0"],
    "dateTime:RFC3339": ["2023-01-01T00:00:00Z", "2023-01-31T05:41:24.001Z", "2024-02-29T23:59:59.999999999Z",
                         "2023-01-01T00:30:00+01:00", "2023-01-01t00:00:00z", "0001-01-01T00:00:00Z",
                         "9999-12-31T23:59:59.5Z", "2000-02-29T12:00:00.1Z", "1969-12-31T23:59:59.9999999Z"],
    "dateTime:RFC3339Nano": ["2023-01-01T00:00:00.123456789Z", "2023-06-30T12:00:00Z"],
    "dateTime:number": ["1672531200000000001", "-1", "0"],
    "duration": ["1500", "1h30m", "-5s", "3\u00b5s", "0"],
    "base64Binary": ["aGk=", "AAEC", ""],
    "someFutureType": ["raw", "text,with comma"],
}
_BAD_CELLS = {
    "string": [],
    "long": ["abc", "1.5", "1_000", " 7", "9223372036854775808", "\u0663"],
    "unsignedLong": ["-1", "18446744073709551616"],
    "double": ["one", "1_0.5", " 1.5", "1.5 "],
    "boolean": ["yes", "TrUe"],
    "dateTime:RFC3339": ["2023-02-29T00:00:00Z", "2023-01-01T24:00:00Z", "2023-01-31T05:41:24", "0000-01-01T00:00:00Z",
                         "2023-04-31T00:00:00Z", "2100-02-29T00:00:00Z", "2023-01-01T00:00:00.1234567890Z"],
    "dateTime:RFC3339Nano": ["yesterday"],
    "dateTime:number": ["soon"],
    "duration": ["1mo", "5x"],
    "base64Binary": ["not base64!"],
    "someFutureType": [],
}


def _quote(cell: str, rnd) -> str:
    if any(c in cell for c in ',"\r\n') or rnd.random() < 0.03:
        return '"' + cell.replace('"', '""') + '"'
    return cell


def random_answer(seed: int) -> str:
    """An annotated CSV answer with a bit of everything; sometimes malformed on purpose."""
    import random

    rnd = random.Random(seed)
    crlf_ends = rnd.random() < 0.7
    eol = "\r\n" if crlf_ends else "\n"
    quoting = rnd.random() < 0.5  # otherwise no cell needs quotes: the fast path everywhere
    bad = rnd.random() < 0.25
    lines: list[str] = []
    for block in range(rnd.randrange(1, 5)):
        if block and rnd.random() < 0.8:
            lines.append("")  # a blank line between blocks (annotations may also follow directly)
        kinds = ["long", "double", "string", "dateTime:RFC3339", "boolean", "unsignedLong", "duration",
                 "dateTime:number", "base64Binary", "dateTime:RFC3339Nano", "someFutureType"]
        extra = rnd.sample(kinds, rnd.randrange(1, 6))
        names = ["result", "table", *[f"c{i}" if rnd.random() < 0.9 else f"col {i}" for i in range(len(extra))]]
        types = ["string", "long", *extra]
        groups = ["false", "false", *[rnd.choice(["true", "false"]) for _ in extra]]
        result = rnd.choice(["_result", "mean", ""])
        defaults = [result, "", *[rnd.choice(_CELLS[t]) if rnd.random() < 0.15 and "\n" not in rnd.choice(_CELLS[t]) else "" for t in extra]]
        defaults = [d if ("," not in d and '"' not in d and "\n" not in d and "\r" not in d) else "" for d in defaults]
        annotated = rnd.random() < 0.9
        if annotated:
            rows = [["#datatype", *types], ["#group", *groups], ["#default", *defaults]]
            rnd.shuffle(rows)
            lines += [",".join(row) for row in rows]
        lines.append(",".join(["", *names]))
        table = rnd.randrange(3)
        count = rnd.choice([0, 1, 2, 5, 40, 300, 2100 if rnd.random() < 0.1 else 30])
        pools = {i: [rnd.choice(_CELLS[t]) for _ in range(rnd.choice([1, 1, 3]))] for i, t in enumerate(extra)}
        for _row in range(count):
            if rnd.random() < 0.02:
                table += 1
            cells = ["", rnd.choice(["", "", "", result or "_result", "other"]), str(table) if rnd.random() < 0.97 else ""]
            for i, datatype in enumerate(extra):
                if rnd.random() < 0.05:
                    cell = ""  # null: the default or None
                elif rnd.random() < 0.5:
                    cell = rnd.choice(pools[i])  # repeated values, as group columns have
                else:
                    cell = rnd.choice(_CELLS[datatype])
                if not quoting:
                    cell = cell if not any(c in cell for c in ',"\r\n') else "plain"
                cells.append(_quote(cell, rnd) if quoting else cell)
            if bad and rnd.random() < 2 / (count + 1):
                position = rnd.randrange(3, len(cells)) if len(cells) > 3 else 2
                choices = _BAD_CELLS.get(types[position - 1], []) if position > 2 else ["x"]
                if choices:
                    cells[position] = rnd.choice(choices)
                elif rnd.random() < 0.5:
                    cells.append("extra")  # a row too wide
            lines.append(",".join(cells))
    if rnd.random() < 0.1:
        lines += ["", "#datatype,string,string", "#group,true,true", "#default,,", ",error,reference",
                  ',"failed to read, mid-stream",897']
    text = eol.join(lines) + (eol if rnd.random() < 0.9 else "")
    if rnd.random() < 0.05:
        text = text.replace("\n", "\r\n", 1)  # mixed line ends
    if rnd.random() < 0.03:
        text = "\ufeff" + text
    return text


def decodings(text: str, shape: str, typed: bool, seed: int):
    """Every way into the fast path, each with its own chunking."""
    import random

    rnd = random.Random(seed)
    data = text.encode()
    sizes = [lambda: 1, lambda: rnd.randrange(1, 9), lambda: rnd.randrange(1, 400), lambda: 65536]
    yield "str", lambda: decode(text, shape=shape, typed=typed)
    yield "bytes", lambda: decode(data, shape=shape, typed=typed)
    for index, size in enumerate(sizes):
        byte_chunks = chunked(data, size)
        yield f"byte chunks {index}", lambda chunks=byte_chunks: decode(lines_from_chunks(chunks), shape=shape, typed=typed)
    text_chunks = chunked(text, lambda: rnd.randrange(1, 50))
    yield "text chunks", lambda: decode(lines_from_chunks(text_chunks), shape=shape, typed=typed)


@pytest.mark.parametrize("seed", range(160))
def test_fast_path_equals_reference_on_a_random_corpus(seed):
    text = random_answer(seed)
    for shape, typed in (("rows", False), ("tables", False), ("rows", True)):
        expected = outcome(lambda: reference(text, shape, typed))
        for how, call in decodings(text, shape, typed, seed):
            assert outcome(call) == expected, (how, shape, typed)
    expected_tables = outcome(lambda: list(iter_tables(list(io.StringIO(text, newline="")))))
    assert outcome(lambda: list(iter_tables(text))) == expected_tables
    expected_rows = outcome(lambda: list(iter_rows(list(io.StringIO(text, newline="")))))
    assert outcome(lambda: list(iter_rows(text))) == expected_rows
    assert outcome(lambda: list(RowStream(text))) == expected_rows


def test_the_random_corpus_covers_what_it_should():
    texts = [random_answer(seed) for seed in range(160)]
    results = [outcome(lambda text=text: reference(text)) for text in texts]
    decoded = [r for r in results if r[0] == "ok"]
    assert len(decoded) >= 80 and sum(len(r[1]) for r in decoded) > 10_000
    messages = [r[2] for r in results if r[0] == "raised"]
    assert any("invalid literal" in m for m in messages)
    assert any("cells but the header has" in m for m in messages)
    assert any("mid-stream" in m for m in messages)
    assert sum('"' in text for text in texts) > 40 and sum("\r\n" not in text for text in texts) > 20


SPAN_ANSWER = crlf(*cpu_block(*[
    data_row(i // 1000, f"2023-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}.{i:09d}Z", f"{i}.5", f"h{i % 3}")
    for i in range(5000)
]))


@pytest.mark.parametrize("where", [0, 1, 2047, 2048, 2049, 4999])
@pytest.mark.parametrize("cell", ["oops", "2023-02-30T00:00:00Z", "1_5"])
def test_a_bad_cell_deep_in_a_long_span_is_named_like_the_reference_does(where, cell):
    lines = SPAN_ANSWER.split("\r\n")
    fields = lines[4 + where].split(",")
    fields[6 if cell != "2023-02-30T00:00:00Z" else 5] = cell
    lines[4 + where] = ",".join(fields)
    text = "\r\n".join(lines)
    expected = outcome(lambda: reference(text))
    assert expected[0] == "raised" and f"line {5 + where}:" in expected[2]
    assert outcome(lambda: decode(text)) == expected
    assert outcome(lambda: decode(lines_from_chunks(chunked(text.encode(), lambda: 4096)))) == expected


def test_long_spans_and_many_tables_match_the_reference():
    for shape in ("rows", "tables"):
        assert decode(SPAN_ANSWER, shape=shape) == reference(SPAN_ANSWER, shape)
    assert normal(decode(SPAN_ANSWER, typed=True)) == normal(reference(SPAN_ANSWER, typed=True))
    assert [t.table for t in iter_tables(SPAN_ANSWER)] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("text", [
    crlf(*ANNOTATIONS, data_row(0, START, "1", "a")) .replace(",a\r\n", ",a\rb\r\n"),  # a lone CR ends a line in CSV
    crlf(*ANNOTATIONS, data_row(0, START, "1", "a\x00b")),  # NUL: whatever this Python's csv module does
    crlf(*ANNOTATIONS, data_row(0, START, "1", "a"), "", data_row(0, START, "2", "a")),  # blank line inside a block
    "\r\n".join([*ANNOTATIONS, data_row(0, START, "1", "a"), data_row(0, START, "2", "a")]) + "\r",
    crlf(",a", "1", "", "2", "#x"),  # one column, no annotation column: '#' rows are data, blank lines end blocks
    crlf(*ANNOTATIONS, data_row(0, START, "1", "a")) + crlf(*ANNOTATIONS, data_row(1, START, "2", "b")),
    crlf(*ANNOTATIONS, *[data_row(0, START, "1", "a").replace(",,0,", "x,,0,", 1) for _ in range(40)]),
    crlf(*ANNOTATIONS, *[data_row(0, START, str(i), "a") for i in range(30)], "#datatype,string", *[data_row(0, START, "1", "a")]),
])
def test_odd_inputs_match_the_reference(text):
    for shape in ("rows", "tables"):
        expected = outcome(lambda: reference(text, shape))
        assert outcome(lambda: decode(text, shape=shape)) == expected
        for size in (1, 3, 64):
            chunks = chunked(text.encode(), lambda: size)
            assert outcome(lambda: decode(lines_from_chunks(chunks), shape=shape)) == expected


def test_a_quoted_cell_spanning_chunks_keeps_its_line_breaks():
    # CRLF is how the server writes an LF; a bare LF (another writer's) stays as it is.
    cell = "first\r\nsecond\nthird, " + "x" * 70_000 + "\r\nlast"
    text = crlf(*ANNOTATIONS, data_row(0, START, "1", '"' + cell + '"'), data_row(0, START, "2", "b"))
    for size in (7, 4096, 65536):
        rows = decode(lines_from_chunks(chunked(text.encode(), lambda: size)))
        assert [row["host"] for row in rows] == [cell.replace("\r\n", "\n"), "b"]
    assert decode(text) == reference(text)


def test_values_repeated_down_a_column_are_shared_but_equal():
    rows = decode(SPAN_ANSWER)
    assert rows[0]["_start"] == START and rows[0]["_start"] is rows[1]["_start"]
    rows[0]["host"] = "changed"  # each row is its own dict
    assert rows[1]["host"] == "h1"


# --- row limits: a cut is never silent ----------------------------------------------------------


def test_row_stream_without_a_limit_gives_every_row_and_is_not_truncated():
    stream = RowStream(SPAN_ANSWER)
    assert sum(1 for _ in stream) == 5000
    assert stream.truncated is False


@pytest.mark.parametrize("limit", [0, 1, 999, 2048, 4999])
def test_row_stream_limit_cuts_and_says_so(limit):
    stream = RowStream(lines_from_chunks(chunked(SPAN_ANSWER.encode(), lambda: 8192)), limit=limit)
    rows = list(stream)
    assert len(rows) == limit
    assert rows == reference(SPAN_ANSWER)[:limit]
    assert stream.truncated is True


def test_row_stream_limit_equal_to_the_row_count_is_not_a_cut():
    stream = RowStream(SPAN_ANSWER, limit=5000)
    assert len(list(stream)) == 5000 and stream.truncated is False
    stream = RowStream(SPAN_ANSWER, limit=5001)
    assert len(list(stream)) == 5000 and stream.truncated is False


def test_row_stream_calls_on_close_once_and_stops_reading():
    closed = []
    pulled = []

    def chunks():
        for piece in chunked(SPAN_ANSWER.encode(), lambda: 4096):
            pulled.append(piece)
            yield piece

    stream = RowStream(lines_from_chunks(chunks()), limit=10, on_close=lambda: closed.append(True))
    assert len(list(stream)) == 10 and stream.truncated
    assert closed == [True] and len(pulled) < 5
    stream.close()
    assert closed == [True]
    with RowStream(SPAN_ANSWER, on_close=lambda: closed.append("with")) as early:
        next(early)
    assert closed == [True, "with"]


def test_row_stream_from_line_iterables_reads_lazily_and_limits_too():
    def endless():
        yield from ANNOTATIONS
        for i in itertools.count():
            yield data_row(0, START, str(i), "h")

    stream = RowStream(endless(), limit=3)
    assert [row["_value"] for row in stream] == [0.0, 1.0, 2.0]
    assert stream.truncated is True


def test_row_stream_raises_errors_in_the_answer():
    text = crlf(*cpu_block(data_row(0, START, "1", "a"))) + "\r\n" + ERROR_BLOCK
    stream = RowStream(text)
    with pytest.raises(APIError, match="index out of range"):
        list(stream)
    with pytest.raises(ValueError):
        RowStream(text, limit=-1)


def test_decode_with_a_limit_returns_a_list_that_says_it_was_cut():
    rows = decode(SPAN_ANSWER, limit=10)
    assert isinstance(rows, ResultList) and isinstance(rows, list)
    assert rows == reference(SPAN_ANSWER)[:10] and rows.truncated is True and rows.limit == 10
    whole = decode(SPAN_ANSWER, limit=5000)
    assert len(whole) == 5000 and whole.truncated is False
    assert json.loads(json.dumps(rows)) == rows
    assert type(decode(SPAN_ANSWER)) is list  # no limit: a plain list, as before


def test_decode_tables_with_a_limit_cuts_the_last_table():
    tables = decode(SPAN_ANSWER, shape="tables", limit=1500)
    assert [(t["table"], len(t["rows"])) for t in tables] == [(0, 1000), (1, 500)]
    assert tables.truncated is True
    exact = decode(SPAN_ANSWER, shape="tables", limit=2000)
    assert [(t["table"], len(t["rows"])) for t in exact] == [(0, 1000), (1, 1000)] and exact.truncated is True
    everything = decode(SPAN_ANSWER, shape="tables", limit=5000)
    assert len(everything) == 5 and everything.truncated is False
    empty_after = crlf(*cpu_block(data_row(0, START, "1", "a"))) + "\r\n" + crlf(
        "#datatype,string,long,string", "#group,false,false,true", "#default,_result,1,h", ",result,table,host") + "\r\n"
    cut = decode(empty_after, shape="tables", limit=1)
    assert len(cut) == 1 and cut.truncated is True  # the empty table after the limit is left out, and said so


def test_lines_from_chunks_is_still_a_line_iterator():
    lines = lines_from_chunks([b"a,b\r\n", b"c,d\r\n"])
    assert next(lines) == "a,b\r\n"
    assert decode(lines, shape="csv") == "c,d\r\n"  # the rest, read line by line
    partly = lines_from_chunks([SAMPLE.encode()])
    first = next(partly)
    assert first.startswith("#datatype")
    rest = decode(partly)  # the decoder sees the stream from where it was left: no #datatype
    assert rest == reference(SAMPLE[len(first) :]) and rest[0]["_value"] == "1.5"
