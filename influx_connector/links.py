"""Follow a link from a server's answer only to that same server.

A next-page link comes from the server, and the request that follows it carries the
connection's credentials and secret headers. So a link is followed only when every URL parser
reads it as the connection's own scheme, host and port: a path on the server (``/api/...``), or
an absolute URL whose scheme, host and port, once parsed (default ports filled in), are exactly
the connection's. Anything a parser could read two ways is refused rather than interpreted: user
information (``user@host``), backslashes, spaces, control or non-ASCII characters, broken
percent-escapes, scheme-relative (``//host``) and relative links, and ``.``/``..`` segments
(also percent-encoded), which would leave the connection's base path.

Internal to the engine (not part of what hosts use; see ``influx_connector.__all__``).
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

import urllib3.util

#: The characters RFC 3986 allows in a URI reference, and nothing else.
_URI_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_AUTHORITY = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~\-]+)(?::(?P<port>[0-9]{1,5}))?")
_DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_LINK = 8192


def same_origin_url(base: str, link: Any) -> str:
    """The absolute URL ``link`` leads to from ``base``; ``ValueError`` saying why when it does
    not lead, beyond doubt, to ``base``'s scheme, host and port."""
    if not isinstance(link, str):
        raise ValueError(f"it is {type(link).__name__}, not text")
    if len(link) > MAX_LINK:
        raise ValueError(f"it is longer than {MAX_LINK} characters")
    if not _URI_CHARS.fullmatch(link):
        raise ValueError("it holds characters a URL may not (backslashes, spaces, quotes, control or non-ASCII "
                         "characters)")
    if _BAD_ESCAPE.search(link):
        raise ValueError("it holds a '%' that does not start a percent-escape")
    origin = _origin(base)
    parts = urlsplit(base)
    if link.startswith("//"):
        raise ValueError("a scheme-relative link (//host) could lead to another server")
    if link.startswith("/"):
        path = link if not parts.path or link.startswith(parts.path + "/") else parts.path + link
        url = f"{parts.scheme}://{parts.netloc}{path}"
    elif _SCHEME.match(link):
        scheme, _, rest = link.partition(":")
        authority = rest[2:].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0] if rest.startswith("//") else None
        if authority is None:
            raise ValueError("an absolute link without a host")
        if "@" in authority:
            raise ValueError("a link with user information (user@host) is never followed")
        found = _AUTHORITY.fullmatch(authority)
        if found is None:
            raise ValueError("its host and port are not a plain host name or address and port")
        port = int(found["port"]) if found["port"] else _DEFAULT_PORTS.get(scheme.lower())
        if (scheme.lower(), found["host"].lower(), port) != origin:
            raise ValueError("it leads to another server than the connection's")
        url = link
    else:
        raise ValueError("a relative link is not followed: the server's links start with '/'")
    path = urlsplit(url).path
    if any(unquote(segment) in (".", "..") for segment in path.split("/")):
        raise ValueError("it holds a '.' or '..' path segment")
    # Belt and braces: both the standard library's parser and urllib3's (which sends it) agree.
    if _origin(url) != origin or _urllib3_origin(url) != origin:
        raise ValueError("it does not parse to the connection's server")
    return url


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = -1
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    return scheme, host, port if port is not None else _DEFAULT_PORTS.get(scheme)


def _urllib3_origin(url: str) -> tuple[str, str, int | None]:
    parsed = urllib3.util.parse_url(url)
    if parsed.auth:
        return "", "", None
    scheme = (parsed.scheme or "").lower()
    return scheme, (parsed.host or "").lower(), parsed.port if parsed.port is not None else _DEFAULT_PORTS.get(scheme)
