"""A configured connection: validate, render, send, decode, page, and test, for any data source."""
from __future__ import annotations

import logging
import os
import time
import warnings
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import requests

from . import inputs
from .batch import Batch
from .batch_report import BatchReport
from .deadline import Deadline
from .errors import (
    APIError,
    ConnectorError,
    DecodeError,
    FieldError,
    InsecureTLSWarning,
    TransportError,
    ValidationError,
)
from .limits import Limits
from .links import same_origin_url
from .model import Connector, Operation
from .plugins import PluginHost, default_host
from .render import RenderContext, Request, base_url, connection_headers, connection_problems, render_request
from .retry import Attempts, RetryPolicy, retry_after_seconds
from .secrets import Redactor
from .template import Context, render
from .transport import Transport, api_error

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Result:
    """What an operation returned: decoded data, the HTTP status and facts about the call."""

    data: Any
    status: int
    meta: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"data": self.data, "status": self.status, "meta": dict(self.meta)}

    def envelope(self) -> dict[str, Any]:
        """The result as hosts of the Insight² / ToolJet data-source model expect it."""
        return {"status": "ok", "data": self.data}


@dataclass(frozen=True)
class StepReport:
    name: str
    title: str
    status: str  # "passed", "failed", "skipped" or "not run"
    message: str = ""
    http_status: int | None = None
    elapsed_ms: float | None = None


@dataclass(frozen=True)
class TestReport:
    ok: bool
    steps: tuple[StepReport, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "steps": [s.__dict__ for s in self.steps]}


class Connection:
    """A data source with connection values. Thread-safe for concurrent ``run`` calls."""

    def __init__(self, connector: Connector, values: Mapping[str, Any], host: PluginHost | None = None):
        self.connector = connector
        self.host = host or default_host()
        spec = connector.connection
        # Mask what was given even if it is rejected, so the error itself cannot leak it.
        self.redactor = Redactor.of(spec.secret_values(values))
        self.values = inputs.check(spec.fields, values, subject="connection")
        problems = connection_problems(connector, self.values)
        if problems:
            raise ValidationError(problems, "connection")
        verify = self.values.get(spec.verify_tls_from, True) if spec.verify_tls_from else True
        ca_bundle = self.values.get(spec.ca_bundle_from) if spec.ca_bundle_from else None
        if spec.ca_bundle_from and ca_bundle and not os.path.isfile(ca_bundle):
            raise ValidationError([FieldError(spec.ca_bundle_from, f"no such file: {ca_bundle}")], subject="connection")
        self.limits = Limits.of(spec, self.values)
        self.transport = Transport(self.host, self.redactor, verify=bool(verify), ca_bundle=ca_bundle,
                                   limit_setting=self.limits.answer_setting)
        self.policy = RetryPolicy.of(spec.retry, self.values)
        self._resolved: dict[tuple[str, str], Any] = {}
        # Everything rendering needs from the connection, worked out once: none of it changes.
        common: dict[str, Any] = dict(connector=connector, conn=self.values, rules=self.host.table("rules"),
                      encoders=self.host.table("encoders"), redactor=self.redactor,
                      base=base_url(connector, self.values), headers=connection_headers(connector, self.values))
        self._contexts = (RenderContext(**common), RenderContext(**common, resolve=self._resolve))
        if not verify and self.base_url.startswith("https:"):
            text = (f"TLS certificate verification is off for {self.redactor.mask(self.base_url)}: "
                    "anyone on the network path can read and change this connection's traffic")
            warnings.warn(text, InsecureTLSWarning, stacklevel=2)

    def __repr__(self) -> str:
        secret = self.connector.connection.secret_fields
        # Also shown for a connection whose values were refused (a traceback's locals show it).
        shown = {k: ("****" if k in secret else v) for k, v in getattr(self, "values", {}).items()}
        return f"Connection({self.connector.id}, {shown})"

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.transport.close()

    @property
    def base_url(self) -> str:
        return self._contexts[0].base or ""

    # --- the pipeline ---------------------------------------------------------------------

    def validate(self, op_id: str, params: Mapping[str, Any] | None) -> tuple[Operation, dict[str, Any]]:
        op = self.connector.operation(op_id)
        try:
            checked = inputs.check(op.params, params, fallback=self.values,
                                   requires_one_of=op.requires_one_of, subject=f"parameters for '{op_id}'")
        except ValidationError as exc:
            # The checker's frames hold the connection's values (the token) as locals, which a
            # traceback printed with them would show: the error starts here instead.
            raise exc.with_traceback(None) from None
        return op, checked

    def _context(self, resolve: bool) -> RenderContext:
        return self._contexts[resolve]

    def render(self, op_id: str, params: Mapping[str, Any] | None = None) -> Request:
        """The request an operation would send, without sending it (resolvers are not called)."""
        op, checked = self.validate(op_id, params)
        return render_request(op.request, checked, self._context(resolve=False))

    def run(self, op_id: str, params: Mapping[str, Any] | None = None,
            progress: Callable[[Mapping[str, Any]], None] | None = None, *, deadline: float | None = None) -> Result:
        """Validate, render, send (with retries, in batches where the operation says so), decode.

        ``progress`` is called after each batch of a batched body with the records and bytes
        sent so far and the totals, so a host can show how far a long write has come.
        ``deadline`` (seconds) bounds the whole call instead of the connection's time limit.
        """
        op, checked = self.validate(op_id, params)
        started = time.perf_counter()
        tally = _Tally(self.policy, self.limits.deadline(deadline))
        summary: Mapping[str, Any]
        try:
            request = render_request(op.request, checked, self._context(resolve=True))
            if request.batch is not None:
                data, status, summary = self._run_batches(op, checked, request, tally, progress)
            else:
                data, status = self._call(op, checked, request, request.summary, tally)
                summary = request.summary
        except ConnectorError as exc:
            tally.note(exc)
            raise
        finally:
            tally.deadline.close()
        meta: dict[str, Any] = {
            "operation": op.id, "elapsed_ms": round((time.perf_counter() - started) * 1000, 3),
            "request": {"method": request.method, "url": self.redactor.mask(request.url)},
            "attempts": tally.attempts}
        if tally.retried:
            meta["retries"] = tally.retried
        if summary:
            meta["sent"] = dict(summary)
        if op.response.paginate is not None:
            meta["pages"] = tally.pages
        if getattr(data, "truncated", False):
            meta["truncated"] = True  # a row limit cut the answer: never a silent cut
        if tally.truncated:
            meta["truncated"] = True
            meta["truncated_by"] = tally.truncated
        return Result(data=data, status=status, meta=meta)

    def stream(self, op_id: str, params: Mapping[str, Any] | None = None, *, limit: int | None = None,
               deadline: float | None = None) -> Rows:
        """The rows of an operation's answer one at a time, in bounded memory.

        With ``limit``, at most that many rows come out and ``truncated`` on the returned
        iterator says whether the answer held more. Exhaust it or use it in a ``with`` block, so
        the connection goes back to the pool. A codec without a ``stream`` function is decoded
        whole and then iterated. The time limit (``deadline``, or the connection's) runs until
        the answer starts; the rows then come as fast as the caller reads them, each read
        still bounded by the read timeout.
        """
        if limit is not None and (type(limit) is not int or limit < 0):
            raise ValidationError([FieldError("limit", f"must be a whole number of rows, 0 or more, not {limit!r}")])
        op, checked = self.validate(op_id, params)
        streamer = getattr(self.host.table("codecs")[op.response.codec], "stream", None)
        tally = _Tally(self.policy, self.limits.deadline(deadline))
        try:
            request = render_request(op.request, checked, self._context(resolve=True))
            # Rows read one at a time are bounded per row by their decoder, not overall.
            response = self._exchange(op, request, tally, stream=True, whole=streamer is None)
            if streamer is None or not _is_success(op, response.status_code):
                try:
                    data = decode_response(self.connector, op, checked, request.summary, response, self.host,
                                           self.redactor)
                finally:
                    response.close()
                rows = data if isinstance(data, list) else [data]
                return Rows(iter(rows[:limit] if limit is not None else rows), op.id, self.redactor,
                            truncated=limit is not None and len(rows) > limit)
        except ConnectorError as exc:
            tally.note(exc)
            raise
        finally:
            tally.deadline.close()
        options = dict(render(op.response.options, Context(params=checked, body=request.summary)))
        chosen = limit if limit is not None else options.get("limit")
        options.pop("limit", None)
        try:
            inner = streamer(response, limit=chosen, **options)
        except ConnectorError as exc:
            response.close()
            exc.redact(self.redactor)
            raise
        except BaseException:
            response.close()
            raise
        return Rows(inner, op.id, self.redactor, codec=op.response.codec)

    # --- one request, tried until it succeeds or may not be tried again ------------------------

    def _exchange(self, op: Operation, request: Request, tally: _Tally, stream: bool = False,
                  attempts: Attempts | None = None, whole: bool = True) -> requests.Response:
        """Send, retrying what the policy allows; return the last answer (maybe an error status).

        Each request gets its own retry budget unless ``attempts`` carries one on. A successful
        answer may hold at most the connection's answer limit, unless ``whole`` is False (a
        stream read a row at a time)."""
        attempts = attempts or tally.start()
        limit = self.limits.answer_bytes if whole else None
        while True:
            attempts.count += 1
            tally.attempts += 1
            try:
                response = self.transport.send(request, op.id, stream=stream, limit=limit, deadline=tally.deadline,
                                               ok=lambda status: _is_success(op, status))
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
                    attempts.stopped = _not_safe(op)
                raise
            status = response.status_code
            if not _is_success(op, status) and self.policy.retries_status(status, op.retry_safe):
                wait = attempts.next_wait(f"HTTP {status}", retry_after_seconds(response.headers.get("Retry-After")))
                if wait is not None:
                    log.info("%s: HTTP %s; trying again in %.2f s", op.id, status, wait)
                    response.close()
                    attempts.sleep(wait)
                    continue
            elif not _is_success(op, status) and self.policy.retries_status(status, retry_safe=True):
                attempts.stopped = _not_safe(op)  # a gateway lost the answer: the work may be done
            return response

    def _call(self, op: Operation, params: Mapping[str, Any], request: Request, summary: Mapping[str, Any],
              tally: _Tally) -> tuple[Any, int]:
        """Exchange and decode; a retry-safe answer cut off while being read is asked for again."""
        attempts = tally.start()
        while True:
            response = self._exchange(op, request, tally, stream=op.response.stream, attempts=attempts)
            try:
                data = decode_response(self.connector, op, params, summary, response, self.host, self.redactor)
                pag = op.response.paginate
                if pag and pag.enabled_by and params.get(pag.enabled_by):
                    data = self._follow_pages(op, params, request, data, tally)
                return data, response.status_code
            except DecodeError as exc:
                wait = attempts.next_wait("answer cut off") if exc.cut_off and op.retry_safe else None
                if wait is None:
                    if exc.cut_off and not op.retry_safe:
                        attempts.stopped = _not_safe(op)
                    raise
                log.info("%s: %s; trying again in %.2f s", op.id, exc, wait)
                attempts.sleep(wait)
            finally:
                response.close()

    def _follow_pages(self, op: Operation, params: Mapping[str, Any], first: Request, data: Any,
                      tally: _Tally) -> Any:
        """Every page's items in one list. A next link that leads to a page already read ends
        paging with an error (it would never stop); the page cap ends it with the result
        marked truncated."""
        pag = op.response.paginate
        assert pag is not None
        if not isinstance(data, Mapping):
            raise DecodeError(f"{op.id}: the answer is a {type(data).__name__}, not an object holding {pag.items}")
        items = _page_items(data, pag.items, 1)
        link = _pointer_get(data, pag.next)
        seen = {_without_fragment(first.url): 1}
        while link:
            if tally.pages >= pag.max_pages:
                tally.truncated = f"{pag.max_pages} pages, the most {op.id} follows"
                log.warning("%s: stopped after %d pages; the answer held more", op.id, pag.max_pages)
                data = {**data, "truncated": True}
                break
            url = self._page_url(link)
            if _without_fragment(url) in seen:
                raise DecodeError(f"{op.id}: the server's next-page link on page {tally.pages} leads back to page "
                                  f"{seen[_without_fragment(url)]} ({self.redactor.mask(url)}); paging stopped, as it "
                                  "would never end")
            seen[_without_fragment(url)] = tally.pages + 1
            page_req = Request(method="GET", url=url, headers=first.headers, timeout=first.timeout,
                               connect_timeout=first.connect_timeout, redactor=self.redactor,
                               secret_headers=first.secret_headers)
            response = self._exchange(op, page_req, tally)
            try:
                # The same parameters as the first page, so codec options read them alike.
                page = decode_response(self.connector, op, params, {}, response, self.host, self.redactor)
            finally:
                response.close()
            tally.pages += 1
            items.extend(_page_items(page, pag.items, tally.pages))
            link = _pointer_get(page, pag.next)
        return _pointer_set(data, pag.items, items)

    # --- a body of many records, in batches ---------------------------------------------------------

    def _run_batches(self, op: Operation, params: Mapping[str, Any], request: Request, tally: _Tally,
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
                response = self._exchange(op, replace(request, body=body, headers=batch_headers, batch=None), tally)
            except ConnectorError as exc:
                raise report.failure(exc, batch, self.policy.on_status) from None
            if response.status_code in plan.split_on and batch.size > 1:
                response.close()
                queue.extendleft(reversed(batch.halves()))
                summary["splits"] = summary.get("splits", 0) + 1
                continue
            # The totals with this batch counted: what the codec reports after the last one.
            after = {**summary, "sent_bytes": summary["sent_bytes"] + len(body), "batches": summary["batches"] + 1,
                     "compressed": summary["compressed"] or compressed}
            try:
                data = decode_response(self.connector, op, params, after, response, self.host, self.redactor)
            except APIError as exc:
                if not exc.details.get("partial_write"):
                    raise report.failure(exc, batch, self.policy.on_status) from None
                report.written_in_part(batch, exc)
            except ConnectorError as exc:
                raise report.failure(exc, batch, self.policy.on_status) from None
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

    def _page_url(self, link: Any) -> str:
        """Absolute URL of a next link: followed only to the connection's own server (see
        ``links.same_origin_url``), which is where the connection's secrets go."""
        try:
            return same_origin_url(self.base_url, link)
        except ValueError as exc:
            shown = self.redactor.excerpt(repr(link), 300)
            raise DecodeError(f"the server's next-page link was not followed: {exc}: {shown}") from None

    # --- resolvers: lookups that may ask the server --------------------------------------------

    def _resolve(self, name: str, value: Any) -> Any:
        key = (name, str(value))
        if key not in self._resolved:
            self._resolved[key] = self.host.table("resolvers")[name](value, self)
        return self._resolved[key]

    def get_json(self, path: str, query: Mapping[str, Any] | None = None, operation: str = "lookup") -> Any:
        """GET a JSON document through this connection (used by resolvers).

        A GET changes nothing, so it is retried as a retry-safe operation is."""
        from .model import RequestSpec, ResponseSpec

        spec = RequestSpec(method="GET", path=path, query=dict(query or {}))
        request = render_request(spec, {}, self._context(resolve=False))
        lookup = Operation(id=operation, title=operation, description="", params=(), request=spec,
                           response=ResponseSpec(codec="json"), retry_safe=True)
        tally = _Tally(self.policy, self.limits.deadline())
        try:
            response = self._exchange(lookup, request, tally)
            try:
                if not 200 <= response.status_code < 300:
                    raise api_error(response, self.connector.error_keys, self.redactor, operation, self.host)
                try:
                    return self.host.table("codecs")["json"](response)
                except ConnectorError as exc:
                    exc.redact(self.redactor)
                    raise
            finally:
                response.close()
        except ConnectorError as exc:
            tally.note(exc)
            raise
        finally:
            tally.deadline.close()

    # --- test connection --------------------------------------------------------------------------

    def test(self) -> TestReport:
        """Run the data source's test steps in order; each is reported, the first failure stops.
        All of them together are bounded by the connection's time limit."""
        deadline = self.limits.deadline()
        try:
            return self._test(deadline)
        finally:
            deadline.close()

    def _test(self, deadline: Deadline) -> TestReport:
        reports: list[StepReport] = []
        failed = False
        for step in self.connector.test_steps:
            if failed:
                reports.append(StepReport(step.name, step.title, "not run"))
                continue
            if step.when and not self.values.get(step.when):
                reports.append(StepReport(step.name, step.title, "skipped", f"'{step.when}' is not set"))
                continue
            started = time.perf_counter()
            report = self._run_step(step, deadline)
            elapsed = round((time.perf_counter() - started) * 1000, 3)
            reports.append(StepReport(step.name, step.title, report[0], report[1], report[2], elapsed))
            failed = report[0] == "failed"
        return TestReport(ok=not failed, steps=tuple(reports))

    def _run_step(self, step: Any, deadline: Deadline) -> tuple[str, str, int | None]:
        def expected(status: int) -> bool:
            return status in step.expect_status if step.expect_status else 200 <= status < 300

        try:
            request = render_request(step.request, {}, self._context(resolve=False))
            response = self.transport.send(request, f"test:{step.name}", limit=self.limits.answer_bytes,
                                           deadline=deadline, ok=expected)
        except ConnectorError as exc:
            return "failed", str(exc), None
        status = response.status_code
        if not expected(status):
            err = api_error(response, self.connector.error_keys, self.redactor, f"test:{step.name}", self.host)
            return "failed", str(err), status
        if step.expect_nonempty:
            try:
                found = _pointer_get(self.host.table("codecs")["json"](response), step.expect_nonempty)
            except DecodeError:
                found = None
            if not found:
                return "failed", f"the server answered, but {step.expect_nonempty} is empty: it was not found", status
        return "passed", f"HTTP {status}", status


class Rows:
    """Rows handed out one at a time by ``Connection.stream``.

    ``truncated`` is True once a row beyond the limit has been seen (final when iteration has
    stopped). A connection dropped while reading raises ``DecodeError``, as ``run`` does.
    """

    def __init__(self, inner: Any, operation: str, redactor: Redactor, truncated: bool = False, codec: str = ""):
        self._inner = inner
        self._iter = iter(inner)
        self._operation = operation
        self._redactor = redactor
        self._truncated = truncated
        self._codec = codec

    @property
    def truncated(self) -> bool:
        return self._truncated or bool(getattr(self._inner, "truncated", False))

    def __iter__(self) -> Rows:
        return self

    def __next__(self) -> Any:
        try:
            return next(self._iter)
        except ConnectorError as exc:
            self.close()
            exc.redact(self._redactor)
            raise
        except _UNFORESEEN as exc:
            self.close()
            raise _undecodable(self._operation, self._codec, exc, self._redactor) from None

    def close(self) -> None:
        closer = getattr(self._inner, "close", None)
        if closer is not None:
            closer()

    def __enter__(self) -> Rows:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _not_safe(op: Operation) -> str:
    """Why a failure that may have reached the server was not retried."""
    return (f"not retried, as {op.id} is not safe to repeat: the request may have reached the server, "
            "so check whether it took effect before trying again")


def _body_field(op: Operation) -> str:
    """The parameter a batched body is made from (what a report's ``data[i:]`` names)."""
    value = (op.request.body or {}).get("value")
    return str(value.get("$param", "data")) if isinstance(value, Mapping) else "data"


def _is_success(op: Operation, status: int) -> bool:
    return status in op.response.success if op.response.success else 200 <= status < 300


class _Tally:
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
                    response: requests.Response, host: PluginHost, redactor: Redactor) -> Any:
    """Check the status against the operation's success list and decode with its codec."""
    status = response.status_code
    if not _is_success(op, status):
        raise api_error(response, connector.error_keys, redactor, op.id, host)
    options = render(op.response.options, Context(params=params, body=summary))
    codec = host.table("codecs")[op.response.codec]
    try:
        return codec(response, **options)
    except ConnectorError as exc:  # a codec does not know the secrets: mask them here
        exc.redact(redactor)
        raise
    except _UNFORESEEN as exc:
        raise _undecodable(op.id, op.response.codec, exc, redactor) from None


#: What a codec raises when it did not foresee what the server sent.
_UNFORESEEN = (ArithmeticError, LookupError, TypeError, ValueError, AttributeError, RecursionError,
               requests.exceptions.RequestException)


def _undecodable(op_id: str, codec: str, exc: BaseException, redactor: Redactor) -> DecodeError:
    """The DecodeError for a codec that failed on an answer in its own way: the answer is what
    is wrong, so it is reported as one that could not be decoded, not as a crash of the host."""
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
        return DecodeError(f"{op_id}: the answer was cut off while reading it: {type(exc).__name__}", cut_off=True)
    log.debug("%s: codec %r failed", op_id, codec, exc_info=exc)
    return DecodeError(f"{op_id}: the answer could not be decoded as {codec} "
                       f"({type(exc).__name__}: {redactor.excerpt(str(exc), 200)})")


def _page_items(page: Any, pointer: str, number: int) -> list[Any]:
    """The items of one page: a list, or nothing when the page has none."""
    found = _pointer_get(page, pointer)
    if found is None:
        return []
    if not isinstance(found, list):
        raise DecodeError(f"page {number} of the answer has no list at {pointer} ({type(found).__name__} instead)")
    return list(found)


def _without_fragment(url: str) -> str:
    return url.split("#", 1)[0]


def _pointer_get(doc: Any, ptr: str) -> Any:
    for part in [p for p in ptr.split("/") if p]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(doc, Mapping):
            doc = doc.get(part)
        elif isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        else:
            return None
    return doc


def _pointer_set(doc: Any, ptr: str, value: Any) -> Any:
    parts = [p for p in ptr.split("/") if p]
    if not parts:
        return value
    head, rest = parts[0], "/".join(parts[1:])
    return {**doc, head: _pointer_set(doc.get(head, {}), rest, value) if rest else value}


