"""A body of many records, sent in batches: each batch in order, halved when too large, with a
truthful account (``batch_report``) when the write does not all go well.

Internal to the engine: ``Connection.run`` writes in batches when an operation asks for it.
"""
from __future__ import annotations

from collections import deque
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable, Mapping

from ..batch import Batch
from ..batch_report import BatchReport
from ..errors import APIError, ConnectorError
from ..model import Operation
from ..render import Request
from .exchange import Tally, decode_response, exchange

if TYPE_CHECKING:
    from .client import Connection


def run_batches(conn: "Connection", op: Operation, params: Mapping[str, Any], request: Request, tally: Tally,
                 progress: Callable[[Mapping[str, Any]], None] | None) -> tuple[Any, int, dict[str, Any]]:
    """Send each batch in order; halve one the server finds too large; keep going past a
    partial write and report its rejected lines at the end. On any other error, say what
    was written, what was refused, what may have been, and what was not sent
    (``batch_report``)."""
    plan = request.batch
    assert plan is not None
    headers = {k: v for k, v in request.headers.items() if k.lower() != "content-encoding"}
    report = BatchReport(plan, _body_field(op))
    queue: deque[Batch | tuple[int, int]] = deque(plan.ranges())
    summary = {**request.summary, "sent_bytes": 0, "compressed": False, "batches": 0}
    data: Any = None
    status = 0
    while queue:
        item = queue.popleft()
        # A batch is finished once, before its first attempt: its retries and halves send the same bytes.
        batch = item if isinstance(item, Batch) else plan.batch(*item)
        _, body, compressed = plan.body(batch.first, batch.end, batch.suffix)
        batch_headers = {**headers, "Content-Encoding": "gzip"} if compressed else headers
        try:
            response = exchange(conn, op, replace(request, body=body, headers=batch_headers, batch=None), tally)
        except ConnectorError as exc:
            raise report.failure(exc, batch, conn.policy.on_status) from None
        if response.status_code in plan.split_on and batch.size > 1:
            response.close()
            queue.extendleft(reversed(batch.halves()))
            summary["splits"] = summary.get("splits", 0) + 1
            continue
        # The totals with this batch counted: what the codec reports after the last one.
        after = {**summary, "sent_bytes": summary["sent_bytes"] + len(body), "batches": summary["batches"] + 1,
                 "compressed": summary["compressed"] or compressed}
        try:
            data = decode_response(conn.connector, op, params, after, response, conn.host, conn.redactor)
        except APIError as exc:
            if not exc.details.get("partial_write"):
                raise report.failure(exc, batch, conn.policy.on_status) from None
            report.written_in_part(batch, exc)
        except ConnectorError as exc:
            raise report.failure(exc, batch, conn.policy.on_status) from None
        else:
            report.written_whole(batch)
        finally:
            response.close()
        status, summary = response.status_code, after
        if progress is not None:
            progress({"records": report.answered, "records_total": plan.records, "batches": summary["batches"],
                      "bytes": summary["sent_bytes"]})
    if report.partial:
        raise report.partial_error(op.id)
    return data, status, summary

def _body_field(op: Operation) -> str:
    """The parameter a batched body is made from (what a report's ``data[i:]`` names)."""
    value = (op.request.body or {}).get("value")
    return str(value.get("$param", "data")) if isinstance(value, Mapping) else "data"


