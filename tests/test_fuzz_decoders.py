"""Every decoder of answers, fed garbage and mangled answers: only ``DecodeError`` or ``APIError``
may come out (the documented errors, CLI exit status 4), never ``UnicodeDecodeError``,
``KeyError``, ``TypeError`` or any other crash.

Two kinds of input: arbitrary bytes, and *structure-aware* mutations of valid answers (lines
deleted, doubled or swapped, cells replaced by awkward values, quotes, line breaks, invalid
UTF-8 spliced in; JSON documents with parts replaced by values of other types). The decoders
are called directly, on a real ``requests.Response`` holding the bytes; a smaller run goes
over loopback through the transport, with gzip, deflate and every HTTP framing, so the bounded
body reader is fuzzed too. Examples are bounded and derandomized, so a run is repeatable.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from influx_connector import api
from influx_connector.builtin import decode_empty, decode_json, decode_text
from influx_connector.errors import APIError, DecodeError
from influx_connector.influxdb import (
    decode_annotated_csv,
    decode_influxql,
    decode_query3,
    resolve_org_id,
    stream_annotated_csv,
    stream_query3,
)
from influx_connector.links import same_origin_url
from influx_connector.secrets import Redactor
from influx_connector.transport import api_error

from .helpers import canned_response
from .hostile import HostileServer, reply

FUZZ = settings(max_examples=300, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
DOCUMENTED = (DecodeError, APIError)

# --- valid answers to start from ------------------------------------------------------------------------

FLUX = (
    "#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339Nano,double,long,unsignedLong,"
    "boolean,string,duration,base64Binary,string\r\n"
    "#group,false,false,true,true,false,false,false,false,false,false,false,false,true\r\n"
    "#default,_result,,,,,,,,,,,,\r\n"
    ",result,table,_start,_stop,_time,_value,n,u,ok,s,d,b,host\r\n"
    ",,0,2023-01-01T00:00:00Z,2023-01-02T00:00:00Z,2023-01-01T01:00:00.5Z,1.5,-3,7,true,\"a,b\"\"c\",1h30m,aGk=,h1\r\n"
    ",,0,2023-01-01T00:00:00Z,2023-01-02T00:00:00Z,2023-01-01T02:00:00+02:00,NaN,4,0,false,,5s,,h1\r\n"
    ",,1,2023-01-01T00:00:00Z,2023-01-02T00:00:00Z,2023-01-01T03:00:00Z,+Inf,,,,\"line\r\nbreak\",,,h2\r\n"
    "\r\n"
    "#datatype,string,long,string\r\n#group,false,false,true\r\n#default,second,,x\r\n,result,table,k\r\n\r\n"
    "#datatype,string,string\r\n#group,true,true\r\n#default,,\r\n,error,reference\r\n,boom,42\r\n"
)
INFLUXQL_JSON = json.dumps({"results": [
    {"statement_id": 0, "series": [{"name": "cpu", "tags": {"host": "a"}, "columns": ["time", "v", "s"],
                                    "values": [[1, 1.5, "x"], [2, -0.0, None]]}]},
    {"statement_id": 1, "error": "database not found"}]})
INFLUXQL_CSV = "name,tags,time,v\r\ncpu,host=a,1,1.5\r\ncpu,host=b,2,\"x,y\"\r\n\r\nname,tags,name\r\nm,,db\r\n"
BUCKETS = json.dumps({"buckets": [{"id": "0123456789abcdef", "name": "b", "retentionRules": []}],
                      "links": {"next": "/api/v2/buckets?offset=1"}})
ORGS = json.dumps({"orgs": [{"id": "0123456789abcdef", "name": "acme"}]})
V3_ROWS = [{"iox::measurement": "air", "time": "2024-01-31T05:41:24.5", "room": "kitchen", "temp": 21.5, "n": -3,
            "ok": True}, {"time": "2024-01-31T05:42:24", "room": "hall", "u": 18446744073709551615}]
V3_JSONL = "".join(json.dumps(r) + "\n" for r in V3_ROWS)
V3_JSON = json.dumps(V3_ROWS)


def _v3_parquet() -> bytes:
    """A Parquet answer as InfluxDB 3 writes one: typed columns, a dictionary-encoded tag, nulls,
    two row groups, compressed."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({
        "time": pa.array([1_706_679_684_500_000_000, 1_706_679_744_000_000_000, None], pa.timestamp("ns")),
        "room": pa.array(["kitchen", "hall", "kitchen"]).dictionary_encode(),
        "temp": pa.array([21.5, None, -0.0]), "n": pa.array([-3, 4, None], pa.int64()),
        "u": pa.array([None, 2**64 - 1, 0], pa.uint64()), "ok": pa.array([True, None, False]),
        "note": pa.array(["a,b", None, "line\nbreak"])})
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=2, compression="snappy")
    return sink.getvalue()


V3_PARQUET = _v3_parquet()
ERROR = json.dumps({"code": "invalid", "message": "unable to parse 'm v=': missing field value", "line": 1})

TOKENS = [b",", b'"', b'""', b"\r\n", b"\n", b"\r", b"\x00", b"\xff", b"\xc3", b"\xe2\x80", b"\xef\xbb\xbf",
          b"\xe2\x80\xa8", b"#datatype,", b"#group,true", b"#default,", b",error,reference\r\n", b"-", b"+",
          b"9" * 30, b"1e999", b"NaN", b"-Inf", b"T", b"Z", b"2023-02-30T00:00:00Z", b"9999-12-31T23:59:59-01:00",
          b"1mo", b"=", b"_", b"\\", b"{", b"}", b"[", b"]", b":", b"null", b"[[[[[[", b"\t", b" "]


@st.composite
def mutated(draw: Any, valid: bytes) -> bytes:
    """``valid`` with a few mutations: byte splices, and whole lines deleted, doubled, swapped."""
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["insert", "replace", "delete", "truncate", "line"]))
        at = draw(st.integers(0, len(data)))
        if kind == "insert":
            data[at:at] = draw(st.sampled_from(TOKENS) | st.binary(max_size=8))
        elif kind == "replace":
            data[at:at + draw(st.integers(1, 12))] = draw(st.sampled_from(TOKENS) | st.binary(max_size=8))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 40))]
        elif kind == "truncate":
            del data[at:]
        else:
            lines = bytes(data).split(b"\n")
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            how = draw(st.sampled_from(["drop", "double", "swap"]))
            if how == "drop":
                del lines[i]
            elif how == "double":
                lines.insert(i, lines[i])
            else:
                lines[i], lines[j] = lines[j], lines[i]
            data = bytearray(b"\n".join(lines))
    return bytes(data)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8)


@st.composite
def reshaped(draw: Any, valid: str) -> bytes:
    """A valid JSON document with some of its parts replaced by values of any type."""
    doc = json.loads(valid)
    for _ in range(draw(st.integers(1, 4))):
        doc = _replace_somewhere(draw, doc)
    return json.dumps(doc).encode()


def _replace_somewhere(draw: Any, node: Any) -> Any:
    children = list(node.items()) if isinstance(node, dict) else list(enumerate(node)) if isinstance(node, list) else []
    if not children or draw(st.integers(0, 3)) == 0:
        return draw(JSON_VALUES)
    key, child = draw(st.sampled_from(children))
    copy = dict(node) if isinstance(node, dict) else list(node)
    copy[key] = _replace_somewhere(draw, child)
    return copy


def answers(valid: str | bytes, json_doc: bool = False) -> st.SearchStrategy[bytes]:
    raw = valid.encode() if isinstance(valid, str) else valid
    choices = [st.binary(max_size=300), mutated(raw)]
    if json_doc:
        choices.append(reshaped(raw.decode()))
        choices.append(reshaped(raw.decode()).flatmap(mutated))
    return st.one_of(*choices)


def only_documented_errors(decode: Callable[[], Any]) -> None:
    try:
        result = decode()
        if hasattr(result, "__iter__") and not isinstance(result, (str, bytes, dict, list)):
            for _ in result:
                pass
    except DOCUMENTED:
        pass


def response(body: bytes, content_type: str = "application/json", encoding: str | None = "utf-8"):
    resp = canned_response(200, {"Content-Type": content_type}, body)
    resp.encoding = encoding
    return resp


# --- each decoder, called directly -----------------------------------------------------------------------


@FUZZ
@given(answers(FLUX), st.sampled_from(["rows", "tables", "csv"]), st.sampled_from([None, 0, 1, 3]))
def test_annotated_csv_decoder(body: bytes, shape: str, limit: int | None) -> None:
    only_documented_errors(lambda: decode_annotated_csv(response(body, "text/csv"), shape=shape, limit=limit))


@FUZZ
@given(answers(FLUX), st.sampled_from([None, 0, 2]))
def test_annotated_csv_stream(body: bytes, limit: int | None) -> None:
    only_documented_errors(lambda: stream_annotated_csv(response(body, "text/csv"), limit=limit))


@FUZZ
@given(answers(INFLUXQL_JSON, json_doc=True) | answers(INFLUXQL_CSV), st.sampled_from(["rows", "series", "raw"]),
       st.sampled_from(["application/json", "application/csv"]))
def test_influxql_decoder(body: bytes, shape: str, content_type: str) -> None:
    only_documented_errors(lambda: decode_influxql(response(body, content_type), shape=shape))


@FUZZ
@given(st.sampled_from(["jsonl", "json", "csv", "parquet", "parquet_rows"]).flatmap(
    lambda fmt: st.tuples(st.just(fmt), answers(V3_PARQUET) if fmt.startswith("parquet")
                          else answers(V3_JSON, json_doc=True) if fmt == "json" else answers(V3_JSONL))),
    st.sampled_from([None, 0, 1, 2]), st.booleans())
def test_influxdb3_query_decoders(answer: tuple[str, bytes], limit: int | None, streamed: bool) -> None:
    fmt, body = answer
    resp = response(body, "application/octet-stream")
    resp.memory_limit = 1 << 20  # as a connection sets it
    if streamed:
        only_documented_errors(lambda: stream_query3(resp, limit=limit, format=fmt))
    else:
        only_documented_errors(lambda: decode_query3(resp, format=fmt, limit=limit))


def test_the_v3_parquet_answer_the_fuzzing_starts_from_decodes() -> None:
    rows = decode_query3(response(V3_PARQUET), format="parquet_rows")
    assert rows == [{"time": "2024-01-31T05:41:24.5", "room": "kitchen", "temp": 21.5, "n": -3, "ok": True,
                     "note": "a,b"},
                    {"time": "2024-01-31T05:42:24", "room": "hall", "n": 4, "u": 2**64 - 1},
                    {"room": "kitchen", "temp": -0.0, "u": 0, "ok": False, "note": "line\nbreak"}]


@FUZZ
@given(answers(BUCKETS, json_doc=True), st.sampled_from(["utf-8", "latin-1", "rot13", "idna", "no-such", None]))
def test_json_text_and_empty_decoders(body: bytes, charset: str | None) -> None:
    only_documented_errors(lambda: decode_json(response(body, encoding=charset)))
    assert isinstance(decode_text(response(body, encoding=charset)), str)
    assert decode_empty(response(body), data={"deleted": True}) == {"deleted": True}


@FUZZ
@given(answers(ERROR, json_doc=True), st.sampled_from([400, 401, 404, 413, 422, 500, 503]))
def test_error_answers(body: bytes, status: int) -> None:
    resp = canned_response(status, {"Content-Type": "application/json"}, body)
    keys = api.load().error_keys
    err = api_error(resp, keys, Redactor.of(["fuzz-secret-token"]), "fuzz")
    assert isinstance(err, APIError) and err.status == status
    str(err)


class _Lookup:
    """Stands in for a connection's get_json with a given answer (the resolver's only use of it)."""

    def __init__(self, body: bytes):
        self.body = body

    def get_json(self, *_args: Any, **_kwargs: Any) -> Any:
        return decode_json(response(self.body))


@FUZZ
@given(answers(ORGS, json_doc=True))
def test_organization_lookup(body: bytes) -> None:
    only_documented_errors(lambda: resolve_org_id("acme", _Lookup(body)))


@FUZZ
@given(st.text(max_size=60) | answers(BUCKETS, json_doc=True).map(lambda b: b.decode("utf-8", "replace")))
def test_next_links(link: str) -> None:
    try:
        url = same_origin_url("http://127.0.0.1:8086/influx", link)
    except ValueError:
        return
    assert url.startswith("http://127.0.0.1:8086/")


# --- through the transport, over loopback -------------------------------------------------------------------

LOOPBACK = settings(max_examples=60, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def loopback():
    with HostileServer() as srv, api.connect(srv.settings(timeout=5, max_answer_mb=1)) as conn:
        yield srv, conn


def _compressed(body: bytes, encoding: str) -> bytes:
    import gzip
    import zlib

    return {"gzip": gzip.compress, "deflate": zlib.compress}.get(encoding, lambda b: b)(body)


@LOOPBACK
@given(answers(FLUX) | answers(BUCKETS, json_doc=True), st.sampled_from(["identity", "gzip", "deflate"]),
       st.sampled_from(["length", "chunked", "close"]), st.booleans(), st.integers(0, 100))
def test_answers_through_the_transport(loopback, body: bytes, encoding: str, framing: str, corrupt: bool,
                                       where: int) -> None:
    srv, conn = loopback
    sent = _compressed(body, encoding)
    if corrupt and sent:
        at = where * len(sent) // 101
        sent = sent[:at] + bytes([sent[at] ^ 0x5A]) + sent[at + 1:]
    options = {"length": {}, "chunked": {"chunked": True}, "close": {"length": False}}[framing]
    headers = {} if encoding == "identity" else {"Content-Encoding": encoding}
    srv.on("/", reply(200, sent, headers, **options))
    only_documented_errors(lambda: conn.run("query_data", {"query": "q"}))
    only_documented_errors(lambda: list(conn.stream("query_data", {"query": "q"})))
    only_documented_errors(lambda: conn.run("list_buckets", {"all_pages": True}))
    only_documented_errors(lambda: conn.run("query_influxql", {"db": "d", "q": "SELECT 1"}))
