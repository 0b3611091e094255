"""Annotated CSV, byte for byte as the real ``/api/v2/query`` writes it.

The layout follows Flux's CSV result encoder with the dialect the connector sends
(header on; annotations datatype, group, default; delimiter ","):

* Each result is its tables in order, then one empty line.
* A table starts a new annotation + header block when its columns (labels and types)
  differ from the previous table's, when it is empty, or when the previous one was empty;
  a block after the first is preceded by an empty line. Same-schema tables share a block.
* ``#default`` carries the result name; for an empty table it also carries the table ID
  and the group key values, since no row can.
* Fields are quoted like Go's encoding/csv with CRLF line endings: quoting is needed for a
  comma, quote, CR or LF, or a leading space, and inside quotes LF becomes CRLF and a bare
  CR is dropped.
* A mid-stream error becomes an error table after an empty line (the line only when
  something was written before it).
"""
from __future__ import annotations

import math
import unicodedata
from decimal import Decimal
from typing import Any

from .table import TIME, Table
from .timefmt import format_rfc3339nano

CRLF = "\r\n"


def format_float(value: float) -> str:
    """Go's ``strconv.FormatFloat(f, 'f', -1, 64)``: shortest round-trip digits, never an
    exponent (``1e21`` prints as ``1000000000000000000000``)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    text = format(Decimal(repr(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def format_cell(value: Any, column_type: str) -> str:
    if value is None:
        return ""
    if column_type == TIME:
        return format_rfc3339nano(value)
    if column_type == "double":
        return format_float(value)
    if column_type == "boolean":
        return "true" if value else "false"
    return str(value)


def _go_space(ch: str) -> bool:
    # unicode.IsSpace in Go: ASCII/Latin-1 whitespace plus the Z* separator categories.
    return ch in "\t\n\v\f\r \x85\xa0" or (ord(ch) > 0xFF and unicodedata.category(ch) in ("Zs", "Zl", "Zp"))


def quote_field(field: str) -> str:
    needs_quotes = field == "\\." or any(c in field for c in ',"\r\n') or (field != "" and _go_space(field[0]))
    if not needs_quotes:
        return field
    body = field.replace('"', '""').replace("\r", "").replace("\n", "\r\n")
    return f'"{body}"'


def _datatype(column_type: str) -> str:
    return "dateTime:RFC3339" if column_type == TIME else column_type


class AnnotatedCSV:
    def __init__(self) -> None:
        self.out: list[str] = []
        self.wrote_table = False  # decides the empty line before an error table

    def line(self, fields: list[str]) -> None:
        self.out.append(",".join(quote_field(f) for f in fields) + CRLF)

    def blank(self) -> None:
        self.out.append(CRLF)

    def result(self, name: str, tables: list[Table]) -> None:
        """Write the tables of one result; the caller ends the result with ``blank()``."""
        last_schema: list[tuple[str, str]] | None = None
        last_empty = False
        for table_id, table in enumerate(tables):
            self.wrote_table = True
            schema = [(c.label, c.type) for c in table.columns]
            empty = not table.rows
            if last_empty or empty or schema != last_schema:
                if last_schema is not None:
                    self.blank()
                self._block(name, table, table_id, empty)
            for row in table.rows:
                self.line(["", "", str(table_id)] + [format_cell(row.get(c.label), c.type) for c in table.columns])
            last_schema, last_empty = schema, empty

    def _block(self, name: str, table: Table, table_id: int, empty: bool) -> None:
        cols = table.columns
        self.line(["#datatype", "string", "long"] + [_datatype(c.type) for c in cols])
        self.line(["#group", "false", "false"] + ["true" if c.label in table.key else "false" for c in cols])
        defaults = [""] * len(cols)
        if empty:
            defaults = [format_cell(table.key[c.label], c.type) if c.label in table.key else "" for c in cols]
        self.line(["#default", name, str(table_id) if empty else ""] + defaults)
        self.line(["", "result", "table"] + [c.label for c in cols])

    def error(self, message: str) -> None:
        if self.wrote_table:
            self.blank()
        self.line(["#datatype", "string", "string"])
        self.line(["#group", "true", "true"])
        self.line(["#default", "", ""])
        self.line(["", "error", "reference"])
        self.line(["", message, ""])

    def text(self) -> str:
        return "".join(self.out)


def encode_results(results: list[tuple[str, list[Table]]]) -> str:
    csv = AnnotatedCSV()
    for name, tables in results:
        csv.result(name, tables)
        csv.blank()
    return csv.text()


def encode_midstream_error(results: list[tuple[str, list[Table]]], message: str) -> str:
    """The response of a query that fails after its first table was sent: that table (if
    the query has any), then the error table and a final empty line."""
    csv = AnnotatedCSV()
    first = next(((name, tables[:1]) for name, tables in results if tables), None)
    if first is not None:
        csv.result(*first)
    csv.error(message)
    csv.blank()
    return csv.text()
