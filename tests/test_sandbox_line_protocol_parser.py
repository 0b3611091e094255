"""Unit tests for the sandbox's line-protocol parser (reference section 6)."""
from __future__ import annotations

import pytest

from influx_connector.sandbox.line_protocol_parser import (
    MAX_KEY_BYTES,
    parse_lines,
    parse_points,
)
from influx_connector.sandbox.store import FieldPoint

NOW = 1_700_000_000_123_456_789


def parse(text: str, precision: str = "ns"):
    return parse_lines(text, precision=precision, default_time_ns=NOW)


def one(text: str, precision: str = "ns") -> FieldPoint:
    points, errors = parse(text, precision)
    assert errors == []
    assert len(points) == 1, points
    return points[0]


def reason(text: str) -> str:
    """The reason of the single error a one-point text gives."""
    points, errors = parse(text)
    assert points == []
    assert len(errors) == 1, errors
    prefix = f"unable to parse '{text.lstrip(' ')}': "
    assert errors[0].startswith(prefix), errors[0]
    return errors[0][len(prefix):]


# --- structure -----------------------------------------------------------------------------------


def test_full_point_is_split_into_one_field_point_per_field():
    points, errors = parse('cpu,host=a,region=eu usage=1.5,count=3i,ok=t,note="hi" 1700000000000000000')
    assert errors == []
    tags = (("host", "a"), ("region", "eu"))
    assert points == [
        FieldPoint("cpu", tags, "usage", "double", 1.5, 1_700_000_000_000_000_000),
        FieldPoint("cpu", tags, "count", "long", 3, 1_700_000_000_000_000_000),
        FieldPoint("cpu", tags, "ok", "boolean", True, 1_700_000_000_000_000_000),
        FieldPoint("cpu", tags, "note", "string", "hi", 1_700_000_000_000_000_000),
    ]


def test_tags_are_sorted_by_key():
    assert one("m,z=1,a=2,M=3 f=1").tags == (("M", "3"), ("a", "2"), ("z", "1"))


def test_point_without_tags():
    point = one("m f=1")
    assert (point.measurement, point.tags) == ("m", ())


def test_parse_points_keeps_fields_of_a_line_together():
    points, errors = parse_points("m,t=1 a=1,b=2i 5\nn c=t 6", precision="ns", default_time_ns=NOW)
    assert errors == []
    assert [(p.measurement, p.tags, p.fields, p.time) for p in points] == [
        ("m", (("t", "1"),), {"a": ("double", 1.0), "b": ("long", 2)}, 5),
        ("n", (), {"c": ("boolean", True)}, 6),
    ]


def test_repeated_field_key_in_one_line_keeps_the_last_value():
    points, _ = parse("m f=1,f=2")
    assert [(p.field, p.value) for p in points] == [("f", 2.0)]


def test_extra_spaces_between_sections_are_allowed():
    point = one("m  f=1   42  ")
    assert (point.value, point.time) == (1.0, 42)


def test_comments_blank_lines_and_leading_whitespace_are_skipped():
    text = "# a comment\n\n   \n  # indented comment\n\t m f=1 1\n\n"
    points, errors = parse(text)
    assert errors == []
    assert [(p.measurement, p.time) for p in points] == [("m", 1)]


def test_crlf_line_endings_are_tolerated():
    points, errors = parse("m f=1 1\r\nm f=2 2\r\n")
    assert errors == []
    assert [p.time for p in points] == [1, 2]


# --- escaping ------------------------------------------------------------------------------------


def test_measurement_escapes_comma_and_space_but_not_equals():
    assert one(r"my\,meas\ ure f=1").measurement == "my,meas ure"
    assert one("a=b f=1").measurement == "a=b"


def test_tag_keys_and_values_escape_comma_space_and_equals():
    assert one(r"m,t\ k\=x\,y=v\,1\ 2\=3 f=1").tags == (("t k=x,y", "v,1 2=3"),)


def test_field_key_escapes_comma_space_and_equals():
    assert one(r"m f\ k\=x\,y=1").field == "f k=x,y"


def test_backslashes_stay_unless_right_before_a_special_character():
    # As InfluxDB 1.6.7 reads them: backslashes do not pair up in names, and only the one right
    # before a character special to the part is dropped.
    assert one(r"a\\b f=1").measurement == "a\\\\b"
    assert one(r"a\b f=1").measurement == "a\\b"
    assert one(r"m,t=x\y f=1").tags == (("t", "x\\y"),)
    assert one(r"m,t=a\\b\\\\c f=1i").tags == (("t", "a\\\\b\\\\\\\\c"),)
    assert one(r"m,t=a\\\,b f=1i").tags == (("t", "a\\\\,b"),)
    assert one(r'a\"b f=1i').measurement == 'a"b'
    assert one(r'm f\\"k=1i').field == 'f\\"k'
    assert one(r"m,t=a\\,b f=1i").tags == (("t", "a\\,b"),)  # the comma is escaped: no pairing


def test_quotes_in_names_and_tag_values_are_literal():
    point = one('m"x,t="v" f"k=1')
    assert (point.measurement, point.tags, point.field) == ('m"x', (("t", '"v"'),), 'f"k')


def test_string_value_escapes_quote_and_backslash_only():
    assert one(r'm f="a\"b\\c\nd"').value == 'a"b\\c\\nd'


def test_string_value_may_hold_spaces_commas_equals_and_newlines():
    points, errors = parse('m f="a b,c=d\nsecond line",g=1i 7\nm f="x" 8')
    assert errors == []
    assert [(p.field, p.value, p.time) for p in points] == [
        ("f", "a b,c=d\nsecond line", 7),
        ("g", 1, 7),
        ("f", "x", 8),
    ]


def test_quoted_boolean_is_a_string():
    point = one('m f="true"')
    assert (point.type, point.value) == ("string", "true")


def test_empty_string_value():
    assert one('m f=""').value == ""


# --- value types ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, value",
    [("1", 1.0), ("1.0", 1.0), ("-1.2e+78", -1.2e78), (".5", 0.5), ("1.", 1.0), ("3E-2", 0.03), ("-0", -0.0)],
)
def test_floats(raw, value):
    point = one(f"m f={raw}")
    assert (point.type, point.value) == ("double", value)


@pytest.mark.parametrize("raw", ["1.2.3", "1e", "--1", "+1", "1e5.0", "-", ".", "-Inf", "1x"])
def test_malformed_numbers(raw):
    assert reason(f"m f={raw}") == "invalid number"


@pytest.mark.parametrize("raw", ["NaN", "Inf", "inf", "nan", "abc"])
def test_nan_inf_and_words_are_not_field_values(raw):
    assert reason(f"m f={raw}") == "invalid field format"


def test_float_overflow_is_out_of_range():
    assert reason("m f=1e400") == "value out of range"


def test_integers_with_int64_bounds():
    assert one("m f=-9223372036854775808i").value == -(2**63)
    assert one("m f=9223372036854775807i").value == 2**63 - 1
    assert one("m f=12i").type == "long"
    assert reason("m f=9223372036854775808i") == "value out of range"
    assert reason("m f=-9223372036854775809i") == "value out of range"
    assert reason("m f=1.5i") == "invalid number"


def test_unsigned_with_uint64_bounds():
    assert one("m f=18446744073709551615u").value == 2**64 - 1
    point = one("m f=0u")
    assert (point.type, point.value) == ("unsignedLong", 0)
    assert reason("m f=18446744073709551616u") == "value out of range"
    assert reason("m f=-1u") == "invalid number"


@pytest.mark.parametrize("raw", ["t", "T", "true", "True", "TRUE"])
def test_true_spellings(raw):
    point = one(f"m f={raw}")
    assert (point.type, point.value) == ("boolean", True)


@pytest.mark.parametrize("raw", ["f", "F", "false", "False", "FALSE"])
def test_false_spellings(raw):
    point = one(f"m f={raw}")
    assert (point.type, point.value) == ("boolean", False)


@pytest.mark.parametrize("raw", ["tru", "TRue", "fals", "falsey", "Tr"])
def test_invalid_booleans(raw):
    assert reason(f"m f={raw}") == "invalid boolean"


# --- timestamps ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "precision, raw, ns",
    [
        ("ns", "1700000000123456789", 1_700_000_000_123_456_789),
        ("us", "1700000000123456", 1_700_000_000_123_456_000),
        ("ms", "1700000000123", 1_700_000_000_123_000_000),
        ("s", "1700000000", 1_700_000_000_000_000_000),
        ("s", "-5", -5_000_000_000),
    ],
)
def test_timestamps_are_converted_to_ns(precision, raw, ns):
    assert one(f"m f=1 {raw}", precision).time == ns


def test_missing_timestamp_uses_the_default_time():
    assert one("m f=1").time == NOW


@pytest.mark.parametrize("raw", ["12a", "1.5", "1 2", "0x10", "--1"])
def test_bad_timestamps(raw):
    assert reason(f"m f=1 {raw}") == "bad timestamp"


def test_timestamp_outside_the_storable_range():
    assert reason("m f=1 9223372036854775807").startswith("time outside range")
    points, errors = parse("m f=1 9223372037", "s")
    assert points == [] and "time outside range" in errors[0]


def test_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="invalid precision"):
        parse("m f=1", "h")


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["m", "m,t=1", "m ", "m,t=1 "])
def test_missing_fields(text):
    assert reason(text) == "missing fields"


def test_missing_measurement():
    assert reason(",t=1 f=1") == "missing measurement"


@pytest.mark.parametrize("text", ["m,t f=1", "m,t= f=1", "m,t=1,u f=1"])
def test_missing_tag_value(text):
    assert reason(text) == "missing tag value"


@pytest.mark.parametrize("text", ["m,=v f=1", "m, f=1"])
def test_missing_tag_key(text):
    assert reason(text) == "missing tag key"


def test_unescaped_equals_in_a_tag_value():
    assert reason("m,a=b=c f=1") == "invalid tag format"


def test_duplicate_tags():
    assert reason("m,a=1,b=2,a=3 f=1") == "duplicate tags"


@pytest.mark.parametrize("text", ["m f", "m f,g=1", 'm f="a"b'])
def test_invalid_field_format(text):
    assert reason(text) == "invalid field format"


@pytest.mark.parametrize("text", ["m =1", "m f=1,", "m f=1,=2"])
def test_missing_field_key(text):
    assert reason(text) == "missing field key"


def test_missing_field_value():
    assert reason("m f=") == "missing field value"


def test_unbalanced_quotes_swallow_the_rest_of_the_text():
    points, errors = parse('m f="open 1\nm g=1 2')
    assert points == []
    assert errors == ["unable to parse 'm f=\"open 1\nm g=1 2': unbalanced quotes"]


def test_max_key_length():
    assert one("m" * MAX_KEY_BYTES + " f=1").measurement == "m" * MAX_KEY_BYTES
    assert reason("m" * MAX_KEY_BYTES + ",t=v f=1").startswith("max key length exceeded")


@pytest.mark.parametrize("text", ["_m f=1", "m,_t=1 f=1", "m _f=1", "m f=1,_value=2"])
def test_names_starting_with_underscore_are_reserved(text):
    assert reason(text).startswith("reserved name")


def test_underscore_is_fine_inside_names_and_in_values():
    point = one('m_x,t=_v f_g="_s"')
    assert (point.measurement, point.tags, point.field, point.value) == ("m_x", (("t", "_v"),), "f_g", "_s")


def test_one_error_per_bad_line_and_good_lines_still_parse():
    points, errors = parse("ok f=1 1\nbad\nok f=2 2\nm f=tru\n")
    assert [p.time for p in points] == [1, 2]
    assert errors == [
        "unable to parse 'bad': missing fields",
        "unable to parse 'm f=tru': invalid boolean",
    ]


def test_error_message_quotes_the_line_as_written():
    assert parse(r"m\ x,t=a\,b f=x")[1] == [r"unable to parse 'm\ x,t=a\,b f=x': invalid field format"]
