"""Who may talk to the service: the access key, the Host and Origin checks, CORS and body caps.

The service binds loopback, but a browser on the same machine is reachable by any web page, so
loopback alone guards nothing:

- every page and API request carries the access key printed at start (as Jupyter does): in the
  ``?key=`` of the first URL, which sets an HttpOnly, SameSite=Strict cookie, or as
  ``Authorization: Bearer <key>`` from a program;
- a ``Host`` header that names another host is refused, so a DNS name rebound to 127.0.0.1
  cannot reach the service through its victim's browser;
- an ``Origin`` header other than the service's own (or one configured for CORS) is refused, so
  another site cannot post forms to it;
- CORS headers are sent only for origins the operator configured;
- request bodies are capped (``Content-Length`` above the cap is a 413, and no more than the cap is
  ever read).
"""
from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlsplit

from .problems import Problem, Refused

COOKIE = "influx_connector_key"
#: Host names that mean this machine, as a browser sends them in ``Host``.
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")
DEFAULT_MAX_BODY = 32 * 1024 * 1024


def new_key() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Guard:
    """The checks every request passes before the app looks at it."""

    key: str
    #: Host names (no port) the service answers to besides the loopback names.
    allowed_hosts: tuple[str, ...] = ()
    #: Origins (scheme://host[:port]) allowed to call the API from a browser, with CORS headers.
    cors_origins: tuple[str, ...] = ()
    max_body: int = DEFAULT_MAX_BODY
    _hosts: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hosts", frozenset(h.lower() for h in (*LOOPBACK_NAMES, *self.allowed_hosts)))

    def __repr__(self) -> str:  # the key is a credential: never in a repr or a log
        return f"Guard(hosts={sorted(self._hosts)}, cors={list(self.cors_origins)}, max_body={self.max_body})"

    def check_host(self, environ: Mapping[str, Any]) -> str:
        """The request's Host header (which must name this service), for same-origin checks."""
        host = environ.get("HTTP_HOST") or ""
        name = _host_name(host)
        if name not in self._hosts:
            raise Refused("foreign_host", f"this service does not answer to the host name {name or '(none)'!r}; "
                                          "add it with --allow-host if it is yours")
        return host

    def check_origin(self, environ: Mapping[str, Any], host: str) -> str | None:
        """The Origin, when allowed: absent (not a browser's cross-origin call), the service's own,
        or one configured for CORS. Returns the origin that CORS headers should name, if any."""
        origin = environ.get("HTTP_ORIGIN")
        if origin is None:
            # A browser that sends no Origin still says where a request comes from; only a
            # person's own navigation (a link, the printed address) may come from elsewhere.
            if environ.get("HTTP_SEC_FETCH_SITE") == "cross-site" and environ.get("HTTP_SEC_FETCH_MODE") != "navigate":
                raise Refused("foreign_origin", "requests from another site are not allowed")
            return None
        if origin in self.cors_origins:
            return origin
        parts = urlsplit(origin)
        if parts.netloc.lower() == host.lower() and parts.scheme in ("http", "https"):
            return None
        raise Refused("foreign_origin", f"requests from the origin {origin!r} are not allowed; "
                                        "configure it with --cors-origin if it is yours")

    def has_key(self, environ: Mapping[str, Any]) -> bool:
        given = _bearer(environ.get("HTTP_AUTHORIZATION", "")) or environ.get("HTTP_X_ACCESS_KEY") \
            or _cookie(environ.get("HTTP_COOKIE", ""))
        return isinstance(given, str) and given != "" and hmac.compare_digest(given.encode(), self.key.encode())

    def key_matches(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(), self.key.encode())

    def cookie_header(self) -> tuple[str, str]:
        return ("Set-Cookie", f"{COOKIE}={self.key}; Path=/; HttpOnly; SameSite=Strict")

    def cors_headers(self, origin: str | None) -> list[tuple[str, str]]:
        if origin is None:
            return []
        return [("Access-Control-Allow-Origin", origin), ("Vary", "Origin"),
                ("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Access-Key"),
                ("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS"),
                # What a page of an allowed origin may read of an answer given as bytes.
                ("Access-Control-Expose-Headers", "Content-Disposition, X-Result-Status"),
                ("Access-Control-Max-Age", "600")]

    def read_body(self, environ: Mapping[str, Any]) -> bytes:
        """The request body, at most ``max_body`` bytes (a larger one is a 413)."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise Problem("bad_length", "Content-Length is not a number") from None
        if length > self.max_body:
            raise Problem("body_too_large", f"the request body is {length} bytes; this service takes at most "
                                            f"{self.max_body} (--max-body-bytes)", status=413)
        stream = environ["wsgi.input"]
        body = stream.read(length) if length else b""
        return body


#: Headers every answer carries: no framing, no sniffing, no referrer, scripts only from here.
#: 'unsafe-eval' because the form validator (ajv, as rjsf runs it) compiles each schema to a
#: function; every script still comes from this service, and nothing from elsewhere runs.
SECURITY_HEADERS = [
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Content-Security-Policy", "default-src 'self'; script-src 'self' 'unsafe-eval'; connect-src 'self'; "
                                "img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; "
                                "base-uri 'none'; form-action 'self'"),
]


def _host_name(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host[:host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _bearer(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _cookie(header: str) -> str | None:
    if not header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except Exception:  # a malformed cookie header is no key
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None else None
