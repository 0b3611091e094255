"""The engine's own plugin: generic codecs and the final send. Registered like any other plugin."""
from __future__ import annotations

import json
from typing import Any, Mapping

from .errors import DecodeError
from .hookspecs import hookimpl


def decode_json(response: Any) -> Any:
    """JSON body; an empty body decodes to None."""
    if not response.content:
        return None
    try:
        return json.loads(response.content)
    except ValueError as exc:
        raise DecodeError(f"the server's answer is not JSON ({exc})", answer=response.content) from None


def decode_text(response: Any) -> str:
    return response.content.decode(response.encoding or "utf-8", "replace")


def decode_empty(response: Any, data: Any = None) -> Any:
    """No body expected (204): the result is the declared ``data``, if any."""
    return data


@hookimpl
def influx_connector_codecs() -> Mapping[str, Any]:
    return {"json": decode_json, "text": decode_text, "empty": decode_empty}


@hookimpl(trylast=True)
def influx_connector_send(request: Any, session: Any, settings: Mapping[str, Any]) -> Any:
    return session.send(request, **settings)
