"""Send rendered requests through one requests.Session and turn failures into connector errors."""
from __future__ import annotations

import json
import logging
import time
from typing import Any, Mapping

import requests

from .errors import APIError, NetworkError, TimeoutError, TLSError
from .plugins import PluginHost
from .render import Request
from .secrets import Redactor

log = logging.getLogger(__name__)


class Transport:
    """One session per connection: keep-alive, TLS settings, and no environment surprises.

    ``trust_env`` is off so a ~/.netrc entry cannot silently replace the Authorization header
    and proxy variables do not reroute a connection the user configured explicitly.
    """

    def __init__(self, host: PluginHost, redactor: Redactor, verify: bool = True, ca_bundle: str | None = None):
        self.host = host
        self.redactor = redactor
        self.session = requests.Session()
        self.session.trust_env = False
        self.verify: bool | str = ca_bundle or verify

    def close(self) -> None:
        self.session.close()

    def send(self, req: Request, operation: str, stream: bool = False) -> requests.Response:
        prepared = requests.Request(req.method, req.url, headers=dict(req.headers), data=req.body).prepare()
        settings = {"timeout": req.timeout, "verify": self.verify, "stream": stream, "allow_redirects": False}
        started = time.perf_counter()
        log.debug("%s: sending %s %s", operation, req.method, self.redactor.mask(req.url))
        try:
            response = self.host.hook.influx_connector_send(
                request=prepared, session=self.session, settings=settings, operation=operation)
        except requests.exceptions.SSLError as exc:
            raise TLSError(self._say(f"TLS handshake with {self._origin(req)} failed", exc)) from None
        except (requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout) as exc:
            what = "connect" if isinstance(exc, requests.exceptions.ConnectTimeout) else "answer"
            raise TimeoutError(
                f"{self._origin(req)} did not {what} within {req.timeout:g} s; "
                "raise the timeout or check the server") from None
        except requests.exceptions.ConnectionError as exc:
            raise NetworkError(self._say(f"could not reach {self._origin(req)}", exc)) from None
        except requests.exceptions.InvalidURL as exc:
            raise NetworkError(self._say("the connection's URL is not valid", exc)) from None
        log.debug("%s: HTTP %s in %.1f ms", operation, response.status_code, (time.perf_counter() - started) * 1000)
        return response

    def _origin(self, req: Request) -> str:
        scheme, _, rest = req.url.partition("://")
        return self.redactor.mask(f"{scheme}://{rest.split('/', 1)[0]}")

    def _say(self, what: str, exc: Exception) -> str:
        reason = _root_reason(exc)
        return self.redactor.mask(f"{what}: {reason}")


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
    return text or type(seen).__name__


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
        message = content[:300].decode("utf-8", "replace").strip()
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
