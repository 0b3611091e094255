"""Answers too large, compressed too well, garbled or in an unknown encoding, from a scripted
server on loopback: each ends in a ``DecodeError`` or ``APIError`` that says what happened,
within bounded memory, never in a crash of the host app."""
from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
import zlib

import pytest

from influx_connector import api, cli
from influx_connector.body import ERROR_BODY_BYTES
from influx_connector.errors import APIError, DecodeError

from .hostile import HostileServer, gzip_bomb, gzip_reply, json_reply, reply, trickle_after

CSV_HEAD = "#datatype,string,long,string\r\n#group,false,false,false\r\n#default,_result,,\r\n,result,table,v\r\n"


def csv_answer(rows: int, cell: str = "value") -> bytes:
    return (CSV_HEAD + "".join(f",,0,{cell}{i}\r\n" for i in range(rows)) + "\r\n").encode()


@pytest.fixture
def server():
    with HostileServer() as srv:
        yield srv


# --- size ---------------------------------------------------------------------------------------------


def test_an_answer_over_the_limit_is_an_error_that_names_the_setting(server) -> None:
    big = json.dumps({"buckets": [{"name": "x" * 1000}] * 3000}).encode()  # about 3 MiB
    server.on("/api/v2/buckets", reply(200, big))
    with api.connect(server.settings(max_answer_mb=1)) as conn, pytest.raises(DecodeError) as caught:
        conn.run("list_buckets")
    text = str(caught.value)
    assert "larger than 1 MiB" in text and "'max_answer_mb'" in text and "stream()" in text
    with api.connect(server.settings(max_answer_mb=4)) as conn:
        assert len(conn.run("list_buckets").data["buckets"]) == 3000


def test_a_gzip_answer_is_limited_by_what_it_decompresses_to(server) -> None:
    server.on("/api/v2/buckets", gzip_reply(200, json.dumps({"buckets": [], "pad": "0" * (3 << 20)}).encode()))
    with api.connect(server.settings(max_answer_mb=2)) as conn:
        with pytest.raises(DecodeError, match="larger than 2 MiB"):
            conn.run("list_buckets")


def test_a_stream_is_not_limited_overall_but_run_is(server) -> None:
    answer = csv_answer(100_000, cell="x" * 20)  # about 3 MiB
    server.on("/api/v2/query", gzip_reply(200, answer, content_type="text/csv"))
    with api.connect(server.settings(max_answer_mb=1)) as conn:
        with conn.stream("query_data", {"query": "q"}) as rows:
            assert sum(1 for _ in rows) == 100_000
        with pytest.raises(DecodeError, match="larger than 1 MiB"):
            conn.run("query_data", {"query": "q"})


def test_an_error_answer_is_read_only_up_to_its_cap(server) -> None:
    """The server sends 1 MiB of error and then stalls: only the first part is read, so the error is
    reported at once instead of waiting for (and holding) the whole body; its message is taken
    as far as it goes."""
    message = json.dumps({"code": "invalid", "message": "bad " + "x" * (1 << 20)}).encode()
    answer = reply(400, message)
    cap = answer.index(b"\r\n\r\n") + 4 + ERROR_BODY_BYTES + 4096
    server.on("/api/v2/buckets", lambda req: trickle_after(answer[:cap], every=1.0, total=60))
    with api.connect(server.settings(timeout=30)) as conn, pytest.raises(APIError) as caught:
        conn.run("list_buckets")
    err = caught.value
    assert err.status == 400 and err.code == "invalid"
    assert err.message.startswith("bad xxx") and err.message.endswith("...")
    assert len(err.message) < ERROR_BODY_BYTES


@pytest.mark.parametrize("encoding", ["br", "gzip, gzip", "compress"])
def test_an_encoding_the_connector_did_not_ask_for_is_a_decode_error(server, encoding: str) -> None:
    server.on("/api/v2/buckets", reply(200, b"\x00\x01\x02", {"Content-Encoding": encoding}))
    with api.connect(server.settings()) as conn, pytest.raises(DecodeError, match="is encoded as"):
        conn.run("list_buckets")


@pytest.mark.parametrize("framing", ["length", "chunked", "close"])
def test_gzip_and_deflate_answers_decode_whatever_their_framing(server, framing: str) -> None:
    doc = {"buckets": [{"name": "b" * 100}] * 2000}
    raw = json.dumps(doc).encode()
    squeeze = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    bare = squeeze.compress(raw) + squeeze.flush()  # "deflate" without the zlib wrapper, as some servers send
    two_members = gzip.compress(raw[:5000]) + gzip.compress(raw[5000:])
    options = {"length": {}, "chunked": {"chunked": True}, "close": {"length": False}}[framing]
    for encoding, body in (("gzip", gzip.compress(raw)), ("deflate", zlib.compress(raw)), ("deflate", bare),
                           ("gzip", two_members), ("x-gzip", gzip.compress(raw))):
        server.on("/api/v2/buckets", reply(200, body, {"Content-Encoding": encoding}, **options))
        with api.connect(server.settings()) as conn:
            assert conn.run("list_buckets").data == doc, encoding


# --- decompression bombs, measured in a fresh interpreter -------------------------------------------------

_MEASURE = textwrap.dedent("""
    import json, resource, sys
    from influx_connector import api
    from influx_connector.errors import ConnectorError
    settings, op, params, how = json.loads(sys.argv[1])
    conn = api.connect(settings)
    conn.test  # everything imported and set up before the baseline
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        if how == "stream":
            with conn.stream(op, params) as rows:
                for _ in rows:
                    pass
        else:
            conn.run(op, params)
        outcome = "no error"
    except ConnectorError as exc:
        outcome = f"{type(exc).__name__}: {exc}"
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"growth_mib": (after - before) / 1024, "outcome": outcome}))
""")


def _peak_growth(settings: dict, op: str, params: dict, how: str = "run") -> dict:
    proc = subprocess.run([sys.executable, "-c", _MEASURE, json.dumps([settings, op, params, how])],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize(("op", "params", "how", "max_answer_mb", "bound_mib"), [
    ("list_buckets", {}, "run", None, 256 + 160),             # the default limit: 256 MiB
    ("list_buckets", {}, "run", 16, 80),
    ("query_data", {"query": "q"}, "run", 16, 80),
    ("query_data", {"query": "q"}, "stream", None, 128 * 3 + 64),  # per line: 128 Mi characters
])
def test_a_one_mib_gzip_bomb_stays_within_bounded_memory(server, record_property, op: str, params: dict,
                                                         how: str, max_answer_mb: int | None, bound_mib: int) -> None:
    bomb = gzip_bomb(1 << 30)  # 1 GiB of zeros in about 1 MiB
    assert len(bomb) < 1.1 * (1 << 20)
    kind = "text/csv" if op == "query_data" else "application/json"
    server.on("/", reply(200, bomb, {"Content-Encoding": "gzip"}, chunked=True, content_type=kind))
    settings = server.settings(timeout=60)
    if max_answer_mb:
        settings["max_answer_mb"] = max_answer_mb
    measured = _peak_growth(settings, op, params, how)
    record_property(f"peak_rss_growth_mib[{op},{how},{max_answer_mb}]", round(measured["growth_mib"], 1))
    assert measured["outcome"].startswith("DecodeError"), measured
    assert "larger than" in measured["outcome"]
    assert measured["growth_mib"] < bound_mib, measured


# --- garbled answers: DecodeError or APIError, and exit status 4 --------------------------------------------

GARBLED = [
    ("query_data", {"query": "q"}, reply(200, CSV_HEAD.encode() + b",,0,caf\xe9\r\n", content_type="text/csv")),
    ("query_data", {"query": "q", "shape": "csv"}, reply(200, b"\xff\xfe\r\n", content_type="text/csv")),
    ("query_data", {"query": "q", "shape": "tables"}, reply(200, CSV_HEAD.encode() + b',,0,"open\r\n')),
    ("query_data", {"query": "q"}, reply(200, b"not gzip", {"Content-Encoding": "gzip"}, content_type="text/csv")),
    ("query_influxql", {"db": "d", "q": "SELECT 1"}, reply(200, b'{"results": [{"series": [{"columns": ["\xc3"]}]}]}')),
    ("query_influxql", {"db": "d", "q": "SELECT 1"}, json_reply(200, {"results": [{"series": [{"columns": 5}]}]})),
    ("query_influxql", {"db": "d", "q": "SELECT 1"}, json_reply(200, {"results": [7]})),
    ("query_influxql", {"db": "d", "q": "SELECT 1"}, json_reply(200, {"results": [{"statement_id": "0"}]})),
    ("query_influxql", {"db": "d", "q": "SELECT 1"},
     json_reply(200, {"results": [{"series": [{"columns": ["a"], "values": [["x", "y"]]}]}]})),
    ("query_influxql", {"db": "d", "q": "SELECT 1"},
     json_reply(200, {"results": [{"series": [{"columns": [["a"]], "values": [[1]]}]}]})),
    ("query_influxql", {"db": "d", "q": "SELECT 1"},
     json_reply(200, {"results": [{"series": [{"tags": [1], "columns": ["a"], "values": [[1]]}]}]})),
    ("query_influxql", {"db": "d", "q": "SELECT 1", "format": "application/csv"},
     reply(200, b"name,tags,time\r\ncpu\r\n", content_type="application/csv")),
    ("list_buckets", {}, reply(200, b"[" * 100_000)),
    ("list_buckets", {}, reply(200, b'{"buckets": "\xff"}')),
    ("health", {}, reply(200, b"\x1f\x8b\x08\x00corrupt", {"Content-Encoding": "gzip"})),
]


@pytest.mark.parametrize(("op", "params", "answer"), GARBLED)
def test_garbled_answers_are_decode_errors(server, op: str, params: dict, answer: bytes) -> None:
    server.on("/", answer)
    with api.connect(server.settings(retries=3)) as conn:
        with pytest.raises((DecodeError, APIError)):
            conn.run(op, params)
        if "query" in op:
            with pytest.raises((DecodeError, APIError)):
                list(conn.stream(op, params))


def test_the_command_line_exits_4_for_a_garbled_answer(server, capsys) -> None:
    server.on("/query", json_reply(200, {"results": [{"series": [{"columns": 5}]}]}))
    code = cli.main(["run", "query_influxql", "-p", "db=d", "-p", "q=SELECT 1", "--host", "127.0.0.1",
                     "--port", str(server.port), "--token", "hostile-test-token-0123"])
    _, err = capsys.readouterr()
    assert code == 4, err
    assert "columns should be a list" in err


def test_a_corrupt_gzip_answer_is_not_retried(server) -> None:
    """The bytes arrived whole (HTTP framing, TCP or TLS checks): the server made them so, and
    would make them so again. Only an answer cut short is asked for again."""
    server.on("/api/v2/query", reply(200, b"\x1f\x8b\x08\x00garbage-garbage", {"Content-Encoding": "gzip"},
                                     content_type="text/csv"))
    with api.connect(server.settings(retries=3)) as conn, pytest.raises(DecodeError, match="corrupt") as caught:
        conn.run("query_data", {"query": "q"})
    assert not caught.value.cut_off and len(server.seen) == 1


def test_a_gzip_stream_cut_short_is_retried_as_an_answer_cut_off(server) -> None:
    """Framed by the end of the connection, a dropped answer looks complete to HTTP; the gzip
    stream's missing end gives it away."""
    whole = gzip.compress(csv_answer(1000))
    answers = iter([reply(200, whole[: len(whole) // 2], {"Content-Encoding": "gzip"}, length=False,
                          content_type="text/csv"),
                    reply(200, whole, {"Content-Encoding": "gzip"}, content_type="text/csv")])
    server.on("/api/v2/query", lambda req: next(answers))
    with api.connect(server.settings(retries=3)) as conn:
        result = conn.run("query_data", {"query": "q"})
    assert len(result.data) == 1000 and result.meta["attempts"] == 2
    assert "cut off" in result.meta["retries"][0]["reason"]

