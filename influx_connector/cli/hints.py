"""What to do about an error, in the words of the command line: which flag or variable to set.

The engine's messages say what went wrong; a hint adds the next step for someone at a shell,
named after the data source's own flags and variables (``--token or INFLUX_TOKEN``).
"""
from __future__ import annotations

from ..errors import APIError, ConnectorError, TLSError, ValidationError
from ..model import DataSource
from .config import credentials_hint, how_to_give, url_fields

#: What OpenSSL says when the other end answered a TLS hello in plain text (an http server).
_PLAIN_HTTP = ("wrong_version_number", "wrong version number")


def hints(exc: ConnectorError, data_source: DataSource | None) -> list[str]:
    """Lines to print after the error, each starting with ``hint:``; none when there is nothing to add."""
    if data_source is None:
        return []
    if isinstance(exc, ValidationError) and exc.subject == "connection":
        missing = [e.field for e in exc.errors if e.message.startswith("is required")]
        if missing:
            ways = "; ".join(f"{name} with {how_to_give(data_source, name)}" for name in missing)
            return [f"hint: give {ways}; or put them in a file named with --config"]
    if isinstance(exc, APIError) and exc.status == 401:
        return [f"hint: the server did not accept the credentials: check them ({credentials_hint(data_source)})"]
    if isinstance(exc, APIError) and exc.status == 403:
        return [f"hint: the server refused this to these credentials: check that they are right and allowed "
                f"to do it ({credentials_hint(data_source)})"]
    if isinstance(exc, TLSError) and any(word in str(exc).lower() for word in _PLAIN_HTTP):
        url = url_fields(data_source.connection.base_url)
        how = f" with {how_to_give(data_source, url.scheme)} http, or an http:// URL" if url and url.scheme else ""
        return [f"hint: the server answered in plain http, not https: connect over http{how}"]
    return []
