"""Answers written as they are made: rows as NDJSON, and a long run's progress.

A row stream is one JSON object a line, ``{"row": {...}}``, and always ends with one record that
says how it ended: ``{"end": {"rows": N, "truncated": false}}``, or ``{"error": {...}}`` when the
data source failed midway. A client that reads no final record knows the answer was cut off.

Rows are encoded in batches, so the WSGI server writes a few large blocks rather than one per
row, and memory stays bounded by the batch, whatever the size of the answer.
"""
from __future__ import annotations

import functools
import itertools
import json
import logging
import queue
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ..binary import json_default
from ..secrets import Redactor
from .problems import describe

log = logging.getLogger(__name__)

NDJSON = "application/x-ndjson"
#: Rows encoded and handed to the server at a time.
BATCH = 1000

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=json_default).encode


def _line(record: Mapping[str, Any], redactor: Redactor | None = None) -> bytes:
    text = _encode(record)
    return ((redactor.mask(text) if redactor is not None else text) + "\n").encode()


def _rows_encoder() -> Callable[[list[Any]], bytes]:
    """Rows as their NDJSON lines, a batch at a time: with orjson when it is installed (the
    serve extra brings it; encoding is most of a stream's own cost, and a batch is encoded
    without a Python call per row), else with the standard library's encoder. Both write a
    value JSON has no word for (NaN, infinity) as null, and anything else unknown as its text."""
    try:
        import orjson
    except ImportError:
        strict = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=json_default,
                                  allow_nan=False).encode

        def one(row: Any) -> str:
            try:
                return strict(row)
            except ValueError:  # NaN or infinity: null, as orjson writes them
                return _encode(_finite(row))

        def plain(batch: list[Any]) -> bytes:
            return ('{"row":' + '}\n{"row":'.join(map(one, batch)) + "}\n").encode()

        return plain
    dumps = functools.partial(orjson.dumps, default=json_default, option=orjson.OPT_NON_STR_KEYS)

    def fast(batch: list[Any]) -> bytes:
        return b'{"row":' + b'}\n{"row":'.join(map(dumps, batch)) + b"}\n"

    return fast


def _finite(value: Any) -> Any:
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def rows_ndjson(rows: Any, redactor: Redactor) -> Iterator[bytes]:
    """The rows of ``rows`` (an iterator with ``truncated`` and ``close``) as NDJSON chunks of
    ``BATCH`` rows; the rows read before a failure midway are sent, then the error record."""
    encode = _rows_encoder()
    mask = redactor.mask if redactor.secrets else None
    count = 0
    failure: Exception | None = None
    source = iter(rows)
    try:
        while failure is None:
            batch: list[Any] = []
            try:
                # list.extend keeps what it took before the iterator raised.
                batch.extend(itertools.islice(source, BATCH))
            except Exception as exc:  # the status line is sent already: the error goes in the stream
                failure = exc
            if batch:
                count += len(batch)
                yield _masked(encode(batch), mask)
            if len(batch) < BATCH:
                break
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()
    if failure is None:
        ending: dict[str, Any] = {"end": {"rows": count, "truncated": bool(getattr(rows, "truncated", False))}}
    else:
        if not _is_expected(failure):
            log.error("a row stream failed", exc_info=failure)
        ending = {"error": describe(failure), "rows": count}
    yield _masked(_line(ending), mask)


def _masked(chunk: bytes, mask: Callable[[str], str] | None) -> bytes:
    """A chunk with the connection's secrets masked (a row may quote one; it is rare, so the
    bytes are decoded only when a secret's text is in them)."""
    if mask is None:
        return chunk
    text = chunk.decode("utf-8", "surrogateescape")
    masked = mask(text)
    return chunk if masked == text else masked.encode("utf-8", "surrogateescape")


def progress_ndjson(work: Callable[[Callable[[Mapping[str, Any]], None]], Mapping[str, Any]],
                    redactor: Redactor) -> Iterator[bytes]:
    """Run ``work(progress)`` in a thread and stream ``{"progress": {...}}`` lines as it reports,
    then ``{"result": {...}}`` or ``{"error": {...}}``."""
    events: queue.Queue[tuple[str, Any]] = queue.Queue()

    def run() -> None:
        try:
            events.put(("result", work(lambda figures: events.put(("progress", dict(figures))))))
        except Exception as exc:
            if not _is_expected(exc):
                log.exception("a run failed")
            events.put(("error", describe(exc)))

    threading.Thread(target=run, name="host-run", daemon=True).start()
    while True:
        kind, payload = events.get()
        yield _line({kind: payload}, redactor)
        if kind != "progress":
            return


def _is_expected(exc: BaseException) -> bool:
    from ..errors import ConnectorError
    from .problems import Problem

    return isinstance(exc, (ConnectorError, Problem))

