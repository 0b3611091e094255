"""The engine's own plugin: generic codecs and the final send. Registered like any other plugin.

Internal to the engine (not part of what hosts use; see ``influx_connector.__all__``).
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .errors import DecodeError
from .hookspecs import hookimpl
from .messages import HTTPRequest, HTTPResponse, HTTPTransport


def decode_json(response: HTTPResponse, headers: Mapping[str, str] | None = None) -> Any:
    """JSON body (UTF-8, -16 or -32, as RFC 8259 allows); an empty body decodes to None.

    ``headers`` (result key -> answer header) adds those headers' values to an object answer,
    for servers that say some facts only in headers (a version, a build): an empty answer then
    decodes to an object of them alone."""
    if headers:
        found = {key: response.headers[name] for key, name in headers.items() if name in response.headers}
        body = decode_json(response)
        return {**body, **found} if isinstance(body, Mapping) else found if body is None else body
    if not response.content:
        return None
    try:
        return json.loads(response.content)
    except (ValueError, RecursionError) as exc:
        # ValueError covers bytes that are not UTF-8 (UnicodeDecodeError); RecursionError,
        # arrays or objects nested deeper than the interpreter's stack.
        why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise DecodeError(f"the server's answer is not JSON ({why})", answer=response.content) from None


def decode_text(response: HTTPResponse) -> str:
    """The body as text, in the charset the answer names if Python can decode it so, else as
    UTF-8; undecodable bytes become U+FFFD."""
    content = response.content
    name = response.encoding
    if name and name.lower().replace("_", "-") not in ("utf-8", "utf8"):
        try:
            # The server names the charset; some names Python knows are not text encodings
            # ('rot13', 'base64') or refuse to replace what they cannot decode ('idna').
            return content.decode(name, "replace")
        except (LookupError, UnicodeError, ValueError):
            pass
    return content.decode("utf-8", "replace")


def decode_empty(response: HTTPResponse, data: Any = None) -> Any:
    """No body expected (204): the result is the declared ``data``, if any."""
    return data


@hookimpl
def influx_connector_codecs() -> Mapping[str, Any]:
    return {"json": decode_json, "text": decode_text, "empty": decode_empty}


@hookimpl(trylast=True)
def influx_connector_send(request: HTTPRequest, transport: HTTPTransport) -> HTTPResponse:
    return transport.handle(request)
