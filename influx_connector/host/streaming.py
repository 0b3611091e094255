"""Answers written as they are made: rows as NDJSON, and a long run's progress.

A row stream is one JSON object a line, ``{"row": {...}}``, and always ends with one record that
says how it ended: ``{"end": {"rows": N, "truncated": false}}``, or ``{"error": {...}}`` when the
data source failed midway. A client that reads no final record knows the answer was cut off.

Rows are encoded in chunks of lines, so the WSGI server writes a few large blocks rather than
one per row, and memory stays bounded by the chunk, whatever the size of the answer.
"""
from __future__ import annotations

import json
import logging
import queue
import threading
from typing import Any, Callable, Iterator, Mapping

from ..secrets import Redactor
from .problems import describe

log = logging.getLogger(__name__)

NDJSON = "application/x-ndjson"
#: Bytes gathered before a chunk is handed to the server.
CHUNK = 256 * 1024

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


def _line(record: Mapping[str, Any], redactor: Redactor | None = None) -> bytes:
    text = _encode(record)
    return ((redactor.mask(text) if redactor is not None else text) + "\n").encode()


def rows_ndjson(rows: Any, redactor: Redactor) -> Iterator[bytes]:
    """The rows of ``rows`` (an iterator with ``truncated`` and ``close``) as NDJSON chunks."""
    count = 0
    parts: list[str] = []
    size = 0
    try:
        for row in rows:
            text = '{"row":' + _encode(row) + "}\n"
            parts.append(text)
            size += len(text)
            count += 1
            if size >= CHUNK:
                yield redactor.mask("".join(parts)).encode()
                parts, size = [], 0
        parts.append(_encode({"end": {"rows": count, "truncated": bool(getattr(rows, "truncated", False))}}) + "\n")
    except Exception as exc:  # the status line is sent already: the error goes in the stream
        if not _is_expected(exc):
            log.exception("a row stream failed")
        parts.append(_encode({"error": describe(exc), "rows": count}) + "\n")
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()
    yield redactor.mask("".join(parts)).encode() if parts else b""


def progress_ndjson(work: Callable[[Callable[[Mapping[str, Any]], None]], Mapping[str, Any]],
                    redactor: Redactor) -> Iterator[bytes]:
    """Run ``work(progress)`` in a thread and stream ``{"progress": {...}}`` lines as it reports,
    then ``{"result": {...}}`` or ``{"error": {...}}``."""
    events: "queue.Queue[tuple[str, Any]]" = queue.Queue()

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

