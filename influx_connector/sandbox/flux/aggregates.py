"""Selectors (first, last, min, max) and aggregates (mean, sum, count).

A selector picks one whole row of each table; an aggregate folds a column into one value
and keeps only the group key columns. Both skip nulls. The reducers are shared with
``aggregateWindow``, which applies them to each time window.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .args import Args
from .errors import FluxError
from .table import Column, Stream, Table

SELECTORS = ("first", "last", "min", "max")
AGGREGATES = ("mean", "sum", "count")
NUMERIC = ("long", "unsignedLong", "double")


def check_type(name: str, column_type: str) -> None:
    """Refuse column types the function cannot work on, before looking at any value."""
    if name in ("min", "max", "mean", "sum") and column_type not in NUMERIC:
        raise FluxError(f'error calling function "{name}": unsupported column type {column_type}')


def output_type(name: str, column_type: str) -> str:
    if name == "mean":
        return "double"
    if name == "count":
        return "long"
    return column_type


def select_index(name: str, rows: list[dict[str, Any]], column: str) -> int | None:
    """Index of the row ``name`` selects, ignoring nulls; None when every value is null.
    Ties go to the earliest row, as in Flux."""
    candidates = [i for i, row in enumerate(rows) if row.get(column) is not None]
    if not candidates:
        return None
    if name == "first":
        return candidates[0]
    if name == "last":
        return candidates[-1]
    pick: Callable[..., int] = min if name == "min" else max
    return pick(candidates, key=lambda i: rows[i][column])


def aggregate_value(name: str, values: list[Any]) -> Any:
    """``name`` folded over the non-null ``values``; an empty input gives null, or 0 for count."""
    if name == "count":
        return len(values)
    if not values:
        return None
    if name == "mean":
        # Flux sums a mean as floats, one value at a time.
        acc = 0.0
        for v in values:
            acc += float(v)
        return acc / len(values)
    total = values[0]
    for v in values[1:]:
        total += v
    return total


def _value_column(name: str, table: Table, column: str) -> Column:
    found = table.column(column)
    if found is None:
        raise FluxError(f'error calling function "{name}": column "{column}" does not exist')
    check_type(name, found.type)
    return found


def selector(name: str) -> Callable[[Args], Stream]:
    def run(args: Args) -> Stream:
        stream = args.stream()
        column = args.string("column", "_value")
        out = []
        for table in stream.tables:
            _value_column(name, table, column)
            index = select_index(name, table.rows, column)
            rows = [] if index is None else [table.rows[index]]
            out.append(Table(table.columns, table.key, rows))
        return Stream(out)

    run.__name__ = name
    return run


def aggregate(name: str) -> Callable[[Args], Stream]:
    def run(args: Args) -> Stream:
        stream = args.stream()
        column = args.string("column", "_value")
        out = []
        for table in stream.tables:
            source = _value_column(name, table, column)
            # Output: the group key columns in table order, then the aggregated column.
            columns = [c for c in table.columns if c.label in table.key and c.label != column]
            columns.append(Column(column, output_type(name, source.type)))
            values = [row[column] for row in table.rows if row.get(column) is not None]
            row = {c.label: table.key[c.label] for c in columns[:-1]}
            row[column] = aggregate_value(name, values)
            out.append(Table(columns, table.key, [row]))
        return Stream(out)

    run.__name__ = name
    return run
