"""What a write in batches did, told truthfully when it did not all go well.

Batches go in order, so at any moment records [0, answered) have been sent and answered: each
was written, or refused inside a batch the server wrote only in part (``partial_write`` in the
error's details). When a batch fails otherwise, the write stops and the error says, with
0-based record indices (``data[0]`` is the first record, as in field paths):

``records_total``, ``records_written``, ``records_rejected``
    how many records there were, how many the server stored, and how many it refused inside
    partly written batches (``rejected_lines`` names them where the server did, with the
    ``record`` index when the line could be matched);
``records_in_doubt``
    the failing batch's records when it was sent and no answer came (a reset, a timeout, a
    gateway's 502/504): the server may have stored them or not;
``records_not_written``, ``records_not_sent``
    the records neither stored, rejected nor in doubt (the failing batch when the server refused
    it or it could not be sent, and every record after it); and those of them never sent;
``first_unwritten_record``, ``resume_from``
    the first record of the failing batch, and where it starts in the value given, so that
    ``value[resume_from:]`` (``data[first_unwritten_record:]`` for a list of records) is exactly
    what remains to send;
``failed_batch``
    ``{"first", "end", "outcome"}`` (``refused``, ``in doubt`` or ``not sent``), plus what the
    encoder says its per-batch suffix meant (``RecordBytes.facts``), so a batch in doubt can be
    sent again as it was.

Internal to the engine (not part of what hosts use; see ``influx_connector.__all__``).
"""
from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as default
from typing import Any

from .batch import Batch, BatchPlan
from .errors import APIError, ConnectorError, DecodeError, TransportError

REFUSED, IN_DOUBT, NOT_SENT = "refused", "in doubt", "not sent"


def outcome(exc: ConnectorError, did_nothing: tuple[int, ...]) -> str:
    """What became of a batch whose request failed with ``exc``.

    A client error (4xx), or a status the server uses to say it did nothing (``did_nothing``:
    429, 503), means the batch was not stored; a connection that could not be opened means it
    was not sent. A lost or cut answer, or another server error, leaves it in doubt.
    """
    if isinstance(exc, APIError):
        return REFUSED if exc.status < 500 or exc.status in did_nothing else IN_DOUBT
    if isinstance(exc, TransportError) and exc.sent is False:
        return NOT_SENT
    if isinstance(exc, (TransportError, DecodeError)):
        return IN_DOUBT
    return REFUSED


def _span(first: int, end: int) -> str:
    return f"record {first}" if end - first == 1 else f"records {first}-{end - 1}"


@dataclass
class BatchReport:
    """The running account of one batched write."""

    plan: BatchPlan
    field: str = "data"
    answered: int = 0
    written: int = 0
    rejected: int = 0
    rejected_lines: list[dict[str, Any]] = default(default_factory=list)
    partial: list[tuple[Batch, APIError]] = default(default_factory=list)

    # --- as batches are answered ---------------------------------------------------------

    def written_whole(self, batch: Batch) -> None:
        self.answered = batch.end
        self.written += batch.size

    def written_in_part(self, batch: Batch, exc: APIError) -> None:
        """A batch the server kept only part of: its rejected lines and dropped points."""
        lines = self._located(batch, exc.details.get("rejected_lines") or [])
        refused = min(batch.size, len(lines) + int(exc.details.get("dropped") or 0))
        self.answered = batch.end
        self.rejected += refused
        self.written += batch.size - refused
        self.rejected_lines.extend(lines)
        self.partial.append((batch, exc))

    # --- the errors ----------------------------------------------------------------------------

    def failure(self, exc: ConnectorError, batch: Batch, did_nothing: tuple[int, ...]) -> ConnectorError:
        """``exc``, raised by ``batch``, with what landed and what did not."""
        total = self.plan.records
        happened = outcome(exc, did_nothing)
        in_doubt = batch.size if happened == IN_DOUBT else 0
        failed: dict[str, Any] = {"first": batch.first, "end": batch.end, "outcome": happened}
        if happened == IN_DOUBT and batch.suffix and self.plan.facts is not None:
            failed.update(self.plan.facts(batch.suffix))
        own = exc.details.get("rejected_lines") if isinstance(exc, APIError) else None
        details = {
            **self._counts(), "records_in_doubt": in_doubt,
            "records_not_written": total - self.written - self.rejected - in_doubt,
            "records_not_sent": total - (batch.first if happened == NOT_SENT else batch.end),
            "records_sent": batch.end if happened != NOT_SENT else batch.first,
            "first_unwritten_record": batch.first, "resume_from": self.plan.position(batch.first),
            "failed_batch": failed}
        if self.rejected_lines or own:
            details["rejected_lines"] = self.rejected_lines + self._located(batch, own or [])
        if self.partial:
            details["batches"] = self._partial_batches()
        if isinstance(exc, APIError):
            exc.details.update(details)
        else:
            exc.details = details  # type: ignore[attr-defined]
        if batch.first == 0 and batch.end == total:
            return exc  # one batch: the server's own words say it all
        exc.args = (f"{exc.args[0]} ({self._story(batch, happened)})", *exc.args[1:])
        return exc

    def partial_error(self, op_id: str) -> APIError:
        """One error for every batch written only in part (the server's own when there was one batch)."""
        total = self.plan.records
        details = {**self._counts(), "partial_write": True, "batches": self._partial_batches(), "records_in_doubt": 0,
                   "records_not_written": 0, "records_not_sent": 0, "records_sent": total,
                   "first_unwritten_record": total, "resume_from": self.plan.position(total)}
        if self.rejected_lines:
            details["rejected_lines"] = self.rejected_lines
        first_batch, first = self.partial[0]
        if len(self.partial) == 1 and (first_batch.first, first_batch.end) == (0, total):
            first.details.update(details)
            return first
        count = self.rejected
        text = (f"{len(self.partial)} {'batches were' if len(self.partial) != 1 else 'batch was'} written only in "
                f"part: {count or 'some'} record{'s' if count != 1 else ''} rejected, {self.written} of {total} "
                f"written; the server said: {first.message}")
        return APIError(first.status, text, code=first.code, operation=op_id, body=first.body, details=details,
                        partial_write=True)

    # --- helpers -------------------------------------------------------------------------------

    def _counts(self) -> dict[str, int]:
        return {"records_total": self.plan.records, "records_written": self.written,
                "records_rejected": self.rejected}

    def _partial_batches(self) -> list[dict[str, Any]]:
        out = []
        for batch, exc in self.partial:
            out.append({"first": batch.first, "end": batch.end, "status": exc.status, "message": exc.message})
        return out

    def _story(self, batch: Batch, happened: str) -> str:
        parts = []
        if self.answered:
            if self.rejected:
                parts.append(f"{_span(0, self.answered)} were sent: {self.written} written, {self.rejected} "
                             "rejected (see rejected_lines)")
            else:
                parts.append(f"{_span(0, self.answered)} {'was' if self.answered == 1 else 'were'} written")
        else:
            parts.append("no records were written")
        span = _span(batch.first, batch.end)
        if happened == IN_DOUBT:
            parts.append(f"{span} {'was' if batch.size == 1 else 'were'} sent but no answer came: "
                         "the server may have stored them")
        elif happened == NOT_SENT:
            parts.append(f"{span} could not be sent")
        elif batch.size == 1:
            parts.append(f"{span} alone was refused")
        else:
            parts.append(f"the batch of {span} was refused")
        if batch.end < self.plan.records:
            verb = "was" if self.plan.records - batch.end == 1 else "were"
            parts.append(f"{_span(batch.end, self.plan.records)} {verb} not sent")
        parts.append(f"resume with {self.field}[{self.plan.position(batch.first)}:]")
        return "; ".join(parts)

    def _located(self, batch: Batch, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The server's rejected lines, each with the index of the record it quotes when found."""
        out = []
        taken: set[int] = set()
        texts: list[bytes] | None = None
        for entry in lines:
            entry = dict(entry)
            quoted = str(entry.get("line", "")).encode("utf-8")
            if quoted:
                if texts is None:
                    texts = [self.plan.record(i, batch.suffix) for i in range(batch.first, batch.end)]
                for offset, text in enumerate(texts):
                    if offset not in taken and _quotes(text, quoted):
                        taken.add(offset)
                        record = entry["record"] = batch.first + offset
                        suffix = batch.suffix
                        if suffix and self.plan.is_unfinished(record) and quoted.endswith(suffix):
                            entry["line"] = quoted[:-len(suffix)].decode("utf-8", "replace")  # as it was given
                        break
            out.append(entry)
        return out


def _quotes(record: bytes, quoted: bytes) -> bool:
    """Whether the server's quoted line is this record (servers strip leading blanks, and a
    record's bytes may begin with lines that are not records, such as comments)."""
    text = record.rstrip(b"\r\n")
    if not text.endswith(quoted):
        return False
    before = text[:len(text) - len(quoted)]
    return not before or before[-1:] in (b"\n", b" ", b"\t")
