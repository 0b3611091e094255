"""Tests for the line protocol encoder, including a round trip through a small reference parser
written below from the contract notes (section 6), independent of the encoder's code."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from influx_connector.errors import ValidationError
from influx_connector.influxdb.line_protocol_encoder import Unsigned, encode_data, encode_records
from influx_connector.influxdb.line_protocol_encoder import compiled as lp

UTC = UTC


@pytest.fixture(autouse=True)
def compile_every_shape_at_once(monkeypatch):
    """Send every record through its shape's compiled formatter (normally only a shape's later
    records are); line() and problems() hold the result to the reference path, _encode_record."""
    monkeypatch.setattr(lp, "_COMPILE_AFTER", 1)


def reference_lines(records, precision="ns", field="data") -> list[str]:
    unit = lp._PRECISION_NS[precision]
    return [lp._encode_record(record, index, unit, field) for index, record in enumerate(records)]


def line(record: dict, **options) -> str:
    (text,) = list(encode_records([record], **options))
    assert [text] == reference_lines([record], **options)
    return text


def problems(records, **options) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as info:
        list(encode_records(records, **options))
    with pytest.raises(ValidationError) as reference:
        reference_lines(records, **options)
    assert [str(e) for e in info.value.errors] == [str(e) for e in reference.value.errors]
    return info.value.by_field()


def point(fields=None, **rest) -> dict:
    return {"measurement": "m", "fields": {"v": 1.5} if fields is None else fields, **rest}


# --- the basic line -------------------------------------------------------------------------


def test_full_record():
    record = {
        "measurement": "cpu",
        "tags": {"region": "eu", "host": "a"},
        "fields": {"usage": 0.5, "cores": 4},
        "time": 1700000000000000000,
    }
    assert line(record) == "cpu,host=a,region=eu usage=0.5,cores=4i 1700000000000000000"


def test_record_without_tags_or_time():
    assert line({"measurement": "m", "fields": {"v": 1.0}}) == "m v=1.0"
    assert line({"measurement": "m", "fields": {"v": 1.0}, "tags": {}, "time": None}) == "m v=1.0"


def test_encode_records_is_lazy_and_yields_lines_without_newlines():
    records = iter([point(), point(), {"measurement": ""}])
    lines = encode_records(records)
    assert next(lines) == "m v=1.5"
    assert next(lines) == "m v=1.5"
    with pytest.raises(ValidationError):
        next(lines)


# --- escaping -------------------------------------------------------------------------------


def test_measurement_escapes_comma_and_space_but_not_equals():
    assert line(point(measurement="cpu load,avg=1")) == "cpu\\ load\\,avg=1 v=1.5"


def test_tag_keys_and_values_escape_comma_equals_space():
    record = point(tags={"my key,x=y": "a value,b=c"})
    assert line(record) == "m,my\\ key\\,x\\=y=a\\ value\\,b\\=c v=1.5"


def test_field_keys_escape_comma_equals_space():
    assert line(point({"a b,c=d": 1.0})) == "m a\\ b\\,c\\=d=1.0"


def test_quotes_in_names_are_literal():
    assert line(point({'say "x"': 1.0}, tags={'q"': '"v"'}, measurement='m"')) == 'm",q"="v" say\\ "x"=1.0'


def test_single_backslash_before_an_ordinary_character_is_left_alone():
    assert line(point(tags={"path": "C:\\dir\\file"})) == "m,path=C:\\dir\\file v=1.5"


# InfluxDB keeps every backslash that is not directly before a special character of the part,
# '\\' included (checked on InfluxDB 1.6.7: tag value \\srv\share is stored with both leading
# backslashes), so backslashes are written as they are. Doubling them (as the encoder did)
# stored twice as many.


def test_runs_of_backslashes_are_written_as_they_are():
    assert line(point(tags={"unc": "\\\\srv\\share"})) == "m,unc=\\\\srv\\share v=1.5"
    assert line(point({"a\\\\\\b": 1.0})) == "m a\\\\\\b=1.0"
    assert line(point(measurement="two\\\\x")) == "two\\\\x v=1.5"


def test_a_backslash_before_a_special_character_of_a_tag_keeps_its_own_backslash():
    # The server drops only the backslash of the escape: a\\\,b is read back as a\,b.
    assert line(point(tags={"t": "a\\,b", "u": "c\\=d"})) == "m,t=a\\\\,b,u=c\\\\=d v=1.5"
    assert line(point(tags={"k\\=": "v"})) == "m,k\\\\==v v=1.5"
    # '=' is not special in a measurement, and a backslash before an ordinary character stays single.
    assert line(point(measurement="a=b\\x")) == "a=b\\x v=1.5"


def test_a_backslash_before_a_quote_in_a_field_key_escapes_the_quote():
    # Field keys are unescaped like measurements, '\"' included: the quote gets its own escape.
    assert line(point({'a\\"b': 1.0})) == 'm a\\\\"b=1.0'
    assert line(point({'a\\\\"b': 1.0, '"q"': 2.0})) == 'm a\\\\\\"b=1.0,"q"=2.0'
    # In tags a backslash before '"' stays as it is (tags are not unescaped for quotes).
    assert line(point(tags={"t": 'a\\"b'})) == 'm,t=a\\"b v=1.5'


TRAILING = "ends with a backslash, which line protocol cannot carry (it escapes the delimiter after it)"


def test_a_trailing_backslash_is_refused_everywhere():
    # The server's key scanner takes the delimiter after a backslash as escaped, whatever number
    # of backslashes precedes it, so no spelling of a trailing backslash reads back.
    assert problems([point(measurement="m\\")]) == {"data[0].measurement": [TRAILING]}
    assert problems([point(tags={"k\\": "v"})]) == {"data[0].tags.k\\": [f"the key {TRAILING}"]}
    assert problems([point(tags={"k": "v\\\\"})]) == {"data[0].tags.k": [TRAILING]}
    assert problems([point({"f\\": 1.0})]) == {"data[0].fields.f\\": [f"the key {TRAILING}"]}
    # Trailing backslashes are fine where they are escaped: inside string field values.
    assert line(point({"s": "dir\\"})) == 'm s="dir\\\\"'


@pytest.mark.parametrize("part, name, where, char", [
    ("measurement", "a\\ b", "data[0].measurement", "a space"),
    ("measurement", "a\\,b", "data[0].measurement", "a comma"),
    ("measurement", "a\\=b", "data[0].measurement", "'='"),
    ("measurement", 'a\\"b', "data[0].measurement", "a double quote"),
    ("tag_key", "a\\ b", "data[0].tags.a\\ b", "a space"),
    ("tag_value", "a\\ b", "data[0].tags.t", "a space"),
    ("field", "a\\ b", "data[0].fields.a\\ b", "a space"),
    ("field", "a\\,b", "data[0].fields.a\\,b", "a comma"),
    ("field", "a\\=b", "data[0].fields.a\\=b", "'='"),
])
def test_a_backslash_the_server_would_misread_is_refused(part, name, where, char):
    record = {
        "measurement": point(measurement=name),
        "tag_key": point(tags={name: "v"}),
        "tag_value": point(tags={"t": name}),
        "field": point({name: 1.0}),
    }[part]
    (message,) = problems([record])[where]
    assert f"has a backslash right before {char}, which InfluxDB does not read back as written" in message


def test_a_field_key_starting_with_a_tab_is_not_written_first():
    # The server skips tabs and NULs before the field set ("\tfirst" would be stored as "first").
    assert line(point({"\tfirst": 1.0, "second": 2.0})) == "m second=2.0,\tfirst=1.0"
    assert line(point({"\x00a": 1.0, "\tb": 2.0, "c": 3.0})) == "m c=3.0,\x00a=1.0,\tb=2.0"
    assert line(point({"mid\tdle": 1.0})) == "m mid\tdle=1.0"
    (message,) = problems([point({"\tonly": 1.0, "\x00too": 2.0})])["data[0].fields.\tonly"]
    assert message.startswith("starts with a tab or NUL")


def test_string_field_escapes_quote_and_backslash_only():
    assert line(point({"s": 'say "hi" \\ bye, a=b'})) == 'm s="say \\"hi\\" \\\\ bye, a=b"'


def test_string_field_may_hold_a_newline():
    assert line(point({"s": "one\ntwo"})) == 'm s="one\ntwo"'


# --- tags -----------------------------------------------------------------------------------


def test_tags_are_sorted_by_utf8_bytes():
    keys = ["b", "a", "Z", "\u00e9", "\u65e5", "\U0001f680", "aa", "A1", "\uff21"]
    text = line(point(tags={key: "v" for key in keys}))
    written = [pair.split("=")[0] for pair in text.split(" ")[0].split(",")[1:]]
    assert written == sorted(keys, key=lambda k: k.encode("utf-8"))


def test_empty_and_none_tag_values_are_left_out():
    assert line(point(tags={"a": None, "b": "", "c": "x"})) == "m,c=x v=1.5"


def test_numeric_tag_values_are_written_as_text():
    assert line(point(tags={"n": 5, "f": 1.5, "d": Decimal("2.50")})) == "m,d=2.50,f=1.5,n=5 v=1.5"


def test_tag_values_that_are_not_scalars_are_rejected():
    assert problems([point(tags={"t": ["a"]})]) == {"data[0].tags.t": ["must be a string, not list"]}


def test_tags_must_be_a_mapping():
    assert problems([point(tags=["host"])]) == {"data[0].tags": ["must be an object of tag names to values"]}


# --- field types ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, text",
    [
        (True, "true"),
        (False, "false"),
        (0, "0i"),
        (-12, "-12i"),
        (2**63 - 1, "9223372036854775807i"),
        (-(2**63), "-9223372036854775808i"),
        (Unsigned(0), "0u"),
        (Unsigned(2**64 - 1), "18446744073709551615u"),
        ({"unsigned": 7}, "7u"),
        ({"unsigned": "18446744073709551615"}, "18446744073709551615u"),
        ({"integer": 7}, "7i"),
        ({"integer": "-9223372036854775808"}, "-9223372036854775808i"),
        ({"float": 1}, "1.0"),
        ({"float": 2.5}, "2.5"),
        ({"float": Decimal("0.1")}, "0.1"),
        (1.0, "1.0"),
        (0.1, "0.1"),
        (-0.0, "-0.0"),
        (1e300, "1e+300"),
        (1.5e-07, "1.5e-07"),
        (Decimal("3.25"), "3.25"),
        (Decimal("1E+2"), "100.0"),
        ("text", '"text"'),
        ("", '""'),
    ],
)
def test_field_value_types(value, text):
    assert line(point({"f": value})) == f"m f={text}"


def test_bool_is_checked_before_int():
    assert line(point({"yes": True, "one": 1})) == "m yes=true,one=1i"


def test_float_output_reads_back_as_the_same_float():
    for value in (0.1, 1 / 3, 2**-1074, 1.7976931348623157e308, 123456789.123456789):
        assert float(line(point({"f": value})).split("=")[1]) == value


@pytest.mark.parametrize(
    "value, message",
    [
        (float("nan"), "NaN cannot be written in line protocol"),
        (float("inf"), "infinity cannot be written in line protocol"),
        (float("-inf"), "infinity cannot be written in line protocol"),
        (Decimal("NaN"), "NaN cannot be written in line protocol"),
        (Decimal("-Infinity"), "infinity cannot be written in line protocol"),
        ({"float": float("nan")}, "NaN cannot be written in line protocol"),
    ],
)
def test_non_finite_values_are_rejected(value, message):
    assert problems([point(), point({"temp": value})]) == {"data[1].fields.temp": [message]}


@pytest.mark.parametrize(
    "value, fragment",
    [
        (2**63, "outside the 64-bit signed integer range"),
        (-(2**63) - 1, "outside the 64-bit signed integer range"),
        ({"integer": 2**63}, "outside the 64-bit signed integer range"),
        ({"unsigned": 2**64}, "outside the unsigned 64-bit range"),
        ({"unsigned": -1}, "outside the unsigned 64-bit range"),
        ({"unsigned": 1.5}, "must be a whole number"),
        ({"unsigned": True}, "must be a whole number"),
        ({"integer": "12a"}, "must be a whole number"),
        ({"float": "1.5"}, "must be a number, not str"),
        ({"float": 10**400}, "too large for a 64-bit float"),
        (Decimal("1e400"), "too large for a 64-bit float"),
        ({"signed": 1}, 'must be {"unsigned": n}'),
        ({"unsigned": 1, "integer": 1}, 'must be {"unsigned": n}'),
        ([1, 2], "a list cannot be written"),
        (b"bytes", "a bytes cannot be written"),
        (object(), "a object cannot be written"),
    ],
)
def test_unwritable_field_values(value, fragment):
    (messages,) = problems([point({"f": value})]).values()
    assert len(messages) == 1 and fragment in messages[0]


def test_unsigned_class_checks_its_range():
    assert repr(Unsigned(3)) == "Unsigned(3)"
    assert isinstance(Unsigned(3), int)
    with pytest.raises(ValueError):
        Unsigned(-1)
    with pytest.raises(ValueError):
        Unsigned(2**64)


def test_none_fields_are_skipped_but_one_value_is_required():
    assert line(point({"a": None, "b": 2.0})) == "m b=2.0"
    assert problems([point({"a": None})]) == {"data[0].fields": ["needs at least one field with a value"]}
    assert problems([point({})]) == {"data[0].fields": ["needs at least one field with a value"]}
    assert problems([{"measurement": "m"}]) == {"data[0].fields": ["required"]}
    assert problems([point([("a", 1)])]) == {"data[0].fields": ["must be an object of field names to values"]}


def test_string_field_size_limit_counts_utf8_bytes():
    at_limit = "\u00e9" * 32768  # 65,536 bytes in 32,768 characters
    assert line(point({"s": at_limit})) == f'm s="{at_limit}"'
    (message,) = problems([point({"s": at_limit + "x"})])["data[0].fields.s"]
    assert message == "is 65,537 bytes long; string fields are limited to 65,536 bytes (UTF-8)"


def test_string_field_limit_names_the_field_and_the_limit():
    records = [point(), point(), point(), point({"note": "x" * 65_537, "ok": "y" * 65_536})]
    assert problems(records) == {"data[3].fields.note": [
        "is 65,537 bytes long; string fields are limited to 65,536 bytes (UTF-8)"]}


def test_series_key_limit_counts_the_field_key_as_the_server_does():
    # InfluxDB 1.6.7 refuses a point when key + 4 + field key is over 65,535 bytes: with field
    # "v", "m,k=" + 65,526 characters (a 65,530-byte key) is written, one more is not
    # ("max key length exceeded: 65536 > 65535").
    ok = line(point(tags={"k": "x" * 65_526}))
    assert len(ok.split(" ")[0].encode()) == 65_530
    (message,) = problems([point(), point(tags={"k": "x" * 65_527})])["data[1].tags"]
    assert message == (
        "the series key (measurement and tags) is 65,531 bytes; InfluxDB stores it with each field key "
        "and a 4-byte separator, 65,536 bytes for the longest field key, and allows at most 65,535")
    # The longest field key counts, in UTF-8 bytes as written: with a 65,524-byte key, 7 bytes
    # of field key fit. "a b c d" is 7 characters but 10 bytes once escaped; "\u00e9\u00e9\u00e9\u00e9" is 8.
    key = {"k": "x" * 65_520}
    assert line(point({"v": 1.0, "abcdefg": 2.0}, tags=key)).startswith("m,k=x")
    assert list(problems([point({"v": 1.0, "a b c d": 2.0}, tags=key)])) == ["data[0].tags"]
    assert list(problems([point({"\u00e9" * 4: 2.0}, tags=key)])) == ["data[0].tags"]


def test_series_key_limit_counts_utf8_bytes_and_names_the_part():
    too_long = problems([point(tags={"k": "\u00e9" * 40000})])
    assert list(too_long) == ["data[0].tags"]
    assert "series key" in too_long["data[0].tags"][0] and "65,535" in too_long["data[0].tags"][0]
    long_name = problems([{"measurement": "m" * 65536, "fields": {"v": 1}}])
    assert list(long_name) == ["data[0].measurement"]
    assert line({"measurement": "m" * 65_530, "fields": {"v": 1}}) == "m" * 65_530 + " v=1i"
    assert "data[0].measurement" in problems([{"measurement": "m" * 65_531, "fields": {"v": 1}}])


# --- names ----------------------------------------------------------------------------------


def test_measurement_is_required():
    assert problems([point(measurement="")]) == {"data[0].measurement": ["required"]}
    assert problems([{"fields": {"v": 1}}]) == {"data[0].measurement": ["required"]}
    assert problems([point(measurement=5)]) == {"data[0].measurement": ["must be a string, not int"]}


@pytest.mark.parametrize("bad, where", [("a\nb", "at index 1 (after 'a')"), ("end\n", "at index 3 (after 'end')"),
                                        ("\nfirst", "at index 0"), ("cr\r\nlf", "at index 3 (after 'cr\\r')")])
def test_a_line_feed_in_a_name_or_tag_value_is_refused_saying_where(bad, where):
    said = f"contains a line feed (\\n) {where}, which ends the line in line protocol: only string field values can hold one"
    assert problems([point(measurement=bad)]) == {"data[0].measurement": [said]}
    assert problems([point(tags={bad: "v"})]) == {f"data[0].tags.{bad}": [f"the key {said}"]}
    assert problems([point(tags={"host": bad})]) == {"data[0].tags.host": [said]}
    assert problems([point({bad: 1.0})]) == {f"data[0].fields.{bad}": [f"the key {said}"]}


@pytest.mark.parametrize("name", ["a\rb", "end\r", "\rfirst", "a\tb", "end\t", "c\r\td"])
def test_carriage_returns_and_tabs_in_names_go_as_they_are(name):
    # InfluxDB's parser reads both as ordinary characters (1.6.7 stores them as written):
    # no escape, and a backslash before them would be kept as part of the name.
    assert line(point(measurement=name)) == f"{name} v=1.5"
    assert line(point(tags={name: name})) == f"m,{name}={name} v=1.5"
    assert line({"measurement": "m", "fields": {"plain": 1.0, name: 2.0}}) == f"m plain=1.0,{name}=2.0"


def test_names_starting_with_underscore_are_reserved():
    reserved = "names starting with '_' are reserved by InfluxDB"
    assert problems([point(measurement="_m")]) == {"data[0].measurement": [reserved]}
    assert problems([point(tags={"_measurement": "x"})]) == {"data[0].tags._measurement": [reserved]}
    assert problems([point({"_value": 1.0})]) == {"data[0].fields._value": [reserved]}
    assert line(point(tags={"t": "_fine_as_a_value"})) == "m,t=_fine_as_a_value v=1.5"


def test_empty_keys_are_rejected():
    assert problems([point(tags={"": "v"})]) == {"data[0].tags": ["a tag key is empty"]}
    assert problems([point({"": 1.0})]) == {"data[0].fields": ["a field key is empty"]}


def test_non_string_keys_are_rejected():
    assert problems([point(tags={1: "v"})]) == {"data[0].tags": ["tag key 1 must be a string"]}
    assert problems([point({2: 1.0})]) == {"data[0].fields": ["field key 2 must be a string"]}


def test_measurement_that_would_become_a_comment_is_rejected():
    (message,) = problems([point(measurement="#hash")])["data[0].measurement"]
    assert "comment" in message
    assert "tab" in problems([point(measurement="\tm")])["data[0].measurement"][0]


def test_every_problem_of_the_first_bad_record_is_listed():
    records = [
        point(),
        {"measurement": "_m", "tags": {"h": "a\nb"}, "fields": {"t": float("nan"), "ok": 1}, "time": "noon", "tgas": 1},
        {"measurement": ""},
    ]
    with pytest.raises(ValidationError) as info:
        list(encode_records(records))
    assert [str(error) for error in info.value.errors] == [
        "data[1].tgas: unknown key: a record has measurement, tags, fields and time",
        "data[1].measurement: names starting with '_' are reserved by InfluxDB",
        "data[1].tags.h: contains a line feed (\\n) at index 1 (after 'a'), which ends the line in line protocol: "
        "only string field values can hold one",
        "data[1].fields.t: NaN cannot be written in line protocol",
        "data[1].time: 'noon' is not an RFC3339 timestamp such as 2024-01-31T12:00:00Z",
    ]


def test_field_name_sets_the_error_path():
    assert problems([point(), point(measurement="")], field="points") == {"points[1].measurement": ["required"]}


def test_records_must_be_mappings():
    assert problems(["cpu v=1"]) == {
        "data[0]": ["must be an object with measurement, fields and optional tags and time"]
    }


# --- time -----------------------------------------------------------------------------------

RFC = "2023-01-31T05:41:24.123456789Z"
NANOS = 1675143684123456789


@pytest.mark.parametrize(
    "precision, expected",
    [("ns", NANOS), ("us", NANOS // 1000), ("ms", NANOS // 10**6), ("s", NANOS // 10**9)],
)
def test_rfc3339_time_in_each_precision(precision, expected):
    assert line(point(time=RFC), precision=precision) == f"m v=1.5 {expected}"
    shifted = "2023-01-31T07:41:24.123456789+02:00"
    assert line(point(time=shifted), precision=precision) == f"m v=1.5 {expected}"


@pytest.mark.parametrize(
    "precision, expected",
    [("ns", 1675143684123456000), ("us", 1675143684123456), ("ms", 1675143684123), ("s", 1675143684)],
)
def test_datetime_time_in_each_precision(precision, expected):
    aware = datetime(2023, 1, 31, 5, 41, 24, 123456, tzinfo=UTC)
    naive = datetime(2023, 1, 31, 5, 41, 24, 123456)
    other_zone = datetime(2023, 1, 30, 23, 11, 24, 123456, tzinfo=timezone(timedelta(hours=-6, minutes=-30)))
    for value in (aware, naive, other_zone):
        assert line(point(time=value), precision=precision) == f"m v=1.5 {expected}"


def test_integer_time_is_taken_in_the_precision_unit():
    assert line(point(time=1675143684), precision="s") == "m v=1.5 1675143684"
    assert line(point(time=-5)) == "m v=1.5 -5"


def test_time_before_1970_floors_toward_the_past():
    assert line(point(time="1969-12-31T23:59:59.5Z"), precision="s") == "m v=1.5 -1"
    assert line(point(time=datetime(1969, 12, 31, 23, 59, 59, 999999)), precision="ms") == "m v=1.5 -1"


@pytest.mark.parametrize(
    "value, precision, fragment",
    [
        (9223372036854775807, "ns", "outside the time range"),
        (9223372036854776, "us", "outside the time range"),
        ("1600-01-01T00:00:00Z", "ns", "outside the time range"),
        (datetime(2300, 1, 1), "s", "outside the time range"),
        (True, "ns", "not a boolean"),
        (1.5, "ns", "not float"),
        ("2023-01-31", "ns", "is not an RFC3339 timestamp"),
    ],
)
def test_bad_times(value, precision, fragment):
    (message,) = problems([point(time=value)], precision=precision)["data[0].time"]
    assert fragment in message


def test_time_range_edges_are_accepted():
    assert line(point(time=9223372036854775806)) == "m v=1.5 9223372036854775806"
    assert line(point(time=-9223372036854775806)) == "m v=1.5 -9223372036854775806"


def test_unknown_precision_is_rejected_before_iterating():
    with pytest.raises(ValidationError) as info:
        encode_records([point()], precision="m")
    assert info.value.by_field() == {"precision": ["must be one of ns, us, ms, s, not 'm'"]}


# --- encode_data ----------------------------------------------------------------------------


def test_encode_data_passes_text_through():
    body, count = encode_data("cpu v=1\ncpu v=2\n")
    assert (body, count) == (b"cpu v=1\ncpu v=2", 2)


def test_encode_data_text_normalizes_crlf_and_counts_points_only():
    text = "# header comment\r\ncpu v=1\r\n\r\n   \r\n  # indented comment\r\ncpu v=2 5\r\n\r\n"
    body, count = encode_data(text)
    assert body == b"# header comment\ncpu v=1\n\n   \n  # indented comment\ncpu v=2 5"
    assert count == 2


@pytest.mark.parametrize("text", ["", "\n", "\r\n\r\n", "   \n\t"])
def test_encode_data_rejects_empty_text(text):
    with pytest.raises(ValidationError) as info:
        encode_data(text)
    assert info.value.by_field() == {"data": ["is empty: give line protocol text or a list of records"]}


def test_encode_data_rejects_text_with_only_comments():
    with pytest.raises(ValidationError, match="only comments"):
        encode_data("# nothing here\n")


def test_encode_data_encodes_records():
    body, count = encode_data([point(tags={"h": "\U0001f680"}), point({"s": "caf\u00e9"}, time=3)])
    assert body == 'm,h=\U0001f680 v=1.5\nm s="caf\u00e9" 3'.encode("utf-8")
    assert count == 2
    assert encode_data((point(),)) == (b"m v=1.5", 1)


def test_encode_data_single_record():
    assert encode_data(point(time="1970-01-01T00:00:01Z"), precision="ms") == (b"m v=1.5 1000", 1)


@pytest.mark.parametrize("empty", [[], ()])
def test_encode_data_rejects_empty_list(empty):
    with pytest.raises(ValidationError) as info:
        encode_data(empty, field="points")
    assert info.value.by_field() == {"points": ["is empty: give line protocol text or a list of records"]}


def test_encode_data_rejects_other_types():
    with pytest.raises(ValidationError, match="must be line protocol text or a list of records, not int"):
        encode_data(42)


def test_encode_data_reports_bad_records():
    with pytest.raises(ValidationError) as info:
        encode_data([point(), point(), point({"temp": float("inf")})])
    assert info.value.by_field() == {"data[2].fields.temp": ["infinity cannot be written in line protocol"]}


def test_encode_data_reports_lone_surrogates():
    with pytest.raises(ValidationError) as info:
        encode_data([point(), point({"s": "bad \ud800"})])
    assert list(info.value.by_field()) == ["data[1]"]
    with pytest.raises(ValidationError, match="line 2: contains a lone surrogate"):
        encode_data("m v=1\nm s=\"\ud800\"")


def test_encode_data_checks_precision_for_text_too():
    with pytest.raises(ValidationError, match="precision"):
        encode_data("m v=1", precision="n")


# --- round trip through a model of the server's reader -------------------------------------
# The model follows how InfluxDB reads a line, as observed on InfluxDB 1.6.7 (tests/test_roundtrip.py
# runs the real server; this keeps the encoder's unit tests honest without one), not the encoder:
#   * measurement, tag keys and tag values end at a delimiter that is not *directly* preceded by
#     a backslash (backslashes do not pair up there);
#   * in the field set a backslash takes the next character with it (they do pair up there),
#     while the field key itself ends at the first '=' not directly preceded by a backslash;
#   * unescaping drops a backslash only before one of the part's special characters
#     (measurement and field keys: , space = "; tags: , space =); every other backslash stays;
#   * string values read \\ as one backslash and \" as a quote.

NAME_SPECIALS = ', ="'
TAG_SPECIALS = ",= "


def scan_to(text: str, stops: str, start: int = 0) -> int:
    """The first of ``stops`` at or after ``start`` that is not directly after a backslash."""
    pos = start
    while pos < len(text):
        if text[pos] in stops and (pos == 0 or text[pos - 1] != "\\"):
            return pos
        pos += 1
    return len(text)


def drop_escapes(text: str, specials: str) -> str:
    out = []
    pos = 0
    while pos < len(text):
        if text[pos] == "\\" and pos + 1 < len(text) and text[pos + 1] in specials:
            out.append(text[pos + 1])
            pos += 2
        else:
            out.append(text[pos])
            pos += 1
    return "".join(out)


def parse_value(text: str):
    if text in ("true", "false"):
        return text == "true"
    if text.endswith("i"):
        return int(text[:-1])
    if text.endswith("u"):
        return Unsigned(int(text[:-1]))
    return float(text)


def parse_line(text: str) -> dict:
    key_end = scan_to(text, " ")
    key = text[:key_end]
    name_end = scan_to(key, ",")
    record: dict = {"measurement": drop_escapes(key[:name_end], NAME_SPECIALS), "tags": {}, "fields": {}}
    pos = name_end + 1
    while pos < len(key):
        equals = scan_to(key, "=", pos)
        end = scan_to(key, ",", equals + 1)
        record["tags"][drop_escapes(key[pos:equals], TAG_SPECIALS)] = drop_escapes(key[equals + 1 : end], TAG_SPECIALS)
        pos = end + 1
    pos = key_end + 1
    while True:
        equals = scan_to(text, "=", pos)
        name = drop_escapes(text[pos:equals], NAME_SPECIALS)
        pos = equals + 1
        if text[pos] == '"':
            chars = []
            pos += 1
            while text[pos] != '"':
                if text[pos] == "\\" and text[pos + 1] in '"\\':
                    pos += 1
                chars.append(text[pos])
                pos += 1
            record["fields"][name] = "".join(chars)
            pos += 1
        else:
            end = pos
            while end < len(text) and text[end] not in ", ":
                end += 1
            record["fields"][name] = parse_value(text[pos:end])
            pos = end
        if pos >= len(text) or text[pos] == " ":
            break
        pos += 1  # the comma between fields
    if pos < len(text):
        record["time"] = int(text[pos + 1 :])
    return record


# Names every part can carry.
TRICKY_NAMES = [
    "plain",
    "with space",
    "comma,here",
    "equals=here",
    'quote"here"',
    "back\\slash",
    "\\leading",
    "double\\\\x",
    "triple\\\\\\x",
    "\\\\unc\\share",
    "mid\\\\run",
    " ",
    ",",
    "=",
    '"',
    "a=b,c d",
    "emoji \U0001f680,=",
    "\u65e5\u672c\u8a9e \u30c6\u30b9\u30c8",
    "tab\there",
    "x#hash",
    "trailing space ",
    "\\x\\y\\z",
]


@pytest.mark.parametrize("name", TRICKY_NAMES)
def test_round_trip_through_the_model_of_the_server(name):
    record = {
        "measurement": name,
        "tags": {name: name, "other": "v"},
        "fields": {name: f'{name} "quoted" \\ value\\', "n": 7, "u": Unsigned(8), "f": 0.25, "b": False},
        "time": 1234,
    }
    assert parse_line(line(record)) == record


# Backslashes right before a special character, which only some parts can carry.
@pytest.mark.parametrize("tag", ["a\\,b", "a\\=b", "a\\\\,b", 'a\\"b', "\\=", "x\\\\=\\,y"])
def test_tags_keep_a_backslash_before_comma_and_equals(tag):
    record = {"measurement": "m", "tags": {tag: tag}, "fields": {"v": 1.0}}
    assert parse_line(line(record)) == record


@pytest.mark.parametrize("key", ['a\\"b', 'a\\\\"b', '\\"', '"\\"\\"'])
def test_field_keys_keep_a_backslash_before_a_quote(key):
    record = {"measurement": "m", "tags": {}, "fields": {key: 1.0}}
    assert parse_line(line(record)) == record


def test_the_model_agrees_with_the_documented_example():
    parsed = parse_line('my\\ table,tag\\,1=a\\=b field="x \\"y\\"",n=2i 99')
    assert parsed == {
        "measurement": "my table",
        "tags": {"tag,1": "a=b"},
        "fields": {"field": 'x "y"', "n": 2},
        "time": 99,
    }


def test_the_model_reads_backslashes_as_the_server_does():
    # Lines and what InfluxDB 1.6.7 stored for them (see tests/test_roundtrip.py for the live checks).
    assert parse_line("m,t=a\\\\b\\\\\\\\c f=1i")["tags"] == {"t": "a\\\\b\\\\\\\\c"}
    assert parse_line("m,t=a\\\\\\,b f=1i")["tags"] == {"t": "a\\\\,b"}
    assert parse_line('a\\"b f=1i')["measurement"] == 'a"b'
    assert parse_line('m f\\\\"k=1i')["fields"] == {'f\\"k': 1}


def test_text_counts_points_as_the_server_splits_them() -> None:
    # A newline inside a quoted string value does not end a point; blank lines and comments are not points.
    body, count = encode_data('m v=1\n\n# a comment\nm s="two\nlines" 5\nm v=2', precision="ns")
    assert count == 3
    assert body.ends == [5, 36, 42]  # only points are records; the comment goes with the point after it
    assert body.unfinished == [0, 2]  # the points without a timestamp, stamped per batch
