"""Who may ask: the token a request presents, checked against the sandbox's tokens.

Every token may do everything, like an operator token. The v1 paths also take a v1 password
(``Authorization: Basic`` or the ``p`` query parameter), which the sandbox takes as a token.
"""
from __future__ import annotations

import base64
import secrets

from influx_connector.sandbox.server.messages import Problem, Request

#: Paths served without a token, as on the real server.
PUBLIC_PATHS = frozenset({"/health", "/ping", "/ready"})
#: The v1 compatibility paths, which also take v1 credentials (Basic auth, or ``u``/``p``).
V1_PATHS = frozenset({"/write", "/query"})


def authorize(req: Request, tokens: tuple[str, ...]) -> None:
    """Raise 401 unless the request presents one of ``tokens``."""
    # compare_digest keeps response timing from leaking the tokens.
    ok = any(
        secrets.compare_digest(presented.encode(), t.encode())
        for presented in presented_tokens(req)
        for t in tokens
    )
    if not ok:
        raise Problem(401, "unauthorized", "unauthorized access")


def presented_tokens(req: Request) -> list[str]:
    """The tokens a request offers: ``Authorization: Token`` everywhere ("Token" is
    case-sensitive on the server); on the v1 paths also a v1 password, which the sandbox
    takes as a token (``Authorization: Basic`` or the ``p`` query parameter)."""
    scheme, _, value = req.header("Authorization").partition(" ")
    # InfluxDB 3's own endpoints take the token as a Bearer token (sandbox.v3).
    if scheme == "Token" or (scheme == "Bearer" and req.path.startswith("/api/v3/")):
        return [value]
    presented: list[str] = []
    if req.path in V1_PATHS:
        if scheme == "Basic":
            try:
                presented.append(base64.b64decode(value, validate=True).decode("utf-8").partition(":")[2])
            except (ValueError, UnicodeDecodeError):
                pass
        if (password := req.param("p")) is not None:
            presented.append(password)
    return presented
