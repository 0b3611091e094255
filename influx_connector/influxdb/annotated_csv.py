"""Decoder for the annotated CSV that InfluxDB's ``POST /api/v2/query`` answers with.

The layout (see the contract notes, section 5) is a sequence of *blocks*. A block is a few
annotation rows (``#datatype``, ``#group``, ``#default``), one header row and then data rows;
an empty line ends it. Column 0 is the annotation column: it names the annotation on annotation
rows and is empty everywhere else. Several tables of the same schema share one block and are
told apart by the ``table`` column; a schema change or a new result starts a new block.

Everything here streams: lines are pulled one at a time and at most one table is held in
memory, so a large query answer never has to fit in RAM as text.

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
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Iterator

from influx_connector.errors import APIError, DecodeError

__all__ = [
    "Column",
    "Table",
    "decode",
    "iter_rows",
    "iter_tables",
    "lines_from_chunks",
    "parse_rfc3339_ns",
]

# The csv module refuses cells over 128 KiB by default, but an InfluxDB string field can be
# larger than that (the storage engine accepts up to 1 MiB). The limit is process-wide, so it is
# only ever raised here, never lowered; 64 MiB still protects against a runaway cell.
_CELL_LIMIT = 64 * 1024 * 1024
if csv.field_size_limit() < _CELL_LIMIT:
    csv.field_size_limit(_CELL_LIMIT)

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

_CSV_LINE_ENDS = ("\n", "\r")
# str.splitlines() also breaks at these, but to CSV they are ordinary characters inside a cell.
_OTHER_LINE_ENDS = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


def _csv_lines(lines: Iterable[str | bytes]) -> Iterator[str]:
    """Turn the caller's lines into lines csv.reader can use.

    A line without its terminator (``iter_lines`` strips them) gets ``\\n`` back: csv.reader
    only keeps a newline inside a quoted cell if the line carries it. Pieces split at a
    non-CSV line break are glued back together. A leading UTF-8 BOM is dropped.
    """
    pending = ""
    first = True
    for line in lines:
        if type(line) is not str:
            line = line.decode("utf-8")
        if first:
            first = False
            if line.startswith("\ufeff"):
                line = line[1:]
        if line.endswith(_CSV_LINE_ENDS):
            yield pending + line if pending else line
            pending = ""
        elif line.endswith(_OTHER_LINE_ENDS):
            pending += line
        else:
            yield pending + line + "\n"
            pending = ""
    if pending:
        yield pending


def _as_lines(source: str | bytes | Iterable[str]) -> Iterable[str]:
    if isinstance(source, (bytes, bytearray)):
        source = bytes(source).decode("utf-8")
    if isinstance(source, str):
        # newline="" splits at \n, \r\n and \r only, and keeps the terminators.
        return io.StringIO(source, newline="")
    return source


# --- the block/table state machine ----------------------------------------------------------

_KNOWN_ANNOTATIONS = ("#datatype", "#group", "#default")


class _Block:
    """One header row and its annotations: the schema shared by the tables that follow."""

    __slots__ = (
        "columns", "names", "converters", "defaults", "offset", "width",
        "group_names", "has_result", "has_table", "is_error", "rows_seen", "annotated",
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
        reader = csv.reader(_csv_lines(lines), strict=True)
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
            if current is not None:
                yield _END
            group_key = {name: row[name] for name in block.group_names}
            current = self.current = Table(result, table_id, block.columns, group_key)
            yield current
        yield row

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


# --- public API -----------------------------------------------------------------------------


def lines_from_chunks(chunks: Iterable[str | bytes]) -> Iterator[str]:
    r"""Cut a stream of text or UTF-8 byte chunks into lines that keep their terminators.

    Only ``\n``, ``\r\n`` and ``\r`` end a line, as in CSV. Prefer this over
    ``response.iter_lines()``, which also breaks lines at ``\x85``, ``\u2028`` and friends
    (characters that may sit inside a string cell) and invents an empty line when a chunk ends
    between ``\r`` and ``\n``. Use it as
    ``iter_tables(lines_from_chunks(response.iter_content(chunk_size=65536)))``.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    pending = ""
    for chunk in chunks:
        text = chunk if type(chunk) is str else decoder.decode(chunk)
        if not text:
            continue
        text = pending + text
        # Lines up to the last \n are complete; a \r at the very end may be half of a \r\n.
        cut = text.rfind("\n") + 1
        pending = text[cut:]
        if cut:
            yield from io.StringIO(text[:cut], newline="")
    pending += decoder.decode(b"", final=True)
    if pending:
        yield from io.StringIO(pending, newline="")


def iter_tables(lines: Iterable[str], *, typed: bool = False) -> Iterator[Table]:
    """Yield each table of an annotated CSV answer as soon as it is complete.

    ``lines`` may keep or drop their line terminators (``response.iter_lines()`` drops them,
    ``text.splitlines(keepends=True)`` keeps them); a whole ``str`` is accepted too. Tables
    before a mid-stream error table are yielded first; reaching the error raises ``APIError``.
    """
    current: Table | None = None
    for event in _Decoder(typed).events(_as_lines(lines)):
        if type(event) is dict:
            current.rows.append(event)  # type: ignore[union-attr]
        elif event is _END:
            yield current  # type: ignore[misc]
            current = None
        else:
            current = event


def iter_rows(lines: Iterable[str], typed: bool = False) -> Iterator[dict[str, Any]]:
    """Yield every row of every table, one at a time, each with ``result`` and ``table``."""
    for event in _Decoder(typed).events(_as_lines(lines)):
        if type(event) is dict:
            yield event


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


def decode(source: str | Iterable[str], shape: str = "rows", typed: bool = False) -> Any:
    """Decode a whole annotated CSV answer.

    ``shape="rows"``: a list of row dicts. ``shape="tables"``: a list of table dicts with
    ``result``, ``table``, ``group_key``, ``columns`` and ``rows``. ``shape="csv"``: the text
    itself, unchanged. ``typed=False`` gives JSON-ready values, ``typed=True`` Python objects.
    """
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}: use one of {', '.join(SHAPES)}")
    if shape == "csv":
        return source if isinstance(source, str) else _join_lines(source)
    if shape == "rows":
        return list(iter_rows(source, typed=typed))
    return [table_to_dict(table) for table in iter_tables(source, typed=typed)]
