"""The fast path: whole spans of data lines cut into columns and converted a column at a time."""
from __future__ import annotations

import csv
import io
import math
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from functools import lru_cache
from typing import Any

from influx_connector.errors import DecodeError
from influx_connector.influxdb.annotated_csv.csv_lines import _line_breaks_as_written, _Utf8
from influx_connector.influxdb.annotated_csv.reference import _NO_PLAN, Event, _Block, _Decoder
from influx_connector.influxdb.annotated_csv.values import (
    _BOOLEANS,
    _INT64_LIMIT,
    _INT64_MIN,
    _UINT64_LIMIT,
    Converter,
    _parse_duration_ns,
    _same,
    _to_boolean,
    _to_datetime_json,
    _to_datetime_typed,
    _to_double,
    _to_double_json,
    _to_long,
    _to_unsigned_long,
)
from influx_connector.influxdb.csv_records import CELL_LIMIT, RECORD_LIMIT, Records, too_large

# The reference path (``reference``) turns every record into a list of cells with csv.reader, then every
# cell into a value, one at a time. Most of an answer is long runs of data lines without a
# single quote. For those the fast path works on a whole span of text at once:
#
#  - one str.split(",") cuts a span of lines into cells ("\n" becomes ",\n," first, so every
#    line ends in a marker cell and the widths can be checked by slicing), and slicing with a
#    stride turns the cells into columns;
#  - each column is converted by a vectorised converter that checks the whole column once
#    (e.g. "all ASCII digits") and then maps a C-level conversion (int, float) over it; a
#    column holding one repeated value is converted once;
#  - rows are built by a function generated for the block's column names, a list
#    comprehension over zip(*columns) with a dict display (presized, no per-row call).
#
# Anything the fast path does not handle goes through the reference code, record by record:
# annotation and header rows, blank lines, blocks without result/table columns, error tables,
# records with a quote (fed to csv.reader, which may pull further lines for a quoted line break),
# and every span where a vectorised check fails, so errors keep their exact wording and line
# numbers. Text with a lone \r (a line break to CSV) or a NUL is decoded by the reference path
# from that point on.


_UTC_PATTERN: Any = None


def _utc_column() -> Any:
    """A regex matching ``,``-joined timestamps already in the server's canonical UTC form
    (``YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z``) with a real calendar date, compiled on first use."""
    global _UTC_PATTERN
    if _UTC_PATTERN is None:
        import re

        month_day = (r"(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
                     r"|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)")
        leap_day = r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29"
        stamp = (rf"(?!0000)(?:[0-9]{{4}}-{month_day}|{leap_day})"
                 r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?Z")
        _UTC_PATTERN = re.compile(rf"(?:{stamp},)*{stamp}")
    return _UTC_PATTERN


_INT_CHARS = str.maketrans("", "", "0123456789+-")
_PY311 = sys.version_info >= (3, 11)


def _plain_ascii(joined: str) -> bool:
    """No cell of the joined column has whitespace, '_' or non-ASCII (what Go never writes)."""
    return joined.isascii() and joined.isprintable() and " " not in joined and "_" not in joined


def _ints(col: list[str], low: int, high: int) -> list[int] | None:
    joined = "".join(col)
    if not (joined.isascii() and joined.isdigit()) and (not joined.isascii() or joined.translate(_INT_CHARS)):
        return None
    values = list(map(int, col))
    if min(values) < low or max(values) >= high:
        return None
    return values


def _vec_long(col: list[str]) -> list[int] | None:
    return _ints(col, _INT64_MIN, _INT64_LIMIT)


def _vec_unsigned_long(col: list[str]) -> list[int] | None:
    return _ints(col, 0, _UINT64_LIMIT)


def _vec_double(col: list[str]) -> list[float] | None:
    if not _plain_ascii("".join(col)):
        return None
    return list(map(float, col))


def _vec_double_json(col: list[str]) -> list[float] | None:
    values = _vec_double(col)
    # A sum is finite only if every term is (an overflowing sum just takes the slow way).
    if values is None or not math.isfinite(sum(values)):
        return None
    return values


def _vec_boolean(col: list[str]) -> list[bool] | None:
    try:
        return list(map(_BOOLEANS.__getitem__, col))
    except KeyError:
        return None


def _repeating(col: list[str]) -> bool:
    """Few distinct values (_start, _stop): worth converting each distinct value once."""
    return len(col) >= 16 and len(set(col[:16])) <= 4


def _vec_datetime_json(col: list[str]) -> list[Any] | None:
    if _repeating(col):
        converted = {text: _to_datetime_json(text) for text in set(col)}
        if all(key is value for key, value in converted.items()):
            return col
        return list(map(converted.__getitem__, col))
    if _utc_column().fullmatch(",".join(col)):
        return col  # canonical UTC already: the JSON value is the text itself
    return None


def _vec_datetime_typed(col: list[str]) -> list[Any] | None:
    if _repeating(col):
        converted = {text: _to_datetime_typed(text) for text in set(col)}
        return list(map(converted.__getitem__, col))
    if _PY311 and _utc_column().fullmatch(",".join(col)):
        # Validated first; fromisoformat then truncates past microseconds, like the reference.
        return list(map(datetime.fromisoformat, col))
    return None


def _vec_duration(col: list[str]) -> list[int] | None:
    joined = "".join(col)
    if joined.isascii() and joined.isdigit():
        return list(map(int, col))
    return None


def _vec_same(col: list[str]) -> list[str]:
    return col


_VECTORS: dict[Converter, Callable[[list[str]], list[Any] | None]] = {
    _same: _vec_same,
    _to_long: _vec_long,
    _to_unsigned_long: _vec_unsigned_long,
    _to_double: _vec_double,
    _to_double_json: _vec_double_json,
    _to_boolean: _vec_boolean,
    _to_datetime_json: _vec_datetime_json,
    _to_datetime_typed: _vec_datetime_typed,
    _parse_duration_ns: _vec_duration,
}


def _convert_column(convert: Converter, default: Any, col: list[str]) -> list[Any] | tuple[Any]:
    """The values of one column, equal to ``convert(cell) if cell else default`` for each cell;
    a 1-tuple holding the value when every cell is the same."""
    first = col[0]
    if col[-1] == first and col.count(first) == len(col):
        return (convert(first) if first else default,)
    if "" in col:
        return [convert(cell) if cell else default for cell in col]
    vector = _VECTORS.get(convert)
    values = vector(col) if vector is not None else None
    if values is None:
        return list(map(convert, col))
    return values


@lru_cache(maxsize=256)
def _row_builder(names: tuple[str, ...]) -> Callable[[list[Any]], list[dict[str, Any]]]:
    """``build(columns)``: one dict per row, keys in header order, via a generated dict display."""
    args = "".join(f"c{index}, " for index in range(len(names)))
    items = ", ".join(f"{name!r}: c{index}" for index, name in enumerate(names))
    namespace: dict[str, Any] = {}
    exec(f"def build(columns):\n    return [{{{items}}} for {args}in zip(*columns)]\n", namespace)
    return namespace["build"]


@lru_cache(maxsize=256)
def _copy_builder(names: tuple[str, ...], varying: tuple[int, ...]) -> Callable[..., list[dict[str, Any]]]:
    """``build(template, *columns)``: one copy of ``template`` (every key, in header order, the
    values that are the same on every row) per row, with the ``varying`` columns stored into it.
    Copying a dict clones its table in one go: about twice as fast as a dict display when most
    columns repeat, as a table's group key, result, table, _start and _stop do."""
    args = [f"c{index}" for index in range(len(varying))]
    targets = "".join(f"{arg}, " for arg in args)
    stores = "".join(f"        row[{names[column]!r}] = {arg}\n" for arg, column in zip(args, varying))
    loop = f"    for {targets}in zip({', '.join(args)}):\n" if args else "    for _ in range(count):\n"
    source = (f"def build(template, count, {', '.join(args)}):\n"
              "    copy = template.copy\n    rows = []\n    append = rows.append\n"
              f"{loop}        row = copy()\n{stores}        append(row)\n    return rows\n")
    namespace: dict[str, Any] = {}
    exec(source, namespace)
    return namespace["build"]


class _Plan:
    """How the fast path converts a block's data rows (None when it does not handle the block)."""

    __slots__ = ("columns", "result_index", "table_index", "build", "names")

    def __init__(self, block: _Block):
        self.columns = list(zip(block.converters, block.defaults))
        self.result_index = block.names.index("result")
        self.table_index = block.names.index("table")
        convert, default = self.columns[self.result_index]
        self.columns[self.result_index] = (convert, "" if default is None else default)
        convert, default = self.columns[self.table_index]
        self.columns[self.table_index] = (convert, default if type(default) is int else 0)
        self.names = tuple(block.names)
        self.build = _row_builder(self.names)

    @staticmethod
    def of(block: _Block) -> _Plan | None:
        if block.is_error or not (block.has_result and block.has_table):
            return None
        if block.converters[block.names.index("result")] is not _same:
            return None
        if block.converters[block.names.index("table")] is not _to_long:
            return None
        return _Plan(block)


class _Source:
    """The text of a stream as lists of lines, one list per body of complete lines.

    A *clean* body (no quote, no NUL, and no line break but ``\\n`` and ``\\r\\n``) is cut with
    str.splitlines(), which drops the terminators; every other body with
    ``StringIO(newline="")``, which keeps them and breaks lines exactly where CSV does. The
    main loop and csv.reader (through :meth:`feed`, for records with a quote) both take lines
    from here, so they always agree on where the next record starts and on line numbers.

    A line still incomplete is kept as a list of pieces and searched only in each new piece,
    so a line of any length costs time in proportion to it; it may hold at most RECORD_LIMIT
    characters. A line holding a cell over CELL_LIMIT outside quotes (where csv.reader, which
    checks the quoted ones, never sees it) ends the body before it: reaching it raises.
    """

    def __init__(self, chunks: Iterable[str | bytes]):
        self.chunks = iter(chunks)
        self.decoder = _Utf8()
        self.lines: list[str] = []
        self.index = 0
        self.clean = True
        self.read = 0  # lines consumed so far
        self.pending: list[str] = []  # the pieces of the line not complete yet
        self.pending_size = 0
        self.first = True
        self.ended = False
        self.oversized = 0  # the number of a line holding a cell over the limit, once found

    def load(self, exact: bool = False) -> bool:
        """Make the next complete lines current; False at the end of the stream. ``exact``
        keeps the terminators whatever the body holds (csv.reader is inside a record)."""
        if self.oversized:
            raise DecodeError(f"line {self.oversized}: {too_large('a cell', CELL_LIMIT)}")
        while not self.ended:
            try:
                chunk = next(self.chunks)
            except StopIteration:
                self.ended = True
                self.pending.append(self.decoder.decode(b"", final=True))
                text = "".join(self.pending)
                self.pending = []
                if text:
                    self._set(text, exact)
                    return True
                return False
            text = chunk if type(chunk) is str else self.decoder.decode(chunk)  # type: ignore[arg-type]  # bytes
            if not text:
                continue
            if self.first:
                self.first = False
                if text[0] == "\ufeff":
                    text = text[1:]
            # Lines up to the last \n are complete; a \r at the very end may be half of a \r\n,
            # but one with something after it ends a line (CSV's lone \r).
            cut = text.rfind("\n") + 1 or text.rfind("\r", 0, len(text) - 1) + 1
            if not cut:
                self.pending.append(text)
                self.pending_size += len(text)
                if self.pending_size > RECORD_LIMIT:
                    raise DecodeError(f"line {self.read + 1}: {too_large('a line', RECORD_LIMIT)}")
                continue
            body = text[:cut] if cut < len(text) else text
            if self.pending:
                self.pending.append(body)
                body = "".join(self.pending)
            self.pending = [text[cut:]] if cut < len(text) else []
            self.pending_size = len(text) - cut
            self._set(body, exact)
            return True
        return False

    def _set(self, body: str, exact: bool) -> None:
        self.index = 0
        if not exact and '"' not in body and "\0" not in body:
            lines = body.splitlines()
            # splitlines() also breaks at a lone \r (as CSV does) and at \x0b, \x85, \u2028...
            # (which CSV does not): with neither, there is one line per \n.
            if len(lines) == body.count("\n") + (body[-1] != "\n"):
                self.lines = lines
                self.clean = True
                if len(body) > CELL_LIMIT:
                    self._guard()
                return
        self.lines = io.StringIO(body, newline="").readlines()
        self.clean = False
        if len(body) > CELL_LIMIT:
            self._guard()

    def _guard(self) -> None:
        """Stop the lines before the first one with a cell over the limit outside quotes."""
        for index, line in enumerate(self.lines):
            if len(line) > CELL_LIMIT and '"' not in line and max(map(len, line.split(","))) > CELL_LIMIT:
                self.oversized = self.read + index + 1
                del self.lines[index:]
                return

    def feed(self) -> Iterator[str]:
        """Lines with their terminators, for csv.reader (only ever called on a line of a body
        that is not clean; a record it has to continue is read from exact bodies)."""
        while True:
            if self.index >= len(self.lines) and not self.load(exact=True):
                return
            line = self.lines[self.index]
            self.index += 1
            self.read += 1
            yield line


_SPAN_LINES = 2048  # data lines converted at once
_TEXT_CHUNK = 64 * 1024  # a whole text is read in pieces of this size, bounding memory


class _FastDecoder(_Decoder):
    """The reference state machine, fed whole spans of data lines where it can be.

    Events are those of :class:`_Decoder`, plus lists of row dicts (several rows of the current
    table at once). With ``tables=False`` table boundaries inside spans are not tracked: only
    the rows matter.
    """

    def __init__(self, typed: bool, tables: bool = True):
        super().__init__(typed)
        self.tables = tables

    @staticmethod
    def _plan(block: _Block) -> _Plan | None:
        plan = block.plan
        if plan is _NO_PLAN:
            plan = block.plan = _Plan.of(block)
        return plan

    def chunk_events(self, chunks: Iterable[str | bytes]) -> Iterator[Event]:
        src = _Source(chunks)
        reader = Records(src.feed())
        record = self._record
        while True:
            lines = src.lines
            index = src.index
            if index >= len(lines):
                if not src.load():
                    break
                continue
            line = lines[index]
            clean = src.clean
            if not clean:
                if '"' in line or "\0" in line:
                    start = src.read + 1  # a quoted cell may span lines: report where it starts
                    try:
                        cells = next(reader)
                    except StopIteration:
                        break
                    except csv.Error as exc:
                        raise DecodeError(f"line {src.read}: malformed CSV: {exc}") from None
                    if src.read > start:
                        cells = _line_breaks_as_written(cells)
                    yield from record(cells, start)
                    continue
                line = line.rstrip("\r\n")
            block = self.block
            plan = None if block is None or self.blank_pending else self._plan(block)
            if plan is None or not line or (line[0] == "#" and block.offset == 1):  # type: ignore[union-attr]
                src.index = index + 1
                src.read += 1
                yield from record(line.split(",") if line else [], src.read)
                continue
            first_line = src.read + 1
            annotated = block.offset == 1  # type: ignore[union-attr]
            rows = None
            if clean:
                stop = min(len(lines), index + _SPAN_LINES)
                if annotated:
                    # Optimistic: a blank line would break the widths (an annotated block is at
                    # least two cells wide) and an annotation row would show in the first column.
                    span = lines[index:stop]
                    rows = self._convert_span(block, plan, span, check_first=True)  # type: ignore[arg-type]
                if rows is None:
                    span = self._data_lines(lines, index, stop, annotated)
            else:
                span = self._dirty_data_lines(lines, index, annotated)
            if rows is None and len(span) > 1:
                rows = self._convert_span(block, plan, span, check_first=False)  # type: ignore[arg-type]
            src.index = index + len(span)
            src.read += len(span)
            if rows is None:
                for number, text in enumerate(span, start=first_line):
                    yield from record(text.split(","), number)  # exact errors, exact line numbers
                continue
            block.rows_seen = True  # type: ignore[union-attr]
            if self.tables:
                yield from self._split_tables(block, rows)  # type: ignore[arg-type]
            else:
                yield rows
        yield from self._end_block()

    @staticmethod
    def _data_lines(lines: list[str], index: int, stop: int, annotated: bool) -> list[str]:
        """The data lines from ``index``: up to a blank line or, in an annotated block, an
        annotation row (either starts a new record for the state machine)."""
        try:
            stop = lines.index("", index, stop)
        except ValueError:
            pass
        if annotated:
            for end in range(index, stop):
                if lines[end][0] == "#":
                    return lines[index:end]
        return lines[index:stop]

    @staticmethod
    def _dirty_data_lines(lines: list[str], index: int, annotated: bool) -> list[str]:
        """Data lines of a body that is not clean, terminators dropped, up to the next line
        that needs csv.reader or the state machine."""
        span: list[str] = []
        for end in range(index, min(len(lines), index + _SPAN_LINES)):
            line = lines[end]
            if '"' in line or "\0" in line:
                break
            line = line.rstrip("\r\n")
            if not line or (annotated and line[0] == "#"):
                break
            span.append(line)
        return span

    @staticmethod
    def _convert_span(block: _Block, plan: _Plan, span: list[str], check_first: bool) -> list[dict[str, Any]] | None:
        """Rows for a span of data lines (no terminators, no quotes), or None when a line has
        the wrong width, a cell does not convert, or (``check_first``) a line's first cell is
        not empty (it might be an annotation row or a blank line)."""
        width = block.width
        stride = width + 1
        cells = ",\n,".join(span).split(",")
        count = len(span)
        # Every line has exactly `width` cells iff the marker cells sit every `stride` cells.
        if len(cells) != count * stride - 1 or cells[width::stride].count("\n") != count - 1:
            return None
        if check_first and "".join(cells[0::stride]):
            return None
        columns: list[Any] = []
        varying: list[int] = []
        try:
            for index, (convert, default) in enumerate(plan.columns):
                values = _convert_column(convert, default, cells[index + block.offset :: stride])
                if type(values) is not tuple:
                    varying.append(index)
                columns.append(values)
        except (ValueError, OverflowError):
            return None  # the reference path names the cell at fault
        if 2 * len(varying) <= len(columns):
            template = dict(zip(block.names, [values[0] for values in columns]))
            build = _copy_builder(plan.names, tuple(varying))
            return build(template, count, *[columns[index] for index in varying])
        return plan.build([values * count if type(values) is tuple else values for values in columns])

    def _split_tables(self, block: _Block, rows: list[dict[str, Any]]) -> Iterator[Event]:
        first = rows[0]
        last = rows[-1]
        if first["table"] == last["table"] and first["result"] == last["result"]:
            tables = [row["table"] for row in rows]
            results = [row["result"] for row in rows]
            if tables.count(tables[0]) == len(rows) and results.count(results[0]) == len(rows):
                yield from self._table_rows(block, rows)
                return
        start = 0
        key = (first["result"], first["table"])
        for index, row in enumerate(rows):
            here = (row["result"], row["table"])
            if here != key:
                yield from self._table_rows(block, rows[start:index])
                start, key = index, here
        yield from self._table_rows(block, rows[start:])

    def _table_rows(self, block: _Block, rows: list[dict[str, Any]]) -> Iterator[Event]:
        row = rows[0]
        result, table_id = str(row["result"]), row["table"]
        current = self.current
        if current is None or current.table != table_id or current.result != result:
            yield from self._new_table(block, row, result, table_id)
        yield rows

