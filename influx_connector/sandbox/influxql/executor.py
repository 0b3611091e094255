"""Running the InfluxQL subset against the sandbox's store, with InfluxDB 1.x's result shapes.

Databases are the buckets of one organization, mapped by name (see ``sandbox.dbrp``). A SELECT
reads one row per (series, time), the way InfluxQL sees a point: the measurement's tags and the
fields written at that time. ``SELECT *`` gives ``time`` and then every tag and field key sorted
by name, rows are ordered by time (series key breaks ties), and a row is left out when none of
the selected fields has a value in it. Statement errors (a missing database...) go into the
statement's result, as on the real server; once a statement fails, the later ones are reported
``not executed``.
"""
from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from influx_connector.sandbox import dbrp
from influx_connector.sandbox.influxql.lexer import KEYWORDS
from influx_connector.sandbox.influxql.parser import (
    COMPARISONS,
    Binary,
    CreateDatabase,
    DropDatabase,
    Expr,
    Literal,
    Now,
    Ref,
    Select,
    ShowDatabases,
    ShowFieldKeys,
    ShowMeasurements,
    ShowTagKeys,
    Source,
    Statement,
    parse_query,
)
from influx_connector.sandbox.store import Bucket, Store

#: InfluxQL's names for the store's field types (SHOW FIELD KEYS).
FIELD_TYPE_NAMES = {"double": "float", "long": "integer", "unsignedLong": "unsigned", "boolean": "boolean",
                    "string": "string"}
NOT_EXECUTED = "not executed"
_BARE_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_TIME_TEXT = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?\Z"
)


class StatementError(Exception):
    """One statement failed; its result carries the message and the answer is still 200."""


@dataclass
class Series:
    name: str | None
    columns: list[str]
    rows: list[list[Any]]
    tags: dict[str, str] | None = None
    #: The first column holds times in nanoseconds (formatted by the encoders, per ``epoch``).
    timed: bool = False


@dataclass
class Result:
    statement_id: int
    series: list[Series] = field(default_factory=list)
    messages: list[dict[str, str]] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True)
class Context:
    store: Store
    org_id: str
    database: str | None  # the request's db parameter
    rp: str | None  # the request's rp parameter
    now_ns: int
    #: A GET request: InfluxDB 1.x still runs CREATE/DROP then, with a deprecation warning.
    read_only: bool = False


def run(text: str, ctx: Context) -> list[Result]:
    """Parse and run ``text``; raises ``parser.ParseError`` when it cannot be run at all."""
    results: list[Result] = []
    failed = False
    for statement_id, statement in enumerate(parse_query(text)):
        if failed:
            results.append(Result(statement_id, error=NOT_EXECUTED))
            continue
        try:
            with ctx.store.lock:
                results.append(_execute(statement_id, statement, ctx))
        except StatementError as exc:
            results.append(Result(statement_id, error=str(exc)))
            failed = True
    return results


def _execute(statement_id: int, statement: Statement, ctx: Context) -> Result:
    if isinstance(statement, Select):
        return Result(statement_id, _select(statement, ctx))
    if isinstance(statement, ShowDatabases):
        names = dbrp.database_names(ctx.store, ctx.org_id)
        return Result(statement_id, [Series("databases", ["name"], [[n] for n in names])])
    if isinstance(statement, ShowMeasurements):
        return Result(statement_id, _show_measurements(statement, ctx))
    if isinstance(statement, ShowTagKeys):
        return Result(statement_id, _show_keys(statement.database, statement.sources, ctx, tags=True))
    if isinstance(statement, ShowFieldKeys):
        return Result(statement_id, _show_keys(statement.database, statement.sources, ctx, tags=False))
    if isinstance(statement, CreateDatabase):
        _create_database(statement.name, ctx)
        return Result(statement_id, messages=_read_only_warning(f"CREATE DATABASE {quote_ident(statement.name)}", ctx))
    if isinstance(statement, DropDatabase):
        _drop_database(statement.name, ctx)
        return Result(statement_id, messages=_read_only_warning(f"DROP DATABASE {quote_ident(statement.name)}", ctx))
    raise StatementError(f"the sandbox cannot run {type(statement).__name__}")  # pragma: no cover - parser stops it


def quote_ident(name: str) -> str:
    """An identifier as InfluxQL writes it back: bare when it can be, else double-quoted."""
    if _BARE_IDENT.match(name) and name.upper() not in KEYWORDS:
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _read_only_warning(statement_text: str, ctx: Context) -> list[dict[str, str]]:
    if not ctx.read_only:
        return []
    text = f"deprecated use of '{statement_text}' in a read only context, please use a POST request instead"
    return [{"level": "warning", "text": text}]


# --- databases --------------------------------------------------------------------------------------------


def _database(explicit: str | None, ctx: Context) -> str:
    database = explicit or ctx.database
    if not database:
        raise StatementError("database name required")
    return database


def _bucket_for(source: Source, ctx: Context) -> Bucket:
    database = _database(source.database, ctx)
    rp = source.rp if source.rp is not None else ctx.rp
    try:
        return dbrp.find_bucket(ctx.store, ctx.org_id, database, rp)
    except dbrp.DbrpError as exc:
        raise StatementError(str(exc)) from None


def _create_database(name: str, ctx: Context) -> None:
    if dbrp.database_buckets(ctx.store, ctx.org_id, name):
        return  # as on InfluxDB 1.x, creating an existing database is not an error
    if name.startswith("_"):
        raise StatementError(f"bucket name {name} is invalid. Buckets may not start with underscore")
    if '"' in name or "'" in name:
        raise StatementError(f"bucket name {name} is invalid. Bucket names may not include quotation marks")
    ctx.store.add_bucket(ctx.org_id, name, shard_group_seconds=7 * 86_400)


def _drop_database(name: str, ctx: Context) -> None:
    buckets = dbrp.database_buckets(ctx.store, ctx.org_id, name)
    if any(b.type == "system" for b in buckets):
        raise StatementError("system buckets cannot be deleted")
    for bucket in buckets:
        ctx.store.delete_bucket(bucket.id)


# --- SHOW -----------------------------------------------------------------------------------------------


def _show_measurements(statement: ShowMeasurements, ctx: Context) -> list[Series]:
    database = _database(statement.database, ctx)
    # A database that does not exist lists nothing (no error), as on InfluxDB 1.x.
    names = sorted({key[0] for b in dbrp.database_buckets(ctx.store, ctx.org_id, database) for key in b.series})
    return [Series("measurements", ["name"], [[n] for n in names])] if names else []


def _show_keys(explicit_db: str | None, sources: list[Source], ctx: Context, *, tags: bool) -> list[Series]:
    database = _database(explicit_db, ctx)
    buckets = dbrp.database_buckets(ctx.store, ctx.org_id, database)
    if not buckets:
        raise StatementError(f"database not found: {database}")
    wanted = {s.name for s in sources}
    schema: dict[str, dict[str, str]] = {}
    for bucket in buckets:
        for measurement, series_tags, field_key in bucket.series:
            if wanted and measurement not in wanted:
                continue
            keys = schema.setdefault(measurement, {})
            if tags:
                keys.update((k, "") for k, _ in series_tags)
            elif field_key not in keys:
                first = next(iter(bucket.series[(measurement, series_tags, field_key)].values()))
                keys[field_key] = FIELD_TYPE_NAMES.get(first.type, first.type)
    out = []
    for measurement in sorted(schema):
        keys = schema[measurement]
        if not keys:
            continue  # a measurement without tags has no tag-key series
        if tags:
            out.append(Series(measurement, ["tagKey"], [[k] for k in sorted(keys)]))
        else:
            out.append(Series(measurement, ["fieldKey", "fieldType"], [[k, keys[k]] for k in sorted(keys)]))
    return out


# --- SELECT ---------------------------------------------------------------------------------------------


@dataclass
class _Measurement:
    name: str
    tag_keys: set[str] = field(default_factory=set)
    field_keys: set[str] = field(default_factory=set)
    # (tags, time) -> field values
    points: dict[tuple[tuple[tuple[str, str], ...], int], dict[str, Any]] = field(default_factory=dict)


def _read_measurement(bucket: Bucket, name: str) -> _Measurement:
    data = _Measurement(name)
    for (measurement, tags, field_key), rows in bucket.series.items():
        if measurement != name or not rows:
            continue
        data.tag_keys.update(k for k, _ in tags)
        data.field_keys.add(field_key)
        for time_ns, point in rows.items():
            data.points.setdefault((tags, time_ns), {})[field_key] = point.value
    return data


def _select(statement: Select, ctx: Context) -> list[Series]:
    measurements = [_read_measurement(_bucket_for(source, ctx), source.name) for source in statement.sources]
    all_tags = set().union(*(m.tag_keys for m in measurements))
    all_fields = set().union(*(m.field_keys for m in measurements))
    if statement.group_by == ["*"]:
        group_keys = sorted(all_tags)
    else:
        group_keys = sorted(set(statement.group_by or ()))
    names: list[str] = []
    for name in statement.fields:
        names.extend(sorted((all_tags | all_fields) - set(group_keys)) if name is None else [name])
    columns = ["time", *_unique_column_names(names)]
    condition = _condition(statement.condition, ctx.now_ns)
    series: list[Series] = []
    for measurement in sorted(measurements, key=lambda m: m.name):
        series.extend(_measurement_series(measurement, names, columns, group_keys, condition, ctx))
    series.sort(key=lambda s: (s.name or "", tuple((s.tags or {}).values())))
    if statement.descending:
        series.reverse()
        for one in series:
            one.rows.reverse()
    for one in series:
        end = statement.offset + statement.limit if statement.limit else None
        one.rows = one.rows[statement.offset : end]
    return [s for s in series if s.rows]


def _unique_column_names(names: list[str]) -> list[str]:
    """Repeated names get ``_1``, ``_2``... suffixes, as InfluxDB names duplicate columns."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        count = seen.get(name, 0)
        seen[name] = count + 1
        out.append(name if count == 0 else f"{name}_{count}")
    return out


def _measurement_series(
    measurement: _Measurement,
    names: list[str],
    columns: list[str],
    group_keys: list[str],
    condition: Callable[[dict[str, Any], int], bool] | None,
    ctx: Context,
) -> list[Series]:
    field_names = [n for n in names if n in measurement.field_keys or n not in measurement.tag_keys]
    groups: dict[tuple[str, ...], list[tuple[int, tuple[tuple[str, str], ...], list[Any]]]] = {}
    for (tags, time_ns), values in measurement.points.items():
        if not any(values.get(n) is not None for n in field_names):
            continue
        tag_values = dict(tags)
        lookup = _row_lookup(measurement, tag_values, values)
        if condition is not None and not condition(lookup, time_ns):
            continue
        cells = [values.get(n) if n in field_names else tag_values.get(n) for n in names]
        key = tuple(tag_values.get(k, "") for k in group_keys)
        groups.setdefault(key, []).append((time_ns, tags, cells))
    out = []
    for key, rows in groups.items():
        rows.sort(key=lambda row: (row[0], row[1]))
        series_tags = dict(zip(group_keys, key)) if group_keys else None
        out.append(Series(measurement.name, list(columns), [[t, *cells] for t, _, cells in rows], series_tags,
                          timed=True))
    return out


def _row_lookup(measurement: _Measurement, tags: dict[str, str], values: dict[str, Any]) -> dict[str, Any]:
    """What each name means in a WHERE clause for one row: its field value, else its tag value."""
    lookup: dict[str, Any] = {k: tags.get(k, "") for k in measurement.tag_keys}
    for key in measurement.field_keys:
        lookup[key] = values.get(key)
    return lookup


# --- WHERE ----------------------------------------------------------------------------------------------


class _Time(int):
    """A time in nanoseconds: strings compared or combined with it are read as times."""


def _condition(expr: Expr | None, now_ns: int) -> Callable[[dict[str, Any], int], bool] | None:
    if expr is None:
        return None
    _check_condition(expr)

    def test(lookup: dict[str, Any], time_ns: int) -> bool:
        return bool(_evaluate(expr, lookup, time_ns, now_ns))

    return test


def _check_condition(expr: Expr) -> None:
    """Comparisons and true/false, joined by AND/OR, make a condition (``WHERE v`` does not)."""
    if isinstance(expr, Binary) and expr.op in ("AND", "OR"):
        _check_condition(expr.left)
        _check_condition(expr.right)
    elif not (isinstance(expr, Binary) and expr.op in COMPARISONS) and not (
            isinstance(expr, Literal) and expr.kind == "bool"):
        raise StatementError(f"invalid condition expression: {_render(expr)}")


def _render(expr: Expr) -> str:
    if isinstance(expr, Ref):
        return quote_ident(expr.name)
    if isinstance(expr, Literal):
        if expr.kind == "string":
            return f"'{expr.value}'"
        return str(expr.value).lower() if expr.kind == "bool" else str(expr.value)
    if isinstance(expr, Now):
        return "now()"
    return f"{_render(expr.left)} {expr.op} {_render(expr.right)}"


def _evaluate(expr: Expr, lookup: dict[str, Any], time_ns: int, now_ns: int) -> Any:
    if isinstance(expr, Ref):
        return _Time(time_ns) if expr.name == "time" else lookup.get(expr.name)
    if isinstance(expr, Literal):
        return expr.value
    if isinstance(expr, Now):
        return _Time(now_ns)
    if expr.op in ("AND", "OR"):
        left_true = bool(_evaluate(expr.left, lookup, time_ns, now_ns))
        if left_true != (expr.op == "AND"):
            return left_true  # AND with a false left side, OR with a true one
        return bool(_evaluate(expr.right, lookup, time_ns, now_ns))
    left = _evaluate(expr.left, lookup, time_ns, now_ns)
    right = _evaluate(expr.right, lookup, time_ns, now_ns)
    if expr.op in COMPARISONS:
        return _compare(expr.op, left, right)
    return _arithmetic(expr.op, left, right)


def _as_time(value: Any) -> int:
    if isinstance(value, str):
        try:
            return parse_time_text(value)
        except ValueError:
            raise StatementError("invalid operation: time and *influxql.StringLiteral are not compatible") from None
    if isinstance(value, bool):
        raise StatementError("invalid operation: time and *influxql.BooleanLiteral are not compatible")
    return int(value)


def _compare(op: str, left: Any, right: Any) -> bool:
    if left is None or right is None:
        return False
    if isinstance(left, _Time) or isinstance(right, _Time):
        left, right = _as_time(left), _as_time(right)
    elif isinstance(left, bool) or isinstance(right, bool):
        if not (isinstance(left, bool) and isinstance(right, bool)) or op not in ("=", "!=", "<>"):
            return False
    elif isinstance(left, str) != isinstance(right, str):
        return False
    if op == "=":
        return left == right
    if op in ("!=", "<>"):
        return left != right
    if op == "<":
        return left < right
    if op == "<=":
        return left <= right
    if op == ">":
        return left > right
    return left >= right


def _arithmetic(op: str, left: Any, right: Any) -> Any:
    if left is None or right is None:
        return None
    timed = isinstance(left, _Time) or isinstance(right, _Time) or isinstance(left, str) or isinstance(right, str)
    if timed:
        if op not in ("+", "-"):
            return None
        left, right = _as_time(left), _as_time(right)
    if isinstance(left, (bool, str)) or isinstance(right, (bool, str)):
        return None
    if op == "+":
        value = left + right
    elif op == "-":
        value = left - right
    elif op == "*":
        value = left * right
    elif right == 0:
        return None
    elif op == "/":
        value = left / right
    else:
        value = left % right
    return _Time(value) if timed else value


def parse_time_text(text: str) -> int:
    """Nanoseconds for a time string in a WHERE clause: RFC 3339, a space for ``T``, or a date."""
    m = _TIME_TEXT.match(text)
    if not m:
        raise ValueError(f"not a time: {text!r}")
    parts = [int(g) if g else 0 for g in m.groups()[:6]]
    year, month, day, hour, minute, second = parts
    datetime(year, month, day, hour, minute, second)  # rejects month 13, February 30th...
    seconds = calendar.timegm((*parts, 0, 0, 0))
    fraction = int((m.group(7) or "0").ljust(9, "0"))
    zone = m.group(8) or "Z"
    offset = 0 if zone == "Z" else (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return (seconds - offset) * 1_000_000_000 + fraction
