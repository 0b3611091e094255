"""``from()`` and ``range()``: reading a bucket of the in-memory store into tables.

``from()`` alone only names a bucket (an UnboundedRead); ``range()`` turns it into one table
per series, the way the storage engine answers a bounded read. Tables come out in series-key
order (measurement, then tag values, then field), which is the order InfluxDB's storage
returns them in.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..store import Bucket, FieldPoint
from .errors import FluxError, FluxNotFound
from .table import TIME, Column, Stream, Table, make_key

if TYPE_CHECKING:
    from .args import Args


@dataclass(frozen=True)
class UnboundedRead:
    """What ``from()`` returns: a bucket that may only be read through ``range()``."""

    bucket: Bucket
    label: str  # the bucket name or ID as the query wrote it


def unbounded_error(read: UnboundedRead) -> FluxError:
    return FluxError(
        f"cannot submit unbounded read to \"{read.label}\"; try bounding 'from' with a call to 'range'"
    )


def from_(args: Args) -> UnboundedRead:
    interp = args.interpreter
    if args.has("bucket") == args.has("bucketID"):
        raise args.error('specify exactly one of "bucket" and "bucketID"')
    store, org = interp.store, interp.org
    with store.lock:
        if args.has("bucket"):
            label = args.string("bucket")
            bucket = next((b for b in store.buckets.values() if b.name == label and b.org_id == org.id), None)
        else:
            label = args.string("bucketID")
            found = store.buckets.get(label)
            bucket = found if found is not None and found.org_id == org.id else None
    if bucket is None:
        # The real server's wording and status: {"code":"not found","message":"failed to initialize ..."}.
        raise FluxNotFound(f'failed to initialize execute state: could not find bucket "{label}"')
    return UnboundedRead(bucket, label)


def range_(args: Args) -> Stream:
    start = args.time_bound("start")
    stop = args.time_bound("stop") if args.has("stop") else args.interpreter.now_ns
    source = args.get("tables")
    if isinstance(source, UnboundedRead):
        with args.interpreter.store.lock:
            points = source.bucket.points()
        return Stream(_read(points, start, stop))
    return Stream([t for t in (_narrow(t, start, stop) for t in args.stream().tables) if t.rows])


def _read(points: list[FieldPoint], start: int, stop: int) -> list[Table]:
    series: dict[tuple[Any, ...], list[FieldPoint]] = {}
    for p in points:
        if start <= p.time < stop:
            # The type is part of the key so a series written with two types (which the
            # store should refuse) still gives well-typed tables.
            series.setdefault((p.measurement, p.tags, p.field, p.type), []).append(p)
    return [_series_table(rows, start, stop) for _, rows in sorted(series.items(), key=lambda kv: kv[0])]


def _series_table(points: list[FieldPoint], start: int, stop: int) -> Table:
    first = points[0]
    tag_labels = [k for k, _ in first.tags]
    columns = [
        Column("_start", TIME),
        Column("_stop", TIME),
        Column("_time", TIME),
        Column("_value", first.type),
        Column("_field", "string"),
        Column("_measurement", "string"),
    ] + [Column(label, "string") for label in tag_labels]
    common = {"_start": start, "_stop": stop, "_field": first.field, "_measurement": first.measurement,
              **dict(first.tags)}
    rows = [{**common, "_time": p.time, "_value": p.value} for p in points]
    key = make_key(columns, common, ["_start", "_stop", "_field", "_measurement", *tag_labels])
    return Table(columns, key, rows)


def _narrow(table: Table, start: int, stop: int) -> Table:
    """``range()`` applied to tables that already exist: keep rows inside the bounds and
    shrink ``_start``/``_stop`` to them."""
    if table.column("_time") is None:
        raise FluxError('error calling function "range": column "_time" does not exist')
    columns = list(table.columns)
    keyed = [label for label in ("_start", "_stop") if label in table.key or table.column(label) is None]
    for label in ("_stop", "_start"):
        if table.column(label) is None:
            columns.insert(0, Column(label, TIME))
    rows = []
    for row in table.rows:
        t = row.get("_time")
        if t is None or not start <= t < stop:
            continue
        old_start, old_stop = row.get("_start"), row.get("_stop")
        new_start = start if old_start is None else max(old_start, start)
        new_stop = stop if old_stop is None else min(old_stop, stop)
        rows.append({**row, "_start": new_start, "_stop": new_stop})
    key = dict(table.key)
    sample = rows[0] if rows else {"_start": start, "_stop": stop}
    for label in keyed:
        key[label] = sample[label]
    return Table(columns, dict(sorted(key.items())), rows)
