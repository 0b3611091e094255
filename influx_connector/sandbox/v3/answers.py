"""A v3 query's rows, written in the format asked for, as InfluxDB 3 writes them.

JSON Lines, JSON and CSV carry a time as text (RFC 3339 without a zone) and leave nulls out.
Parquet carries each column typed as InfluxDB 3's record batches are: ``time`` and the other
time columns as ``timestamp[ns]`` without a zone, tags (and ``iox::measurement``) as
dictionary-encoded strings, fields as ``int64``, ``uint64``, ``float64``, ``bool`` or
``utf8`` (the table's type where the values are of it, else the type the values have), nulls
as nulls. Parquet needs pyarrow (the ``parquet`` extra); without it the answer is a 400 that
says so.
"""
from __future__ import annotations

import csv
import io
import json
import time as _time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

JSON = "application/json"
MEDIA_TYPES = {"jsonl": "application/jsonl", "json_lines": "application/jsonl", "json": JSON, "csv": "text/csv",
               "parquet": "application/vnd.apache.parquet"}
#: A column's kind: a tag, or a field's type as the store names it.
TAG = "tag"
_ARROW_TYPES = {"double": "float64", "long": "int64", "unsignedLong": "uint64", "boolean": "bool_", "string": "string"}


class ParquetUnavailable(Exception):
    """pyarrow is not installed, so the sandbox cannot write Parquet."""


@dataclass(frozen=True)
class Answer:
    """Rows of column to value, nulls left out; the columns named in ``times`` hold nanoseconds."""

    rows: list[dict[str, Any]]
    times: frozenset[str] = frozenset()
    #: What is known of a column: ``TAG``, or its table's field type (``double``, ``long``, ...).
    kinds: Mapping[str, str] = field(default_factory=dict)
    #: The columns in the query's order (a row that lacks some cannot tell where they go).
    columns: tuple[str, ...] = ()


def format_time(ns: int) -> str:
    """A time as InfluxDB 3 writes timestamps: RFC 3339 without a zone, fraction only when needed."""
    seconds, fraction = divmod(ns, 1_000_000_000)
    text = _time.strftime("%Y-%m-%dT%H:%M:%S", _time.gmtime(seconds))
    return f"{text}.{fraction:09d}".rstrip("0") if fraction else text


def text_rows(answer: Answer) -> list[dict[str, Any]]:
    """The rows with their times as text, as the text formats give them."""
    if not answer.times:
        return answer.rows
    return [{k: format_time(v) if k in answer.times and isinstance(v, int) else v for k, v in row.items()}
            for row in answer.rows]


def write(answer: Answer, fmt: str) -> tuple[str, bytes]:
    """The media type and body of ``answer`` in the format ``fmt``."""
    if fmt == "parquet":
        return MEDIA_TYPES["parquet"], parquet(answer)
    rows = text_rows(answer)
    if fmt in ("jsonl", "json_lines"):
        return MEDIA_TYPES["jsonl"], "".join(_compact(r) + "\n" for r in rows).encode()
    if fmt == "json":
        return JSON, json.dumps(rows, separators=(",", ":"), ensure_ascii=False).encode()
    columns = list(dict.fromkeys(k for r in rows for k in r))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for r in rows:
        writer.writerow(["" if r.get(c) is None else _csv_cell(r.get(c)) for c in columns])
    return MEDIA_TYPES["csv"], out.getvalue().encode()


def _compact(row: dict[str, Any]) -> str:
    return json.dumps(row, separators=(",", ":"), ensure_ascii=False)


def _csv_cell(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def parquet(answer: Answer) -> bytes:
    """Parquet bytes, each column typed as InfluxDB 3 types it (written with pyarrow)."""
    try:
        # An optional extra, absent where the checks may run.
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ParquetUnavailable("format parquet needs pyarrow (pip install 'influx-connector[parquet]')") from None
    # The query's columns, then any other a row has (a row leaves its nulls out).
    columns = list(dict.fromkeys([*answer.columns, *(k for r in answer.rows for k in r)]))
    arrays = []
    for name in columns:
        values = [r.get(name) for r in answer.rows]
        kind = _arrow_type(pa, name, values, answer)
        if kind == pa.string():  # a column of mixed types is text, as CSV gives it
            values = [v if v is None or type(v) is str else _csv_cell(v) for v in values]
        arrays.append(pa.array(values, type=kind))
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_arrays(arrays, names=columns), sink)
    return sink.getvalue()


def _arrow_type(pa: Any, name: str, values: list[Any], answer: Answer) -> Any:
    present = [v for v in values if v is not None]
    if name in answer.times and all(type(v) is int for v in present):
        return pa.timestamp("ns")
    kind = answer.kinds.get(name)
    if kind == TAG and all(type(v) is str for v in present):
        return pa.dictionary(pa.int32(), pa.string())
    if kind in _ARROW_TYPES and all(_of_kind(kind, v) for v in present):
        return getattr(pa, _ARROW_TYPES[kind])()
    if not present:
        return pa.string()
    if all(type(v) is bool for v in present):
        return pa.bool_()
    if all(type(v) is int for v in present):
        return pa.int64() if all(-(1 << 63) <= v < 1 << 63 for v in present) else pa.uint64()
    if all(type(v) in (int, float) for v in present):
        return pa.float64()
    return pa.string()


def _of_kind(kind: str, value: Any) -> bool:
    if kind == "double":
        return type(value) in (int, float)
    if kind in ("long", "unsignedLong"):
        return type(value) is int and (value >= 0 or kind == "long")
    if kind == "boolean":
        return type(value) is bool
    return type(value) is str
