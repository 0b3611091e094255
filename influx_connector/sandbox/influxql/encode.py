"""The v1 ``/query`` answer bodies, byte for byte in InfluxDB 1.x's JSON and CSV dialects.

JSON is written the way Go's ``encoding/json`` writes it (floats in their shortest form, ``2.0``
as ``2``, large and tiny ones as ``1e+21``/``1e-7``; ``<``, ``>`` and ``&`` escaped in strings), so
a client meets exactly the text it will meet in use. Times are RFC 3339 with nanoseconds and
trailing zeros trimmed, or integers in the ``epoch`` unit.

CSV has a header ``name,tags,<columns>`` and one line per row, with a blank line between
statements; statements that failed or returned nothing are left out, as 1.x leaves them out.
Its times are always integers: nanoseconds, or the ``epoch`` unit.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from influx_connector.sandbox.influxql.executor import Result, Series

#: Divisors of the ``epoch`` units the real server knows; any other value means nanoseconds.
EPOCH_DIVISORS = {"u": 1_000, "ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_json(results: list[Result], epoch: str | None) -> bytes:
    if not results:
        return b"{}\n"  # no statements at all (q=";"): Go omits the empty results list
    body = _object([("results", [_result_json(r, epoch) for r in results])])
    return (body + "\n").encode("utf-8")


def to_csv(results: list[Result], epoch: str | None) -> bytes:
    lines: list[str] = []
    for result in results:
        if not result.series:
            continue
        if lines:
            lines.append("")  # a blank line between statements
        header: list[str] | None = None
        for series in result.series:
            if header != series.columns:
                header = series.columns
                lines.append(_csv_row(["name", "tags", *header]))
            tags = _tags_text(series.tags)
            for row in series.rows:
                cells = [_csv_time(row[0], epoch) if series.timed else _csv_value(row[0]), *map(_csv_value, row[1:])]
                lines.append(_csv_row([series.name or "", tags, *cells]))
    return "".join(line + "\n" for line in lines).encode("utf-8")


# --- JSON ---------------------------------------------------------------------------------------------


class _Raw(str):
    """Already-encoded JSON text."""


def _result_json(result: Result, epoch: str | None) -> _Raw:
    items: list[tuple[str, Any]] = [("statement_id", result.statement_id)]
    if result.series:
        items.append(("series", [_series_json(s, epoch) for s in result.series]))
    if result.messages:
        items.append(("messages", [_object(list(m.items())) for m in result.messages]))
    if result.error:
        items.append(("error", result.error))
    return _object(items)


def _series_json(series: Series, epoch: str | None) -> _Raw:
    items: list[tuple[str, Any]] = []
    if series.name:
        items.append(("name", series.name))
    if series.tags:
        items.append(("tags", _object(sorted(series.tags.items()))))
    items.append(("columns", series.columns))
    if series.rows:
        rows = [[_json_time(row[0], epoch), *row[1:]] if series.timed else row for row in series.rows]
        items.append(("values", rows))
    return _object(items)


def _object(items: list[tuple[str, Any]]) -> _Raw:
    return _Raw("{" + ",".join(f"{_json_string(k)}:{_json(v)}" for k, v in items) + "}")


def _json(value: Any) -> str:
    if isinstance(value, _Raw):
        return value
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_json_float(value)
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_json(v) for v in value) + "]"
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def _json_string(text: str) -> str:
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif code < 0x20 or ch in "<>&\u2028\u2029":
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def go_json_float(value: float) -> str:
    """A float as Go's encoding/json writes it (shortest form; exponent only outside 1e-6..1e21)."""
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        # Python's repr is the shortest round-trip form, as Go's precision -1 is, and writes the
        # exponent with at least two digits like Go; Go's JSON encoder then turns e-07 into e-7.
        text = repr(value)
        if len(text) >= 4 and text[-4] == "e" and text[-3] == "-" and text[-2] == "0":
            text = text[:-2] + text[-1]
        return text
    return go_fixed_float(value)


def go_fixed_float(value: float) -> str:
    """A float in plain decimal notation, shortest round-trip digits (Go's ``'f', -1``)."""
    text = format(Decimal(repr(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _json_time(time_ns: int, epoch: str | None) -> Any:
    if not epoch:
        return format_rfc3339nano(time_ns)
    return _truncating_div(time_ns, EPOCH_DIVISORS.get(epoch, 1))


def format_rfc3339nano(time_ns: int) -> str:
    """Go's RFC3339Nano in UTC: the fraction has its trailing zeros trimmed (none when zero)."""
    seconds, fraction = divmod(time_ns, 1_000_000_000)
    moment = _EPOCH + timedelta(seconds=seconds)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if fraction:
        text += "." + f"{fraction:09d}".rstrip("0")
    return text + "Z"


def _truncating_div(value: int, divisor: int) -> int:
    """Integer division rounding toward zero, as Go's ``/`` on int64 does."""
    quotient = abs(value) // divisor
    return quotient if value >= 0 else -quotient


# --- CSV ----------------------------------------------------------------------------------------------


def _csv_time(time_ns: int, epoch: str | None) -> str:
    return str(_truncating_div(time_ns, EPOCH_DIVISORS.get(epoch or "", 1)))


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return go_fixed_float(value)
    return str(value)


def _csv_row(cells: list[str]) -> str:
    return ",".join(_csv_cell(c) for c in cells)


def _csv_cell(cell: str) -> str:
    # Go's encoding/csv: quote a field holding the comma, a quote, CR or LF, one that starts
    # with a space or tab, and the special field \. (doubling any quotes inside).
    needs_quotes = cell == "\\." or any(c in cell for c in ',"\r\n') or (cell != "" and cell[0] in " \t")
    return '"' + cell.replace('"', '""') + '"' if needs_quotes else cell


def _tags_text(tags: dict[str, str] | None) -> str:
    """The tags cell: ``k=v`` pairs sorted by key, empty values left out, line-protocol escaped."""
    if not tags:
        return ""
    pairs = [f"{_escape_tag(k)}={_escape_tag(v)}" for k, v in sorted(tags.items()) if v != ""]
    return ",".join(pairs)


def _escape_tag(text: str) -> str:
    return text.replace(",", "\\,").replace(" ", "\\ ").replace("=", "\\=")
