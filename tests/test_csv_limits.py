"""The CSV decoders' own limits: a cell of at most 64 Mi characters on every path, a line or
record of at most 128 Mi, very long lines decoded whole and right, and the process-wide
``csv.field_size_limit`` left as the host app set it.

How long a long line takes is measured by ``benchmarks/bench_long_lines.py`` (time per MiB at
growing sizes), not here: this machine is shared.
"""
from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from influx_connector.errors import DecodeError
from influx_connector.influxdb import influxql
from influx_connector.influxdb.annotated_csv import decode, lines_from_chunks
from influx_connector.influxdb.csv_records import CELL_LIMIT, RECORD_LIMIT, Records

HEAD = ("#datatype,string,long,string,string\r\n#group,false,false,false,true\r\n#default,_result,,,\r\n"
        ",result,table,_value,_field\r\n")


def answer(cell: str, quoted: bool = False) -> str:
    shown = '"' + cell.replace('"', '""') + '"' if quoted else cell
    return HEAD + f",,0,a,f\r\n,,0,{shown},f\r\n,,0,b,f\r\n\r\n"


def chunks(text: str) -> Iterator[bytes]:
    data = text.encode()
    return (data[at:at + 65536] for at in range(0, len(data), 65536))


PATHS: dict[str, Callable[[str], Any]] = {
    "fast path (byte chunks)": lambda text: decode(lines_from_chunks(chunks(text))),
    "fast path (whole text)": lambda text: decode(text),
    "reference path (lines)": lambda text: decode(iter(io.StringIO(text, newline=""))),
}


@pytest.fixture
def restore_field_size_limit() -> Iterator[None]:
    before = csv.field_size_limit()
    yield
    csv.field_size_limit(before)


@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("quoted", [False, True], ids=["plain", "quoted"])
def test_a_cell_over_64_mi_characters_is_refused_on_every_path(path: str, quoted: bool) -> None:
    text = answer("x" * (CELL_LIMIT + 1), quoted)
    with pytest.raises(DecodeError) as caught:
        PATHS[path](text)
    assert "line 6" in str(caught.value) and "larger than 64 Mi characters" in str(caught.value)


@pytest.mark.parametrize("path", list(PATHS))
def test_a_cell_of_exactly_64_mi_characters_decodes_whole(path: str) -> None:
    rows = PATHS[path](answer("y" * CELL_LIMIT))
    assert [len(r["_value"]) for r in rows] == [1, CELL_LIMIT, 1]
    assert rows[1]["_value"] == "y" * CELL_LIMIT


def test_a_line_over_128_mi_characters_is_refused_while_streaming() -> None:
    """Three cells within the cell limit, but a line over the line limit: bounded per row."""
    big = "z" * (CELL_LIMIT - 100)
    text = HEAD + f",{big},0,{big},{big}\r\n"
    assert len(text) > RECORD_LIMIT
    with pytest.raises(DecodeError, match="a line is larger than 128 Mi characters"):
        decode(lines_from_chunks(chunks(text)))


def test_a_record_over_128_mi_characters_is_refused_by_the_record_reader() -> None:
    cell = '"' + "q" * (CELL_LIMIT - 10) + '"'
    lines = [f"{cell},{cell},{cell}\n"]
    with pytest.raises(csv.Error, match="a record is larger than 128 Mi characters"):
        list(Records(lines))


def test_big_cells_decode_whatever_the_hosts_csv_field_size_limit(restore_field_size_limit) -> None:
    """A host app lowered the process-wide limit: the decoders do not depend on it."""
    csv.field_size_limit(1000)
    cell = "a,b\"c\r\nd" * 1000
    for path, run in PATHS.items():
        rows = run(answer(cell, quoted=True))
        # InfluxDB's CSV writer turns a line break in a cell into CRLF: it is read back as LF.
        assert rows[1]["_value"] == cell.replace("\r\n", "\n"), path
    text = "name,tags,time,v\r\ncpu,,1,\"" + cell.replace('"', '""') + "\"\r\n"
    assert influxql.decode(text.encode(), "application/csv")[0]["v"] == cell


def test_the_cell_limit_holds_when_the_host_raised_the_csv_limit(restore_field_size_limit) -> None:
    csv.field_size_limit(sys.maxsize)
    with pytest.raises(DecodeError, match="larger than 64 Mi characters"):
        PATHS["reference path (lines)"](answer("w" * (CELL_LIMIT + 1), quoted=True))


def test_importing_and_using_the_decoders_leaves_the_process_csv_limit_alone() -> None:
    code = ("import csv; before = csv.field_size_limit()\n"
            "from influx_connector.influxdb import annotated_csv, influxql\n"
            "import influx_connector.api\n"
            "annotated_csv.decode('#datatype,string,long\\r\\n,result,table\\r\\n,,0\\r\\n')\n"
            "print(before, csv.field_size_limit())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    before, after = out.stdout.split()
    assert before == after == "131072"


# --- the record reader agrees with csv.reader -----------------------------------------------------------

PIECES = st.sampled_from(["a", "b", ",", '"', '""', "\n", "\r\n", "\r", "x y", "\0", "é", "\u2028"])


@settings(max_examples=400, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(PIECES, max_size=40).map("".join))
def test_the_record_reader_reads_big_cells_as_csv_reader_reads_all_cells(text: str) -> None:
    """Forced onto its own reading for every cell (the process limit at 1), the record reader
    gives what csv.reader gives with no limit: the same records, or an error for both."""
    def lines() -> list[str]:
        return io.StringIO(text, newline="").readlines()

    before = csv.field_size_limit()
    try:
        csv.field_size_limit(sys.maxsize)
        try:
            expected: Any = list(csv.reader(lines(), strict=True))
        except csv.Error:
            expected = csv.Error
        csv.field_size_limit(1)
        try:
            found: Any = list(Records(lines()))
        except csv.Error:
            found = csv.Error
    finally:
        csv.field_size_limit(before)
    assert found == expected
