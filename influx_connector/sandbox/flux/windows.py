"""``aggregateWindow()``: cut each table into fixed time windows and reduce each window.

Windows are aligned to the Unix epoch (plus ``offset``) as in Flux, then clipped to the
table's ``_start``/``_stop`` bounds, so the first and last windows may be shorter. Each
window gives one row whose ``_time`` is the clipped window stop (or start, with
``timeSrc: "_start"``). Month-based windows (``every: 1mo``) follow calendar months.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from .aggregates import AGGREGATES, SELECTORS, aggregate_value, check_type, output_type, select_index
from .args import Args
from .errors import FluxError
from .table import Column, Stream, Table
from .timefmt import month_index, month_start
from .values import Builtin, Duration

WINDOW_FUNCTIONS = SELECTORS + AGGREGATES
#: More windows than this in one table is almost surely a mistake (every: 1s over a year)
#: and would exhaust the sandbox's memory, so it is refused instead.
MAX_WINDOWS = 100_000


def aggregate_window(args: Args) -> Stream:
    stream = args.stream()
    every = args.duration("every")
    offset = args.duration("offset", Duration(0, 0))
    fn = args.function_value("fn")
    create_empty = args.boolean("createEmpty", True)
    time_src = args.string("timeSrc", "_stop")
    column = args.string("column", "_value")
    if not isinstance(fn, Builtin) or fn.name not in WINDOW_FUNCTIONS:
        raise args.error(
            f"fn must be one of {', '.join(WINDOW_FUNCTIONS)} (the sandbox runs no custom window functions)")
    if time_src not in ("_start", "_stop"):
        raise args.error('timeSrc must be "_start" or "_stop"')
    window_start = _aligner(args, every, offset)
    out = [_windowed(t, fn.name, window_start, create_empty, time_src, column) for t in stream.tables]
    return Stream(out)


def _aligner(args: Args, every: Duration, offset: Duration) -> Callable[[int], tuple[int, int]]:
    """A function giving the (start, stop) of the epoch-aligned window holding a time."""
    if every.months < 0 or every.nanos < 0 or (every.months == 0 and every.nanos == 0):
        raise args.error("every must be a positive duration")
    if every.months and (every.nanos or offset.months or offset.nanos):
        raise args.error("the sandbox supports month windows only without extra units or offset")
    if offset.months:
        raise args.error("the sandbox supports offset only in fixed units (ns to w)")
    if every.months:
        n = every.months

        def month_window(t: int) -> tuple[int, int]:
            first = month_index(t) // n * n
            return month_start(first), month_start(first + n)

        return month_window
    size, shift = every.nanos, offset.nanos % every.nanos

    def fixed_window(t: int) -> tuple[int, int]:
        start = (t - shift) // size * size + shift
        return start, start + size

    return fixed_window


def _bounds(table: Table) -> tuple[int, int]:
    if table.key.get("_start") is not None and table.key.get("_stop") is not None:
        return table.key["_start"], table.key["_stop"]
    starts = [r["_start"] for r in table.rows if r.get("_start") is not None]
    stops = [r["_stop"] for r in table.rows if r.get("_stop") is not None]
    if not starts or not stops:
        raise FluxError('error calling function "aggregateWindow": tables need _start and _stop; call range() first')
    return min(starts), max(stops)


def _windows(start: int, stop: int, window_start: Callable[[int], tuple[int, int]]) -> Iterator[tuple[int, int, int]]:
    """(aligned start, clipped start, clipped stop) of every window overlapping the bounds."""
    aligned, end = window_start(start)
    count = 0
    while aligned < stop:
        count += 1
        if count > MAX_WINDOWS:
            raise FluxError(
                f'error calling function "aggregateWindow": more than {MAX_WINDOWS} windows per table;'
                " use a larger every or a shorter range"
            )
        yield aligned, max(aligned, start), min(end, stop)
        aligned, end = window_start(end)


def _windowed(
    table: Table, name: str, window_start: Callable[[int], tuple[int, int]], create_empty: bool, time_src: str,
    column: str,
) -> Table:
    source = table.column(column)
    if source is None:
        raise FluxError(f'error calling function "aggregateWindow": column "{column}" does not exist')
    if table.column("_time") is None:
        raise FluxError('error calling function "aggregateWindow": column "_time" does not exist')
    check_type(name, source.type)
    start, stop = _bounds(table)
    # Keep the raw-data column order (_start, _stop, _time, _value, key columns), the
    # order the real server's windowed storage reads answer with.
    wanted = set(table.key) | {"_start", "_stop", "_time", column}
    columns = [
        Column(c.label, output_type(name, c.type)) if c.label == column else c
        for c in table.columns
        if c.label in wanted
    ]
    for label in ("_start", "_stop"):
        if table.column(label) is None:
            columns.insert(0 if label == "_start" else 1, Column(label, "time"))
    by_window: dict[int, list[dict[str, Any]]] = {}
    for row in table.rows:
        t = row.get("_time")
        if t is not None and start <= t < stop:
            by_window.setdefault(window_start(t)[0], []).append(row)
    rows = []
    for aligned, lo, hi in _windows(start, stop, window_start):
        members = by_window.get(aligned, [])
        if not members and not create_empty:
            continue
        if name in SELECTORS:
            index = select_index(name, members, column)
            value = None if index is None else members[index][column]
        else:
            value = aggregate_value(name, [r[column] for r in members if r.get(column) is not None])
        row = {label: value for label, value in table.key.items()}
        row.update({"_start": start, "_stop": stop, "_time": hi if time_src == "_stop" else lo, column: value})
        rows.append(row)
    return Table(columns, table.key, rows)
