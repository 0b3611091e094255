"""Decode the answers of the v1 ``/query`` endpoint (InfluxQL) into rows.

The endpoint answers JSON (``{"results": [{"statement_id": 0, "series": [...]}]}``, one
document, or one per line when the server chunks) or CSV (a header ``name,tags,time,...`` per
block, blocks separated by an empty line). Both decode to the same row shape: the series'
columns, then the series' tags, then ``_series`` (the series name) and ``_statement``; a
column always wins over a tag or one of those keys of the same name.

A statement that failed is reported in a 200 answer; that is raised as an error, never
dropped, and names the statement. An answer of any other shape (a series whose columns are
not a list of names, a row that is not a list as long as the columns...) is a ``DecodeError``
that says what is wrong where, as are bytes that are not UTF-8. CSV answers carry no
statement numbers and no types: there ``_statement`` counts the blocks (statements that
returned series), cells stay text and only integer times (asked for with ``epoch``) become
integers. InfluxDB 1.x also leaves a failed
statement out of a CSV answer entirely, so JSON is the format to rely on.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ..errors import APIError, DecodeError
from .csv_records import Records

SHAPES = ("rows", "series", "raw")


def decode(content: bytes, content_type: str, shape: str = "rows") -> Any:
    if shape not in SHAPES:
        raise DecodeError(f"unknown InfluxQL result shape {shape!r}; use one of {', '.join(SHAPES)}")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"the InfluxQL answer is not UTF-8 text at byte {exc.start:,} ({exc.reason})") from None
    if shape == "raw":
        return text
    if "csv" in content_type:
        series = list(_csv_series(text))
    else:
        series = list(_json_series(text))
    if shape == "series":
        return series
    return [row for one in series for row in _rows(one)]


def _rows(series: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    columns = series["columns"]
    extra = {"_statement": series["statement_id"], "_series": series.get("name"), **(series.get("tags") or {})}
    for values in series["values"]:
        row = dict(extra)
        row.update(zip(columns, values))
        yield row


def _documents(text: str) -> Iterator[Any]:
    """One JSON document, or several one after another (a chunked answer)."""
    # Go writes a float negative zero as "-0"; keep its sign instead of reading an integer 0.
    decoder = json.JSONDecoder(parse_int=lambda text: -0.0 if text == "-0" else int(text))
    at = 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at >= len(text):
            return
        try:
            doc, at = decoder.raw_decode(text, at)
        except (ValueError, RecursionError) as exc:
            why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            raise DecodeError(f"the InfluxQL answer is not JSON ({why})", answer=text) from None
        yield doc


def _json_series(text: str) -> Iterator[dict[str, Any]]:
    for doc in _documents(text):
        if not isinstance(doc, Mapping) or not isinstance(doc.get("results", []), (list, type(None))):
            raise DecodeError("the InfluxQL answer has no 'results' list", answer=text)
        if doc.get("error"):
            raise APIError(200, str(doc["error"]), code="invalid")
        for number, result in enumerate(doc.get("results") or []):
            if not isinstance(result, Mapping):
                raise _shape(f"results[{number}]", "an object", result)
            statement = result.get("statement_id", 0)
            if type(statement) is not int:
                raise _shape(f"results[{number}].statement_id", "a whole number", statement)
            if result.get("error"):
                raise APIError(200, f"statement {statement}: {result['error']}", code="invalid", body=doc)
            for index, series in enumerate(_list(result.get("series"), f"results[{number}].series")):
                yield _series(series, statement, f"results[{number}].series[{index}]")


def _series(series: Any, statement: int, where: str) -> dict[str, Any]:
    """One series, its shape checked: rows become dicts keyed by the column names."""
    if not isinstance(series, Mapping):
        raise _shape(where, "an object", series)
    name = series.get("name")
    if name is not None and not isinstance(name, str):
        raise _shape(f"{where}.name", "text", name)
    tags = series.get("tags") or {}
    if not isinstance(tags, Mapping):
        raise _shape(f"{where}.tags", "an object", tags)
    columns = _list(series.get("columns"), f"{where}.columns")
    for index, column in enumerate(columns):
        if not isinstance(column, str):
            raise _shape(f"{where}.columns[{index}]", "a column name (text)", column)
    values = _list(series.get("values"), f"{where}.values")
    for index, row in enumerate(values):
        if not isinstance(row, list) or len(row) != len(columns):
            raise _shape(f"{where}.values[{index}]", f"a list of {len(columns)} values, one per column", row)
    return {"statement_id": statement, "name": name, "tags": dict(tags), "columns": list(columns),
            "values": list(values)}


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _shape(where, "a list", value)
    return value


def _shape(where: str, expected: str, found: Any) -> DecodeError:
    # The value is quoted by the engine, once the connection's secrets are masked in it.
    return DecodeError(f"the InfluxQL answer's {where} should be {expected}, not this",
                       answer=json.dumps(found, default=repr))


def _csv_series(text: str) -> Iterator[dict[str, Any]]:
    """CSV blocks: a header, rows; a new block after an empty line. Cells stay text, except
    that integer times (asked for with ``epoch``) become integers."""
    current: dict[str, Any] | None = None
    header: list[str] | None = None
    statement = 0
    records = Records(io.StringIO(text, newline=""))
    checked = _checked(records)
    for record in checked:
        if not record:
            header = None
            continue
        if header is None:
            header = record
            if header == ["error"]:
                raise APIError(200, _next_cell(checked), code="invalid")
            if header[:2] != ["name", "tags"]:
                raise DecodeError(f"the InfluxQL CSV answer does not start with name,tags: {header!r}")
            if current is not None:
                yield _public(current)
                statement += 1  # a new block is the next statement that returned series
            current = None
            continue
        if len(record) != len(header):
            raise DecodeError(f"line {records.line_num} of the InfluxQL CSV answer has {len(record)} cells, "
                              f"its header {len(header)}")
        name, tags = record[0], _tags(record[1])
        key = (name, tuple(sorted(tags.items())))
        if current is None or current["_key"] != key:
            if current is not None:
                yield _public(current)
            current = {"_key": key, "statement_id": statement, "name": name, "tags": tags,
                       "columns": header[2:], "values": []}
        current["values"].append([_cell(header[i], v) for i, v in enumerate(record[2:], start=2)])
    if current is not None:
        yield _public(current)


def _checked(records: Records) -> Iterator[list[str]]:
    """The records, a malformed one (an unclosed quote, a cell over the limit) a DecodeError."""
    while True:
        try:
            record = next(records)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DecodeError(f"line {records.line_num} of the InfluxQL CSV answer is malformed: {exc}") from None
        yield record


def _next_cell(records: Iterator[list[str]]) -> str:
    following = next(records, None)
    return following[0] if following else "the server reported an error without a message"


def _public(series: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in series.items() if k != "_key"}


def _cell(column: str, value: str) -> Any:
    digits = value[1:] if value[:1] == "-" else value
    if column == "time" and digits.isascii() and digits.isdigit() and len(digits) <= 20:
        return int(value)
    return value


def _tags(text: str) -> dict[str, str]:
    """``k=v,k2=v2`` as the CSV writer joins a series' tags (no escaping is applied by it)."""
    tags: dict[str, str] = {}
    for part in _split(text):
        key, _, value = part.partition("=")
        tags[key] = value
    return tags


def _split(text: str) -> Iterable[str]:
    return [p for p in text.split(",") if p] if text else []
