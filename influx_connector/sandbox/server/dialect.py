"""A query's ``dialect``: which annotation rows, header and delimiter the CSV answer has."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from influx_connector.sandbox.server.messages import invalid
from influx_connector.sandbox.server.parsing import typed

#: The annotation rows the query endpoint can send, in the order the real server uses by default.
ANNOTATIONS = ("datatype", "group", "default")


@dataclass(frozen=True)
class Dialect:
    header: bool = True
    delimiter: str = ","
    annotations: tuple[str, ...] = ()

    def is_engine_default(self) -> bool:
        """True when the engine's own output (every annotation, header, commas) is the answer."""
        return self.header and self.delimiter == "," and self.annotations == ANNOTATIONS


def read_dialect(raw: Any) -> Dialect:
    """Validate a ``dialect`` object the way the server does; an absent one means no annotations."""
    if raw is None:
        return Dialect()
    if not isinstance(raw, dict):
        raise invalid("failed to decode request body: dialect must be an object")
    header = typed(raw, "header", bool, True)
    delimiter = typed(raw, "delimiter", str, ",") or ","
    if len(delimiter) != 1:
        raise invalid("invalid dialect delimeter: must be length 1")  # sic, the server's spelling
    annotations: list[str] = []
    for name in typed(raw, "annotations", list, []):
        if name not in ANNOTATIONS:
            raise invalid(f"unknown dialect annotation type: {name}")
        if name not in annotations:
            annotations.append(name)
    if len(typed(raw, "commentPrefix", str, "#")) > 1:
        raise invalid("invalid dialect comment prefix: must be length 0 or 1")
    if (typed(raw, "dateTimeFormat", str, "RFC3339") or "RFC3339") not in ("RFC3339", "RFC3339Nano"):
        raise invalid("invalid dialect date time format")
    return Dialect(header=header, delimiter=delimiter, annotations=tuple(annotations))


def shape_csv(text: str, dialect: Dialect) -> str:
    """Rewrite the engine's fully annotated CSV for the dialect the client asked for.

    The real server sends only the annotation rows the dialect names (none by default), in the
    dialect's order, and the header row only when ``header`` is true. When ``#default`` is left
    out its values are written into the empty cells instead, so no information is lost (that is
    how the real server writes the result name into each row when there are no annotations).
    """
    if dialect.is_engine_default():
        return text
    out: list[list[str]] = []
    for block in _csv_blocks(text):
        if not block:
            out.append([])  # the empty line between tables and results
            continue
        out.extend(_shape_block(block, dialect))
    return "".join(_csv_line(row, dialect.delimiter) for row in out)


def _csv_blocks(text: str) -> list[list[list[str]]]:
    """Rows grouped into blocks (annotations, header, records); an empty list marks a blank line."""
    blocks: list[list[list[str]]] = []
    current: list[list[str]] = []
    for row in csv.reader(io.StringIO(text, newline="")):
        if row:
            current.append(row)
            continue
        if current:
            blocks.append(current)
            current = []
        blocks.append([])
    if current:
        blocks.append(current)
    return blocks


def _shape_block(block: list[list[str]], dialect: Dialect) -> list[list[str]]:
    annotations: dict[str, list[str]] = {}
    rest: list[list[str]] = []
    for row in block:
        if not rest and row[0].startswith("#"):
            annotations[row[0][1:]] = row
        else:
            rest.append(row)
    out = [annotations[name] for name in dialect.annotations if name in annotations]
    header, records = (rest[0], rest[1:]) if rest else (None, [])
    defaults = annotations.get("default")
    if defaults is not None and "default" not in dialect.annotations:
        records = [_fill_defaults(row, defaults) for row in records]
    if header is not None and dialect.header:
        out.append(header)
    return out + records


def _fill_defaults(row: list[str], defaults: list[str]) -> list[str]:
    return [cell if cell or i == 0 or i >= len(defaults) else defaults[i] for i, cell in enumerate(row)]


def _csv_line(row: list[str], delimiter: str) -> str:
    return delimiter.join(_csv_cell(cell, delimiter) for cell in row) + "\r\n"


def _csv_cell(cell: str, delimiter: str) -> str:
    # Go's encoding/csv quoting rule, which the real server's encoder uses.
    needs_quotes = cell != "" and (
        delimiter in cell or '"' in cell or "\r" in cell or "\n" in cell or cell[0] in " \t"
    )
    return '"' + cell.replace('"', '""') + '"' if needs_quotes else cell
