"""What the command line prints: JSON and text tables."""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from datetime import time as dtime
from typing import Any

from ..binary import binary_json, is_bytes


def _json_default(value: Any) -> Any:
    if is_bytes(value):
        return binary_json(value)
    if isinstance(value, (datetime, date, dtime)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    return str(value)


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=_json_default)


def emit_json(value: Any) -> None:
    print(to_json(value))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if is_bytes(value):
        return f"({len(value):,} bytes)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list, tuple, Mapping)):
        return json.dumps(value, ensure_ascii=False, default=_json_default)
    # One row per line: an embedded newline would break the columns.
    return str(value).replace("\r", "\\r").replace("\n", "\\n")


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Left-aligned columns separated by two spaces, with a header and a dashed rule."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths)).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out.extend(line(r) for r in cells)
    return "\n".join(out)


def is_flat_rows(data: Any) -> bool:
    """A list of dicts whose values are all scalars: what fits a text table."""
    return isinstance(data, list) and all(
        isinstance(row, Mapping) and not any(isinstance(v, (Mapping, list, tuple)) for v in row.values())
        for row in data)


def rows_table(rows: Sequence[Mapping[str, Any]]) -> str:
    if not rows:
        return "(no rows)"
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    return format_table(list(columns), [[row.get(c) for c in columns] for row in rows])



def pairs_table(mapping: Mapping[str, Any]) -> str:
    """A mapping as two columns, one key a row (nested values as compact JSON)."""
    return format_table(["FIELD", "VALUE"], [[key, value] for key, value in mapping.items()])


def data_table(data: Any) -> str:
    """Any result as text columns, by its shape.

    Rows (a list of mappings) are a table of their keys; a mapping that holds one list of rows
    (``{"buckets": [...], "links": {...}}``) is that table, after its other keys; any other mapping
    is a table of its keys and values; a list of plain values is one column.
    """
    if isinstance(data, list):
        if all(isinstance(row, Mapping) for row in data):
            return rows_table(data)
        return format_table(["VALUE"], [[item] for item in data])
    if isinstance(data, Mapping):
        lists = [key for key, value in data.items()
                 if isinstance(value, list) and value and all(isinstance(row, Mapping) for row in value)]
        if len(lists) == 1:
            others = {key: value for key, value in data.items() if key != lists[0]}
            head = pairs_table(others) + "\n\n" if others else ""
            return f"{head}{lists[0]}:\n{rows_table(data[lists[0]])}"
        return pairs_table(data) if data else "(nothing)"
    return format_table(["VALUE"], [[data]])


class ProgressBar:
    """A one-line bar on a stream for writes sent in batches: records sent of all, and batches."""

    WIDTH = 30

    def __init__(self, out: Any):
        self.out = out
        self.drawn = False

    def __call__(self, done: Mapping[str, Any]) -> None:
        total = done["records_total"] or 1
        filled = round(self.WIDTH * done["records"] / total)
        self.out.write(f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}] {done['records'] * 100 // total:3d}% "
                       f"{done['records']:,}/{done['records_total']:,} records, {done['batches']} batches")
        self.out.flush()
        self.drawn = True

    def finish(self) -> None:
        if self.drawn:
            self.out.write("\n")
            self.out.flush()
