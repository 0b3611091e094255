"""Send rendered requests through one requests.Session and turn failures into connector errors."""
from __future__ import annotations

import http.client
import json
import logging
import time
from typing import Any, Mapping

import requests
import requests.adapters
import urllib3

from .errors import APIError, NetworkError, TimeoutError, TLSError
from .plugins import PluginHost
from .render import Request
from .secrets import Redactor

log = logging.getLogger(__name__)


#: Connections kept open per host: enough for a host app's worker threads to share one connection.
POOL_SIZE = 32


class Transport:
    """One session per connection: keep-alive, TLS settings, and no environment surprises.

    ``trust_env`` is off so a ~/.netrc entry cannot silently replace the Authorization header
    and proxy variables do not reroute a connection the user configured explicitly. Each call
    is one try; retries are the connection's business (it knows the operation).
    """

    def __init__(self, host: PluginHost, redactor: Redactor, verify: bool = True, ca_bundle: str | None = None):
        self.host = host
        self.redactor = redactor
        self.session = requests.Session()
        self.session.trust_env = False
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        # Off only when asked: a CA bundle given as well does not turn verification back on.
        self.verify: bool | str = (ca_bundle or True) if verify else False

    def close(self) -> None:
        self.session.close()

    def send(self, req: Request, operation: str, stream: bool = False) -> requests.Response:
        try:
            prepared = requests.Request(req.method, req.url, headers=dict(req.headers), data=req.body).prepare()
        except (requests.exceptions.RequestException, ValueError, UnicodeError) as exc:
            # Not the exception's text: requests quotes the offending header value, which may be the token.
            raise NetworkError(f"the request to {self._origin(req)} could not be built ({type(exc).__name__}); "
                               "check the connection's host, port, token and headers", sent=False) from None
        settings = {"timeout": req.timeouts, "verify": self.verify, "stream": stream, "allow_redirects": False}
        started = time.perf_counter()
        log.debug("%s: sending %s %s", operation, req.method, self.redactor.mask(req.url))
        try:
            response = self.host.hook.influx_connector_send(
                request=prepared, session=self.session, settings=settings, operation=operation)
        except requests.exceptions.SSLError as exc:
            # Not "sent=False": a certificate problem does not go away by trying again.
            raise TLSError(self._say(f"TLS handshake with {self._origin(req)} failed", exc)) from None
        except requests.exceptions.ConnectTimeout:
            raise TimeoutError(f"{self._origin(req)} did not accept a connection within {req.timeouts[0]:g} s; "
                               "check the host and port, or raise the connect timeout", sent=False,
                               reason="connect timeout") from None
        except requests.exceptions.ReadTimeout:
            raise TimeoutError(f"{self._origin(req)} did not answer within {req.timeouts[1]:g} s; "
                               "raise the timeout or check the server", sent=True, reason="read timeout") from None
        except requests.exceptions.ConnectionError as exc:
            opened = not _never_connected(exc)
            what = f"the connection to {self._origin(req)} failed" if opened else f"could not reach {self._origin(req)}"
            raise NetworkError(self._say(what, exc), sent=opened, reason=_root_reason(exc)) from None
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
            raise NetworkError(self._say(f"the answer from {self._origin(req)} was cut off", exc), sent=True,
                               reason="answer cut off") from None
        except requests.exceptions.InvalidURL as exc:
            raise NetworkError(self._say("the connection's URL is not valid", exc), sent=False) from None
        log.debug("%s: HTTP %s in %.1f ms", operation, response.status_code, (time.perf_counter() - started) * 1000)
        return response

    def _origin(self, req: Request) -> str:
        scheme, _, rest = req.url.partition("://")
        return self.redactor.mask(f"{scheme}://{rest.split('/', 1)[0]}")

    def _say(self, what: str, exc: Exception) -> str:
        reason = _root_reason(exc)
        return self.redactor.mask(f"{what}: {reason}")


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


def api_error(response: requests.Response, keys: Mapping[str, str], redactor: Redactor,
              operation: str, host: PluginHost | None = None) -> APIError:
    """An APIError from an error answer, reading the server's JSON error body when it has one."""
    content = response.content or b""
    body: Any = None
    code = message = None
    line = None
    try:
        body = json.loads(content) if content else None
    except ValueError:
        body = None
    if isinstance(body, Mapping):
        code = _first_key(body, keys.get("code", "code"))
        message = _first_key(body, keys.get("message", "message"))
        raw_line = _first_key(body, keys["line"]) if "line" in keys else None
        line = raw_line if isinstance(raw_line, int) else None
    elif content:
        # Masked before it is cut: a cut through the token would let its first part through.
        message = redactor.excerpt(content.decode("utf-8", "replace"), 300).strip()
    if not message:
        message = response.reason or None
    masked = redactor.mask(str(message)) if message else None
    if isinstance(body, (Mapping, list)):
        body = json.loads(redactor.mask(json.dumps(body)))
    details: dict[str, Any] = {}
    if host is not None:
        for part in host.hook.influx_connector_error_details(
                status=response.status_code, code=code, message=masked, body=body, operation=operation):
            details.update(part or {})
    return APIError(response.status_code, masked, code=code, line=line, body=body, operation=operation,
                    details=details)


def _first_key(body: Mapping[str, Any], names: Any) -> Any:
    """The value of the first of ``names`` (one key or a list of keys) the body has."""
    for name in [names] if isinstance(names, str) else names:
        if body.get(name) is not None:
            return body[name]
    return None
