"""Row and column transformations: filter, keep, drop, group, sort, limit and yield.

Each takes the piped stream and returns a new one; input tables are never modified.
"""
from __future__ import annotations

from typing import Any

from .args import Args
from .errors import FluxError
from .table import TIME, Column, Stream, Table, key_order, make_key, value_order
from .values import Row, Time, type_name


def filter_(args: Args) -> Stream:
    stream = args.stream()
    fn = args.function_value("fn")
    on_empty = args.string("onEmpty", "drop")
    if on_empty not in ("drop", "keep"):
        raise args.error('onEmpty must be "drop" or "keep"')
    interp = args.interpreter
    out = []
    for table in stream.tables:
        times = {c.label for c in table.columns if c.type == TIME}
        kept = []
        for row in table.rows:
            record = Row({k: Time(v) if k in times and v is not None else v for k, v in row.items()})
            verdict = interp.call(fn, {"r": record}, "fn")
            if verdict is not None and not isinstance(verdict, bool):
                raise args.error(f"fn must return a bool, got {type_name(verdict)}")
            if verdict is True:
                kept.append(row)
        # Like Flux, tables that lose every row disappear unless onEmpty: "keep".
        if kept or on_empty == "keep":
            out.append(Table(table.columns, table.key, kept))
    return Stream(out)


def keep(args: Args) -> Stream:
    wanted = set(args.strings("columns"))
    return Stream([_project(t, lambda label: label in wanted) for t in args.stream().tables])


def drop(args: Args) -> Stream:
    unwanted = set(args.strings("columns"))
    return Stream([_project(t, lambda label: label not in unwanted) for t in args.stream().tables])


def _project(table: Table, include: Any) -> Table:
    columns = [c for c in table.columns if include(c.label)]
    labels = {c.label for c in columns}
    key = {k: v for k, v in table.key.items() if k in labels}
    rows = [{k: v for k, v in row.items() if k in labels} for row in table.rows]
    return Table(columns, key, rows)


def group(args: Args) -> Stream:
    stream = args.stream()
    columns = args.strings("columns", [])
    mode = args.string("mode", "by")
    if mode not in ("by", "except"):
        raise args.error('mode must be "by" or "except"')
    groups: dict[tuple[Any, ...], tuple[dict[str, Any], list[Column], list[dict[str, Any]]]] = {}
    for table in stream.tables:
        if mode == "by":
            labels = [c for c in columns if table.column(c) is not None]
        else:
            labels = [c.label for c in table.columns if c.label not in columns]
        for row in table.rows:
            key = make_key(table.columns, row, labels)
            identity = key_order(key)
            if identity not in groups:
                groups[identity] = (key, [], [])
            _, group_columns, rows = groups[identity]
            _merge_columns(group_columns, table.columns)
            rows.append(row)
    out = []
    for identity in sorted(groups):
        key, group_columns, rows = groups[identity]
        labels = [c.label for c in group_columns]
        # Rows from tables without some column get null there.
        out.append(Table(group_columns, key, [{label: row.get(label) for label in labels} for row in rows]))
    return Stream(out)


def _merge_columns(target: list[Column], extra: list[Column]) -> None:
    known = {c.label: c.type for c in target}
    for column in extra:
        if column.label not in known:
            target.append(column)
            known[column.label] = column.type
        elif known[column.label] != column.type:
            raise FluxError(
                f'schema collision: column "{column.label}" is both {known[column.label]} and {column.type}'
                " in one group; filter by _field or cast values first"
            )


def sort(args: Args) -> Stream:
    stream = args.stream()
    columns = args.strings("columns", ["_value"])
    desc = args.boolean("desc", False)
    out = []
    for table in stream.tables:
        present = [c for c in columns if table.column(c) is not None]
        rows = sorted(table.rows, key=lambda r: tuple(value_order(r.get(c)) for c in present), reverse=desc)
        out.append(Table(table.columns, table.key, rows))
    return Stream(out)


def limit(args: Args) -> Stream:
    stream = args.stream()
    n = args.integer("n")
    offset = args.integer("offset", 0)
    if n < 0 or offset < 0:
        raise args.error("n and offset must not be negative")
    return Stream([Table(t.columns, t.key, t.rows[offset : offset + n]) for t in stream.tables])


def yield_(args: Args) -> Stream:
    stream = args.stream()
    name = args.string("name", "_result")
    args.interpreter.add_result(name, stream)
    return Stream(stream.tables, yielded=True)
