"""Bytes where only text can go: the one shape a result given as bytes takes in JSON.

An operation may give its answer as bytes (a Parquet file, an image, an archive). JSON has no
word for bytes, so everywhere the project writes JSON (the command line, the reference host's
answers and its page) bytes are written the same way, with nothing lost::

    {"$binary": {"base64": "UEFSMQ...", "size": 1234, "content_type": "application/vnd.apache.parquet"}}

``base64`` is the standard alphabet with padding (RFC 4648 section 4), ``size`` the number of
bytes it decodes to, and ``content_type`` the media type the server named, left out when it
named none. The key starts with ``$`` so the shape cannot be taken for a row or an object a
server sent. Nothing here knows what the bytes are.
"""
from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

#: The one key of a JSON object that stands for bytes.
BINARY_KEY = "$binary"


def binary_json(data: bytes | bytearray | memoryview, content_type: str | None = None) -> dict[str, Any]:
    """``data`` in the documented shape."""
    raw = bytes(data)
    described: dict[str, Any] = {"base64": base64.b64encode(raw).decode("ascii"), "size": len(raw)}
    if content_type:
        described["content_type"] = content_type
    return {BINARY_KEY: described}


def is_bytes(value: Any) -> bool:
    return isinstance(value, (bytes, bytearray, memoryview))


def result_json(result: Any, envelope: bool = False) -> dict[str, Any]:
    """A ``Result`` as JSON-ready data (its ``to_dict``, or its ``envelope``): bytes data in the
    documented shape, with the media type the answer came with."""
    shaped = result.envelope() if envelope else result.to_dict()
    if is_bytes(result.data):
        meta: Mapping[str, Any] = result.meta or {}
        shaped["data"] = binary_json(result.data, meta.get("content_type"))
    return shaped


#: File name endings of media types that ``mimetypes`` may not know.
_ENDINGS = {"application/vnd.apache.parquet": ".parquet", "application/octet-stream": ".bin",
            "application/jsonl": ".jsonl", "application/x-ndjson": ".ndjson"}


def media_type(content_type: str | None) -> str:
    """The bare media type of a Content-Type (no parameters, lower case)."""
    return (content_type or "").split(";")[0].strip().lower()


def file_name(stem: str, content_type: str | None) -> str:
    """A file name for bytes of ``content_type`` that ``stem`` (an operation id) gave."""
    import mimetypes

    kind = media_type(content_type)
    ending = _ENDINGS.get(kind) or (mimetypes.guess_extension(kind) if kind else None) or ".bin"
    return f"{stem}{ending}"


def json_default(value: Any) -> Any:
    """A ``default`` for ``json.dumps`` (and orjson): bytes in the documented shape, anything
    else JSON has no word for as its text."""
    return binary_json(value) if is_bytes(value) else str(value)


def from_binary_json(value: Any) -> bytes | None:
    """The bytes of a value in the documented shape, or None for any other value (for hosts
    and tests that read the JSON back)."""
    if not (isinstance(value, Mapping) and set(value) == {BINARY_KEY} and isinstance(value[BINARY_KEY], Mapping)):
        return None
    text = value[BINARY_KEY].get("base64")
    return base64.b64decode(text, validate=True) if isinstance(text, str) else None
