"""The table model: what every transformation consumes and produces.

A Flux result is a stream of tables. Each table has typed columns, a group key (the
columns whose value is the same on every row, with those values) and rows. Rows are dicts
from column label to value; ``None`` is null and time columns hold integer nanoseconds.
Tables are never changed in place, so a variable used twice in a query stays intact.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Column types: the five field types of store.FIELD_TYPES plus "time" (dateTime in CSV).
TIME = "time"


@dataclass(frozen=True)
class Column:
    label: str
    type: str


@dataclass
class Table:
    columns: list[Column]
    key: dict[str, Any]  # group key label -> value, labels in sorted order
    rows: list[dict[str, Any]] = field(default_factory=list)

    def column(self, label: str) -> Column | None:
        return next((c for c in self.columns if c.label == label), None)

    def labels(self) -> list[str]:
        return [c.label for c in self.columns]


@dataclass
class Stream:
    """A stream of tables; ``yielded`` marks the value a ``yield()`` call returned, so the
    statement holding it does not also become an implicit ``_result``."""

    tables: list[Table]
    yielded: bool = False


def make_key(table_columns: list[Column], values: dict[str, Any], labels: list[str]) -> dict[str, Any]:
    """A group key over ``labels`` (those the table has), sorted by label as Flux does."""
    present = {c.label for c in table_columns}
    return {label: values.get(label) for label in sorted(set(labels) & present)}


def _sortable(value: Any) -> tuple[Any, ...]:
    # Nulls sort first; the type name keeps values of different types from being compared.
    return (0,) if value is None else (1, type(value).__name__, value)


def key_order(key: dict[str, Any]) -> tuple[Any, ...]:
    """Sort key that orders tables by group key: column labels, then values, nulls first."""
    return tuple((label, _sortable(value)) for label, value in key.items())


def value_order(value: Any) -> tuple[Any, ...]:
    """Sort key for cell values with nulls first (``sort()`` ordering)."""
    return _sortable(value)
