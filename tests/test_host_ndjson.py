"""How a row stream is cut into NDJSON chunks: whole lines in every chunk, every row once and in
order whatever the sizes of the lists the data source hands over, a row larger than a chunk, the
record that says how the stream ended always last, secrets masked in the chunked bytes; and
``Rows.batches`` on a real answer, over a socket, as ``Connection.stream`` gives it."""
from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from influx_connector import api
from influx_connector.binary import json_default
from influx_connector.errors import APIError, DecodeError
from influx_connector.host.streaming import BATCH, _orjson_batch, rows_ndjson
from influx_connector.secrets import Redactor

from .hostile import HostileServer, reply
from .test_hostile_answers import csv_answer


class Batched:
    """A row source that hands its rows over as lists of the given sizes (as a decoder does,
    a chunk's worth at a time), then ends, or fails with ``fail``."""

    def __init__(self, sizes: list[int], truncated: bool = False, fail: Exception | None = None,
                 row: Any = None):
        self.sizes, self.truncated, self.fail, self.closed = sizes, truncated, fail, False
        self.row = row or (lambda i: {"i": i})
        self.asked: list[int] = []

    def batches(self, size: int) -> Iterator[list[Any]]:
        self.asked.append(size)
        start = 0
        for count in self.sizes:
            yield [self.row(i) for i in range(start, start + count)]
            start += count
        if self.fail is not None:
            raise self.fail

    def close(self) -> None:
        self.closed = True


class OneByOne:
    """A row source with no ``batches``: iterated a row at a time."""

    def __init__(self, count: int, fail: Exception | None = None):
        self.count, self.fail, self.truncated, self.closed = count, fail, False, False

    def __iter__(self) -> Iterator[Any]:
        yield from ({"i": i} for i in range(self.count))
        if self.fail is not None:
            raise self.fail

    def close(self) -> None:
        self.closed = True


def records(chunks: list[bytes]) -> list[dict[str, Any]]:
    for chunk in chunks:  # each chunk holds whole lines: a client may act on any chunk alone
        assert chunk.endswith(b"\n") and chunk.count(b"\n") >= 1
    return [json.loads(line) for line in b"".join(chunks).splitlines()]


@pytest.mark.parametrize("sizes", [[], [0], [1], [BATCH - 1], [BATCH], [BATCH + 1], [BATCH - 1, 1, 0, 1],
                                   [7] * 300, [3 * BATCH + 5], [1, 2 * BATCH, 1]])
def test_every_row_comes_once_in_order_in_whole_lines_and_the_end_record_is_last(sizes: list[int]) -> None:
    rows = Batched(sizes)
    chunks = list(rows_ndjson(rows, Redactor.of([])))
    out = records(chunks)
    total = sum(sizes)
    assert [r["row"]["i"] for r in out[:-1]] == list(range(total))
    assert out[-1] == {"end": {"rows": total, "truncated": False}} and rows.closed
    # Small lists are gathered to at least BATCH rows a chunk (a few large writes, not many small).
    assert all(chunk.count(b"\n") >= BATCH for chunk in chunks[:-2])
    assert len(chunks) <= 2 + total // BATCH


@pytest.mark.parametrize("count", [0, 1, BATCH - 1, BATCH, BATCH + 1, 2 * BATCH])
def test_a_source_without_batches_is_cut_every_batch_rows(count: int) -> None:
    chunks = list(rows_ndjson(OneByOne(count), Redactor.of([])))
    assert [c.count(b"\n") for c in chunks[:-1]] == [BATCH] * (count // BATCH) + ([count % BATCH] if count % BATCH else [])
    out = records(chunks)
    assert [r["row"]["i"] for r in out[:-1]] == list(range(count)) and out[-1]["end"]["rows"] == count


def test_a_row_larger_than_a_chunk_comes_whole_between_its_neighbours() -> None:
    big = "x" * (3 << 20)  # far more than a chunk of BATCH ordinary rows
    rows = Batched([2, 1, 2], row=lambda i: {"i": i, "text": big if i == 2 else "small"})
    out = records(list(rows_ndjson(rows, Redactor.of([]))))
    assert [r["row"]["i"] for r in out[:-1]] == [0, 1, 2, 3, 4]
    assert out[2]["row"]["text"] == big and out[-1] == {"end": {"rows": 5, "truncated": False}}


def test_the_record_says_truncated_and_comes_after_the_last_row() -> None:
    out = records(list(rows_ndjson(Batched([BATCH, 3], truncated=True), Redactor.of([]))))
    assert out[-1] == {"end": {"rows": BATCH + 3, "truncated": True}}
    assert all("row" in r for r in out[:-1])


@pytest.mark.parametrize("source", [lambda fail: Batched([BATCH + 2, 5], fail=fail),
                                    lambda fail: OneByOne(BATCH + 7, fail=fail)])
def test_rows_read_before_a_failure_are_sent_then_the_error_record(source) -> None:
    rows = source(APIError(500, "broke midway", code="internal error"))
    out = records(list(rows_ndjson(rows, Redactor.of([]))))
    assert [r["row"]["i"] for r in out[:-1]] == list(range(BATCH + 7))
    assert out[-1]["rows"] == BATCH + 7 and out[-1]["error"]["upstream"]["status"] == 500 and rows.closed


@pytest.mark.parametrize("secret", ["s3cr3t-token-value", "ab"])
def test_a_secret_a_row_quotes_is_masked_in_the_chunk_long_or_short(secret: str) -> None:
    rows = Batched([BATCH + 1], row=lambda i: {"i": i, "note": f"key {secret} here" if i == BATCH else "in a word: xaby"})
    chunks = list(rows_ndjson(rows, Redactor.of([secret])))
    out = records(chunks)
    assert out[BATCH]["row"]["note"] == "key **** here"
    assert f" {secret} ".encode() not in b"".join(chunks)
    assert {r["row"]["note"] for r in out[:BATCH]} == {"in a word: xaby"}  # a short one only as a word


TRICKY: list[Any] = [
    {"nested": [{"row": 1}, {"row": {"row": 2}}], "braces": '},\n,{"row":', "quote": 'a"b\\c'},
    {"nan": float("nan"), "inf": float("-inf"), "when": dt.datetime(2024, 2, 29, 12, 0, tzinfo=dt.UTC)},
    {1: "a key that is not text", "unknown": object, "bytes": b"\x00\xffraw"},
    ",\n,", [",\n,", {}], None, 0, {"unicode": "é\u2028\x00\x1f"}, {"separator": ",\n      ,", "x": "}\n{"},
]


def test_one_call_a_batch_writes_the_bytes_one_call_a_row_would() -> None:
    one = functools.partial(orjson.dumps, default=json_default, option=orjson.OPT_NON_STR_KEYS)
    expected = b"".join(b'{"row":' + one(row) + b"}\n" for row in TRICKY)
    assert _orjson_batch(orjson)(TRICKY) == expected
    assert [json.loads(line)["row"] for line in expected.splitlines()][3:7] == [",\n,", [",\n,", {}], None, 0]


# --- Rows.batches on a real answer ------------------------------------------------------------------


@pytest.fixture
def server():
    with HostileServer() as srv:
        yield srv


def test_batches_of_a_stream_hold_the_rows_iteration_gives_and_a_limit_cuts_them_the_same(server) -> None:
    server.on("/api/v2/query", reply(200, csv_answer(5000), content_type="text/csv"))
    with api.connect(server.settings()) as conn:
        with conn.stream("query_data", {"query": "q"}) as rows:
            one_by_one = list(rows)
        with conn.stream("query_data", {"query": "q"}) as rows:
            lists = list(rows.batches())
        assert [row for batch in lists for row in batch] == one_by_one and len(one_by_one) == 5000
        with conn.stream("query_data", {"query": "q"}, limit=1234) as rows:
            cut = [row for batch in rows.batches() for row in batch]
            assert rows.truncated
        assert cut == one_by_one[:1234]


def test_batches_of_a_garbled_answer_raise_the_decode_error_iteration_raises(server) -> None:
    garbled = csv_answer(3000)[:-40] + b",,0,\"unterminated\r\n\r\n"
    server.on("/api/v2/query", reply(200, garbled, content_type="text/csv"))
    with api.connect(server.settings()) as conn:
        with pytest.raises(DecodeError) as by_row:
            list(conn.stream("query_data", {"query": "q"}))
        with pytest.raises(DecodeError) as by_batch:
            for _ in conn.stream("query_data", {"query": "q"}).batches():
                pass
    assert str(by_batch.value) == str(by_row.value)


# --- the service's process and sockets ----------------------------------------------------------------


def test_the_service_sends_from_a_large_buffer_and_keeps_what_a_slow_reader_lags_in_memory() -> None:
    import socket

    from influx_connector.host import build_app, start
    from influx_connector.host.server import OUTBUF_HIGH_WATERMARK, SEND_BUFFER

    with start(build_app(":memory:")) as running:
        assert running.server.socket.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) >= SEND_BUFFER
        adj = running.server.adj
        assert adj.outbuf_high_watermark == OUTBUF_HIGH_WATERMARK < adj.outbuf_overflow


def test_the_service_process_asks_for_few_heaps_where_the_c_library_has_the_setting() -> None:
    import platform
    import subprocess
    import sys

    code = "from influx_connector.host.server import few_heaps; print(few_heaps())"
    said = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert said == str(platform.libc_ver()[0] == "glibc")
