"""The compiled fast path of the line-protocol encoder against its reference path.

``encode_records``/``encode_data`` send a record through a formatter generated for its shape
(measurement, tag keys, field keys, value types) and fall back to ``_encode_record``, the
reference, for anything the formatter does not take. Here both are run on the same records:
the lines must be the same text, and the errors the same paths and messages. The formatters are
white-box tested too: plain records must really go through them (``_encode_record`` is not
called), or the comparisons would only compare the reference with itself.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from influx_connector.errors import ValidationError
from influx_connector.influxdb.line_protocol_encoder import Unsigned, encode_data, encode_points, encode_records
from influx_connector.influxdb.line_protocol_encoder import compiled as lp
from influx_connector.influxdb.line_protocol_encoder.body import _utf8
from influx_connector.influxdb.line_protocol_splitter import point_ends

from .influxd import InfluxD, influxd  # noqa: F401 - the session's InfluxDB 1.6 fixture
from .test_line_protocol import parse_line
from .test_roundtrip import EDGES, round_trip, v1_conn  # noqa: F401 - v1_conn is a fixture
from .test_roundtrip import batches as storable_batches

PRECISIONS = ["ns", "us", "ms", "s"]
TIME_MAX_NS = 9_223_372_036_854_775_806
REFERENCE = lp._encode_record  # some tests replace it with a counting wrapper


@pytest.fixture(autouse=True)
def fresh_shapes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no compiled shape and compiles a shape at its first record."""
    monkeypatch.setattr(lp, "_SHAPES", {unit: {} for unit in lp._PRECISION_NS.values()})
    monkeypatch.setattr(lp, "_COMPILE_AFTER", 1)


class Counting:
    """Counts the records that take the reference path."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.calls = 0
        reference = lp._encode_record

        def counted(*args: Any) -> str:
            self.calls += 1
            return reference(*args)

        monkeypatch.setattr(lp, "_encode_record", counted)


@pytest.fixture
def reference_calls(monkeypatch: pytest.MonkeyPatch) -> Counting:
    return Counting(monkeypatch)


def reference_data(data: list[Any], precision: str = "ns", field: str = "data") -> tuple[bytes, int]:
    """What encode_data gives when every record goes through _encode_record."""
    unit = lp._PRECISION_NS[precision]
    lines = [REFERENCE(record, index, unit, field) for index, record in enumerate(data)]
    return _utf8("\n".join(lines), lines, field, records=True), len(lines)


def outcome(encode: Any, *args: Any, **options: Any) -> Any:
    """The result, or the error's field paths and messages."""
    try:
        return encode(*args, **options)
    except ValidationError as exc:
        return [(e.field, e.message) for e in exc.errors]


def assert_same(data: list[Any], precision: str = "ns") -> Any:
    fast = outcome(encode_data, data, precision=precision)
    assert fast == outcome(reference_data, data, precision=precision)
    marked = outcome(encode_points, data, precision=precision)
    assert marked == fast
    if not isinstance(marked, list):  # the ends it gives are where the body's scanner finds them
        assert marked[0].ends == point_ends(bytes(marked[0]))
    return fast


def rec(measurement: Any = "m", tags: Any = None, fields: Any = None, time: Any = None, **rest: Any) -> dict:
    record: dict[str, Any] = {"measurement": measurement, "fields": {"v": 1.5} if fields is None else fields}
    if tags is not None:
        record["tags"] = tags
    if time is not None:
        record["time"] = time
    record.update(rest)
    return record


# --- the fast path is taken -----------------------------------------------------------------


def test_plain_records_do_not_take_the_reference_path(reference_calls: Counting) -> None:
    records = [
        {"measurement": "cpu", "tags": {"host": f"h{i % 3}", "dc": "x"}, "fields": {"u": i / 7, "n": i, "ok": i % 2 == 0,
         "s": f'say "{i}" \\ \n'}, "time": 1_700_000_000_000_000_000 + i}
        for i in range(20)
    ] + [{"measurement": "mem", "fields": {"free": 3}}, {"measurement": "mem", "fields": {"free": 4}, "tags": {}}]
    body, count = encode_data(records)
    assert reference_calls.calls == 0 and count == 22
    assert list(encode_records(records[:2])) == [
        'cpu,dc=x,host=h0 u=0.0,n=0i,ok=true,s="say \\"0\\" \\\\ \n" 1700000000000000000',
        'cpu,dc=x,host=h1 u=0.14285714285714285,n=1i,ok=false,s="say \\"1\\" \\\\ \n" 1700000000000000001',
    ]
    assert body == reference_data(records)[0]


def test_a_shape_is_compiled_after_a_few_records(monkeypatch: pytest.MonkeyPatch, reference_calls: Counting) -> None:
    monkeypatch.setattr(lp, "_COMPILE_AFTER", 4)
    records = [rec(fields={"v": float(i)}, time=i) for i in range(10)]
    assert list(encode_records(records)) == [f"m v={float(i)} {i}" for i in range(10)]
    assert reference_calls.calls == 3


def test_uncommon_but_valid_values_stay_on_the_fast_path(reference_calls: Counting) -> None:
    records = [
        rec(fields={"v": 1.0}),
        rec(fields={"v": 2.0}, tags={"t": 5}),  # a tag value that is not a str
        rec(fields={"v": Decimal("3.5")}),  # another type for v: a variant of the shape
        rec(fields={"v": None, "w": 1}),  # another shape
        rec(fields={"v": 4.0}, time="1970-01-01T00:00:00.000000001Z"),
        rec(fields={"v": "x" * 20_000}),  # long: its size is checked
    ]
    assert_same(records)
    assert reference_calls.calls == 0
    body, _ = encode_data(records)
    assert body.decode().split("\n") == [
        "m v=1.0", "m,t=5 v=2.0", "m v=3.5", "m w=1i", "m v=4.0 1", 'm v="' + "x" * 20_000 + '"']


def test_records_that_are_not_plain_dicts_take_the_reference_path(reference_calls: Counting) -> None:
    class Record(dict):
        pass

    records = [OrderedDict(rec()), Record(rec()), rec(tags=OrderedDict(a="b")), rec(fields=OrderedDict(v=2))]
    assert encode_data(records)[0] == b"m v=1.5\nm v=1.5\nm,a=b v=1.5\nm v=2i"
    assert reference_calls.calls == 4
    assert_same(records)


# --- the same lines and the same errors as the reference ------------------------------------


class FrozenRecord(Mapping):
    """A mapping that is not a dict."""

    def __init__(self, data: dict[str, Any]):
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


class Text(str):
    pass


AWARE = datetime(2023, 1, 31, 5, 41, 24, 123456, tzinfo=UTC)

EDGE_RECORDS = [
    # names that need escapes, and names that cannot be written
    rec("cpu load,avg=1", {"my key,x=y": "a value,b=c", "path": "C:\\dir\\file"}, {"a b,c=d": 1.0, 'a\\"b': 2}),
    rec('m"', {'q"': '"v"', "unc": "\\\\srv\\share", "t": "a\\,b"}, {'say "x"': 1.0, "a\\\\\\b": True}),
    rec("emoji \U0001f680", {"\u65e5\u672c": "\u00e9 \u00e9"}, {"\u00e9": "\u65e5"}),
    rec("m\\"), rec("#comment"), rec("\tm"), rec("_m"), rec(""), rec(5), rec(None), rec("a\nb"), rec("a\\ b"),
    rec(tags={"k\\": "v"}), rec(tags={"k": "v\\"}), rec(tags={"k": "a\\ b"}), rec(tags={"_k": "v"}),
    rec(tags={"": "v"}), rec(tags={1: "v"}), rec(tags={"k": "a\nb"}), rec(tags={"k": ["a"]}),
    rec(fields={"f\\": 1}), rec(fields={"a\\,b": 1}), rec(fields={"_f": 1}), rec(fields={"": 1}), rec(fields={2: 1}),
    rec(fields={"\tfirst": 1.0, "second": 2.0}), rec(fields={"\x00a": 1.0, "\tb": 2.0, "c": 3.0}),
    rec(fields={"\tonly": 1.0, "\x00too": 2.0}), rec(fields={"a\nb": 1.0}),
    # tags
    rec(tags={}), rec(tags={"a": None, "b": "", "c": "x"}), rec(tags={"n": 5, "f": 1.5, "d": Decimal("2.50"), "b": True}),
    rec(tags={"b": "2", "a": "1", "\u00e9": "3", "A": "4"}), rec(tags=["host"]), rec(tags="host"),
    rec(tags={"k": Text("v")}), rec(tags={Text("k"): "v"}),
    # fields
    rec(fields={"a": None, "b": 2.0}), rec(fields={"a": None}), rec(fields={}), rec(fields=[("a", 1)]), rec(fields="v"),
    rec(fields={"max": 2**63 - 1, "min": -(2**63)}), rec(fields={"over": 2**63}), rec(fields={"under": -(2**63) - 1}),
    rec(fields={"t": 0.1, "nz": -0.0, "big": 1e300, "tiny": 5e-324, "third": 1 / 3}),
    rec(fields={"nan": float("nan")}), rec(fields={"inf": float("inf"), "ok": 1.0}), rec(fields={"ninf": float("-inf")}),
    rec(fields={"yes": True, "no": False, "one": 1}),
    rec(fields={"s": 'say "hi" \\ bye, a=b\nnext\r\n', "e": "", "bs": "dir\\"}),
    rec(fields={"s": "\u00e9" * 32768}), rec(fields={"s": "\u00e9" * 32768 + "x"}),
    rec(fields={"u": Unsigned(0), "umax": Unsigned(2**64 - 1), "w": {"unsigned": "18446744073709551615"}}),
    rec(fields={"i": {"integer": 7}, "f": {"float": 1}, "d": Decimal("3.25"), "e": Decimal("1E+2")}),
    rec(fields={"d": Decimal("NaN")}), rec(fields={"d": Decimal("1e400")}), rec(fields={"w": {"unsigned": -1}}),
    rec(fields={"w": {"signed": 1}}), rec(fields={"l": [1, 2]}), rec(fields={"b": b"x"}), rec(fields={"o": object()}),
    rec(fields={"sub": Text("text"), "fl": type("F", (float,), {})(2.5), "in": type("I", (int,), {})(3)}),
    # times
    rec(time=1_675_143_684_123_456_789), rec(time=-5), rec(time=TIME_MAX_NS), rec(time=-TIME_MAX_NS),
    rec(time=TIME_MAX_NS + 1), rec(time=-TIME_MAX_NS - 1), rec(time=True), rec(time=1.5),
    rec(time="2023-01-31T05:41:24.123456789Z"), rec(time="2023-01-31T07:41:24.123456789+02:00"),
    rec(time="1969-12-31T23:59:59.5Z"), rec(time="2023-01-31"), rec(time="1600-01-01T00:00:00Z"),
    rec(time=AWARE), rec(time=datetime(2023, 1, 31, 5, 41, 24, 123456)),
    rec(time=AWARE.astimezone(timezone(timedelta(hours=-6, minutes=-30)))), rec(time=datetime(2300, 1, 1)),
    rec(time=type("T", (int,), {})(42)),
    # records
    {"measurement": "m", "fields": {"v": 1}, "tgas": 1}, {"measurement": "m", "fields": {"v": 1}, "tags": {}, "tgas": 1},
    {"measurement": "m", "fields": {"v": 1}, "tags": None, "time": None}, {"fields": {"v": 1}},
    FrozenRecord(rec(tags={"k": "v"}, time=3)), OrderedDict(rec()), "cpu v=1", None,
    # keys at the series-key limit (InfluxDB: key + 4 + field key <= 65,535 bytes)
    rec(tags={"k": "x" * 65_526}), rec(tags={"k": "x" * 65_527}), rec(tags={"k": "\u00e9" * 40_000}),
    rec("m" * 65_530, fields={"v": 1}), rec("m" * 65_531, fields={"v": 1}),
    rec(tags={"k": "x" * 65_520}, fields={"v": 1.0, "abcdefg": 2.0}), rec(tags={"k": "x" * 65_520}, fields={"a b c d": 2.0}),
]


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("index", range(len(EDGE_RECORDS)))
def test_edge_records(index: int, precision: str) -> None:
    record = EDGE_RECORDS[index]
    # Alone, after plain records of the same measurement, and repeated (its shape compiled).
    assert_same([record], precision)
    assert_same([rec(), rec(fields={"v": 2.5}), record], precision)
    assert_same([record, record, record], precision)


@pytest.mark.parametrize("precision", PRECISIONS)
def test_every_edge_record_one_after_another(precision: str) -> None:
    # Shapes, variants and series are compiled and remembered across records; the errors come
    # at the first bad record, so the writable ones are also encoded together.
    assert_same(EDGE_RECORDS, precision)
    writable = [r for r in EDGE_RECORDS if not isinstance(outcome(reference_data, [r], precision=precision), list)]
    assert len(writable) > 30
    assert_same(writable * 2, precision)


@pytest.mark.parametrize("precision, unit", [("ns", 1), ("us", 10**3), ("ms", 10**6), ("s", 10**9)])
def test_integer_times_at_the_edges_of_each_precision(precision: str, unit: int) -> None:
    high = TIME_MAX_NS // unit
    for stamp in (0, 1, -1, high, -high, high + 1, -high - 1, 2**63, -(2**63) - 1, 10**30):
        assert_same([rec(time=stamp), rec(time=stamp)], precision)
    assert encode_data([rec(time=high)], precision=precision)[0] == f"m v=1.5 {high}".encode()


def test_interleaved_shapes_and_types() -> None:
    shapes = [
        lambda i: {"measurement": "cpu", "tags": {"host": f"h{i % 5}", "region": "eu"}, "fields": {"u": i / 3, "n": i}, "time": i},
        lambda i: {"measurement": "cpu", "tags": {"region": "eu", "host": f"h{i % 5}"}, "fields": {"n": i, "u": i / 3}, "time": i},
        lambda i: {"measurement": "mem", "fields": {"v": [1.5, 2, None, "s", True, Decimal("1.5"), Unsigned(4)][i % 7], "w": 0}},
        lambda i: {"measurement": "mem", "tags": {"a": [None, "", "x", 7][i % 4]}, "fields": {"v": 1}, "time": None},
        lambda i: {"measurement": "evt", "tags": {"k": "v"}, "fields": {"s": ['plain', 'with "quote"', "back\\slash", ""][i % 4]}},
    ]
    records = [shapes[i % len(shapes)](i) for i in range(200)]
    body, count = assert_same(records)
    assert count == 200
    lines = body.decode().split("\n")
    assert lines[:4] == ["cpu,host=h0,region=eu u=0.0,n=0i 0", "cpu,host=h1,region=eu n=1i,u=0.3333333333333333 1",
                         "mem w=0i", "mem,a=7 v=1i"]
    assert lines[5] == "cpu,host=h0,region=eu u=1.6666666666666667,n=5i 5"
    assert lines[6] == "cpu,host=h1,region=eu n=6i,u=2.0 6"


def test_caches_that_overflow_are_emptied(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lp, "_SHAPE_LIMIT", 3)
    monkeypatch.setattr(lp, "_SERIES_LIMIT", 4)
    records = [{"measurement": f"m{i % 7}", "tags": {"host": f"h{i % 11}"}, "fields": {"v": float(i)}, "time": i}
               for i in range(300)]
    assert_same(records)
    assert 0 < len(lp._SHAPES[1]) <= 3
    records = [{"measurement": "m", "tags": {"host": f"h{i % 11}"}, "fields": {"v": float(i)}} for i in range(100)]
    assert_same(records)
    (formatter,) = lp._SHAPES[1].values()  # its series keys are the dict behind its series_get
    assert 0 < len(formatter.__globals__["series_get"].__self__) <= 4


def test_a_shape_with_many_variants_stays_correct(monkeypatch: pytest.MonkeyPatch) -> None:
    values = [1.5, 2, "s", True, None, Decimal("2"), Unsigned(3), {"integer": 4}]
    records = [{"measurement": "m", "fields": {"a": values[i % 8], "b": values[(i // 8) % 8], "c": 1}} for i in range(200)]
    assert_same(records)


def test_errors_name_the_record_after_fast_ones() -> None:
    records = [rec(fields={"v": float(i)}) for i in range(6)] + [rec(fields={"v": float("nan")})]
    with pytest.raises(ValidationError) as info:
        list(encode_records(records, field="points"))
    assert info.value.by_field() == {"points[6].fields.v": ["NaN cannot be written in line protocol"]}


def test_lone_surrogates_are_still_found() -> None:
    records = [rec(fields={"s": "ok"}), rec(fields={"s": "bad \ud800"})]
    assert assert_same(records) == [("data[1]", "contains a lone surrogate, which is not valid Unicode text")]


def test_the_fast_path_reads_back_as_written() -> None:
    records = [
        {"measurement": "my table", "tags": {"tag,1": "a=b", "z": "\\\\srv"}, "fields": {"f": 'x "y"\n', "n": 2, "b": False,
         "u": Unsigned(7), "x": 0.25}, "time": 99},
    ] * 3
    for text in encode_records(records):
        assert parse_line(text) == records[0]


# --- generated records ----------------------------------------------------------------------

PIECES = ["a", "b", "host", " ", ",", "=", '"', "'", "\\", "\\\\", "\t", "\x00", "#", "_", "\u00e9", "\U0001f680",
          "time", "x y"]
BAD_PIECES = PIECES + ["\n", "\r"]
plain_piece = st.sampled_from(PIECES)


def name_strategy(pieces: list[str]) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(pieces), min_size=1, max_size=4).map("".join)


def writable(name: str) -> bool:
    """Leaves out the backslashes no part can carry (the reference's rules are tested in
    test_line_protocol.py; here they only keep most generated batches writable)."""
    return not name.endswith("\\") and not any("\\" + c in name for c in ' ,="')


NAMES = name_strategy(PIECES).filter(writable)
ANY_NAMES = name_strategy(BAD_PIECES) | st.just("")

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
GOOD_VALUES = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False), INT64, st.sampled_from([2**63 - 1, -(2**63), 0, -1]),
    st.booleans(), st.text(st.sampled_from(['"', "\\", "\n", "\r", " ", ",", "=", "a", "\u00e9"]), max_size=10),
    st.text(max_size=10).filter(lambda s: not any("\ud800" <= c <= "\udfff" for c in s)),
    st.none(), st.integers(0, 2**64 - 1).map(Unsigned),
)
ANY_VALUES = st.one_of(
    GOOD_VALUES, st.floats(), st.integers(min_value=-(2**65), max_value=2**65),
    st.decimals(allow_nan=True), st.builds(lambda n: {"unsigned": n}, st.integers(-2, 2**64 + 2)),
    st.builds(lambda n: {"integer": n}, st.integers(-(2**63) - 2, 2**63 + 2) | st.text(max_size=3)),
    st.builds(lambda x: {"float": x}, st.floats() | st.integers() | st.text(max_size=2)),
    st.sampled_from([[1], b"b", object(), {"signed": 1}, Text("sub")]),
)
GOOD_TAG_VALUES = NAMES | st.sampled_from(["", None])
ANY_TAG_VALUES = st.one_of(ANY_NAMES, st.none(), st.integers(), st.floats(), st.booleans(), st.decimals(),
                           st.just(["a"]), st.just(Text("t")))
GOOD_TIMES = st.one_of(st.none(), st.integers(-TIME_MAX_NS // 10**9, TIME_MAX_NS // 10**9))
ANY_TIMES = st.one_of(
    GOOD_TIMES, st.integers(), st.booleans(), st.floats(),
    st.datetimes(min_value=datetime(1678, 1, 1), max_value=datetime(2261, 1, 1)),
    st.datetimes(timezones=st.just(UTC)),
    st.sampled_from(["2023-01-31T05:41:24.123456789Z", "1969-12-31T23:59:59.5Z", "2023-01-31", "noon",
                     "1600-01-01T00:00:00Z", "2023-01-31T07:41:24+02:00"]),
)


@st.composite
def batches(draw: st.DrawFn, valid: bool) -> list[Any]:
    """A few shapes, and records drawn from them: names repeat, values vary."""
    def mostly(good: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return good if valid else st.one_of(good, good, good, other)  # three parts in four good

    tag_values = mostly(GOOD_TAG_VALUES, ANY_TAG_VALUES)
    values = mostly(GOOD_VALUES, ANY_VALUES)
    times = mostly(GOOD_TIMES, ANY_TIMES)
    keys = NAMES.filter(lambda n: not n.startswith("_"))
    measurement = mostly(keys.filter(lambda n: n[0] not in "#\t\x00"), ANY_NAMES | st.sampled_from([5, None]))
    shapes = draw(st.lists(st.tuples(
        measurement, st.lists(mostly(keys, ANY_NAMES), max_size=3, unique=True),
        st.lists(mostly(keys, ANY_NAMES), min_size=1, max_size=4, unique=True),
    ), min_size=1, max_size=3))
    records: list[Any] = []
    for _ in range(draw(st.integers(1, 10))):
        name, tag_keys, field_keys = draw(st.sampled_from(shapes))
        record: dict[str, Any] = {"measurement": name}
        if tag_keys or draw(st.booleans()):
            record["tags"] = {key: draw(tag_values) for key in tag_keys}
        record["fields"] = {key: draw(values) for key in field_keys}
        if draw(st.booleans()):
            record["time"] = draw(times)
        if not valid and draw(st.integers(0, 9)) == 0:
            record[draw(st.sampled_from(["tgas", "tags", "fields", "time"]))] = draw(st.sampled_from([None, 1, "x", {}]))
        records.append(record)
    return records


@settings(max_examples=400, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(batch=batches(valid=True), precision=st.sampled_from(PRECISIONS))
@pytest.mark.slow
def test_generated_writable_records(batch: list[Any], precision: str) -> None:
    result = assert_same(batch * 2, precision)
    if not isinstance(result, list):  # written: each line reads back as its record
        for record, text in zip(batch, encode_records(batch, precision=precision)):
            expected = {
                "measurement": record["measurement"],
                "tags": {k: v for k, v in (record.get("tags") or {}).items() if v not in (None, "")},
                "fields": {k: v for k, v in record["fields"].items() if v is not None},
            }
            if record.get("time") is not None:
                expected["time"] = record["time"]
            parsed = parse_line(text)
            assert parsed == expected, (record, text)


@settings(max_examples=600, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(batch=batches(valid=False), precision=st.sampled_from(PRECISIONS), compile_after=st.sampled_from([1, 2, 4]))
@pytest.mark.slow
def test_generated_records_of_any_kind(batch: list[Any], precision: str, compile_after: int) -> None:
    lp._COMPILE_AFTER = compile_after  # the fixture puts it back
    assert_same(batch * 2, precision)
    for record in batch:  # the batch stops at its first bad record: each is also tried alone
        assert_same([record] * 3, precision)


def test_encode_points_marks_where_each_point_ends() -> None:
    records = [rec(fields={"s": 'two\nlines "q"'}), rec("\u00e9\U0001f680", fields={"s": "\u65e5\n"}), rec()]
    body, count = encode_points(records)
    # UTF-8 bytes: the second line is 2 + 4 + 4 + 3 + 2 bytes long.
    assert count == 3 and body.ends == [len(b'm s="two\nlines \\"q\\""'), 37, 45]
    assert bytes(body)[37:38] == b"\n" and bytes(body)[body.ends[-1] - 7:] == b"m v=1.5"
    text, count = encode_points("m v=1\n\n# note\nm s=\"a\nb\" 5\n")
    # Points only: the comment line goes with the point after it.
    assert text.ends == [5, 25] and point_ends(bytes(text)) == [5, 13, 25]
    assert bytes(text) == encode_data("m v=1\n\n# note\nm s=\"a\nb\" 5\n")[0]
    with pytest.raises(ValidationError, match="must be line protocol text or a list of records"):
        encode_points(5)  # type: ignore[arg-type]


# --- through a real InfluxDB ----------------------------------------------------------------
# test_roundtrip.py's records mostly take the reference path there (a shape is compiled at its
# fourth record); here every one goes through a compiled formatter, and reads back equal.


@pytest.mark.parametrize("batch", EDGES)
def test_formatters_round_trip_the_edge_examples(influxd: InfluxD, v1_conn: Any, reference_calls: Counting,
                                                  batch: list[dict[str, Any]]) -> None:
    round_trip(influxd, v1_conn, batch)
    assert reference_calls.calls == 0


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(batch=storable_batches)
@pytest.mark.slow
def test_formatters_round_trip_through_influxdb(influxd: InfluxD, v1_conn: Any, reference_calls: Counting,
                                                batch: list[dict[str, Any]]) -> None:
    round_trip(influxd, v1_conn, batch)
    assert reference_calls.calls == 0
