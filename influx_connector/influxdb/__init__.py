"""The InfluxDB data source, as a plugin of the generic engine.

The engine knows nothing about InfluxDB: this module hands it the manifest and the few pieces
YAML cannot say: the annotated-CSV and InfluxQL decoders, the line-protocol encoder, and the rule that a
16-hex value is an organization ID while anything else is a name. To the command line it adds the
``sandbox`` command and a sandbox for the demo (``commands``).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import DecodeError
from ..hookspecs import hookimpl
from ..messages import Codec, ErrorFacts, HTTPResponse, Lookup
from ..resources import manifest_dir
from .commands import influx_connector_demo_server, influx_connector_register_commands  # noqa: F401 (hooks)

_ID = re.compile(r"^[0-9a-fA-F]{16}$")
# "unable to parse '<line>': <reason>", one per rejected line, joined by newlines. A line may
# itself contain "': " so the reason is taken after the last such separator on that entry.
_BAD_LINE = re.compile(r"unable to parse '(?P<line>.*)': (?P<reason>[^\n]*?)(?: dropped=\d+)?$", re.MULTILINE)
_DROPPED = re.compile(r"dropped=(\d+)")


def is_id(value: Any) -> bool:
    return isinstance(value, str) and bool(_ID.fullmatch(value))


def org_placement(value: Any, keep_org: bool = False) -> dict[str, str]:
    """Query parameters for an organization: an ID goes as orgID, a name as org.

    ``keep_org`` also sends the ID as ``org`` where the contract requires ``org`` (write).
    """
    text = str(value)
    if is_id(text):
        return {"org": text, "orgID": text} if keep_org else {"orgID": text}
    return {"org": text}


# InfluxDB 1.x spells microseconds "u" on /write; 1.6 reads a precision it does not know ("us")
# as nanoseconds without a word, 1.8 refuses it. The other precisions are spelled alike.
_V1_PRECISIONS = {"us": "u"}


def v1_precision(value: Any) -> Any:
    """The /write precision in InfluxDB 1.x's spelling."""
    return _V1_PRECISIONS.get(value, value)


# InfluxDB 3's write_lp names its precisions in words; the encoder stamps records without a
# time in a unit. "auto" reads a nanosecond timestamp as one, so that is what it stamps.
_V3_UNITS = {"auto": "ns", "nanosecond": "ns", "microsecond": "us", "millisecond": "ms", "second": "s"}


def v3_precision_unit(value: Any) -> Any:
    """The encoder's unit for an InfluxDB 3 write precision."""
    return _V3_UNITS.get(value, value)


_V3_MEDIA_TYPES = {"jsonl": "application/jsonl", "json_lines": "application/jsonl", "json": "application/json",
                   "csv": "text/csv", "parquet": "application/vnd.apache.parquet",
                   "parquet_rows": "application/vnd.apache.parquet"}
# The formats the connector offers beyond the server's: the server's format each is read from.
_V3_WIRE_FORMATS = {"parquet_rows": "parquet"}


def v3_accept(value: Any) -> Any:
    """The Accept header of an InfluxDB 3 query answer in a format (the contract asks for one of
    its media types, not a wildcard)."""
    return _V3_MEDIA_TYPES.get(value, "application/json")


def v3_format(value: Any) -> Any:
    """The format an InfluxDB 3 query asks the server for (``parquet_rows`` is Parquet, decoded
    here)."""
    return _V3_WIRE_FORMATS.get(value, value)


def resolve_org_id(value: Any, client: Lookup) -> str:
    """The ID of an organization given by name or ID (bucket bodies accept only an ID)."""
    from ..errors import APIError

    text = str(value)
    if is_id(text):
        return text
    try:
        found = client.get_json("/api/v2/orgs", {"org": text}, operation="find organization")
    except APIError as exc:
        if exc.status == 404:
            raise APIError(404, f'organization "{text}" not found', code="not found",
                           operation="find organization") from None
        raise
    orgs = found.get("orgs") if isinstance(found, Mapping) else None
    match = next((o for o in orgs if isinstance(o, Mapping) and o.get("name") == text), None) \
        if isinstance(orgs, list) else None
    if match is None:
        raise APIError(404, f'organization "{text}" not found', code="not found", operation="find organization")
    if not is_id(match.get("id")):
        from ..errors import DecodeError

        raise DecodeError(f'the server gave organization "{text}" no 16-hex-digit ID', answer=repr(match.get("id")))
    return str(match["id"])


def decode_annotated_csv(response: HTTPResponse, shape: str = "rows", limit: int | None = None) -> Any:
    """Rows or tables of a Flux answer; with ``limit``, at most that many rows and a list whose
    ``truncated`` says whether the answer held more."""
    from .annotated_csv import decode, lines_from_chunks

    if shape == "csv":
        from .annotated_csv import _utf8

        return _utf8(response.content)
    # Lines cut from the chunks as the CSV reader means them: a chunk may end between \r and \n,
    # and a quoted cell may hold Unicode line separators.
    return decode(lines_from_chunks(response.iter_bytes(chunk_size=65536)), shape=shape, limit=limit)


def stream_annotated_csv(response: HTTPResponse, limit: int | None = None, **_options: Any) -> Any:
    """The rows of a Flux answer one at a time, in bounded memory (``Connection.stream``)."""
    from .annotated_csv import RowStream, lines_from_chunks

    return RowStream(lines_from_chunks(response.iter_bytes(chunk_size=65536)), limit=limit,
                     on_close=response.close)


def decode_influxql(response: HTTPResponse, shape: str = "rows") -> Any:
    from .influxql import decode

    return decode(response.content, response.headers.get("Content-Type", ""), shape=shape)


def decode_query3(response: HTTPResponse, format: str = "jsonl", limit: int | None = None) -> Any:  # noqa: A002
    """Rows of an InfluxDB 3 query answer in the format asked for (``query_answers``): JSON Lines,
    JSON and Parquet as rows (``parquet_rows``, with pyarrow), CSV as text, Parquet as bytes."""
    from ..builtin import decode_text
    from .query_answers import json_rows, rows_of

    if format in ("jsonl", "json_lines"):
        return rows_of(response.iter_bytes(chunk_size=_CHUNK), limit)
    if format == "json":
        return json_rows(_whole(response), limit)
    if format == "parquet":
        return _whole(response)
    if format == "parquet_rows":
        from .annotated_csv import ResultList
        from .parquet import ParquetRows

        rows = ParquetRows(_whole(response), limit, response.memory_limit, response.limit_setting)
        result = ResultList(rows)
        result.truncated, result.limit = rows.truncated, limit
        return result
    if not response.read_whole:  # streamed: read within the memory limit, then as text
        return decode_text(HTTPResponse.of(response.status_code, response.headers, _whole(response)))
    return decode_text(response)


def stream_query3(response: HTTPResponse, limit: int | None = None, format: str = "jsonl", **_options: Any) -> Any:  # noqa: A002
    """JSON Lines rows one at a time in bounded memory, Parquet rows a batch at a time (the file
    held whole: it is read from its end); the other formats decoded whole."""
    from .query_answers import JsonLines

    if format in ("jsonl", "json_lines"):
        return JsonLines(response.iter_bytes(chunk_size=_CHUNK), limit=limit, on_close=response.close)
    try:
        if format == "parquet_rows":
            from .parquet import ParquetRows

            return ParquetRows(_whole(response), limit, response.memory_limit, response.limit_setting)
        data = decode_query3(response, format=format, limit=limit)
    finally:
        response.close()
    return data if isinstance(data, list) else iter([data])


def parquet_table(data: bytes, max_bytes: int | None = None) -> Any:
    """The ``pyarrow.Table`` of a Parquet answer (what ``format: parquet`` gives), for a Python
    host that works in Arrow; needs pyarrow (the ``parquet`` extra). Unpacked to at most
    ``max_bytes`` when given; a file pyarrow cannot read is a ``DecodeError``."""
    from .parquet import read_table

    return read_table(data, max_bytes)


def check_query3(format: str = "jsonl", **_options: Any) -> dict[str, str]:  # noqa: A002
    """Parquet as rows needs pyarrow: said before the query is sent, on the format field."""
    if format == "parquet_rows":
        from .parquet import unusable

        problem = unusable()
        if problem is not None:
            return {"format": f"parquet_rows (Parquet as rows) {problem}; or choose parquet for the bytes"}
    return {}


def _whole(response: HTTPResponse) -> bytes:
    """The whole answer, within the connection's memory limit also when it was streamed (a
    streamed answer is otherwise unbounded in length, as rows are read one at a time)."""
    if response.read_whole or response.memory_limit is None:
        return response.content
    limit, held = response.memory_limit, bytearray()
    for chunk in response.iter_bytes(chunk_size=_CHUNK):
        held += chunk
        if len(held) > limit:
            raise DecodeError(f"the answer is larger than the {limit >> 20} MiB an answer may hold in memory; "
                              f"raise {response.limit_setting}, or ask for fewer rows")
    return bytes(held)


_CHUNK = 256 * 1024


def encode_line_protocol(value: Any, field: str = "data", precision: str = "ns") -> tuple[bytes, Mapping[str, Any]]:
    from .line_protocol_encoder import encode_points

    # Point ends let a large write go in batches without cutting a string that holds a newline;
    # for records they come from the encoded lines, text is scanned for them.
    body, count = encode_points(value, precision=precision, field=field)
    return body, {"count": count}


def remaining(data: Any, error: Any) -> Any:
    """What is left to write after a batched write failed: send it to resume exactly once.

    ``error`` is the error raised (or its ``details``). What is left is
    ``data[details["resume_from"]:]``. When the failing batch's fate is unknown (it was sent and
    no answer came, so the server may have stored it), its points without a time are given the
    time that batch gave them (``failed_batch["time_given"]``): sent again, they replace what
    the server may hold instead of landing a second time. Records are copied, never changed.
    """
    from .line_protocol_encoder import encode_points

    details = getattr(error, "details", error)
    start = details["resume_from"]
    failed = details.get("failed_batch") or {}
    if isinstance(data, Mapping):
        data = [data]
    given = failed.get("time_given")
    if given is None or failed.get("outcome") != "in doubt":
        return data[start:]
    doubtful = failed["end"] - failed["first"]
    if isinstance(data, str):
        body, _ = encode_points(data[start:])
        cuts = [body.ends[i] for i in body.unfinished if i < doubtful]
        suffix = b" %d" % given
        pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)])]
        return suffix.join(pieces).decode("utf-8")
    rest = list(data[start:])
    for index, record in enumerate(rest[:doubtful]):
        if isinstance(record, Mapping) and record.get("time") is None:
            rest[index] = {**record, "time": given}
    return rest


#: What InfluxDB 3 answers (400) when it kept the lines it could parse (``accept_partial``).
V3_PARTIAL = "partial write of line protocol occurred"


def write_error_facts(status: int, message: Any, body: Any = None) -> ErrorFacts:
    """The rejected lines of a 400 write, and the dropped count of a partial write: a 422, or
    the 400 "partial write: ..." of InfluxDB 1.x, which wrote the lines it could parse, or
    InfluxDB 3's {"error": ..., "data": [{"original_line", "line_number", "error_message"}]}."""
    if isinstance(body, Mapping) and "data" in body and isinstance(body.get("error"), str):
        return _v3_write_facts(body)
    text = message if isinstance(message, str) else ""
    bad = tuple({"line": m.group("line"), "reason": m.group("reason")} for m in _BAD_LINE.finditer(text))
    dropped = _DROPPED.search(text)
    if (status == 422 and dropped) or text.startswith("partial write:"):
        return ErrorFacts(partial_write=True, rejected_lines=bad, dropped=int(dropped.group(1)) if dropped else None)
    return ErrorFacts(rejected_lines=bad)


def write_error_details(status: int, message: Any, body: Any = None) -> dict[str, Any]:
    """``write_error_facts`` as the details an ``APIError`` carries."""
    return write_error_facts(status, message, body).as_details()


def _v3_write_facts(body: Mapping[str, Any]) -> ErrorFacts:
    data = body.get("data")
    entries = data if isinstance(data, list) else [data] if isinstance(data, Mapping) else []
    bad = tuple({"line": str(e.get("original_line", "")), "reason": str(e.get("error_message", "")),
                 **({"line_number": e["line_number"]} if isinstance(e.get("line_number"), int) else {})}
                for e in entries if isinstance(e, Mapping))
    return ErrorFacts(partial_write=body.get("error") == V3_PARTIAL, rejected_lines=bad)


@hookimpl
def influx_connector_error_details(status: int, message: Any, body: Any) -> ErrorFacts | None:
    facts = write_error_facts(status, message, body)
    return facts if facts != ErrorFacts() else None


def connector_file() -> Path:
    """The InfluxDB data source's manifest: ``connector.yaml``, with ``operations/`` beside it."""
    return manifest_dir() / "connector.yaml"


@hookimpl
def influx_connector_datasources() -> list[Path]:
    return [connector_file()]


@hookimpl
def influx_connector_codecs() -> Mapping[str, Codec]:
    return {"annotated_csv": Codec(decode_annotated_csv, stream=stream_annotated_csv),
            "influxql": Codec(decode_influxql),
            "query3": Codec(decode_query3, stream=stream_query3, check=check_query3)}


@hookimpl
def influx_connector_encoders() -> Mapping[str, Any]:
    return {"line_protocol": encode_line_protocol}


@hookimpl
def influx_connector_rules() -> Mapping[str, Any]:
    return {"influx_org": org_placement, "v1_precision": v1_precision, "v3_precision_unit": v3_precision_unit,
            "v3_accept": v3_accept, "v3_format": v3_format}


@hookimpl
def influx_connector_resolvers() -> Mapping[str, Any]:
    return {"influx_org_id": resolve_org_id}
