"""The Flux function table behind ``GET /api/v2/query/suggestions``.

Each entry is a real Flux function with its parameters and their type names, in the vocabulary the
server uses: ``stream`` for a table stream (the piped-in ``tables``), ``function``, ``string``,
``int``, ``float``, ``bool``, ``array``, ``object``, ``time``, ``duration``, ``regexp``, and
``invalid`` for parameters whose type is polymorphic (``range``'s ``start`` accepts a time or a
duration, ``fill``'s ``value`` any basic type); the real server prints those as ``invalid`` too.
"""
from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

#: Type names a parameter may have in a suggestion.
PARAM_TYPES = frozenset(
    {"stream", "function", "string", "int", "float", "bool", "array", "object", "time", "duration", "regexp", "invalid"}
)

# Shapes shared by many functions, so each entry below shows only what is special about it.
_COLUMN = {"column": "string", "tables": "stream"}
_COLUMNS = {"columns": "array", "tables": "stream"}
_CONNECTION = {"host": "string", "org": "string", "orgID": "string", "token": "string"}
_CONVERT = {"tables": "stream"}
_VALUE = {"v": "invalid"}

_FUNCS: dict[str, dict[str, str]] = {
    "aggregateWindow": {
        "column": "string", "createEmpty": "bool", "every": "duration", "fn": "function",
        "location": "object", "offset": "duration", "period": "duration", "tables": "stream",
        "timeDst": "string", "timeSrc": "string",
    },
    "bool": _VALUE,
    "bottom": {"columns": "array", "n": "int", "tables": "stream"},
    "buckets": _CONNECTION,
    "columns": {"column": "string", "tables": "stream"},
    "contains": {"set": "array", "value": "invalid"},
    "count": _COLUMN,
    "cumulativeSum": _COLUMNS,
    "derivative": {
        "columns": "array", "initialZero": "bool", "nonNegative": "bool", "tables": "stream",
        "timeColumn": "string", "unit": "duration",
    },
    "difference": {
        "columns": "array", "initialZero": "bool", "keepFirst": "bool", "nonNegative": "bool",
        "tables": "stream",
    },
    "distinct": _COLUMN,
    "drop": {"columns": "array", "fn": "function", "tables": "stream"},
    "duplicate": {"as": "string", "column": "string", "tables": "stream"},
    "duration": _VALUE,
    "elapsed": {"columnName": "string", "tables": "stream", "timeColumn": "string", "unit": "duration"},
    "exponentialMovingAverage": {"n": "int", "tables": "stream"},
    "fill": {"column": "string", "tables": "stream", "usePrevious": "bool", "value": "invalid"},
    "filter": {"fn": "function", "onEmpty": "string", "tables": "stream"},
    "findColumn": {"column": "string", "fn": "function", "tables": "stream"},
    "findRecord": {"fn": "function", "idx": "int", "tables": "stream"},
    "first": _COLUMN,
    "float": _VALUE,
    "from": {"bucket": "string", "bucketID": "string", **_CONNECTION},
    "group": {"columns": "array", "mode": "string", "tables": "stream"},
    "histogram": {
        "bins": "array", "column": "string", "countColumn": "string", "normalize": "bool",
        "tables": "stream", "upperBoundColumn": "string",
    },
    "hourSelection": {"start": "int", "stop": "int", "tables": "stream", "timeColumn": "string"},
    "increase": _COLUMNS,
    "int": _VALUE,
    "integral": {
        "column": "string", "interpolate": "string", "tables": "stream", "timeColumn": "string",
        "unit": "duration",
    },
    "join": {"method": "string", "on": "array", "tables": "object"},
    "keep": {"columns": "array", "fn": "function", "tables": "stream"},
    "keyValues": {"fn": "function", "keyColumns": "array", "tables": "stream"},
    "keys": {"column": "string", "tables": "stream"},
    "last": _COLUMN,
    "length": {"arr": "array"},
    "limit": {"n": "int", "offset": "int", "tables": "stream"},
    "map": {"fn": "function", "mergeKey": "bool", "tables": "stream"},
    "max": _COLUMN,
    "mean": _COLUMN,
    "median": {"column": "string", "compression": "float", "method": "string", "tables": "stream"},
    "min": _COLUMN,
    "mode": _COLUMN,
    "movingAverage": {"n": "int", "tables": "stream"},
    "now": {},
    "pivot": {"columnKey": "array", "rowKey": "array", "tables": "stream", "valueColumn": "string"},
    "quantile": {
        "column": "string", "compression": "float", "method": "string", "q": "float", "tables": "stream",
    },
    "range": {"start": "invalid", "stop": "invalid", "tables": "stream"},
    "reduce": {"fn": "function", "identity": "object", "tables": "stream"},
    "rename": {"columns": "object", "fn": "function", "tables": "stream"},
    "sample": {"column": "string", "n": "int", "pos": "int", "tables": "stream"},
    "set": {"key": "string", "tables": "stream", "value": "string"},
    "skew": _COLUMN,
    "sort": {"columns": "array", "desc": "bool", "tables": "stream"},
    "spread": _COLUMN,
    "stateCount": {"column": "string", "fn": "function", "tables": "stream"},
    "stateDuration": {
        "column": "string", "fn": "function", "tables": "stream", "timeColumn": "string", "unit": "duration",
    },
    "stddev": {"column": "string", "mode": "string", "tables": "stream"},
    "string": _VALUE,
    "sum": _COLUMN,
    "tableFind": {"fn": "function", "tables": "stream"},
    "tail": {"n": "int", "offset": "int", "tables": "stream"},
    "time": _VALUE,
    "timeShift": {"columns": "array", "duration": "duration", "tables": "stream"},
    "timedMovingAverage": {
        "column": "string", "every": "duration", "period": "duration", "tables": "stream",
    },
    "to": {
        "bucket": "string", "bucketID": "string", "fieldFn": "function", "host": "string",
        "measurementColumn": "string", "org": "string", "orgID": "string", "tables": "stream",
        "tagColumns": "array", "timeColumn": "string", "token": "string",
    },
    "toBool": _CONVERT,
    "toFloat": _CONVERT,
    "toInt": _CONVERT,
    "toString": _CONVERT,
    "toTime": _CONVERT,
    "toUInt": _CONVERT,
    "top": {"columns": "array", "n": "int", "tables": "stream"},
    "truncateTimeColumn": {"tables": "stream", "timeColumn": "string", "unit": "duration"},
    "uint": _VALUE,
    "union": {"tables": "array"},
    "unique": _COLUMN,
    "window": {
        "createEmpty": "bool", "every": "duration", "location": "object", "offset": "duration",
        "period": "duration", "startColumn": "string", "stopColumn": "string", "tables": "stream",
        "timeColumn": "string",
    },
    "yield": {"name": "string", "tables": "stream"},
}


def suggestion(name: str) -> dict[str, object] | None:
    """One ``FluxSuggestion`` (``{"name", "params"}``), or None for a function not in the table."""
    params = _FUNCS.get(name)
    if params is None:
        return None
    # A copy, so a caller that edits the answer cannot change the table.
    return {"name": name, "params": dict(params)}


def all_suggestions() -> list[dict[str, object]]:
    """Every suggestion, ordered by function name."""
    return [{"name": name, "params": dict(_FUNCS[name])} for name in sorted(_FUNCS)]
