"""A configured connection: the pipeline (validate, render, send, decode) for any data source.

``Connection`` is what hosts use; the concerns it calls on live beside it: ``exchange`` (one
request, retried), ``paging``, ``batching``, ``checks`` (test connection) and ``rows``.
"""
from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .. import inputs
from ..errors import ConnectorError, FieldError, InsecureTLSWarning, ValidationError
from ..limits import Limits
from ..messages import Lookup
from ..model import Connector, Operation
from ..needs import known_values, refusal, unmet
from ..plugins import PluginHost, default_host
from ..render import RenderContext, Request, base_url, connection_headers, connection_problems, render_request
from ..retry import RetryPolicy
from ..secrets import Redactor
from ..template import Context, render
from ..transport import Transport, api_error
from .batching import BatchWriter
from .checks import run_test
from .exchange import Tally, call, decode_response, exchange
from .results import Result, TestReport
from .rows import Rows

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerLookup:
    """What a resolver may use of a connection (``messages.Lookup``): its JSON lookups."""

    get_json: Callable[..., Any]


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
        #: Connection fields found out from the server by Test connection (``detect``).
        self.detected: dict[str, str] = {}
        #: What resolvers see of the connection: its JSON lookups, nothing else.
        self._lookup: Lookup = ServerLookup(self.get_json)
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

    def applies(self, needs: Mapping[str, tuple[str, ...]]) -> bool:
        """Whether an operation's or a test step's ``needs`` are met (unknown counts as met)."""
        spec = self.connector.connection
        return unmet(needs, spec, known_values(spec, self.values, self.detected)) is None

    def operations(self) -> list[Operation]:
        """The operations this connection's server serves, in the data source's order: what a
        host lists for it."""
        return [op for op in self.connector.operations.values() if self.applies(op.needs)]

    def availability(self) -> list[tuple[Operation, str | None]]:
        """Every operation in the data source's order, with why this connection's server does
        not serve it (the message running it would give), or None when it does."""
        spec = self.connector.connection
        out: list[tuple[Operation, str | None]] = []
        for op in self.connector.operations.values():
            refused = refusal(op.id, op.needs, spec, self.values, self.detected) if op.needs else None
            out.append((op, None if refused is None else "; ".join(e.message for e in refused.errors)))
        return out

    def undetermined(self) -> list[str]:
        """The connection fields still to be found out from the server (``detect``: set to its
        ``auto`` value, and not found out yet). While one is, every operation is listed."""
        detect = self.connector.connection.detect
        if detect is None or self.values.get(detect.field, detect.auto) != detect.auto:
            return []
        return [] if detect.field in self.detected else [detect.field]

    def validate(self, op_id: str, params: Mapping[str, Any] | None) -> tuple[Operation, dict[str, Any]]:
        op = self.connector.operation(op_id)
        refused = refusal(op.id, op.needs, self.connector.connection, self.values, self.detected) if op.needs else None
        if refused is not None:
            raise refused
        try:
            checked = inputs.check(op.params, params, fallback=self.values,
                                   requires_one_of=op.requires_one_of, subject=f"parameters for '{op_id}'")
        except ValidationError as exc:
            # The checker's frames hold the connection's values (the token) as locals, which a
            # traceback printed with them would show: the error starts here instead.
            raise exc.with_traceback(None) from None
        refused = self._codec_refusal(op, checked)
        if refused is not None:
            raise refused
        return op, checked

    def _codec_refusal(self, op: Operation, checked: Mapping[str, Any]) -> ValidationError | None:
        """What the operation's codec says it cannot decode with these parameters, on the
        parameters that feed its options: found out before anything is sent."""
        if op.response.result is not None:
            return None
        check = self.host.codec(op.response.codec).check
        if check is None:
            return None
        problems = check(**render(op.response.options, Context(params=checked, body={})))
        if not problems:
            return None
        fed_by = {name: spec["$param"] for name, spec in op.response.options.items()
                  if isinstance(spec, Mapping) and isinstance(spec.get("$param"), str)}
        return ValidationError([FieldError(fed_by.get(name, name), message) for name, message in problems.items()],
                               f"parameters for '{op.id}'")

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
        tally = Tally(self.policy, self.limits.deadline(deadline))
        summary: Mapping[str, Any]
        try:
            request = render_request(op.request, checked, self._context(resolve=True), preview=False)
            if request.batch is not None:
                data, status, summary = BatchWriter(self, op, checked, request, tally, progress).run()
            else:
                data, status = call(self, op, checked, request, request.summary, tally)
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
        if isinstance(data, (bytes, bytearray)) and tally.content_type:
            meta["content_type"] = tally.content_type
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
        streamer = self.host.codec(op.response.codec).stream if op.response.result is None else None
        tally = Tally(self.policy, self.limits.deadline(deadline))
        try:
            request = render_request(op.request, checked, self._context(resolve=True))
            # Rows read one at a time are bounded per row by their decoder, not overall.
            response = exchange(self, op, request, tally, stream=True, whole=streamer is None)
            if streamer is None or not response.success:
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

    # --- resolvers: lookups that may ask the server --------------------------------------------

    def _resolve(self, name: str, value: Any) -> Any:
        key = (name, str(value))
        if key not in self._resolved:
            self._resolved[key] = self.host.table("resolvers")[name](value, self._lookup)
        return self._resolved[key]

    def get_json(self, path: str, query: Mapping[str, Any] | None = None, operation: str = "lookup") -> Any:
        """GET a JSON document through this connection (used by resolvers).

        A GET changes nothing, so it is retried as a retry-safe operation is."""
        from ..model import RequestSpec, ResponseSpec

        spec = RequestSpec(method="GET", path=path, query=dict(query or {}))
        request = render_request(spec, {}, self._context(resolve=False))
        lookup = Operation(id=operation, title=operation, description="", params=(), request=spec,
                           response=ResponseSpec(codec="json"), retry_safe=True)
        tally = Tally(self.policy, self.limits.deadline())
        try:
            response = exchange(self, lookup, request, tally)
            try:
                if not response.success:
                    raise api_error(response, self.connector.error_keys, self.redactor, operation, self.host)
                try:
                    return self.host.codec("json").decode(response)
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
        return run_test(self)
