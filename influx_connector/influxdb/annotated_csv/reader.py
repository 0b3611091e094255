"""The decoders' entry points: tables, rows, a row stream with a limit, and whole answers."""
from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator
from itertools import chain
from typing import Any

from influx_connector.influxdb.annotated_csv.csv_lines import (
    _CSV_LINE_ENDS,
    _OTHER_LINE_ENDS,
    _as_lines,
    _ChunkLines,
    _utf8,
)
from influx_connector.influxdb.annotated_csv.fast import _TEXT_CHUNK, _FastDecoder
from influx_connector.influxdb.annotated_csv.model import SHAPES, Table
from influx_connector.influxdb.annotated_csv.reference import _END, Event, _Decoder


def _events(source: Any, typed: bool, tables: bool) -> Iterator[Event]:
    """Decoder events for any accepted source: the fast path for whole texts and for
    :func:`lines_from_chunks`, the reference path for other line iterables (which it reads one
    line at a time, never ahead)."""
    if isinstance(source, (bytes, bytearray)):
        source = _utf8(source)
    if isinstance(source, str):
        chunks = (source[start : start + _TEXT_CHUNK] for start in range(0, len(source), _TEXT_CHUNK))
        return _FastDecoder(typed, tables).chunk_events(chunks)
    if type(source) is _ChunkLines:
        taken = source._take_chunks()
        if taken is not None:
            return _FastDecoder(typed, tables).chunk_events(taken)
    return _Decoder(typed).events(_as_lines(source))


def _reference_events(source: Any, typed: bool) -> Iterator[Event]:
    """The reference decoding (csv.reader, one cell at a time), whatever the source."""
    if isinstance(source, (bytes, bytearray)):
        source = _utf8(source)
    if type(source) is _ChunkLines:
        source = iter(source)
    return _Decoder(typed).events(_as_lines(source))


def iter_tables(lines: Iterable[str], *, typed: bool = False) -> Iterator[Table]:
    """Yield each table of an annotated CSV answer as soon as it is complete.

    ``lines`` may keep or drop their line terminators (``response.iter_lines()`` drops them,
    ``text.splitlines(keepends=True)`` keeps them); a whole ``str`` is accepted too. Tables
    before a mid-stream error table are yielded first; reaching the error raises ``APIError``.
    """
    yield from _tables(_events(lines, typed, True))


def _tables(events: Iterable[Event]) -> Iterator[Table]:
    current: Table | None = None
    for event in events:
        kind = type(event)
        if kind is list:
            current.rows.extend(event)  # type: ignore[union-attr]
        elif kind is dict:
            current.rows.append(event)  # type: ignore[union-attr]
        elif event is _END:
            yield current  # type: ignore[misc]
            current = None
        else:
            current = event


def iter_rows(lines: Iterable[str], typed: bool = False) -> Iterator[dict[str, Any]]:
    """Yield every row of every table, one at a time, each with ``result`` and ``table``."""
    return chain.from_iterable(_row_batches(_events(lines, typed, False)))


def _row_batches(events: Iterable[Event]) -> Iterator[list[dict[str, Any]]]:
    """Lists of rows (the fast path's batches, the reference path's single rows wrapped):
    flattened by chain.from_iterable, rows then come out without a Python frame per row."""
    for event in events:
        kind = type(event)
        if kind is list:
            yield event
        elif kind is dict:
            yield [event]


class RowStream:
    """The rows of an answer, one at a time and in bounded memory, cut at an optional limit.

    Iterate it like :func:`iter_rows`. With ``limit=N`` at most N rows come out, and
    ``truncated`` tells whether the answer held more: it is ``True`` as soon as a row beyond the
    limit has been seen, and final once iteration has stopped (the stream reads ahead at most
    to the next row to find out). A cut is therefore never silent: a host shows "first N rows"
    when ``truncated`` is set. Errors in the answer (a mid-stream error table, a malformed row)
    raise while iterating, as with :func:`iter_rows`.

    ``on_close`` (e.g. ``response.close``) is called once, when the rows run out, when the
    limit is reached, or by :meth:`close` (also on leaving a ``with`` block).
    """

    def __init__(self, source: Any, *, typed: bool = False, limit: int | None = None,
                 on_close: Callable[[], Any] | None = None):
        if limit is not None and (type(limit) is not int or limit < 0):
            raise ValueError(f"limit must be a non-negative integer or None, not {limit!r}")
        self.limit = limit
        self.truncated = False
        self._on_close = on_close
        self._closed = False
        self._batches = self._limited(_row_batches(_events(source, typed, False)))
        self._rows = chain.from_iterable(self._batches)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self._rows

    def __next__(self) -> dict[str, Any]:
        return next(self._rows)

    def batches(self) -> Iterator[list[dict[str, Any]]]:
        """The rows as the decoder makes them, a list at a time (a chunk's worth), under the
        same limit; for a reader that takes them so, instead of iterating the rows."""
        return self._batches

    def __enter__(self) -> RowStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._batches.close()
        self._release()

    def _release(self) -> None:
        if not self._closed:
            self._closed = True
            if self._on_close is not None:
                self._on_close()

    def _limited(self, batches: Iterator[list[dict[str, Any]]]) -> Generator[list[dict[str, Any]], None, None]:
        left = self.limit
        try:
            if left is None:
                yield from batches
                return
            for batch in batches:
                if len(batch) > left:
                    self.truncated = True  # a row beyond the limit exists
                    if left:
                        yield batch[:left]
                    return
                left -= len(batch)
                yield batch
        finally:
            self._release()


class ResultList(list[Any]):
    """A decoded answer cut at a row limit: a plain list that also says whether it was cut."""

    truncated: bool = False
    limit: int | None = None


def table_to_dict(table: Table) -> dict[str, Any]:
    """The ``shape="tables"`` form of a table: plain dicts and lists only."""
    return {
        "result": table.result,
        "table": table.table,
        "group_key": table.group_key,
        "columns": [
            {"name": c.name, "datatype": c.datatype, "group": c.group, "default": c.default}
            for c in table.columns
        ],
        "rows": table.rows,
    }


def _join_lines(lines: Iterable[str]) -> str:
    """Rebuild the text from lines, adding a newline where a caller's line lost its own."""
    pieces = list(lines)
    out: list[str] = []
    for index, piece in enumerate(pieces):
        out.append(piece)
        last = index == len(pieces) - 1
        if not last and not piece.endswith(_CSV_LINE_ENDS + _OTHER_LINE_ENDS):
            out.append("\n")
    return "".join(out)


def _limited_tables(events: Iterator[Event], limit: int) -> tuple[list[Table], bool]:
    """Tables holding at most ``limit`` rows in all; True when anything was left out."""
    tables: list[Table] = []
    current: Table | None = None
    left = limit
    for event in events:
        kind = type(event)
        if kind is list or kind is dict:
            rows = event if kind is list else [event]
            if len(rows) > left:
                current.rows.extend(rows[:left])  # type: ignore[union-attr]
                if current.rows:  # type: ignore[union-attr]
                    tables.append(current)  # type: ignore[arg-type]
                return tables, True
            current.rows.extend(rows)  # type: ignore[union-attr]
            left -= len(rows)
        elif event is _END:
            tables.append(current)  # type: ignore[arg-type]
            current = None
        elif left == 0:
            return tables, True  # a further table, even an empty one, is left out
        else:
            current = event
    return tables, False


def decode(source: str | Iterable[str], shape: str = "rows", typed: bool = False,
           limit: int | None = None) -> Any:
    """Decode a whole annotated CSV answer.

    ``shape="rows"``: a list of row dicts. ``shape="tables"``: a list of table dicts with
    ``result``, ``table``, ``group_key``, ``columns`` and ``rows``. ``shape="csv"``: the text
    itself, unchanged. ``typed=False`` gives JSON-ready values, ``typed=True`` Python objects.

    ``limit`` keeps at most that many rows (for ``tables``, in all; the last table may be cut)
    and returns a :class:`ResultList` whose ``truncated`` says whether anything was left out.
    It does not apply to ``shape="csv"``.
    """
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}: use one of {', '.join(SHAPES)}")
    if shape == "csv":
        return source if isinstance(source, str) else _join_lines(source)
    if limit is not None:
        if type(limit) is not int or limit < 0:
            raise ValueError(f"limit must be a non-negative integer or None, not {limit!r}")
        if shape == "rows":
            stream = RowStream(source, typed=typed, limit=limit)
            result = ResultList(stream)
            result.truncated = stream.truncated
        else:
            tables, truncated = _limited_tables(_events(source, typed, True), limit)
            result = ResultList(table_to_dict(table) for table in tables)
            result.truncated = truncated
        result.limit = limit
        return result
    if shape == "rows":
        rows: list[dict[str, Any]] = []
        for event in _events(source, typed, False):
            kind = type(event)
            if kind is list:
                rows.extend(event)
            elif kind is dict:
                rows.append(event)
        return rows
    return [table_to_dict(table) for table in _tables(_events(source, typed, True))]
