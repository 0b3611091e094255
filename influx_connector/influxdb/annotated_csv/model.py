"""What a decoded answer is made of: tables and their columns."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
