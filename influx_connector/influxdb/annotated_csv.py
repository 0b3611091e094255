"""Decoder for the annotated CSV that InfluxDB's ``POST /api/v2/query`` answers with.

The layout (see the contract notes, section 5) is a sequence of *blocks*. A block is a few
annotation rows (``#datatype``, ``#group``, ``#default``), one header row and then data rows;
an empty line ends it. Column 0 is the annotation column: it names the annotation on annotation
rows and is empty everywhere else. Several tables of the same schema share one block and are
told apart by the ``table`` column; a schema change or a new result starts a new block.

Everything here streams: at most one table (``iter_tables``) or one span of lines
(``iter_rows``, :class:`RowStream`) is held in memory, so a large query answer never has to fit
in RAM as text. :class:`RowStream` also takes a row limit and says when it cut the answer.

Two paths decode, with equal results. The reference path reads a caller's iterable of lines
one line at a time with csv.reader and converts one cell at a time. The fast path (a whole
``str``/``bytes``, or :func:`lines_from_chunks` handed over untouched, as the plugin does) cuts
whole spans of data lines into columns and converts a column at a time; whatever it does not
handle it passes to the reference code, record by record (see "the fast path" below).

Two value modes exist. The default, JSON-ready mode, produces only plain JSON values (times
stay RFC3339 strings, non-finite floats become ``"NaN"``/``"+Inf"``/``"-Inf"``, binary stays
base64) so that a result can be handed to ``json.dumps(..., allow_nan=False)`` unchanged.
The typed mode produces Python objects (aware ``datetime``, ``float('nan')``, ``bytes``).
"""
from __future__ import annotations

import base64
import codecs
import csv
import io
import math
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Iterator

from influx_connector.errors import APIError, DecodeError

from .csv_records import CELL_LIMIT, RECORD_LIMIT, Records, too_large

__all__ = [
    "Column",
    "Table",
    "decode",
    "iter_rows",
    "iter_tables",
    "RowStream",
    "ResultList",
    "lines_from_chunks",
    "parse_rfc3339_ns",
]

# An InfluxDB string field can be larger than csv.field_size_limit()'s 128 KiB (the storage
# engine accepts up to 1 MiB): cells are read by csv_records.Records, which allows CELL_LIMIT
# (64 Mi characters) on every path without touching the process-wide csv setting, and a line or
# record at most RECORD_LIMIT (128 Mi), so a stream read a row at a time is bounded per row.

SHAPES = ("rows", "tables", "csv")


@dataclass(frozen=True)
class Column:
    """One column of a table, as the annotations describe it.

    ``default`` is the raw ``#default`` text, or ``None`` when the annotation is absent or empty.
    """

    name: str
    datatype: str
    group: bool
    default: str | None


@dataclass
class Table:
    """One table of a query result: its schema, its group key and its rows.

    Each row is a dict keyed by column name and includes ``result`` and ``table``.
    """

    result: str
    table: int
    columns: list[Column]
    group_key: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)


# --- value conversion -----------------------------------------------------------------------


class _Invalid(ValueError):
    """A cell failed to convert for a reason worth naming beyond 'invalid literal'."""


_INT64_MIN = -(2**63)
_INT64_LIMIT = 2**63
_UINT64_LIMIT = 2**64
_NS_PER_SECOND = 1_000_000_000
_UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _require_plain_number(text: str) -> None:
    """Reject forms Python's int()/float() accept but Go never writes: '1_000', ' 5', '٣'."""
    if not text.isascii() or "_" in text or text != text.strip():
        raise ValueError(text)


def _to_long(text: str) -> int:
    _require_plain_number(text)
    value = int(text)
    if not _INT64_MIN <= value < _INT64_LIMIT:
        raise _Invalid("out of range for a 64-bit signed integer")
    return value


def _to_unsigned_long(text: str) -> int:
    _require_plain_number(text)
    value = int(text)
    if not 0 <= value < _UINT64_LIMIT:
        raise _Invalid("out of range for a 64-bit unsigned integer")
    return value


def _to_double(text: str) -> float:
    # float() already reads Go's 'NaN', '+Inf', '-Inf' (and 'Inf'), case-insensitively.
    _require_plain_number(text)
    return float(text)


def _to_double_json(text: str) -> float | str:
    value = _to_double(text)
    if math.isfinite(value):
        return value
    # JSON has no NaN or Infinity; keep the spelling the server uses.
    if value != value:
        return "NaN"
    return "+Inf" if value > 0 else "-Inf"


# Go's strconv.ParseBool spellings; the server itself only writes 'true' and 'false'.
_BOOLEANS = {
    "true": True, "True": True, "TRUE": True, "t": True, "T": True, "1": True,
    "false": False, "False": False, "FALSE": False, "f": False, "F": False, "0": False,
}


def _to_boolean(text: str) -> bool:
    value = _BOOLEANS.get(text)
    if value is None:
        raise ValueError(text)
    return value


def _same(text: str) -> str:
    return text


def _split_rfc3339(text: str) -> tuple[int, str]:
    """Parse ``YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±hh:mm)`` into (UTC epoch seconds, fraction digits).

    Pure integer arithmetic, so no precision is lost to floats; the fraction is kept as the
    digits given so callers can scale it exactly.
    """
    if (
        len(text) < 19
        or text[4] != "-"
        or text[7] != "-"
        or text[10] not in "Tt"
        or text[13] != ":"
        or text[16] != ":"
    ):
        raise _Invalid("not an RFC3339 timestamp")
    # One validity check for all 14 date and time digits, then plain int() on each part.
    digits = text[0:4] + text[5:7] + text[8:10] + text[11:13] + text[14:16] + text[17:19]
    if not (digits.isascii() and digits.isdigit()):
        raise _Invalid("not an RFC3339 timestamp")
    year = int(digits[0:4])
    month = int(digits[4:6])
    day = int(digits[6:8])
    hour = int(digits[8:10])
    minute = int(digits[10:12])
    second = int(digits[12:14])
    pos = 19
    fraction = ""
    if text[pos : pos + 1] == ".":
        end = pos + 1
        while end < len(text) and "0" <= text[end] <= "9":
            end += 1
        fraction = text[pos + 1 : end]
        if not 1 <= len(fraction) <= 9:
            raise _Invalid("fractional seconds must have 1 to 9 digits")
        pos = end
    zone = text[pos:]
    if zone in ("Z", "z"):
        offset = 0
    elif len(zone) == 6 and zone[0] in "+-" and zone[3] == ":":
        zone_digits = zone[1:3] + zone[4:6]
        if not (zone_digits.isascii() and zone_digits.isdigit()):
            raise _Invalid("malformed time zone offset")
        zone_hours = int(zone_digits[:2])
        zone_minutes = int(zone_digits[2:])
        if zone_hours > 23 or zone_minutes > 59:
            raise _Invalid("time zone offset out of range")
        offset = (zone_hours * 60 + zone_minutes) * 60
        if zone[0] == "-":
            offset = -offset
    else:
        raise _Invalid("needs a time zone: 'Z' or '±hh:mm'")
    if hour > 23 or minute > 59 or second > 59:
        raise _Invalid("time of day out of range")
    try:
        days = date(year, month, day).toordinal() - _EPOCH_ORDINAL
    except ValueError:
        raise _Invalid("no such date") from None
    return days * 86400 + hour * 3600 + minute * 60 + second - offset, fraction


def parse_rfc3339_ns(text: str) -> int:
    """Exact Unix epoch nanoseconds for an RFC3339 timestamp (0-9 fractional digits, any offset).

    Raises ``ValueError`` when ``text`` is not such a timestamp.
    """
    seconds, fraction = _split_rfc3339(text)
    nanos = int(fraction.ljust(9, "0")) if fraction else 0
    return seconds * _NS_PER_SECOND + nanos


def _format_utc(seconds: int, fraction: str) -> str:
    days, rest = divmod(seconds, 86400)
    try:
        day = date.fromordinal(days + _EPOCH_ORDINAL)
    except (ValueError, OverflowError):
        raise _Invalid("outside the years 0001-9999 once converted to UTC") from None
    hour, rest = divmod(rest, 3600)
    minute, second = divmod(rest, 60)
    dot = "." + fraction if fraction else ""
    return (
        f"{day.year:04d}-{day.month:02d}-{day.day:02d}"
        f"T{hour:02d}:{minute:02d}:{second:02d}{dot}Z"
    )


# Every row of a table repeats its _start and _stop: remembering recent answers skips most of
# the parsing. Both results are immutable, so sharing them between rows is safe.
@lru_cache(maxsize=4096)
def _to_datetime_json(text: str) -> str:
    seconds, fraction = _split_rfc3339(text)
    if text[10] == "T" and text[-1] == "Z":
        return text  # already canonical UTC: the server's usual form, returned untouched
    return _format_utc(seconds, fraction)


@lru_cache(maxsize=4096)
def _to_datetime_typed(text: str) -> datetime:
    seconds, fraction = _split_rfc3339(text)
    # datetime stops at microseconds; the extra digits are truncated, not rounded, so a time
    # never moves past the nanosecond it came from. parse_rfc3339_ns keeps them all.
    micros = int(fraction[:6].ljust(6, "0")) if fraction else 0
    return _EPOCH + timedelta(seconds=seconds, microseconds=micros)


_NS_PER_UNIT = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # micro sign
    "\u03bcs": 1_000,  # Greek small mu, which some keyboards produce instead
    "ms": 1_000_000,
    "s": _NS_PER_SECOND,
    "m": 60 * _NS_PER_SECOND,
    "h": 3600 * _NS_PER_SECOND,
    "d": 86400 * _NS_PER_SECOND,
    "w": 7 * 86400 * _NS_PER_SECOND,
}


def _parse_duration_ns(text: str) -> int:
    """Nanoseconds for a plain integer or a Flux duration literal such as ``1h30m`` or ``-5s``."""
    sign = 1
    body = text
    if body[:1] in ("-", "+"):
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if not body:
        raise ValueError(text)
    if body.isascii() and body.isdigit():
        return sign * int(body)
    total = 0
    pos = 0
    while pos < len(body):
        start = pos
        while pos < len(body) and "0" <= body[pos] <= "9":
            pos += 1
        if pos == start:
            raise _Invalid("expected a number before each unit")
        amount = int(body[start:pos])
        start = pos
        while pos < len(body) and not "0" <= body[pos] <= "9":
            pos += 1
        unit = body[start:pos]
        factor = _NS_PER_UNIT.get(unit)
        if factor is None:
            if unit in ("mo", "y"):
                raise _Invalid(f"unit '{unit}' has no fixed length in nanoseconds")
            raise _Invalid(f"unknown duration unit {unit!r}" if unit else "missing unit")
        total += amount * factor
    return sign * total


def _to_bytes(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _to_base64_json(text: str) -> str:
    _to_bytes(text)  # validate only: JSON output keeps the text the server sent
    return text


Converter = Callable[[str], Any]

_DATETIME_TYPES = ("dateTime", "dateTime:RFC3339", "dateTime:RFC3339Nano")

# Built once; a block looks each column's converter up once, never per cell.
_JSON_CONVERTERS: dict[str, Converter] = {
    "long": _to_long,
    "unsignedLong": _to_unsigned_long,
    "double": _to_double_json,
    "boolean": _to_boolean,
    "string": _same,
    "dateTime:number": _to_long,
    "duration": _parse_duration_ns,
    "base64Binary": _to_base64_json,
    **{name: _to_datetime_json for name in _DATETIME_TYPES},
}
_TYPED_CONVERTERS: dict[str, Converter] = {
    **_JSON_CONVERTERS,
    "double": _to_double,
    "base64Binary": _to_bytes,
    **{name: _to_datetime_typed for name in _DATETIME_TYPES},
}


def _converter(datatype: str, typed: bool) -> Converter:
    table = _TYPED_CONVERTERS if typed else _JSON_CONVERTERS
    return table.get(datatype, _same)  # unknown datatypes keep their text


# --- reading lines --------------------------------------------------------------------------

def _line_breaks_as_written(cells: list[str]) -> list[str]:
    """The cells of a record that spans lines, with line breaks as the server was given them.

    InfluxDB writes its CSV with Go's encoding/csv and CRLF line ends (``UseCRLF``): inside a
    quoted cell that writer turns each LF into CRLF and drops every CR (a lone CR and the CR of
    a CRLF alike). So a CRLF in a cell was written as LF, and is read back as one; a CR never
    reaches the client, and any other line break (from another writer) is kept as it is.
    """
    return [cell.replace("\r\n", "\n") if "\r\n" in cell else cell for cell in cells]


_CSV_LINE_ENDS = ("\n", "\r")
# str.splitlines() also breaks at these, but to CSV they are ordinary characters inside a cell.
_OTHER_LINE_ENDS = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


def _not_utf8(exc: UnicodeDecodeError, offset: int = 0) -> DecodeError:
    where = f" at byte {offset + exc.start:,}" if offset >= 0 else ""
    return DecodeError(f"the answer is not UTF-8 text{where}: {bytes(exc.object[exc.start:exc.end])!r} "
                       f"({exc.reason})")


def _utf8(data: bytes | bytearray) -> str:
    try:
        return bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _not_utf8(exc) from None


class _Utf8:
    """An incremental UTF-8 decoder whose errors are DecodeErrors that say at which byte."""

    __slots__ = ("_decoder", "_offset")

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._offset = 0

    def decode(self, chunk: bytes, final: bool = False) -> str:
        start = self._offset - len(self._decoder.getstate()[0])  # where the bytes it decodes now begin
        try:
            text = self._decoder.decode(chunk, final)
        except UnicodeDecodeError as exc:
            raise _not_utf8(exc, start) from None
        self._offset += len(chunk)
        return text


def _csv_lines(lines: Iterable[str | bytes]) -> Iterator[str]:
    """Turn the caller's lines into lines csv.reader can use.

    A line without its terminator (``iter_lines`` strips them) gets ``\\n`` back: csv.reader
    only keeps a newline inside a quoted cell if the line carries it. Pieces split at a
    non-CSV line break are glued back together. A leading UTF-8 BOM is dropped.
    """
    pending: list[str] = []
    first = True
    for line in lines:
        if type(line) is not str:
            line = _utf8(line) if isinstance(line, (bytes, bytearray)) else _not_text(line)
        if first:
            first = False
            if line.startswith("\ufeff"):
                line = line[1:]
        if line.endswith(_CSV_LINE_ENDS):
            if pending:
                pending.append(line)
                line = "".join(pending)
                pending.clear()
            yield line
        elif line.endswith(_OTHER_LINE_ENDS):
            pending.append(line)
        else:
            if pending:
                pending.append(line)
                line = "".join(pending)
                pending.clear()
            yield line + "\n"
    if pending:
        yield "".join(pending)


def _not_text(line: Any) -> str:
    raise DecodeError(f"expected lines of text, got {type(line).__name__}")


def _as_lines(source: str | bytes | Iterable[str]) -> Iterable[str]:
    if isinstance(source, (bytes, bytearray)):
        source = _utf8(source)
    if isinstance(source, str):
        # newline="" splits at \n, \r\n and \r only, and keeps the terminators.
        return io.StringIO(source, newline="")
    return source


# --- the block/table state machine ----------------------------------------------------------

_KNOWN_ANNOTATIONS = ("#datatype", "#group", "#default")


_NO_PLAN: Any = object()  # a block whose plan is not made yet


class _Block:
    """One header row and its annotations: the schema shared by the tables that follow."""

    __slots__ = (
        "columns", "names", "converters", "defaults", "offset", "width",
        "group_names", "has_result", "has_table", "is_error", "rows_seen", "annotated", "plan",
    )

    def __init__(
        self,
        columns: list[Column],
        converters: list[Converter],
        defaults: list[Any],
        offset: int,
        annotated: bool,
    ):
        self.columns = columns
        self.names = [c.name for c in columns]
        self.converters = converters
        self.defaults = defaults
        self.offset = offset
        self.width = len(columns) + offset
        self.group_names = [c.name for c in columns if c.group and c.name not in ("result", "table")]
        self.has_result = "result" in self.names
        self.has_table = "table" in self.names
        self.is_error = bool(self.names) and self.names[0] == "error"
        self.rows_seen = False
        self.annotated = annotated  # annotation rows came before the header
        self.plan: Any = _NO_PLAN  # the fast path's conversion plan, made when first needed


_END = object()  # event: the table announced last is complete

Event = Any  # a Table (a table starts), a row dict, or _END


class _Decoder:
    """Turns CSV records into events: Table (start), row dict, _END (table complete)."""

    def __init__(self, typed: bool):
        self.typed = typed
        self.annotations: dict[str, tuple[int, list[str]]] = {}
        self.annotated = False  # any '#' row seen in the block being read
        self.blank_pending = False  # an empty line was read inside an annotated block
        self.block: _Block | None = None
        self.current: Table | None = None

    # - driving -

    def events(self, lines: Iterable[str]) -> Iterator[Event]:
        reader = Records(_csv_lines(lines))
        last_line = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise DecodeError(f"line {reader.line_num}: malformed CSV: {exc}") from None
            line = last_line + 1  # a quoted cell may span lines: report where the record starts
            last_line = reader.line_num
            if last_line > line:
                cells = _line_breaks_as_written(cells)
            yield from self._record(cells, line)
        yield from self._end_block()

    def _record(self, cells: list[str], line: int) -> Iterator[Event]:
        block = self.block
        if not cells:
            if block is None:
                return  # nothing to end; pending annotations stay (see below)
            if block.annotated:
                self.blank_pending = True  # decided by the next record (see below)
                return
            yield from self._end_block()  # an empty line ends the block
            return
        if self.blank_pending:
            # requests' iter_lines() invents an empty line whenever a chunk ends between the
            # \r and the \n of a row. In an annotated response every real new block starts
            # with annotation rows, so a data row of the right width after an empty line
            # continues the block instead of failing as a header. For the same reason empty
            # lines before a block's header are skipped.
            self.blank_pending = False
            if not (cells[0] == "" and len(cells) == block.width):  # type: ignore[union-attr]
                yield from self._end_block()
                block = None
        if cells[0].startswith("#") and (block is None or block.offset == 1):
            if block is not None:
                # Annotations right after data: a new block even without the empty line.
                yield from self._end_block()
            self.annotated = True
            if cells[0] in _KNOWN_ANNOTATIONS:
                self.annotations[cells[0]] = (line, cells)
            return
        if block is None:
            self.block = self._header(cells, line)
            return
        yield from self._data(block, cells, line)

    # - schema -

    def _header(self, header: list[str], line: int) -> _Block:
        if self.annotated and header[0] != "":
            raise DecodeError(
                f"line {line}: expected a header row starting with an empty annotation cell, "
                f"found {header[0]!r}"
            )
        offset = 1 if self.annotated or header[0] == "" else 0
        names = header[offset:]
        if not names:
            raise DecodeError(f"line {line}: the header row has no columns")
        for position, name in enumerate(names, start=offset + 1):
            if not name:
                raise DecodeError(
                    f"line {line}: expected a header row, but column {position} has no name"
                )
        if len(set(names)) != len(names):
            raise DecodeError(f"line {line}: the header row repeats a column name")
        datatypes = self._annotation("#datatype", header, line, offset)
        groups = self._annotation("#group", header, line, offset)
        raw_defaults = self._annotation("#default", header, line, offset)
        columns: list[Column] = []
        converters: list[Converter] = []
        defaults: list[Any] = []
        for index, name in enumerate(names):
            datatype = datatypes[index] if datatypes else "string"
            datatype = datatype or "string"
            raw_default = raw_defaults[index] if raw_defaults else ""
            group = bool(groups) and groups[index].strip().lower() == "true"
            column = Column(name, datatype, group, raw_default or None)
            convert = _converter(datatype, self.typed)
            columns.append(column)
            converters.append(convert)
            defaults.append(self._default(column, convert))
        block = _Block(columns, converters, defaults, offset, self.annotated)
        self.annotations = {}
        self.annotated = False
        return block

    def _annotation(self, name: str, header: list[str], line: int, offset: int) -> list[str] | None:
        found = self.annotations.get(name)
        if found is None:
            return None
        annotation_line, cells = found
        if len(cells) != len(header):
            raise DecodeError(
                f"line {line}: the header has {len(header)} cells but the {name} annotation "
                f"on line {annotation_line} has {len(cells)}"
            )
        return cells[offset:]

    def _default(self, column: Column, convert: Converter) -> Any:
        if column.default is None:
            return None
        try:
            return convert(column.default)
        except (ValueError, OverflowError) as exc:
            line = self.annotations["#default"][0]
            raise DecodeError(
                f"line {line}: column {column.name!r} ({column.datatype}): "
                f"{_reason(column.default, exc)} in #default"
            ) from None

    # - data -

    def _data(self, block: _Block, cells: list[str], line: int) -> Iterator[Event]:
        if block.is_error:
            self._raise_query_error(block, cells)
        if len(cells) != block.width:
            raise DecodeError(
                f"line {line}: the row has {len(cells)} cells but the header has {block.width}"
            )
        raw = cells[block.offset :] if block.offset else cells
        try:
            row = {
                name: convert(cell) if cell else default
                for name, convert, default, cell in zip(
                    block.names, block.converters, block.defaults, raw
                )
            }
        except (ValueError, OverflowError):
            raise self._explain(block, raw, line) from None
        result, table_id = self._identify(block, row, line)
        block.rows_seen = True
        current = self.current
        if current is None or current.table != table_id or current.result != result:
            yield from self._new_table(block, row, result, table_id)
        yield row

    def _new_table(self, block: _Block, row: dict[str, Any], result: str, table_id: int) -> Iterator[Event]:
        """End the current table, if any, and start the one ``row`` belongs to."""
        if self.current is not None:
            yield _END
        group_key = {name: row[name] for name in block.group_names}
        self.current = Table(result, table_id, block.columns, group_key)
        yield self.current

    def _identify(self, block: _Block, row: dict[str, Any], line: int) -> tuple[str, int]:
        """Result name and table id of a row; both are also written back into the row."""
        table_id = row.get("table")
        if type(table_id) is not int:
            table_id = self._table_id(table_id, line)
            row["table"] = table_id
        result = row.get("result")
        if result is None:
            result = ""
            row["result"] = result
        if not (block.has_result and block.has_table):
            # Keep the documented shape: every row starts with result and table.
            row_copy = dict(row)
            row.clear()
            row["result"] = row_copy.pop("result")
            row["table"] = row_copy.pop("table")
            row.update(row_copy)
        return str(result), table_id

    @staticmethod
    def _table_id(value: Any, line: int) -> int:
        if value is None or value == "":
            return 0
        try:
            return _to_long(str(value))
        except ValueError:
            raise DecodeError(f"line {line}: column 'table': invalid table id {value!r}") from None

    @staticmethod
    def _explain(block: _Block, raw: list[str], line: int) -> DecodeError:
        """Slow path after a failed row: find the cell at fault and say what was wrong."""
        for column, convert, cell in zip(block.columns, block.converters, raw):
            if not cell:
                continue
            try:
                convert(cell)
            except (ValueError, OverflowError) as exc:
                return DecodeError(
                    f"line {line}: column {column.name!r} ({column.datatype}): {_reason(cell, exc)}"
                )
        return DecodeError(f"line {line}: the row could not be decoded")

    @staticmethod
    def _raise_query_error(block: _Block, cells: list[str]) -> None:
        """The server hit an error after the 200 status was sent and reported it as a table."""
        raw = cells[block.offset :]
        values = dict(zip(block.names, raw))
        message = values.get("error") or block.columns[0].default or None
        reference = values.get("reference")
        if not reference:
            default_index = block.names.index("reference") if "reference" in block.names else None
            reference = block.columns[default_index].default if default_index is not None else None
        raise APIError(200, message, code="query error", reference=reference or None)

    def _end_block(self) -> Iterator[Event]:
        block = self.block
        if block is not None:
            if block.is_error:
                raise APIError(200, block.columns[0].default, code="query error")
            if self.current is not None:
                yield _END
            elif not block.rows_seen:
                yield self._empty_table(block)
                yield _END
        self.block = None
        self.current = None
        self.blank_pending = False
        self.annotations = {}
        self.annotated = False

    @staticmethod
    def _empty_table(block: _Block) -> Table:
        """A block without rows is an empty table; its #default row holds the group key."""
        by_name = dict(zip(block.names, block.defaults))
        result = by_name.get("result")
        table_id = by_name.get("table")
        return Table(
            result="" if result is None else str(result),
            table=table_id if type(table_id) is int else _Decoder._table_id(table_id, 0),
            columns=block.columns,
            group_key={name: by_name[name] for name in block.group_names},
        )


def _reason(cell: str, exc: BaseException) -> str:
    text = f"invalid literal {cell!r}"
    if isinstance(exc, _Invalid):
        text += f" ({exc})"
    elif isinstance(exc, OverflowError):
        text += " (out of range)"
    return text


# --- the fast path: whole spans of data lines at a time --------------------------------------
#
# The reference path above turns every record into a list of cells with csv.reader, then every
# cell into a value, one at a time. Most of an answer is long runs of data lines without a
# single quote. For those the fast path below works on a whole span of text at once:
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
def _row_builder(names: tuple[str, ...]) -> Callable[[list[list[Any]]], list[dict[str, Any]]]:
    """``build(columns)``: one dict per row, keys in header order, via a generated dict display."""
    args = "".join(f"c{index}, " for index in range(len(names)))
    items = ", ".join(f"{name!r}: c{index}" for index, name in enumerate(names))
    namespace: dict[str, Any] = {}
    exec(f"def build(columns):\n    return [{{{items}}} for {args}in zip(*columns)]\n", namespace)
    return namespace["build"]  # type: ignore[no-any-return]


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
    return namespace["build"]  # type: ignore[no-any-return]


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
    def of(block: _Block) -> "_Plan | None":
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
            text = chunk if type(chunk) is str else self.decoder.decode(chunk)
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
    def _plan(block: _Block) -> "_Plan | None":
        plan = block.plan
        if plan is _NO_PLAN:
            plan = block.plan = _Plan.of(block)
        return plan  # type: ignore[no-any-return]

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


# --- public API -----------------------------------------------------------------------------


def _lines_from_chunks(chunks: Iterable[str | bytes]) -> Iterator[str]:
    decoder = _Utf8()
    pending: list[str] = []  # pieces of a line not complete yet, joined once it is
    size = 0
    for chunk in chunks:
        text = chunk if type(chunk) is str else decoder.decode(chunk)
        if not text:
            continue
        # Lines up to the last \n are complete; a \r at the very end may be half of a \r\n.
        cut = text.rfind("\n") + 1
        if not cut:
            pending.append(text)
            size += len(text)
            if size > RECORD_LIMIT:
                raise DecodeError(too_large("a line", RECORD_LIMIT))
            continue
        if pending:
            pending.append(text[:cut])
            yield from io.StringIO("".join(pending), newline="")
        else:
            yield from io.StringIO(text[:cut], newline="")
        pending = [text[cut:]]
        size = len(text) - cut
    pending.append(decoder.decode(b"", final=True))
    rest = "".join(pending)
    if rest:
        yield from io.StringIO(rest, newline="")


class _ChunkLines:
    """The iterator :func:`lines_from_chunks` returns.

    It yields lines like any line iterator; the decoders recognise it and, as long as no line
    has been taken from it, read the chunks themselves (the fast path) instead of line by line.
    """

    __slots__ = ("chunks", "_lines")

    def __init__(self, chunks: Iterable[str | bytes]):
        self.chunks = chunks
        self._lines: Iterator[str] | None = None

    def __iter__(self) -> "_ChunkLines":
        return self

    def __next__(self) -> str:
        if self._lines is None:
            self._lines = _lines_from_chunks(self.chunks)
        return next(self._lines)

    def _take_chunks(self) -> Iterable[str | bytes] | None:
        """The chunks, for a decoder that reads them all; None once lines were taken."""
        if self._lines is not None:
            return None
        self._lines = iter(())
        return self.chunks


def lines_from_chunks(chunks: Iterable[str | bytes]) -> Iterator[str]:
    r"""Cut a stream of text or UTF-8 byte chunks into lines that keep their terminators.

    Only ``\n``, ``\r\n`` and ``\r`` end a line, as in CSV. Prefer this over
    ``response.iter_lines()``, which also breaks lines at ``\x85``, ``\u2028`` and friends
    (characters that may sit inside a string cell) and invents an empty line when a chunk ends
    between ``\r`` and ``\n``. Use it as
    ``iter_tables(lines_from_chunks(response.iter_content(chunk_size=65536)))``: given such an
    iterator untouched, the decoders read the chunks directly, which is much faster.
    """
    return _ChunkLines(chunks)


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
        chunks = source._take_chunks()
        if chunks is not None:
            return _FastDecoder(typed, tables).chunk_events(chunks)
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

    def __enter__(self) -> "RowStream":
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

    def _limited(self, batches: Iterator[list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
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


class ResultList(list):  # type: ignore[type-arg]
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
