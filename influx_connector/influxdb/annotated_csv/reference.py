"""The reference decoder: a state machine over blocks and tables, one record and one cell at a time."""
from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from influx_connector.errors import APIError, DecodeError
from influx_connector.influxdb.annotated_csv.csv_lines import _csv_lines, _line_breaks_as_written
from influx_connector.influxdb.annotated_csv.model import Column, Table
from influx_connector.influxdb.annotated_csv.values import Converter, _converter, _Invalid, _to_long
from influx_connector.influxdb.csv_records import Records

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
            group = groups[index].strip().lower() == "true" if groups else False
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

