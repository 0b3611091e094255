"""The answers of InfluxDB 3's query endpoints (``/api/v3/query_sql``, ``/api/v3/query_influxql``).

The server writes a query's record batches in the format asked for: JSON Lines (one object a
row, read here one row at a time in bounded memory), JSON (one array of those objects), CSV
(kept as text: its cells carry no types) or Parquet (kept as bytes; a host that has pyarrow
reads them with ``pyarrow.parquet.read_table(io.BytesIO(data))``). A row is an object of column
name to value, as the server typed it: numbers, strings, booleans, null; times are RFC 3339 text.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import Any

from influx_connector.errors import DecodeError

from .annotated_csv import ResultList

#: The longest JSON line one row may take; a longer one is an error, not a memory spike.
LINE_LIMIT = 128 * 1024 * 1024
_CHUNK = 256 * 1024


class JsonLines:
    """The rows of a JSON Lines answer, one at a time, cut at an optional ``limit``.

    ``truncated`` becomes True once a row beyond the limit has been seen (the reader looks at
    most one line ahead to know). ``on_close`` (``response.close``) is called once, when the
    rows run out, at the limit, or by :meth:`close`.
    """

    def __init__(self, chunks: Iterable[bytes], limit: int | None = None,
                 on_close: Callable[[], Any] | None = None):
        if limit is not None and (type(limit) is not int or limit < 0):
            raise ValueError(f"limit must be a whole number of rows, 0 or more, not {limit!r}")
        self.limit = limit
        self.truncated = False
        self._on_close = on_close
        self._rows = self._read(iter(chunks))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self

    def __next__(self) -> dict[str, Any]:
        return next(self._rows)

    def __enter__(self) -> JsonLines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._rows.close()
        self._release()

    def _release(self) -> None:
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close()

    def _read(self, chunks: Iterator[bytes]) -> Generator[dict[str, Any], None, None]:
        left = self.limit
        # One reader for the whole answer: a row cut by a chunk's end is carried inside it,
        # so the look-ahead past the limit goes on from exactly where the rows stopped.
        batches = _row_batches(chunks)
        try:
            for batch in batches:
                if left is None:
                    yield from batch
                    continue
                if len(batch) > left:
                    yield from batch[:left]
                    self.truncated = True
                    return
                yield from batch
                left -= len(batch)
                if left == 0:
                    self.truncated = any(more for more in batches)
                    return
        finally:
            batches.close()
            self._release()


def _row_batches(chunks: Iterator[bytes]) -> Generator[list[dict[str, Any]], None, None]:
    """The rows of each chunk's whole lines; a line cut by a chunk's end waits for the next."""
    loads = json.loads
    rest = b""
    number = 0
    for chunk in chunks:
        if not chunk:
            continue
        lines = (rest + chunk).split(b"\n") if rest else chunk.split(b"\n")
        rest = lines.pop()
        if len(rest) > LINE_LIMIT:
            raise DecodeError(f"row {number + len(lines) + 1} of the answer is longer than {LINE_LIMIT >> 20} MiB, "
                              "the most one row may take")
        try:
            rows = [loads(line) for line in lines if line and not line.isspace()]
        except ValueError as exc:
            raise _bad_line(lines, number, exc) from None
        number += len(lines)
        for row in rows:
            if type(row) is not dict:
                raise DecodeError(f"a row of the answer is a JSON {type(row).__name__}, not an object")
        yield rows
    if rest.strip():
        try:
            row = loads(rest)
        except ValueError as exc:
            raise _bad_line([rest], number, exc, unfinished=True) from None
        if type(row) is not dict:
            raise DecodeError(f"a row of the answer is a JSON {type(row).__name__}, not an object")
        yield [row]


def _bad_line(lines: list[bytes], before: int, exc: ValueError, unfinished: bool = False) -> DecodeError:
    """Which line did not parse (found again, one at a time, only once one has failed).
    ``unfinished``: the answer ended inside this line, without its newline."""
    for offset, line in enumerate(lines):
        if line and not line.isspace():
            try:
                json.loads(line)
            except ValueError as err:
                text = line[:120].decode("utf-8", "replace")
                what = "the answer was cut off inside it" if unfinished else "the line is not JSON"
                # Cut inside a row: a retry-safe query is asked again, as for a dropped connection.
                return DecodeError(f"line {before + offset + 1} of the answer: {what} ({err}): {text!r}",
                                   answer=text, cut_off=unfinished)
    return DecodeError(f"the answer is not JSON Lines ({exc})")


def rows_of(chunks: Iterable[bytes], limit: int | None) -> ResultList:
    """Every row of a JSON Lines answer in a list (``truncated`` says whether ``limit`` cut it)."""
    stream = JsonLines(chunks, limit=limit)
    result = ResultList(stream)
    result.truncated, result.limit = stream.truncated, limit
    return result


def json_rows(content: bytes, limit: int | None) -> ResultList:
    """The rows of a JSON answer (an array of objects)."""
    try:
        rows = json.loads(content) if content.strip() else []
    except (ValueError, RecursionError) as exc:
        raise DecodeError(f"the server's answer is not JSON ({exc})", answer=content[:200]) from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise DecodeError("the server's answer is not a JSON array of rows", answer=content[:200])
    result = ResultList(rows if limit is None else rows[:limit])
    result.truncated, result.limit = limit is not None and len(rows) > limit, limit
    return result
