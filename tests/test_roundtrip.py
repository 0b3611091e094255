"""Round trips through a real InfluxDB 1.6 (tests/influxd.py), property-based with hypothesis.

Records written with ``write_data_v1`` and read back with ``query_influxql`` (epoch=ns, JSON)
come back equal: measurement, tag keys and values, field keys, field values and their types,
and times. Names are drawn from text heavy in the characters line protocol and InfluxQL treat
specially; values cover the int64 limits, extreme floats, booleans and any text.

The generators leave out only what InfluxDB itself cannot store and read back, each case with
the reason in the notes below; ``test_the_encoder_refuses_exactly_what_is_left_out`` holds the
encoder to exactly those rules, and ``test_the_server_misreads_what_is_left_out`` shows on the
server why they exist.
Runs are repeatable (``derandomize=True``, no example database) and bounded in size.
"""
from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from influx_connector.connection import Connection
from influx_connector.errors import ValidationError
from influx_connector.influxdb.line_protocol_encoder import encode_records
from influx_connector.sandbox import Sandbox

from .influxd import InfluxD, influxd, quote_ident  # noqa: F401

TIME_MIN_NS = -9_223_372_036_854_775_806  # the server's time range ("time outside range ...")
TIME_MAX_NS = 9_223_372_036_854_775_806
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# --- what InfluxDB cannot store, and why -------------------------------------------------------
#
# * LF in any name: it ends the line, and line protocol has no escape for it (a backslash before
#   LF is kept as part of the name); the encoder refuses it. CR and TAB are ordinary characters
#   to the server's parser and go as they are (InfluxQL cannot quote a measurement holding a CR,
#   its reader turns CR into LF, so each is read back through a regex that spells it in escapes).
#   NUL in a measurement: the server stores it, but InfluxQL's scanner takes NUL for the end of
#   the query, so no statement can read it back. (CR, LF, CRLF, TAB and NUL are all fine inside
#   string field values, which are generated with them.)
# * A name that ends with a backslash: the server's key scanner takes any delimiter directly
#   after a backslash as escaped (backslashes do not pair up there), so the name runs on.
# * A backslash right before a space in the measurement or a tag: the line splitter pairs
#   backslashes and sees the field set start there; a later '"' can then merge two lines.
# * In a measurement, a backslash right before ',', '=' or '"': 1.6.7 stores such points under
#   a name that SHOW MEASUREMENTS and SELECT disagree on, so they cannot be read back.
# * In a field key, a backslash right before ',', ' ' or '=': the field-set scanner pairs
#   backslashes and the key scanner does not, so the two split the field differently.
# * A measurement starting with '#' is a comment line; one starting with a tab or NUL loses it
#   (the server skips leading whitespace). A record whose every field key starts with a tab or
#   NUL would lose it too (the server skips them before the field set; the encoder puts a field
#   without one first when there is one, and refuses the record otherwise).
# * Tag keys and field keys named "time": the server refuses the point ("invalid field name",
#   "invalid tag key").
# * Names starting with '_': InfluxDB 2.x reserves them; the encoder refuses them for every
#   server (1.6.7 itself would accept them).
# * Empty tag values: line protocol has none; the encoder leaves such tags out, so they are
#   generated and expected to be absent when read back.
# * Unsigned integers: 1.6.7 answers "invalid number" to 'u' values (tests/test_real_influxdb.py);
#   floats NaN and ±inf: line protocol cannot write them.
#
# A tag key equal to a field key is kept: SELECT * would rename the tag column ("k_1"), so the
# read-back uses GROUP BY *, which returns tags apart from the field columns.

NOT_AFTER_BACKSLASH = {"measurement": ' ,="', "tag": " ", "field": " ,="}


def encodable(name: str, part: str) -> bool:
    """Whether the encoder writes ``name`` as a ``part`` (its rules follow the notes above)."""
    if name == "":
        return part == "tag_value"
    if "\n" in name or name.endswith("\\"):
        return False
    kind = "tag" if part.startswith("tag") else part
    if any("\\" + c in name for c in NOT_AFTER_BACKSLASH[kind]):
        return False
    if part == "tag_value":
        return True
    if name.startswith("_"):
        return False
    return not (part == "measurement" and name[0] in "#\t\x00")


def storable(name: str, part: str) -> bool:
    """Whether InfluxDB stores ``name`` as a ``part`` and InfluxQL gives it back."""
    if not encodable(name, part):
        return False
    if part in ("tag_key", "field") and name == "time":
        return False  # the server refuses the point
    return not (part == "measurement" and "\x00" in name)  # no InfluxQL statement can name it


# Characters every escaping rule cares about, plus some that need none, mixed with any text.
SPECIAL = [" ", ",", "=", '"', "'", "\\", "\\\\", "\t", "\r", "#", "_", "é", "日本", "🚀", "\u2028", "\x7f", "time"]
any_char = st.characters(exclude_categories=["Cs"])  # lone surrogates are not text UTF-8 can carry
raw_name = st.lists(st.one_of(st.sampled_from(SPECIAL), any_char), min_size=1, max_size=8).map("".join)


def names(part: str) -> st.SearchStrategy[str]:
    return raw_name.filter(lambda n: storable(n, part))


field_values = st.one_of(
    st.integers(min_value=INT64_MIN, max_value=INT64_MAX),
    st.sampled_from([INT64_MIN, INT64_MAX, INT64_MIN + 1, INT64_MAX - 1, 0, -1]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, -1.7976931348623157e308,
                     0.1, 1e21, 2.0**53 + 2, -0.0]),
    st.booleans(),
    st.text(any_char, max_size=30),
    st.lists(st.sampled_from(['"', "\\", "\n", "\r", "\r\n", "\t", "'", " ", ",", "=", "a"]), max_size=12).map("".join),
)


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    fields = draw(st.dictionaries(names("field"), field_values, min_size=1, max_size=4))
    # Every field key starting with a tab or NUL: see the notes above.
    if all(k[0] in "\t\x00" for k in fields):
        fields["plain"] = draw(field_values)
    return {
        "measurement": draw(names("measurement")),
        "tags": draw(st.dictionaries(names("tag_key"), names("tag_value") | st.just(""), max_size=3)),
        "fields": fields,
        "time": draw(st.integers(min_value=TIME_MIN_NS, max_value=TIME_MAX_NS)),
    }


batches = st.lists(records(), min_size=1, max_size=3, unique_by=lambda r: r["measurement"])


def rec(measurement: str, tags: dict[str, str], fields: dict[str, Any], time: int = 1_700_000_000_000_000_000) -> dict:
    return {"measurement": measurement, "tags": tags, "fields": fields, "time": time}


# Edge cases that always run, before the generated examples.
EDGES = [
    [rec("with space, comma=equals", {"tag key, =": "tag value, =", "k": "a=b,c d"},
         {"field key, =": 1.5, "s": "a b,c=d"})],
    [rec('double "quotes"', {'q"k': '"v"', "sq'k": "it's"}, {'f"k': 'say "hi"', "f'k": "it's"})],
    [rec("back\\slash C:\\dir", {"unc": "\\\\srv\\share", "k\\\\x": "\\\\v\\w", "\\lead": "mid\\\\run"},
         {"path": "C:\\dir\\", "b\\\\k": "trailing\\\\", "\\\"k": "\\", "q\\\"k": 'quote \\" bs'})],
    [rec("日本語 🚀 ünïcödé", {"emoji 🚀": "😀 ✓", "é": "日本"}, {"ключ": "значение 🚀", "n": 1})],
    [rec("ints", {}, {"max": INT64_MAX, "min": INT64_MIN, "zero": 0, "minus_one": -1}, time=TIME_MAX_NS)],
    [rec("floats", {}, {"tiny": 5e-324, "small": 2.2250738585072014e-308, "huge": 1.7976931348623157e308,
                        "neg": -1.7976931348623157e308, "tenth": 0.1, "whole": 2.0, "nzero": -0.0},
         time=TIME_MIN_NS)],
    [rec("bools and text", {"k": "v", "empty": ""},
         {"yes": True, "no": False, "text": 'quote " bs \\ nl \n cr \r crlf \r\n nul \x00 end \\',
          "empty": "", "only_bs": "\\\\"})],
    [rec("same key", {"k": "tag"}, {"k": "field", "time_": 1}),
     rec("tab\tinside", {"\tt": "\tv"}, {"\tfirst": 1.0, "second": 2.0}),
     rec("time", {"k": "v"}, {"f": 1})],
    [rec("cr\rin\rnames\r", {"\rk\r": "\rv\r", "t\tk": "v\t"}, {"f\rk\r": 1.0, "\rlead": True, "tab\t": 2}),
     rec("line breaks", {}, {"lf": "a\nb\n", "crlf": "a\r\nb\r\n", "cr": "\ra\rb\r", "tab": "\ta\tb\t",
                             "mixed": "\r\n\n\r\r\n\t"})],
    # The same field keys typed differently in two measurements (whitespace-only names too).
    [rec(",", {}, {" ": 0, "       ": 0}, time=1), rec(" ", {}, {" ": 0, "       ": False}, time=2)],
]


# --- the round trip ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def v1_conn(influxd: InfluxD) -> Iterator[Connection]:
    with influxd.connect() as connection:  # every exchange is checked against the contract
        yield connection


def expected_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    return {int: "integer", float: "float", str: "string"}[type(value)]


def same_value(got: Any, want: Any) -> bool:
    if isinstance(want, (bool, str)):
        return type(got) is type(want) and got == want
    if isinstance(want, int):
        return type(got) is int and got == want
    # JSON carries a float without a fraction as an integer ("2", "100000000000000000000");
    # the value is exact either way. Negative zero comes back as "-0", which Python's json reads
    # as the integer 0: its sign is checked in test_negative_zero_keeps_its_sign.
    return isinstance(got, (int, float)) and not isinstance(got, bool) and float(got) == want


def exact_regex(name: str) -> str:
    """An InfluxQL regex matching ``name`` alone, every character but letters and digits as
    ``\\x{..}``: InfluxQL cannot quote a name holding a CR, and its regex literal passes the
    escape through to the regex engine untouched."""
    return "/^" + "".join(c if c.isascii() and c.isalnum() else f"\\x{{{ord(c):X}}}" for c in name) + "$/"


def round_trip(server: InfluxD, conn: Connection, batch: list[dict[str, Any]]) -> None:
    db = "rt_" + uuid.uuid4().hex[:12]
    server.create_database(db)
    try:
        written = conn.run("write_data_v1", {"db": db, "data": batch, "precision": "ns"})
        assert written.status == 204 and written.data["points"] == len(batch)
        # One measurement at a time: a SELECT over several gives a field key one type for all of
        # them and drops the values of the others (test_one_select_keeps_one_type_per_field_key).
        for record in batch:
            exactly = exact_regex(record["measurement"])
            series = conn.run("query_influxql", {"db": db, "epoch": "ns", "shape": "series",
                                                 "q": f"SELECT * FROM {exactly} GROUP BY *; "
                                                      f"SHOW FIELD KEYS FROM {exactly}"}).data
            check_record(record, [one for one in series if one["statement_id"] == 0],
                         [one for one in series if one["statement_id"] == 1])
    finally:
        server.drop_database(db)


def check_record(record: dict[str, Any], selected: list[dict[str, Any]], field_keys: list[dict[str, Any]]) -> None:
    assert len(selected) == 1, f"{record!r} came back as {selected!r}"
    (one,) = selected
    assert one["name"] == record["measurement"]
    # A tag the record left empty comes back as "" (GROUP BY * names every tag key of the
    # measurement), and a field column may be null in no row but this one's.
    assert {k: v for k, v in one["tags"].items() if v != ""} == {k: v for k, v in record["tags"].items() if v != ""}
    assert len(one["values"]) == 1, one
    row = {k: v for k, v in zip(one["columns"], one["values"][0]) if v is not None}
    assert row.pop("time") == record["time"]
    assert set(row) == set(record["fields"]), (row, record)
    for key, want in record["fields"].items():
        assert same_value(row[key], want), f"field {key!r}: wrote {want!r}, read {row[key]!r}"
    (types,) = field_keys
    assert dict(types["values"]) == {k: expected_type(v) for k, v in record["fields"].items()}


def _with_examples(test: Any) -> Any:
    for batch in reversed(EDGES):
        test = example(batch=batch)(test)
    return test


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
@given(batch=batches)
@_with_examples
@pytest.mark.slow
def test_records_round_trip(influxd: InfluxD, v1_conn: Connection, batch: list[dict[str, Any]]) -> None:
    round_trip(influxd, v1_conn, batch)


def test_the_edge_examples_are_storable() -> None:
    """The explicit examples must not stray into what the notes above leave out."""
    for batch in EDGES:
        for record in batch:
            assert storable(record["measurement"], "measurement"), record["measurement"]
            assert all(storable(k, "tag_key") and storable(v, "tag_value") for k, v in record["tags"].items())
            assert all(storable(k, "field") for k in record["fields"])


def test_one_select_keeps_one_type_per_field_key(influxd: InfluxD) -> None:
    """Why the round trip reads one measurement at a time: 1.6.7 gives a field key one type across
    every measurement a SELECT names, and a measurement whose values are of another type is left
    out of the answer, though it is stored (SHOW FIELD KEYS and a SELECT of it alone find it)."""
    db = influxd.create_database("rt_" + uuid.uuid4().hex[:12])
    try:
        assert influxd.write_raw(db, "a f=0i 1\nb f=false 2", precision="ns").status_code == 204
        (both,) = influxd.influxql("SELECT * FROM /^[ab]$/ GROUP BY *", db)
        assert [one["name"] for one in both["series"]] == ["a"]
        (alone,) = influxd.influxql(f"SELECT * FROM {exact_regex('b')} GROUP BY *", db)
        assert alone["series"][0]["values"] == [["1970-01-01T00:00:00.000000002Z", False]]
    finally:
        influxd.drop_database(db)


def test_negative_zero_keeps_its_sign(influxd: InfluxD, v1_conn: Connection) -> None:
    db = influxd.create_database("rt_" + uuid.uuid4().hex[:12])
    try:
        v1_conn.run("write_data_v1", {"db": db, "data": [rec("z", {}, {"v": -0.0, "p": 0.0}, time=1)]})
        text = v1_conn.run("query_influxql", {"db": db, "q": 'SELECT "v", "p" FROM "z"', "epoch": "ns",
                                           "format": "application/csv", "shape": "raw"}).data
        assert text == "name,tags,time,v,p\nz,,1,-0,0\n"
        raw = v1_conn.run("query_influxql", {"db": db, "q": 'SELECT "v" FROM "z"', "epoch": "ns", "shape": "raw"}).data
        assert '"values":[[1,-0]]' in raw
        assert influxd.rows('SHOW FIELD KEYS FROM "z"', db) == [
            {"fieldKey": "p", "fieldType": "float"}, {"fieldKey": "v", "fieldType": "float"}]
    finally:
        influxd.drop_database(db)


# --- what is left out ------------------------------------------------------------------------

UNSTORABLE = [
    ("measurement", "ends\\"), ("measurement", "bs\\ space"), ("measurement", "bs\\,comma"),
    ("measurement", "bs\\=eq"), ("measurement", 'bs\\"quote'), ("measurement", "#comment"),
    ("measurement", "\ttab"), ("tag_key", "ends\\"), ("tag_key", "bs\\ space"), ("tag_value", "ends\\"),
    ("tag_value", "bs\\ space"), ("field", "ends\\"), ("field", "bs\\ space"), ("field", "bs\\,comma"),
    ("field", "bs\\=eq"), ("measurement", "line\nbreak"), ("tag_value", "crlf\r\nhere"), ("field", "lf\n"),
    ("measurement", "_reserved"), ("field", "_reserved"),
]


def as_record(part: str, name: str) -> dict[str, Any]:
    if part == "measurement":
        return rec(name, {}, {"v": 1.0})
    if part == "field":
        return rec("m", {}, {name: 1.0})
    return rec("m", {name: "v"} if part == "tag_key" else {"k": name}, {"v": 1.0})


@pytest.mark.parametrize("part, name", UNSTORABLE)
def test_what_is_left_out_is_refused(part: str, name: str) -> None:
    assert not encodable(name, part)
    with pytest.raises(ValidationError) as caught:
        list(encode_records([as_record(part, name)]))
    path = {"measurement": "data[0].measurement", "field": f"data[0].fields.{name}"}.get(part)
    assert list(caught.value.by_field()) == [path or (f"data[0].tags.{name}" if part == "tag_key" else "data[0].tags.k")]


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(part=st.sampled_from(["measurement", "tag_key", "tag_value", "field"]), name=raw_name)
def test_the_encoder_refuses_exactly_what_is_left_out(part: str, name: str) -> None:
    record = as_record(part, name)
    try:
        list(encode_records([record]))
        refused = False
    except ValidationError:
        refused = True
    assert refused == (not encodable(name, part)), (part, name)


# Each escaping the encoder could have chosen for a left-out name, written raw to the server:
# none comes back as the name. (The key scanner does not pair backslashes; doubling does not help.)
MISREAD = [
    ("measurement", "ends\\", ["ends\\ v=1 1", "ends\\\\ v=1 1"]),
    ("tag_value", "ends\\", ["m,k=ends\\ v=1 1", "m,k=ends\\\\ v=1 1"]),
    ("tag_key", "ends\\", ["m,ends\\=v v=1 1", "m,ends\\\\=v v=1 1"]),
    ("field", "ends\\", ["m ends\\=1 1", "m ends\\\\=1 1"]),
    ("measurement", "a\\,b", ["a\\\\,b v=1 1", "a\\,b v=1 1", "a\\\\\\,b v=1 1"]),
    ("measurement", 'a\\"b', ['a\\"b v=1 1', 'a\\\\"b v=1 1', 'a\\\\\\"b v=1 1']),
    ("measurement", "a\\=b", ["a\\=b v=1 1", "a\\\\=b v=1 1"]),
    ("field", "a\\=b", ["m a\\\\=b=1 1", "m a\\\\\\=b=1 1"]),
    ("field", "a\\ b", ["m a\\\\ b=1 1", "m a\\\\\\ b=1 1"]),
    ("field", "a\\,b", ["m a\\\\,b=1 1", "m a\\\\\\,b=1 1"]),
]


@pytest.mark.parametrize("part, name, lines", MISREAD)
def test_the_server_misreads_what_is_left_out(influxd: InfluxD, part: str, name: str, lines: list[str]) -> None:
    for line in lines:
        db = influxd.create_database("rt_" + uuid.uuid4().hex[:12])
        try:
            answer = influxd.write_raw(db, line)
            if answer.status_code == 204:
                assert name not in stored_names(influxd, db, part), f"{line!r} stored {name!r} after all"
            else:
                assert answer.status_code == 400, answer.text
        finally:
            influxd.drop_database(db)


def stored_names(server: InfluxD, db: str, part: str) -> set[str]:
    """Every name of ``part`` the server can give back, read through measurements that SELECT finds."""
    found: set[str] = set()
    for row in server.rows("SHOW MEASUREMENTS", db):
        try:
            (result,) = server.influxql(f"SELECT * FROM {quote_ident(row['name'])} GROUP BY *", db)
        except ValueError:
            continue
        for series in result.get("series") or []:
            if part == "measurement":
                found.add(series["name"])
            elif part == "field":
                found.update(series["columns"][1:])
            else:
                tags = series.get("tags") or {}
                found.update(tags if part == "tag_key" else tags.values())
    return found


def test_a_nul_in_a_measurement_is_stored_but_cannot_be_named(influxd: InfluxD, v1_conn: Connection) -> None:
    db = influxd.create_database("rt_" + uuid.uuid4().hex[:12])
    try:
        v1_conn.run("write_data_v1", {"db": db, "data": [rec("a\x00b", {}, {"v": 1.0})]})
        assert [r["name"] for r in influxd.rows("SHOW MEASUREMENTS", db)] == ["a\x00b"]
        answer = influxd.session.post(influxd.url + "/query", data={"db": db, "q": 'SELECT * FROM "a\x00b"'})
        assert answer.status_code == 400 and "error parsing query" in answer.text
    finally:
        influxd.drop_database(db)


def test_a_backslash_before_a_space_in_a_tag_can_merge_two_lines(influxd: InfluxD) -> None:
    """Why a tag with a backslash right before a space is left out although alone it works."""
    db = influxd.create_database("rt_" + uuid.uuid4().hex[:12])
    try:
        assert influxd.write_raw(db, 'm,a\\\\ b=v"x f=1 1').status_code == 204
        answer = influxd.write_raw(db, 'm,a\\\\ b=v"x f=1 1\nm f=2 2')
        assert answer.status_code == 400 and "point is invalid" in answer.text
        assert "\\nm f=2 2" in answer.text  # the two lines were read as one
    finally:
        influxd.drop_database(db)


def test_float_text_is_exact() -> None:
    """The encoder writes floats so that the server's parser gets the same double back."""
    for value in (5e-324, 1.7976931348623157e308, 0.1, 1 / 3, -2.0**-1074, 2.0**53 + 2):
        (line,) = encode_records([rec("m", {}, {"v": value})])
        assert float(line.split("=", 1)[1].split(" ")[0]) == value and math.isfinite(value)


# --- the same records through the sandbox: written exactly, read back through Flux's CSV ---------------
#
# The sandbox stores what it parsed, so its store shows the write path exactly: names with CR and
# TAB, strings with LF, CRLF, CR and TAB, all as written. Read back with query_data, the answer is
# annotated CSV as InfluxDB writes it (Go's encoding/csv with CRLF line ends): inside a quoted
# cell every LF becomes CRLF and every CR is dropped. The decoder turns CRLF back into LF, so what
# comes back is what was written less its carriage returns, which no client of a real InfluxDB 2.x
# can get through Flux (read them with InfluxQL, as above, where they are kept).

SANDBOX_T0 = 1_700_000_000_000_000_000
FLUX_COLUMNS = {"result", "table", "_start", "_stop", "_time", "_value", "_field", "_measurement"}


def without_cr(value: Any) -> Any:
    return value.replace("\r", "") if isinstance(value, str) else value


def as_flux_reads(value: Any) -> Any:
    """A field value as it comes back through annotated CSV: no CRs, and an empty string is an
    empty cell, which the format reads as null."""
    value = without_cr(value)
    return None if value == "" else value


def flux_readable(batch: list[dict[str, Any]]) -> bool:
    """Names that stay distinct and non-empty once their CRs are dropped, and tag keys that are
    not CSV columns (an empty cell is null, and the server's CSV would repeat a column)."""
    measurements = [without_cr(r["measurement"]) for r in batch]
    if len(set(measurements)) != len(measurements):
        return False
    for record in batch:
        names = [record["measurement"], *record["fields"], *(k for k, v in record["tags"].items() if v != ""),
                 *(v for v in record["tags"].values() if v != "")]
        if not all(without_cr(name) for name in names):
            return False
        tags = [without_cr(k) for k, v in record["tags"].items() if v != ""]
        if len(set(tags)) != len(tags) or FLUX_COLUMNS & set(tags):
            return False
        if len({without_cr(k) for k in record["fields"]}) != len(record["fields"]):
            return False
    return True


@pytest.fixture(scope="module")
def flux_box() -> Iterator[tuple[Sandbox, Connection]]:
    from influx_connector import api

    with Sandbox(token="rt-token", org="rt-org", bucket="rt") as sandbox:
        with api.connect(sandbox.connection_settings) as connection:
            yield sandbox, connection


def sandbox_round_trip(sandbox: Sandbox, conn: Connection, batch: list[dict[str, Any]], as_text: bool) -> None:
    assert sandbox.bucket is not None
    sandbox.bucket.series.clear()
    records = [{**r, "time": SANDBOX_T0 + i} for i, r in enumerate(batch)]
    data: Any = "\n".join(encode_records(records)) if as_text else records
    assert conn.run("write_data", {"data": data}).data["points"] == len(records)
    # What the server holds: exactly what was written.
    held = {(p.measurement, p.tags, p.field, p.value, p.time) for p in sandbox.bucket.points()}
    expected = {(r["measurement"], tuple(sorted((k, v) for k, v in r["tags"].items() if v != "")), k, v, r["time"])
                for r in records for k, v in r["fields"].items()}
    assert {(m, t, f, same_key(v), time) for m, t, f, v, time in held} == \
        {(m, t, f, same_key(v), time) for m, t, f, v, time in expected}
    # What Flux gives back: the same, less the CRs the server's CSV writer drops.
    rows = conn.run("query_data", {"query": 'from(bucket: "rt") |> range(start: 2023-01-01T00:00:00Z)'}).data
    got = {(row["_measurement"], tuple(sorted((k, v) for k, v in row.items() if k not in FLUX_COLUMNS)),
            row["_field"], same_key(row["_value"])) for row in rows}
    assert got == {(without_cr(m), tuple(sorted((without_cr(k), without_cr(v)) for k, v in t)), without_cr(f),
                    same_key(as_flux_reads(v))) for m, t, f, v, _ in expected}


def same_key(value: Any) -> Any:
    """A value with its type, comparable across int/float/bool (True == 1 otherwise); -0.0 keeps its sign."""
    if isinstance(value, float):
        return ("float", math.copysign(1.0, value), abs(value))
    return (type(value).__name__, value)


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
@given(batch=batches.filter(flux_readable), as_text=st.booleans())
@example(batch=EDGES[-1], as_text=False)
@example(batch=EDGES[-1], as_text=True)
def test_records_round_trip_through_the_sandbox(flux_box: tuple[Sandbox, Connection], batch: list[dict[str, Any]],
                                                as_text: bool) -> None:
    sandbox_round_trip(*flux_box, batch, as_text)


# The bytes InfluxDB 2.x answers for one string column holding LF, CRLF, CR and TAB: its Flux CSV
# encoder writes with Go's encoding/csv and UseCRLF (flux csv/result.go), whose writer quotes a
# cell holding a CR, LF, quote or comma or starting with a space or tab, writes each LF inside
# quotes as CRLF and drops each CR (encoding/csv writer.go).
GO_WRITTEN = (
    b"#datatype,string,long,string\r\n#group,false,false,false\r\n#default,_result,,\r\n,result,table,s\r\n"
    b',,0,"a\r\nb"\r\n'       # "a\nb"
    b',,0,"a\r\nb"\r\n'       # "a\r\nb": the CR is dropped, the LF written as CRLF
    b',,0,"ab"\r\n'           # "a\rb": the CR is dropped
    b',,0,"\tlead"\r\n'       # "\tlead": quoted for its leading tab, which stays
    b",,0,mid\ttab\r\n"       # "mid\ttab"
    b',,0,"\r\n\r\n"\r\n'     # "\n\n"
    b"\r\n"
)


def test_the_decoder_reads_what_influxdbs_csv_writer_made_of_line_breaks() -> None:
    from influx_connector.influxdb.annotated_csv import decode, lines_from_chunks

    wanted = ["a\nb", "a\nb", "ab", "\tlead", "mid\ttab", "\n\n"]
    for size in (1, 5, 64, 4096):  # as the answer arrives, in chunks of any size (fast path)...
        chunks = [GO_WRITTEN[i:i + size] for i in range(0, len(GO_WRITTEN), size)]
        assert [row["s"] for row in decode(lines_from_chunks(chunks))] == wanted
    lines = GO_WRITTEN.decode().splitlines(keepends=True)  # ...and line by line (reference path)
    assert [row["s"] for row in decode(iter(lines))] == wanted


def test_the_sandbox_writes_line_breaks_as_influxdb_does(flux_box: tuple[Sandbox, Connection]) -> None:
    sandbox, conn = flux_box
    assert sandbox.bucket is not None
    sandbox.bucket.series.clear()
    values = ["a\nb", "a\r\nb", "a\rb", "\tlead", "mid\ttab", "\n\n"]
    conn.run("write_data", {"data": [{"measurement": "m", "tags": {"i": str(i)}, "fields": {"s": v},
                                      "time": SANDBOX_T0} for i, v in enumerate(values)]})
    query = 'from(bucket: "rt") |> range(start: 2023-01-01T00:00:00Z) |> group() |> keep(columns: ["_value"])'
    answer = conn.run("query_data", {"query": query, "shape": "csv"}).data.encode("utf-8")
    # The data rows, byte for byte as InfluxDB's writer makes them.
    assert answer[answer.index(b",,0,"):] == GO_WRITTEN[GO_WRITTEN.index(b",,0,"):]
    assert [row["_value"] for row in conn.run("query_data", {"query": query}).data] == \
        ["a\nb", "a\nb", "ab", "\tlead", "mid\ttab", "\n\n"]
