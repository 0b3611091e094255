"""The sandbox's SQL: a documented subset of InfluxDB 3's SQL, run by the standard library's sqlite3.

For each query, the tables it names are loaded from the bucket into a fresh in-memory SQLite
database, one row per (series, time) with a column per tag and per field, and the query runs
there. What InfluxDB 3 spells differently is rewritten first, and only that:

- ``now()``, ``date_bin(INTERVAL '5 minutes', time[, origin])`` are SQLite functions registered
  here; times are integers (nanoseconds) inside, RFC 3339 text outside;
- ``INTERVAL '1 hour'`` becomes its nanoseconds; a quoted RFC 3339 time (``'2024-01-01T00:00:00Z'``,
  ``TIMESTAMP '...'``) becomes its nanoseconds, so it compares with ``time``;
- ``$name`` placeholders are SQLite's own named parameters: values are bound, never spliced.

The subset: one SELECT, with WHERE on time, tags and fields, GROUP BY, ORDER BY, LIMIT/OFFSET,
the aggregates count, sum, avg, min and max, and the functions listed in ``FUNCTIONS``.
Anything else (joins, subqueries, unions, CTEs, window functions, other statements, other
functions) raises ``Unsupported`` naming it, which the server answers with 400.
"""
from __future__ import annotations

import calendar
import re
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from influx_connector.sandbox.store import Bucket

from .answers import TAG, Answer

#: Functions a query may call, besides the aggregates.
AGGREGATES = frozenset({"count", "sum", "avg", "min", "max"})
FUNCTIONS = AGGREGATES | frozenset({"date_bin", "now", "abs", "round", "lower", "upper", "coalesce", "length"})
#: Words that may stand before "(" without being a function call.
_NOT_CALLS = frozenset({"in", "and", "or", "not", "as", "by", "on", "where", "select", "having", "when", "then",
                        "else", "exists", "values", "is", "like", "between", "distinct", "case", "limit"})
_UNSUPPORTED_WORDS = {
    "join": "joins", "union": "UNION", "intersect": "INTERSECT", "except": "EXCEPT", "with": "common table "
    "expressions (WITH)", "over": "window functions (OVER)", "insert": "INSERT", "update": "UPDATE",
    "delete": "DELETE", "create": "CREATE", "drop": "DROP", "alter": "ALTER", "pragma": "PRAGMA",
    "attach": "ATTACH", "explain": "EXPLAIN", "show": "SHOW", "describe": "DESCRIBE",
}
_UNITS_NS = {"nanosecond": 1, "microsecond": 1_000, "millisecond": 1_000_000, "second": 1_000_000_000,
             "minute": 60_000_000_000, "hour": 3_600_000_000_000, "day": 86_400_000_000_000,
             "week": 7 * 86_400_000_000_000}
_STRING = re.compile(r"'(?:[^']|'')*'")
_INTERVAL = re.compile(r"\bINTERVAL\s+'\s*(\d+)\s*([a-z]+?)s?\s*'", re.IGNORECASE)
_TIME_LITERAL = re.compile(r"(?:\bTIMESTAMP\s+)?'(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
                           r"(Z|[+-]\d{2}:\d{2})?'", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CALL = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*\(")
_COMMA_JOIN = re.compile(r"\bFROM\s+(\"(?:[^\"]|\"\")+\"|[A-Za-z_][A-Za-z0-9_.-]*)(\s+(AS\s+)?[A-Za-z_]\w*)?\s*,",
                         re.IGNORECASE)
_FROM = re.compile(r"\bFROM\s+(\"(?:[^\"]|\"\")+\"|[A-Za-z_][A-Za-z0-9_.-]*)", re.IGNORECASE)
_TIME_ALIAS = re.compile(r"(?:date_bin\s*\((?:[^()]|\([^()]*\))*\)|\b(?:min|max)\s*\(\s*\"?time\"?\s*\)|\btime\b)"
                         r"\s+AS\s+\"?([A-Za-z_][A-Za-z0-9_]*)\"?", re.IGNORECASE)


class Unsupported(Exception):
    """The query uses something outside the sandbox's SQL subset."""


class QueryError(Exception):
    """The query is within the subset but wrong (a syntax error, an unknown column or table)."""


@dataclass(frozen=True)
class Table:
    """A table (measurement) as the query sees it: its tag and field columns and their rows."""

    name: str
    tags: tuple[str, ...]
    fields: dict[str, str]  # name -> Flux type (double, long, unsignedLong, boolean, string)
    rows: list[dict[str, Any]]


def tables_of(bucket: Bucket, declared: Mapping[str, tuple[tuple[str, ...], dict[str, str]]]) -> dict[str, Table]:
    """The bucket's measurements as tables, one row per (series, time); tables created empty
    (``declared``: name -> (tags, fields)) are included with their columns."""
    rows: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {}
    tags: dict[str, dict[str, None]] = {}
    fields: dict[str, dict[str, str]] = {}
    for name, (t, f) in declared.items():
        rows.setdefault(name, {})
        tags.setdefault(name, dict.fromkeys(t))
        fields.setdefault(name, {}).update(f)
    for (measurement, series_tags, field), points in bucket.series.items():
        table = rows.setdefault(measurement, {})
        tags.setdefault(measurement, {}).update(dict.fromkeys(k for k, _ in series_tags))
        for point in points.values():
            fields.setdefault(measurement, {}).setdefault(field, point.type)
            row = table.setdefault((series_tags, point.time), {"time": point.time, **dict(series_tags)})
            row[field] = point.value
    return {name: Table(name, tuple(sorted(tags[name])), fields.get(name, {}), list(table.values()))
            for name, table in rows.items()}


def check_subset(sql: str) -> None:
    """Raise ``Unsupported`` when the query is outside the subset (strings are not looked into)."""
    bare = _STRING.sub("''", sql).strip().rstrip(";").strip()
    if ";" in bare:
        raise Unsupported("more than one statement")
    first = _WORD.match(bare)
    if first is None or first.group(0).lower() != "select":
        word = first.group(0).upper() if first else bare[:20]
        raise Unsupported(f"{word} statements (only SELECT is supported)")
    words = {w.lower() for w in _WORD.findall(bare)}
    for word, what in _UNSUPPORTED_WORDS.items():
        if word in words:
            raise Unsupported(what)
    if re.search(r"\(\s*select\b", bare, re.IGNORECASE):
        raise Unsupported("subqueries")
    if _COMMA_JOIN.search(bare):
        raise Unsupported("joins")
    for call in _CALL.finditer(bare):
        name = call.group(1).lower()
        if name not in FUNCTIONS and name not in _NOT_CALLS and name != "interval":
            raise Unsupported(f"the function {call.group(1)}()")


def rewrite(sql: str) -> str:
    """InfluxDB 3's spellings of intervals and times, as SQLite reads them (outside strings they are
    rewritten; a quoted RFC 3339 time is itself such a spelling)."""
    sql = _INTERVAL.sub(lambda m: str(int(m.group(1)) * _unit_ns(m.group(2))), sql)
    return _TIME_LITERAL.sub(lambda m: str(_literal_ns(m)), sql)


def _unit_ns(unit: str) -> int:
    key = unit.lower().rstrip("s")
    short = {"ns": "nanosecond", "us": "microsecond", "ms": "millisecond", "sec": "second", "min": "minute",
             "h": "hour", "hr": "hour", "d": "day", "w": "week"}
    key = short.get(key, key)
    if key not in _UNITS_NS:
        raise Unsupported(f"the interval unit {unit!r}")
    return _UNITS_NS[key]


def _literal_ns(m: re.Match[str]) -> int:
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    fraction = int((m.group(7) or "").ljust(9, "0") or 0)
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    offset = m.group(8) or "Z"
    if offset.upper() != "Z":
        sign = 1 if offset[0] == "+" else -1
        seconds -= sign * (int(offset[1:3]) * 3600 + int(offset[4:6]) * 60)
    return seconds * 1_000_000_000 + fraction


def _date_bin(stride: Any, value: Any, origin: Any = 0) -> int | None:
    if value is None or stride is None:
        return None
    stride, value, origin = int(stride), int(value), int(origin or 0)
    if stride <= 0:
        raise ValueError("date_bin: the stride must be greater than zero")
    return value - (value - origin) % stride


def run(sql: str, tables: Mapping[str, Table], params: Mapping[str, Any], now_ns: int) -> Answer:
    """The rows of ``sql``: objects of column to value, nulls left out, the time columns in
    nanoseconds, and what is known of each column's type (``answers`` writes them)."""
    check_subset(sql)
    text = rewrite(sql)
    db = sqlite3.connect(":memory:")
    try:
        db.create_function("now", 0, lambda: now_ns, deterministic=True)
        db.create_function("date_bin", 2, _date_bin, deterministic=True)
        db.create_function("date_bin", 3, _date_bin, deterministic=True)
        named = [tables[n] for n in _named_tables(sql) if n in tables]
        booleans = _load(db, named)
        missing = [n for n in _named_tables(sql) if n not in tables]
        if missing:
            raise QueryError(f"Error during planning: table 'public.iox.{missing[0]}' not found")
        try:
            cursor = db.execute(text, {k: _bindable(v) for k, v in params.items()})
        except sqlite3.ProgrammingError as exc:
            raise QueryError(f"Error during planning: {exc}") from None
        except sqlite3.Error as exc:
            raise QueryError(f"Error during planning: {exc}") from None
        names = [d[0] for d in cursor.description or ()]
        times = {"time"} | {m.group(1) for m in _TIME_ALIAS.finditer(sql)}
        out = []
        for values in cursor:
            row = {}
            for name, value in zip(names, values):
                if value is None:
                    continue
                if name in booleans and name not in times and value in (0, 1):
                    value = bool(value)
                row[name] = value
            out.append(row)
        kinds: dict[str, str] = {}
        for table in named:
            kinds.update(table.fields)
            kinds.update(dict.fromkeys(table.tags, TAG))
        return Answer(out, frozenset(times), kinds, tuple(names))
    finally:
        db.close()


def _bindable(value: Any) -> Any:
    if isinstance(value, (str, int, float)) or value is None:
        return value
    raise QueryError(f"a query parameter must be a string, a number, a boolean or null, not {type(value).__name__}")


def _named_tables(sql: str) -> list[str]:
    names = []
    for m in _FROM.finditer(_STRING.sub("''", sql)):
        raw = m.group(1)
        names.append(raw[1:-1].replace('""', '"') if raw.startswith('"') else raw)
    return names


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _load(db: sqlite3.Connection, tables: Iterable[Table]) -> set[str]:
    """Create and fill a SQLite table per table; return the names of boolean field columns."""
    booleans: set[str] = set()
    affinity = {"double": "REAL", "long": "INTEGER", "unsignedLong": "INTEGER", "boolean": "INTEGER", "string": "TEXT"}
    for table in tables:
        columns = ["time", *table.tags, *[f for f in table.fields if f not in table.tags and f != "time"]]
        fields = columns[1 + len(table.tags):]
        types = ["INTEGER", *["TEXT"] * len(table.tags), *[affinity[table.fields[f]] for f in fields]]
        booleans |= {f for f, t in table.fields.items() if t == "boolean"}
        db.execute(f"CREATE TABLE {_quote(table.name)} ("
                   + ", ".join(f"{_quote(c)} {t}" for c, t in zip(columns, types)) + ")")
        marks = ", ".join("?" * len(columns))
        try:
            db.executemany(f"INSERT INTO {_quote(table.name)} VALUES ({marks})",
                           ([row.get(c) for c in columns] for row in table.rows))
        except OverflowError:
            raise Unsupported(f"table {table.name!r} holds an unsigned integer above 9223372036854775807 "
                              "(SQLite's integers are signed 64-bit)") from None
    return booleans
