"""A body of many records, sent in batches: each batch in order, halved when too large, with a
truthful account (``batch_report``) when the write does not all go well.

One ``BatchWriter`` owns a batched write: the plan, each batch's bytes (finished and compressed
once, just before the batch is first needed; its retries send the very same bytes), the byte
figures (``batch.Sent``) and the report. Compression runs outside the interpreter lock, so
batches that need no finishing are compressed a few ahead on worker threads while earlier ones
are on the wire; a batch with unfinished records (points stamped with the time they are sent)
is prepared only when its turn comes.

Internal to the engine: ``Connection.run`` writes in batches when an operation asks for it.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..batch import Batch, BatchPlan, Payload, Sent
from ..batch_report import BatchReport
from ..errors import APIError, ConnectorError
from ..model import Operation
from ..render import Request
from .exchange import Tally, decode_response, exchange

if TYPE_CHECKING:
    from .client import Connection

#: Batches compressed ahead of the one being sent, and the threads that do it.
AHEAD = 3
WORKERS = 2


class BatchWriter:
    """One write in batches (see the module docstring). ``run`` sends them all or raises the
    error that says what landed."""

    def __init__(self, conn: Connection, op: Operation, params: Mapping[str, Any], request: Request,
                 tally: Tally, progress: Callable[[Mapping[str, Any]], None] | None = None):
        assert request.batch is not None
        self.conn, self.op, self.params, self.tally, self.progress = conn, op, params, tally, progress
        self.plan: BatchPlan = request.batch
        # Rendered for a run, the request carries no body: each batch brings its own, and its encoding.
        self.request = replace(request, body=None, batch=None,
                               headers={k: v for k, v in request.headers.items() if k.lower() != "content-encoding"})
        self.report = BatchReport(self.plan, _body_field(op))
        #: The byte figures: the whole body's size, then what each batch sent.
        self.sent = Sent(bytes=int(request.summary.get("bytes", len(self.plan.raw))), batches=0)
        self.base_summary = dict(request.summary)
        self._ahead: dict[tuple[int, int], Future[Payload]] = {}
        self._pool: ThreadPoolExecutor | None = None

    def summary(self) -> dict[str, Any]:
        """What the operation's result may quote (``{$body: key}``): the encoder's figures and the bytes sent."""
        return {**self.base_summary, **self.sent.figures()}

    def run(self) -> tuple[Any, int, dict[str, Any]]:
        """Send each batch in order; halve one the server finds too large; keep going past a
        partial write and report its rejected lines at the end. On any other error, say what
        was written, what was refused, what may have been, and what was not sent."""
        queue: deque[Batch | tuple[int, int]] = deque(self.plan.ranges())
        data: Any = None
        status = 0
        try:
            while queue:
                item = queue.popleft()
                self._prepare_ahead(queue)
                # A batch is finished once, before its first attempt: its retries and halves send the same bytes.
                batch = item if isinstance(item, Batch) else self.plan.batch(*item)
                payload = self._payload(batch)
                outcome = self._send(batch, payload, last=not queue)
                if outcome is None:  # too large: its halves go next
                    queue.extendleft(reversed(batch.halves()))
                    self.sent = self.sent.split()
                    continue
                data, status = outcome
                if self.progress is not None:
                    self.progress({"records": self.report.answered, "records_total": self.plan.records,
                                   "batches": self.sent.batches, "bytes": self.sent.sent_bytes})
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
        if self.report.partial:
            raise self.report.partial_error(self.op.id)
        return data, status, self.summary()

    def _send(self, batch: Batch, payload: Payload, last: bool) -> tuple[Any, int] | None:
        """One batch, retried as its operation allows: (data, status), or None when the server
        found it too large and it is to be halved."""
        conn, op = self.conn, self.op
        request = replace(self.request, body=payload.data, headers=payload.headers(self.request.headers))
        try:
            response = exchange(conn, op, request, self.tally)
        except ConnectorError as exc:
            raise self.report.failure(exc, batch, conn.policy.on_status) from None
        data: Any = None
        try:
            if response.status_code in self.plan.split_on and batch.size > 1:
                return None
            self.sent = self.sent.plus(payload)
            # Only the last answer is decoded into the result, with the write's final figures;
            # every other answer is checked for an error (a partial write goes on).
            if last or not response.success:
                data = decode_response(conn.connector, op, self.params, self.summary(), response, conn.host,
                                       conn.redactor)
        except APIError as exc:
            if not exc.partial_write:
                raise self.report.failure(exc, batch, conn.policy.on_status) from None
            self.report.written_in_part(batch, exc)
        except ConnectorError as exc:
            raise self.report.failure(exc, batch, conn.policy.on_status) from None
        else:
            self.report.written_whole(batch)
        finally:
            response.close()
        return data, response.status_code

    # --- each batch's bytes, prepared once ------------------------------------------------------

    def _payload(self, batch: Batch) -> Payload:
        ahead = self._ahead.pop((batch.first, batch.end), None) if not batch.suffix else None
        return ahead.result() if ahead is not None else self.plan.payload(batch)

    def _prepare_ahead(self, queue: deque[Batch | tuple[int, int]]) -> None:
        """Start compressing the next few batches that need no finishing, on worker threads."""
        if not self.plan.compresses() or self.plan.records <= self.plan.size:
            return
        for item in list(queue)[:AHEAD]:
            if not isinstance(item, tuple) or item in self._ahead or self.plan.needs_finish(*item):
                continue
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="influx-connector-batch")
            self._ahead[item] = self._pool.submit(self.plan.payload, Batch(*item))


def _body_field(op: Operation) -> str:
    """The parameter a batched body is made from (what a report's ``data[i:]`` names)."""
    value = (op.request.body or {}).get("value")
    return str(value.get("$param", "data")) if isinstance(value, Mapping) else "data"
