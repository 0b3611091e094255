"""Answers written as they are made: rows as NDJSON, and a long run's progress.

A row stream is one JSON object a line, ``{"row": {...}}``, and always ends with one record that
says how it ended: ``{"end": {"rows": N, "truncated": false}}``, or ``{"error": {...}}`` when the
data source failed midway. A client that reads no final record knows the answer was cut off.

Rows are encoded in batches, so the WSGI server writes a few large blocks rather than one per
row, and memory stays bounded by the batch, whatever the size of the answer.
"""
from __future__ import annotations

import functools
import json
import logging
import queue
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ..binary import json_default
from ..connection.rows import in_lists
from ..secrets import SHORT_SECRET, Redactor
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
    serve extra brings it; encoding is most of a stream's own cost), else with the standard
    library's encoder. Both write a value JSON has no word for (NaN, infinity) as null, and
    anything else unknown as its text."""
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
    return _orjson_batch(orjson)


def _orjson_batch(orjson: Any) -> Callable[[list[Any]], bytes]:
    """One orjson call a batch: a call costs some microseconds whatever its size, twenty times
    what a small row costs inside a list. The rows are dumped as one array with a fragment after
    each that starts with a raw newline; compact JSON escapes every control character inside
    strings, so those newlines are the only ones in the output, and each separator (the comma,
    the fragment, the comma) marks where a row ends, whatever the rows hold (nested objects,
    quotes, braces). The fragment is as long as what replaces the separator, so the bytes are
    rewritten in place, in one pass."""
    dumps = orjson.dumps
    marker = b"\n" + b" " * (len(_NEXT_ROW) - 3)
    fragment, separator = orjson.Fragment(marker), b"," + marker + b","
    non_str_keys = orjson.OPT_NON_STR_KEYS

    def fast(batch: list[Any]) -> bytes:
        if not batch:
            return b""
        spaced = [fragment] * (2 * len(batch))
        spaced[::2] = batch
        try:
            dumped = dumps(spaced, default=json_default)
        except TypeError:  # a key that is not text (rare; the option costs half the dump)
            dumped = dumps(spaced, default=json_default, option=non_str_keys)
        # b'[r1,F,r2,F,...,rN,F]' -> b'[r1}\n{"row":r2}\n{"row":...rN,F]' -> b'{"row":r1}\n...{"row":rN}\n'
        rows = dumped.replace(separator, _NEXT_ROW)
        return b"".join((_FIRST_ROW, memoryview(rows)[1 : -len(separator)], _LAST_ROW))

    return fast


_FIRST_ROW, _NEXT_ROW, _LAST_ROW = b'{"row":', b'}\n{"row":', b"}\n"


def _finite(value: Any) -> Any:
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def rows_ndjson(rows: Any, redactor: Redactor) -> Iterator[bytes]:
    """The rows of ``rows`` (an iterator with ``truncated`` and ``close``; ``batches()`` too,
    as ``Connection.stream``'s have) as NDJSON chunks of ``BATCH`` rows or a little more; the
    rows read before a failure midway are sent, then the error record."""
    encode = _rows_encoder()
    mask = _byte_masker(redactor)
    count = 0
    failure: Exception | None = None
    lists = rows.batches(BATCH) if callable(getattr(rows, "batches", None)) else in_lists(iter(rows), BATCH)
    pending: list[Any] = []
    try:
        while True:
            try:
                part = next(lists, None)
            except Exception as exc:  # the status line is sent already: the error goes in the stream
                failure, part = exc, None
            if part:
                pending.extend(part)
            if pending and (part is None or len(pending) >= BATCH):
                count += len(pending)
                yield mask(encode(pending))
                pending = []
            if part is None:
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
    yield mask(_line(ending))


def _byte_masker(redactor: Redactor) -> Callable[[bytes], bytes]:
    """What masks the connection's secrets in a chunk of UTF-8 (a row may quote one). It is
    rare, so the chunk is searched as bytes and decoded only when a secret's bytes are in it;
    a secret masked only as a whole word (a short one) needs the text, so then every chunk is."""
    if not redactor.secrets:
        return _unchanged
    mask = redactor.mask
    try:
        forms = tuple(secret.encode() for secret in redactor.secrets)
    except UnicodeEncodeError:  # a lone surrogate: only its text form can be searched
        forms = ()
    if not forms or min(map(len, redactor.secrets)) < SHORT_SECRET:
        return functools.partial(_masked, mask=mask)

    def masked(chunk: bytes) -> bytes:
        for form in forms:
            if form in chunk:
                return _masked(chunk, mask)
        return chunk

    return masked


def _unchanged(chunk: bytes) -> bytes:
    return chunk


def _masked(chunk: bytes, mask: Callable[[str], str]) -> bytes:
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

