"""A configured connection: validate, render, send, decode, page, and test, for any data source."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import urlsplit

import requests

from . import inputs
from .errors import APIError, ConnectorError, DecodeError, ValidationError
from .model import Connector, Operation
from .plugins import PluginHost, default_host
from .render import RenderContext, Request, base_url, render_request
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
        self.redactor = Redactor.of((values or {}).get(name) for name in spec.secret_fields)
        self.values = inputs.check(spec.fields, values, subject="connection")
        verify = self.values.get(spec.verify_tls_from, True) if spec.verify_tls_from else True
        ca_bundle = self.values.get(spec.ca_bundle_from) if spec.ca_bundle_from else None
        self.transport = Transport(self.host, self.redactor, verify=bool(verify), ca_bundle=ca_bundle)
        self._resolved: dict[tuple[str, str], Any] = {}

    def __repr__(self) -> str:
        secret = self.connector.connection.secret_fields
        shown = {k: ("****" if k in secret else v) for k, v in self.values.items()}
        return f"Connection({self.connector.id}, {shown})"

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.transport.close()

    @property
    def base_url(self) -> str:
        return base_url(self.connector, self.values)

    # --- the pipeline ---------------------------------------------------------------------

    def validate(self, op_id: str, params: Mapping[str, Any] | None) -> tuple[Operation, dict[str, Any]]:
        op = self.connector.operation(op_id)
        checked = inputs.check(op.params, params, fallback=self.values,
                               requires_one_of=op.requires_one_of, subject=f"parameters for '{op_id}'")
        return op, checked

    def _context(self, resolve: bool) -> RenderContext:
        return RenderContext(
            connector=self.connector, conn=self.values, rules=self.host.table("rules"),
            encoders=self.host.table("encoders"), redactor=self.redactor,
            resolve=self._resolve if resolve else (lambda name, value: value))

    def render(self, op_id: str, params: Mapping[str, Any] | None = None) -> Request:
        """The request an operation would send, without sending it (resolvers are not called)."""
        op, checked = self.validate(op_id, params)
        return render_request(op.request, checked, self._context(resolve=False))

    def run(self, op_id: str, params: Mapping[str, Any] | None = None) -> Result:
        op, checked = self.validate(op_id, params)
        started = time.perf_counter()
        request = render_request(op.request, checked, self._context(resolve=True))
        response = self.transport.send(request, op.id, stream=op.response.stream)
        try:
            data = decode_response(self.connector, op, checked, request.summary, response, self.host,
                                   self.redactor)
            pages = 1
            pag = op.response.paginate
            if pag and pag.enabled_by and checked.get(pag.enabled_by):
                data, pages = self._follow_pages(op, checked, request, data)
        finally:
            response.close()
        meta = {"operation": op.id, "elapsed_ms": round((time.perf_counter() - started) * 1000, 3),
                "request": {"method": request.method, "url": self.redactor.mask(request.url)}}
        if request.summary:
            meta["sent"] = dict(request.summary)
        if op.response.paginate is not None:
            meta["pages"] = pages
        return Result(data=data, status=response.status_code, meta=meta)

    def _follow_pages(self, op: Operation, params: Mapping[str, Any], first: Request,
                      data: Any) -> tuple[Any, int]:
        pag = op.response.paginate
        assert pag is not None
        items = list(_pointer_get(data, pag.items) or [])
        pages = 1
        link = _pointer_get(data, pag.next)
        while link:
            if pages >= pag.max_pages:
                data = {**data, "truncated": True}
                break
            url = self._page_url(link)
            page_req = Request(method="GET", url=url, headers=first.headers, timeout=first.timeout,
                               redactor=self.redactor, secret_headers=first.secret_headers)
            response = self.transport.send(page_req, op.id)
            try:
                # The same parameters as the first page, so codec options read them alike.
                page = decode_response(self.connector, op, params, {}, response, self.host, self.redactor)
            finally:
                response.close()
            pages += 1
            items.extend(_pointer_get(page, pag.items) or [])
            link = _pointer_get(page, pag.next)
        return _pointer_set(data, pag.items, items), pages

    def _page_url(self, link: str) -> str:
        """Absolute URL of a next link; only links to the same server are followed."""
        base = urlsplit(self.base_url)
        target = urlsplit(link)
        if target.scheme or target.netloc:
            if (target.scheme, target.netloc) != (base.scheme, base.netloc):
                raise DecodeError(f"the server's next-page link points to another host: {self.redactor.mask(link)}")
            return link
        path = link if not base.path or link.startswith(base.path + "/") else base.path + link
        return f"{base.scheme}://{base.netloc}{path}"

    # --- resolvers: lookups that may ask the server --------------------------------------------

    def _resolve(self, name: str, value: Any) -> Any:
        key = (name, str(value))
        if key not in self._resolved:
            self._resolved[key] = self.host.table("resolvers")[name](value, self)
        return self._resolved[key]

    def get_json(self, path: str, query: Mapping[str, Any] | None = None, operation: str = "lookup") -> Any:
        """GET a JSON document through this connection (used by resolvers)."""
        from .model import RequestSpec

        spec = RequestSpec(method="GET", path=path, query=dict(query or {}))
        request = render_request(spec, {}, self._context(resolve=False))
        response = self.transport.send(request, operation)
        if not 200 <= response.status_code < 300:
            raise api_error(response, self.connector.error_keys, self.redactor, operation, self.host)
        return self.host.table("codecs")["json"](response)

    # --- test connection --------------------------------------------------------------------------

    def test(self) -> TestReport:
        """Run the data source's test steps in order; each is reported, the first failure stops."""
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
            report = self._run_step(step)
            elapsed = round((time.perf_counter() - started) * 1000, 3)
            reports.append(StepReport(step.name, step.title, report[0], report[1], report[2], elapsed))
            failed = report[0] == "failed"
        return TestReport(ok=not failed, steps=tuple(reports))

    def _run_step(self, step: Any) -> tuple[str, str, int | None]:
        try:
            request = render_request(step.request, {}, self._context(resolve=False))
            response = self.transport.send(request, f"test:{step.name}")
        except ConnectorError as exc:
            return "failed", str(exc), None
        status = response.status_code
        ok_status = status in step.expect_status if step.expect_status else 200 <= status < 300
        if not ok_status:
            err = api_error(response, self.connector.error_keys, self.redactor, f"test:{step.name}", self.host)
            return "failed", str(err), status
        if step.expect_nonempty:
            try:
                found = _pointer_get(response.json(), step.expect_nonempty)
            except ValueError:
                found = None
            if not found:
                return "failed", f"the server answered, but {step.expect_nonempty} is empty: it was not found", status
        return "passed", f"HTTP {status}", status


def decode_response(connector: Connector, op: Operation, params: Mapping[str, Any], summary: Mapping[str, Any],
                    response: requests.Response, host: PluginHost, redactor: Redactor) -> Any:
    """Check the status against the operation's success list and decode with its codec."""
    status = response.status_code
    ok = status in op.response.success if op.response.success else 200 <= status < 300
    if not ok:
        raise api_error(response, connector.error_keys, redactor, op.id, host)
    options = render(op.response.options, Context(params=params, body=summary))
    codec = host.table("codecs")[op.response.codec]
    try:
        return codec(response, **options)
    except (APIError, DecodeError, ValidationError):
        raise
    except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError) as exc:
        raise DecodeError(f"{op.id}: the answer was cut off while reading it: {type(exc).__name__}") from None


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


