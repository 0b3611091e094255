"""The functions the sandbox's Flux knows, with the argument names each accepts.

Anything not listed here is reported as unsupported, naming this list, so a user can tell
a sandbox limit from a typo.
"""
from __future__ import annotations

from .aggregates import aggregate, selector
from .args import Args
from .conversions import duration_, time_
from .source import from_, range_
from .transforms import drop, filter_, group, keep, limit, sort, yield_
from .values import Builtin, Time
from .windows import aggregate_window


def _now(args: Args) -> Time:
    return Time(args.interpreter.now_ns)


_TABLE_COLUMN = ("tables", "column")

BUILTINS: dict[str, Builtin] = {
    b.name: b
    for b in (
        Builtin("from", ("bucket", "bucketID"), from_),
        Builtin("range", ("tables", "start", "stop"), range_),
        Builtin("filter", ("tables", "fn", "onEmpty"), filter_),
        Builtin("keep", ("tables", "columns"), keep),
        Builtin("drop", ("tables", "columns"), drop),
        Builtin("group", ("tables", "columns", "mode"), group),
        Builtin("sort", ("tables", "columns", "desc"), sort),
        Builtin("limit", ("tables", "n", "offset"), limit),
        Builtin("first", _TABLE_COLUMN, selector("first")),
        Builtin("last", _TABLE_COLUMN, selector("last")),
        Builtin("min", _TABLE_COLUMN, selector("min")),
        Builtin("max", _TABLE_COLUMN, selector("max")),
        Builtin("mean", _TABLE_COLUMN, aggregate("mean")),
        Builtin("sum", _TABLE_COLUMN, aggregate("sum")),
        Builtin("count", _TABLE_COLUMN, aggregate("count")),
        Builtin(
            "aggregateWindow",
            ("tables", "every", "fn", "createEmpty", "timeSrc", "column", "offset"),
            aggregate_window,
        ),
        Builtin("yield", ("tables", "name"), yield_),
        Builtin("now", (), _now),
        Builtin("time", ("v",), time_),
        Builtin("duration", ("v",), duration_),
    )
}
