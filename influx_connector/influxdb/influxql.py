"""Decode the answers of the v1 ``/query`` endpoint (InfluxQL) into rows.

The endpoint answers JSON (``{"results": [{"statement_id": 0, "series": [...]}]}``, one
document, or one per line when the server chunks) or CSV (a header ``name,tags,time,...`` per
block, blocks separated by an empty line). Both decode to the same row shape: the series'
columns, then the series' tags, then ``_series`` (the series name) and ``_statement``; a
column always wins over a tag or one of those keys of the same name.

A statement that failed is reported in a 200 answer; that is raised as an error, never
dropped, and names the statement. CSV answers carry no statement numbers and no types: there
``_statement`` counts the blocks (statements that returned series), cells stay text and only
integer times (asked for with ``epoch``) become integers. InfluxDB 1.x also leaves a failed
statement out of a CSV answer entirely, so JSON is the format to rely on.
"""
from __future__ import annotations

import csv
import io
import json
from typing import Any, Iterable, Iterator, Mapping

from ..errors import APIError, DecodeError

SHAPES = ("rows", "series", "raw")


def decode(content: bytes, content_type: str, shape: str = "rows") -> Any:
    if shape not in SHAPES:
        raise DecodeError(f"unknown InfluxQL result shape {shape!r}; use one of {', '.join(SHAPES)}")
    text = content.decode("utf-8")
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
        except ValueError as exc:
            raise DecodeError(f"the InfluxQL answer is not JSON ({exc})", answer=text) from None
        yield doc


def _json_series(text: str) -> Iterator[dict[str, Any]]:
    for doc in _documents(text):
        if not isinstance(doc, Mapping) or not isinstance(doc.get("results", []), list):
            raise DecodeError("the InfluxQL answer has no 'results' list", answer=text)
        if doc.get("error"):
            raise APIError(200, str(doc["error"]), code="invalid")
        for result in doc.get("results") or []:
            statement = result.get("statement_id", 0)
            if result.get("error"):
                raise APIError(200, f"statement {statement}: {result['error']}", code="invalid", body=doc)
            for series in result.get("series") or []:
                yield {"statement_id": statement, "name": series.get("name"), "tags": series.get("tags") or {},
                       "columns": list(series.get("columns") or []), "values": list(series.get("values") or [])}


def _csv_series(text: str) -> Iterator[dict[str, Any]]:
    """CSV blocks: a header, rows; a new block after an empty line. Cells stay text, except
    that integer times (asked for with ``epoch``) become integers."""
    current: dict[str, Any] | None = None
    header: list[str] | None = None
    statement = 0
    records = csv.reader(io.StringIO(text, newline=""))
    for record in records:
        if not record:
            header = None
            continue
        if header is None:
            header = record
            if header == ["error"]:
                raise APIError(200, _next_cell(records), code="invalid")
            if header[:2] != ["name", "tags"]:
                raise DecodeError(f"the InfluxQL CSV answer does not start with name,tags: {header!r}")
            if current is not None:
                yield _public(current)
                statement += 1  # a new block is the next statement that returned series
            current = None
            continue
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


def _next_cell(records: Iterator[list[str]]) -> str:
    following = next(records, None)
    return following[0] if following else "the server reported an error without a message"


def _public(series: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in series.items() if k != "_key"}


def _cell(column: str, value: str) -> Any:
    if column == "time" and value.lstrip("-").isdigit():
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
