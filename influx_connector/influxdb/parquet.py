"""Parquet answers of InfluxDB 3's query endpoints, read with pyarrow (the ``parquet`` extra).

``rows`` gives the rows of a Parquet answer shaped as the JSON and JSON Lines answers give
them, so a host sees one shape whatever the format: an object of column name to value, a
null left out, integers, floats, booleans and strings as they are, a dictionary-encoded
column (InfluxDB 3's tags) as its values, and a time as InfluxDB 3 writes it in JSON (RFC
3339 text without a zone, a fraction only when there is one; a column with a zone is given
in UTC with ``Z``). ``read_table`` gives a Python host the pyarrow ``Table`` itself.

What is read is bounded: the answer's bytes by the connection's answer limit, as for every
answer, and what they unpack to by the same limit (a Parquet file is compressed, so a small
one can claim gigabytes): the sizes the file declares are checked before anything is
unpacked, and what has been unpacked is counted batch by batch, in case they lie. A file
that pyarrow cannot read is a ``DecodeError``, never a pyarrow exception.
"""
from __future__ import annotations

import re
import time as _time
from collections.abc import Generator, Iterator
from decimal import Decimal
from typing import Any

from ..errors import DecodeError

#: What to install for Parquet as rows or as a table.
EXTRA = "pip install 'influx-connector[parquet]'"
#: Rows decoded at a time: the unit in which unpacked memory is counted and rows handed out.
BATCH_ROWS = 16_384
_NS_PER = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


#: The oldest pyarrow trusted with a file from the network. Before 14.0.1 a crafted Parquet file
#: could make pyarrow run code (CVE-2023-47248); 15.0.0 to 23.0.0 carry a use-after-free in
#: Arrow's C++ IPC reader (CVE-2026-25087). The ``parquet`` extra asks for this one or later,
#: and a pyarrow installed otherwise is checked here too.
MINIMUM = (23, 0, 1)


def _version(text: str) -> tuple[int, ...]:
    """The leading numbers of a version ("24.0.0.dev12" -> (24, 0, 0), "14.0.0rc1" -> (14, 0, 0))."""
    numbers = []
    for part in text.split("."):
        match = re.match(r"\d+", part)
        if match is None:
            break
        numbers.append(int(match.group()))
        if match.end() != len(part):
            break
    return tuple(numbers)


def unusable() -> str | None:
    """Why pyarrow cannot read Parquet answers here (not installed, or too old), or None."""
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return f"needs pyarrow, which is not installed: {EXTRA}"
    version = str(getattr(pyarrow, "__version__", ""))
    if _version(version) < MINIMUM:
        floor = ".".join(map(str, MINIMUM))
        return (f"needs pyarrow {floor} or later (older ones are unsafe with files from the network), "
                f"and {version or 'an unknown version'} is installed: {EXTRA} --upgrade")
    return None


def _pyarrow() -> Any:
    problem = unusable()
    if problem is not None:
        raise DecodeError(f"Parquet as rows or as a table {problem}")
    import pyarrow as pa
    import pyarrow.parquet  # noqa: F401 (pa.parquet)

    return pa


class _Reader:
    """One Parquet answer opened for reading, within a limit on what it unpacks to."""

    def __init__(self, data: bytes, max_bytes: int | None, setting: str):
        pa = self.pa = _pyarrow()
        self.max_bytes, self.setting = max_bytes, setting
        try:
            self.file = pa.parquet.ParquetFile(pa.BufferReader(data))
            meta = self.file.metadata
            declared = sum(max(meta.row_group(i).total_byte_size, 0) for i in range(meta.num_row_groups))
            self.schema = self.file.schema_arrow
        except Exception as exc:  # pyarrow's errors (ArrowInvalid, OSError, ...) for a file it cannot read
            raise _unreadable(exc) from None
        self.declared_rows = meta.num_rows
        self._check(declared, "says it unpacks to")

    def _check(self, size: int, says: str) -> None:
        if self.max_bytes is not None and size > self.max_bytes:
            raise DecodeError(f"the Parquet answer {says} {size >> 20} MiB, more than the "
                              f"{self.max_bytes >> 20} MiB an answer may hold in memory; raise {self.setting}, "
                              "or ask for fewer rows")

    def batches(self) -> Iterator[Any]:
        """The record batches, each counted against the limit as it is unpacked."""
        unpacked = 0
        pages = self.file.iter_batches(batch_size=BATCH_ROWS, use_threads=False)
        while True:
            try:
                batch = next(pages, None)
            except Exception as exc:
                raise _unreadable(exc) from None
            if batch is None:
                return
            unpacked += batch.nbytes
            self._check(unpacked, "unpacks to more than")
            yield batch


def _unreadable(exc: BaseException) -> DecodeError:
    return DecodeError(f"the answer is not a Parquet file pyarrow can read ({type(exc).__name__}: {exc})"[:400])


def read_table(data: bytes, max_bytes: int | None = None, setting: str = "the answer size limit") -> Any:
    """The ``pyarrow.Table`` of a Parquet answer (the bytes a ``parquet`` query gives), unpacked
    to at most ``max_bytes``; a file pyarrow cannot read is a ``DecodeError``."""
    reader = _Reader(data, max_bytes, setting)
    batches = list(reader.batches())
    try:
        return reader.pa.Table.from_batches(batches, schema=reader.schema)
    except Exception as exc:
        raise _unreadable(exc) from None


class ParquetRows:
    """The rows of a Parquet answer, a batch at a time, cut at an optional ``limit``.

    ``truncated`` becomes True once a row beyond the limit has been seen. The answer is held
    whole (a Parquet file is read from its end), the rows are made a batch at a time.
    """

    def __init__(self, data: bytes, limit: int | None = None, max_bytes: int | None = None,
                 setting: str = "the answer size limit"):
        if limit is not None and (type(limit) is not int or limit < 0):
            raise ValueError(f"limit must be a whole number of rows, 0 or more, not {limit!r}")
        self.limit = limit
        self.truncated = False
        self._reader = _Reader(data, max_bytes, setting)
        self._rows = self._read()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self

    def __next__(self) -> dict[str, Any]:
        return next(self._rows)

    def __enter__(self) -> ParquetRows:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._rows.close()

    def _read(self) -> Generator[dict[str, Any], None, None]:
        pa, left = self._reader.pa, self.limit
        for batch in self._reader.batches():
            if left is not None and batch.num_rows > left:
                # A row beyond the limit: the answer held more than was asked for.
                self.truncated = True
                yield from batch_rows(pa, batch.slice(0, left))
                return
            rows = batch_rows(pa, batch)
            yield from rows
            if left is not None:
                left -= len(rows)


def batch_rows(pa: Any, batch: Any) -> list[dict[str, Any]]:
    """A record batch as rows of column to value, nulls left out."""
    names = batch.schema.names
    columns = []
    for name, column in zip(names, batch.columns):
        try:
            columns.append(_values(pa, column))
        except Exception as exc:  # a time out of range, a value pyarrow cannot convert
            raise DecodeError(f"column {name!r} of the Parquet answer has a value that cannot be given as JSON "
                              f"({type(exc).__name__}: {exc})"[:400]) from None
    return [{name: value for name, value in zip(names, values) if value is not None} for values in zip(*columns)]


def _values(pa: Any, column: Any) -> list[Any]:
    """A column's values as JSON gives them."""
    types = pa.types
    kind = column.type
    if types.is_dictionary(kind):
        column = column.dictionary_decode()
        kind = column.type
    if types.is_timestamp(kind):
        scale = _NS_PER[kind.unit]
        zone = "Z" if kind.tz else ""
        return [None if v is None else _time_text(v * scale) + zone
                for v in column.cast(pa.int64()).to_pylist()]
    if types.is_duration(kind):
        scale = _NS_PER[kind.unit]
        return [None if v is None else v * scale for v in column.cast(pa.int64()).to_pylist()]
    values = column.to_pylist()
    if types.is_date(kind) or types.is_time(kind):
        return [None if v is None else v.isoformat() for v in values]
    if types.is_decimal(kind):
        return [None if v is None else float(v) if isinstance(v, Decimal) else v for v in values]
    if types.is_binary(kind) or types.is_large_binary(kind) or types.is_fixed_size_binary(kind):
        return [None if v is None else v.hex() for v in values]
    return values


_last: tuple[int, str] = (0, _time.strftime("%Y-%m-%dT%H:%M:%S", _time.gmtime(0)))


def _time_text(ns: int) -> str:
    """A time in nanoseconds as InfluxDB 3 writes it in JSON answers."""
    global _last
    seconds, fraction = divmod(ns, 1_000_000_000)
    second, text = _last
    if seconds != second:
        # Rows of one answer are often of the same second: its text is made once.
        text = _time.strftime("%Y-%m-%dT%H:%M:%S", _time.gmtime(seconds))
        _last = (seconds, text)
    return f"{text}.{fraction:09d}".rstrip("0") if fraction else text
