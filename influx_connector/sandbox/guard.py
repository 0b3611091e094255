"""Who may talk to the sandbox: checks made on a request's head, before its body is read.

The sandbox listens on loopback with a token anyone can read in its docs, so the threats are
local: a web page in the developer's browser (which can send simple cross-site requests, and
read answers after re-pointing its own domain at 127.0.0.1, "DNS rebinding") and other users of
a shared machine. A browser always sends ``Host``, and ``Origin`` or ``Sec-Fetch-Site`` on the
requests a page can make; tools and the connector send neither of the latter.
"""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, urlsplit

#: The ``p`` query parameter of the v1 endpoints is a password (the sandbox takes it as a token).
_PASSWORD_PARAM = re.compile(r"([?&;]p=)[^&;\s\"]*")
MASK = "****"


def split_host(value: str) -> tuple[str, str]:
    """``host[:port]`` (or ``[v6]:port``) as (host, port); brackets stay on an IPv6 host."""
    value = value.strip()
    if value.startswith("["):
        host, _, rest = value.partition("]")
        return host + "]", rest[1:] if rest.startswith(":") else ""
    host, _, port = value.rpartition(":") if value.count(":") == 1 else (value, "", "")
    return host, port


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def is_loopback(host: str) -> bool:
    """True for an address (or ``localhost``) that only this machine can reach."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_refusal(header: str | None, allowed: Iterable[str]) -> str | None:
    """Why a ``Host`` header is refused, or None.

    An IP address, ``localhost`` and names under ``.localhost`` are accepted (none can be a
    name an attacker's DNS re-points at this machine), as are the ``allowed`` names; any other
    name is how a DNS-rebinding page reaches a loopback server, and is refused. A request
    without the header (HTTP/1.0 tools) is accepted: browsers always send it.
    """
    if header is None:
        return None
    host, _ = split_host(header)
    name = host.lower().rstrip(".")
    if not name:
        return "the Host header names no host"
    if is_ip(name) or is_loopback(name) or name in {a.lower().rstrip(".") for a in allowed}:
        return None
    return (f"the Host header names {host!r}, which is not this sandbox's address: start the sandbox with "
            "allowed_hosts (--allow-host) to reach it by that name")


def origin_refusal(origin: str | None, fetch_site: str | None, host_header: str | None) -> str | None:
    """Why a request sent by a web page on another site is refused, or None.

    Browsers send ``Origin`` with every request a page makes with ``fetch``/forms other than a
    plain GET, and ``Sec-Fetch-Site`` with every request; the sandbox serves no pages, so a
    request from any other origin is a page reaching into a local server.
    """
    if fetch_site is not None and fetch_site.strip().lower() in ("cross-site", "same-site"):
        return f"requests from web pages on other sites are refused (Sec-Fetch-Site: {fetch_site.strip()})"
    if origin is None:
        return None
    parts = urlsplit(origin.strip())
    same = host_header is not None and parts.scheme in ("http", "https") and \
        parts.netloc.lower() == host_header.strip().lower()
    if not same:
        return f"requests from web pages on other sites are refused (Origin: {origin.strip()[:100]})"
    return None


def masker(tokens: Iterable[str]):  # type: ignore[no-untyped-def]
    """A function that hides ``tokens`` (as they are and URL-encoded) and any ``p=`` value in a text."""
    forms = sorted({form for t in tokens if t for form in (t, quote(t, safe=""), quote_plus(t))}, key=len,
                   reverse=True)

    def mask(text: str) -> str:
        text = _PASSWORD_PARAM.sub(lambda m: m.group(1) + MASK, text)
        for form in forms:
            text = text.replace(form, MASK)
        return text

    return mask
