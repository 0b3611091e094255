"""Send rendered requests through one requests.Session and turn failures into connector errors.

Internal to the engine (not part of what hosts use; see ``influx_connector.__all__``).
"""
from __future__ import annotations

import http.client
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests
import requests.adapters
import urllib3
import urllib3.connection
import urllib3.connectionpool

from . import deadline as deadlines
from .body import ERROR_BODY_BYTES, Body
from .deadline import Deadline
from .errors import APIError, ConnectorError, DecodeError, NetworkError, TimeoutError, TLSError
from .messages import ErrorFacts, HTTPRequest, HTTPResponse
from .plugins import PluginHost
from .render import Request
from .secrets import Redactor

log = logging.getLogger(__name__)


#: Connections kept open per host: enough for a host app's worker threads to share one connection.
POOL_SIZE = 32


class _Watched:
    """A connection whose socket the current call's deadline watches from the moment it is
    opened (after the TLS handshake, which the connect timeout bounds) or taken from the pool,
    so a server that trickles bytes cannot outlast the call."""

    sock: Any

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        self._watch()

    def request(self, *args: Any, **kwargs: Any) -> None:
        self._watch()
        super().request(*args, **kwargs)  # type: ignore[misc]

    def _watch(self) -> None:
        deadline = deadlines.current.get()
        if deadline is not None and self.sock is not None:
            deadline.watch(self.sock)


class _HTTPConnection(_Watched, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_Watched, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _Adapter(requests.adapters.HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


class Transport:
    """One session per connection: keep-alive, TLS settings, and no environment surprises.

    ``trust_env`` is off so a ~/.netrc entry cannot silently replace the Authorization header
    and proxy variables do not reroute a connection the user configured explicitly. Each call
    is one try; retries are the connection's business (it knows the operation).
    """

    def __init__(self, host: PluginHost, redactor: Redactor, verify: bool = True, ca_bundle: str | None = None,
                 limit_setting: str = "the answer size limit"):
        self.host = host
        self.redactor = redactor
        #: How a user raises the answer size limit, for the error that names it.
        self.limit_setting = limit_setting
        self.session = requests.Session()
        self.session.trust_env = False
        adapter = _Adapter(pool_connections=4, pool_maxsize=POOL_SIZE)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        # Off only when asked: a CA bundle given as well does not turn verification back on.
        self.verify: bool | str = (ca_bundle or True) if verify else False

    def close(self) -> None:
        self.session.close()

    def send(self, req: Request, operation: str, stream: bool = False, *, limit: int | None = None,
             deadline: Deadline | None = None, ok: Callable[[int], bool] | None = None) -> HTTPResponse:
        """One try, through the send hook. The body is read through a bounded ``Body``: whole,
        here, unless ``stream`` (then as the caller reads it). ``limit`` bounds a successful
        answer (``ok``, 2xx by default: worked out once, kept as ``HTTPResponse.success``); any
        other answer is read only up to ``ERROR_BODY_BYTES``."""
        timeouts = req.timeouts
        if deadline is not None:
            left = deadline.remaining()
            if left <= 0:
                raise deadline.error(f"about to send a request to {self._origin(req)}")
            # No wait for the server longer than the time the call has left.
            timeouts = (min(timeouts[0], left), min(timeouts[1], left))
        cut = timeouts != req.timeouts
        outgoing = HTTPRequest(req.method, req.url, dict(req.headers), req.body, timeouts, operation)
        handler = _SessionHandler(self, req, operation, limit, deadline, ok or _two_hundred)
        started = time.perf_counter()
        log.debug("%s: sending %s %s", operation, req.method, self.redactor.mask(req.url))
        token = deadlines.current.set(deadline)
        try:
            response = self.host.hook.influx_connector_send(request=outgoing, transport=handler, operation=operation)
        except requests.exceptions.RequestException as exc:
            raise self._failure(req, exc, deadline, cut) from None
        finally:
            deadlines.current.reset(token)
        if response.success is None:  # an answer a send hook made itself (a cache, a test double)
            response.success = handler.ok(response.status_code)
            if response.success and limit is not None and response.read_whole and len(response.content) > limit:
                raise DecodeError(f"the answer from {self._origin(req)} is larger than the most an answer may "
                                  f"hold in memory; raise {self.limit_setting}")
        if not stream:
            try:
                _read_whole(response)
            except DecodeError as exc:
                response.close()
                if not exc.cut_off:
                    raise
                why = getattr(response._answer.raw, "cut_reason", None) or "the connection dropped"
                raise NetworkError(self.redactor.mask(f"the answer from {self._origin(req)} was cut off: {why}"),
                                   sent=True, reason="answer cut off") from None
            except ConnectorError:
                response.close()
                raise
        log.debug("%s: HTTP %s in %.1f ms", operation, response.status_code, (time.perf_counter() - started) * 1000)
        return response

    def _bound(self, response: requests.Response, req: Request, operation: str, limit: int | None,
               cap: int | None, deadline: Deadline | None) -> None:
        """Put a bounded reader in place of the answer's raw stream."""
        raw = response.raw
        if not isinstance(raw, urllib3.response.BaseHTTPResponse):
            return
        try:
            response.raw = Body(raw, encoding=response.headers.get("Content-Encoding"), limit=limit, cap=cap,
                                origin=self._origin(req), operation=operation, setting=self.limit_setting,
                                deadline=deadline, framed=_framed(response))
        except DecodeError:
            response.close()
            raise

    def _failure(self, req: Request, exc: requests.exceptions.RequestException, deadline: Deadline | None,
                 cut: bool = False) -> ConnectorError:
        """The connector's error for a failed send (the answer's head did not arrive). A
        timeout cut short to the call's time left is the deadline's."""
        if deadline is not None and (deadline.expired() or (cut and isinstance(exc, requests.exceptions.Timeout))):
            return deadline.error(f"waiting for {self._origin(req)} to answer")
        if isinstance(exc, requests.exceptions.SSLError):
            # Not "sent=False": a certificate problem does not go away by trying again.
            return TLSError(self._say(f"TLS handshake with {self._origin(req)} failed", exc))
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return TimeoutError(f"{self._origin(req)} did not accept a connection within {req.timeouts[0]:g} s; "
                                "check the host and port, or raise the connect timeout", sent=False,
                                reason="connect timeout")
        if isinstance(exc, requests.exceptions.ReadTimeout):
            return TimeoutError(f"{self._origin(req)} did not answer within {req.timeouts[1]:g} s; "
                                "raise the timeout or check the server", sent=True, reason="read timeout")
        if isinstance(exc, requests.exceptions.ConnectionError):
            opened = not _never_connected(exc)
            what = f"the connection to {self._origin(req)} failed" if opened else f"could not reach {self._origin(req)}"
            return NetworkError(self._say(what, exc), sent=opened, reason=_root_reason(exc))
        if isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
            return NetworkError(self._say(f"the answer from {self._origin(req)} was cut off", exc), sent=True,
                                reason="answer cut off")
        if isinstance(exc, requests.exceptions.InvalidURL):
            return NetworkError(self._say("the connection's URL is not valid", exc), sent=False)
        return NetworkError(self._say(f"the request to {self._origin(req)} failed", exc), sent=None,
                            reason=type(exc).__name__)

    def _origin(self, req: Request) -> str:
        scheme, _, rest = req.url.partition("://")
        return self.redactor.mask(f"{scheme}://{rest.split('/', 1)[0]}")

    def _say(self, what: str, exc: Exception) -> str:
        reason = _root_reason(exc)
        return self.redactor.mask(f"{what}: {reason}")


class _SessionHandler:
    """The connection's own ``HTTPTransport`` for one send: the session sends, and the answer's
    body is put behind the bounds this call allows."""

    def __init__(self, transport: Transport, req: Request, operation: str, limit: int | None,
                 deadline: Deadline | None, ok: Callable[[int], bool]):
        self.transport, self.req, self.operation = transport, req, operation
        self.limit, self.deadline, self.ok = limit, deadline, ok

    def handle(self, request: HTTPRequest) -> HTTPResponse:
        transport = self.transport
        try:
            prepared = requests.Request(request.method, request.url, headers=dict(request.headers),
                                        data=request.body).prepare()
        except (requests.exceptions.RequestException, ValueError, UnicodeError) as exc:
            # Not the exception's text: requests quotes the offending header value, which may be the token.
            raise NetworkError(f"the request to {transport._origin(self.req)} could not be built "
                               f"({type(exc).__name__}); check the connection's host, port, token and headers",
                               sent=False) from None
        # The body is always streamed from the socket: the transport reads it, within bounds.
        answer = transport.session.send(prepared, timeout=request.timeout, verify=transport.verify, stream=True,
                                        allow_redirects=False)
        success = self.ok(answer.status_code)
        transport._bound(answer, self.req, self.operation, self.limit if success else None,
                         None if success else ERROR_BODY_BYTES, self.deadline)
        return HTTPResponse(answer, success=success)


def _two_hundred(status: int) -> bool:
    return 200 <= status < 300


def _never_connected(exc: BaseException) -> bool:
    """True when the connection was never opened (refused, unknown host): nothing was sent."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError)):
            return True
        reason = getattr(seen, "reason", None)
        nested = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
        seen = reason if isinstance(reason, BaseException) else (seen.__cause__ or nested)
    return False


def _root_reason(exc: BaseException) -> str:
    """The innermost cause, which names the real problem (refused, reset, certificate...)."""
    seen = exc
    while seen.__cause__ is not None or (seen.args and isinstance(seen.args[0], BaseException)):
        seen = seen.__cause__ or seen.args[0]
    text = str(seen)
    for marker in ("Connection refused", "Name or service not known", "certificate verify failed",
                   "Connection reset", "Remote end closed connection", "timed out"):
        if marker in str(exc):
            return marker
    for inner in _wrapped(exc):
        if isinstance(inner, http.client.BadStatusLine):
            return f"the answer's status line was cut off or is not HTTP: {str(inner)[:40]!r}"
    return text or type(seen).__name__


def _wrapped(exc: BaseException) -> list[BaseException]:
    """The exception and all it wraps (causes, and exceptions among its args), outermost first."""
    found: list[BaseException] = []
    todo = [exc]
    while todo:
        current = todo.pop(0)
        if any(current is f for f in found):
            continue
        found.append(current)
        todo += [a for a in current.args if isinstance(a, BaseException)]
        if current.__cause__ is not None:
            todo.append(current.__cause__)
    return found


def _framed(response: requests.Response) -> bool:
    """Whether HTTP marks where the body ends (a length, or chunks), not the connection's close."""
    headers = response.headers
    return "content-length" in headers or "chunked" in headers.get("transfer-encoding", "").lower()


def _read_whole(response: HTTPResponse) -> None:
    """Read the body now (through its bounded reader), as requests does for an unstreamed send."""
    answer = response._answer
    raw = answer.raw
    if isinstance(raw, Body) and not response.read_whole:
        answer._content = raw.read_all()
        answer._content_consumed = True  # type: ignore[attr-defined]
        raw.release_conn()


def api_error(response: HTTPResponse, keys: Mapping[str, str], redactor: Redactor,
              operation: str, host: PluginHost | None = None) -> APIError:
    """An APIError from an error answer, reading the server's JSON error body when it has one."""
    content = response.content or b""
    body: Any = None
    code = message = None
    line = None
    try:
        body = json.loads(content) if content else None
    except (ValueError, RecursionError):
        body = None
        if response.truncated:  # only its start was read: take what it holds
            text = content.decode("utf-8", "replace")
            code = _cut_json_string(text, keys.get("code", "code"))
            message = _cut_json_string(text, keys.get("message", "message"))
    if isinstance(body, Mapping):
        code = _first_key(body, keys.get("code", "code"))
        message = _first_key(body, keys.get("message", "message"))
        raw_line = _first_key(body, keys["line"]) if "line" in keys else None
        line = raw_line if isinstance(raw_line, int) else None
    elif content and not message:
        # Masked before it is cut: a cut through the token would let its first part through.
        message = redactor.excerpt(content.decode("utf-8", "replace"), 300).strip()
    if not message:
        message = response.reason or None
    masked = redactor.mask(str(message)) if message else None
    if isinstance(body, (Mapping, list)):
        body = json.loads(redactor.mask(json.dumps(body)))
    details: dict[str, Any] = {}
    partial = False
    if host is not None:
        for part in host.hook.influx_connector_error_details(
                status=response.status_code, code=code, message=masked, body=body, operation=operation):
            if isinstance(part, ErrorFacts):
                partial = partial or part.partial_write
                part = part.as_details()
            details.update(part or {})
    return APIError(response.status_code, masked, code=code, line=line, body=body, operation=operation,
                    details=details, partial_write=partial)


def _cut_json_string(text: str, names: Any) -> str | None:
    """The string value of the first of ``names`` in a JSON object cut short, as far as the text
    goes (marked "...", when the cut fell inside it)."""
    for name in [names] if isinstance(names, str) else names:
        found = re.search(rf'"{re.escape(name)}"\s*:\s*"', text)
        if found is None:
            continue
        rest = text[found.end():]
        for trim in range(0, 7):  # a cut inside an escape (\u00e9) leaves up to 6 characters over
            try:
                value, end = json.decoder.scanstring(  # type: ignore[attr-defined]  # there, but not in the stubs
                    rest[:len(rest) - trim] + '"', 0, False)
            except ValueError:
                continue
            return value if end <= len(rest) - trim else value + "..."
    return None


def _first_key(body: Mapping[str, Any], names: Any) -> Any:
    """The value of the first of ``names`` (one key or a list of keys) the body has."""
    for name in [names] if isinstance(names, str) else names:
        if body.get(name) is not None:
            return body[name]
    return None
