"""One request, tried until it succeeds or may not be tried again; the answer checked and decoded.

Internal to the engine: ``Connection`` calls these; hosts use ``Connection.run``.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import requests

from ..deadline import Deadline
from ..errors import ConnectorError, DecodeError, TransportError
from ..messages import HTTPResponse
from ..model import Connector, Operation
from ..plugins import PluginHost
from ..render import Request
from ..retry import Attempts, RetryPolicy, retry_after_seconds
from ..secrets import Redactor
from ..template import Context, render
from ..transport import api_error

if TYPE_CHECKING:
    from .client import Connection

log = logging.getLogger(__name__)


def exchange(conn: Connection, op: Operation, request: Request, tally: Tally, stream: bool = False,
             attempts: Attempts | None = None, whole: bool = True) -> HTTPResponse:
    """Send, retrying what the policy allows; return the last answer (maybe an error status).

    Each request gets its own retry budget unless ``attempts`` carries one on. A successful
    answer may hold at most the connection's answer limit, unless ``whole`` is False (a
    stream read a row at a time)."""
    attempts = attempts or tally.start()
    limit = conn.limits.answer_bytes if whole else None
    while True:
        attempts.count += 1
        tally.attempts += 1
        try:
            response = conn.transport.send(request, op.id, stream=stream, limit=limit, deadline=tally.deadline,
                                           ok=lambda status: is_success(op, status))
        except TransportError as exc:
            if exc.reason == "deadline":
                raise
            if exc.sent is False or (op.retry_safe and exc.sent):
                wait = attempts.next_wait(exc.reason or type(exc).__name__)
                if wait is not None:
                    log.info("%s: %s; trying again in %.2f s", op.id, exc, wait)
                    attempts.sleep(wait)
                    continue
            elif exc.sent:
                attempts.stopped = not_safe(op)
            raise
        response.memory_limit, response.limit_setting = conn.limits.answer_bytes, conn.limits.answer_setting
        status = response.status_code
        if not response.success and conn.policy.retries_status(status, op.retry_safe):
            wait = attempts.next_wait(f"HTTP {status}", retry_after_seconds(response.headers.get("Retry-After")))
            if wait is not None:
                log.info("%s: HTTP %s; trying again in %.2f s", op.id, status, wait)
                response.close()
                attempts.sleep(wait)
                continue
        elif not response.success and conn.policy.retries_status(status, retry_safe=True):
            attempts.stopped = not_safe(op)  # a gateway lost the answer: the work may be done
        return response


def call(conn: Connection, op: Operation, params: Mapping[str, Any], request: Request, summary: Mapping[str, Any],
         tally: Tally) -> tuple[Any, int]:
    """Exchange and decode; a retry-safe answer cut off while being read is asked for again."""
    from .paging import follow_pages  # paging sends through exchange: imported when used

    attempts = tally.start()
    while True:
        response = exchange(conn, op, request, tally, stream=op.response.stream, attempts=attempts)
        try:
            data = decode_response(conn.connector, op, params, summary, response, conn.host, conn.redactor)
            pag = op.response.paginate
            if pag and pag.enabled_by and params.get(pag.enabled_by):
                data = follow_pages(conn, op, params, request, data, tally)
            if isinstance(data, (bytes, bytearray)):
                # Bytes say nothing of what they are: the server's media type goes with them.
                tally.content_type = response.headers.get("Content-Type") or None
            return data, response.status_code
        except DecodeError as exc:
            wait = attempts.next_wait("answer cut off") if exc.cut_off and op.retry_safe else None
            if wait is None:
                if exc.cut_off and not op.retry_safe:
                    attempts.stopped = not_safe(op)
                raise
            log.info("%s: %s; trying again in %.2f s", op.id, exc, wait)
            attempts.sleep(wait)
        finally:
            response.close()


def not_safe(op: Operation) -> str:
    """Why a failure that may have reached the server was not retried."""
    return (f"not retried, as {op.id} is not safe to repeat: the request may have reached the server, "
            "so check whether it took effect before trying again")


def is_success(op: Operation, status: int) -> bool:
    return status in op.response.success if op.response.success else 200 <= status < 300


class Tally:
    """What one call did across its requests: tries, retries and pages, within one deadline."""

    def __init__(self, policy: RetryPolicy, deadline: Deadline) -> None:
        self.policy = policy
        self.deadline = deadline
        self.attempts = 0
        self.pages = 1
        self.retried: list[dict[str, Any]] = []
        self.current: Attempts | None = None
        #: Why the result holds less than the server had (a page cap), when it does.
        self.truncated: str | None = None
        #: The media type of an answer given as bytes, as the server named it.
        self.content_type: str | None = None

    def start(self) -> Attempts:
        """A fresh retry budget for the next request of this call (each batch or page has its own)."""
        self.current = Attempts(self.policy, retried=self.retried, deadline=self.deadline)
        return self.current

    def note(self, exc: ConnectorError) -> ConnectorError:
        """Say how the failing request was tried: "gave up after N attempts" only when it was
        retried; why it was not, when a retry was wanted but not allowed."""
        current = self.current
        if current is None:
            return exc
        if current.count > 1:
            exc.gave_up(current.count, f"gave up {current.summary()}")
        elif current.stopped:
            why = current.stopped
            exc.gave_up(1, why if why.startswith("not retried") else f"not retried: {why}")
        return exc


def decode_response(connector: Connector, op: Operation, params: Mapping[str, Any], summary: Mapping[str, Any],
                    response: HTTPResponse, host: PluginHost, redactor: Redactor) -> Any:
    """Check the status against the operation's success list and decode with its codec."""
    success = response.success if response.success is not None else is_success(op, response.status_code)
    if not success:
        raise api_error(response, connector.error_keys, redactor, op.id, host)
    if op.response.result is not None:  # nothing to decode: the result is declared
        return render(op.response.result, Context(params=params, body=summary))
    options = render(op.response.options, Context(params=params, body=summary))
    codec = host.codec(op.response.codec)
    try:
        return codec.decode(response, **options)
    except ConnectorError as exc:  # a codec does not know the secrets: mask them here
        exc.redact(redactor)
        raise
    except UNFORESEEN as exc:
        raise undecodable(op.id, op.response.codec, exc, redactor) from None


#: What a codec raises when it did not foresee what the server sent.
UNFORESEEN = (ArithmeticError, LookupError, TypeError, ValueError, AttributeError, RecursionError,
               requests.exceptions.RequestException)


def undecodable(op_id: str, codec: str, exc: BaseException, redactor: Redactor) -> DecodeError:
    """The DecodeError for a codec that failed on an answer in its own way: the answer is what
    is wrong, so it is reported as one that could not be decoded, not as a crash of the host."""
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
        return DecodeError(f"{op_id}: the answer was cut off while reading it: {type(exc).__name__}", cut_off=True)
    log.debug("%s: codec %r failed", op_id, codec, exc_info=exc)
    return DecodeError(f"{op_id}: the answer could not be decoded as {codec} "
                       f"({type(exc).__name__}: {redactor.excerpt(str(exc), 200)})")

