"""Gzip request bodies inflated within a limit, for every API the sandbox serves.

Each API words its own errors, so this module raises one ``GzipBodyError`` whose ``kind`` says
what went wrong and leaves the answer to the endpoint.
"""
from __future__ import annotations

import zlib


class GzipBodyError(Exception):
    """``kind`` is ``"not gzip"``, ``"corrupt"``, ``"truncated"`` or ``"too large"``."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


def inflate(body: bytes, limit: int) -> bytes:
    """A (possibly multi-member) gzip body, never inflated past ``limit`` + 1 bytes."""
    out = bytearray()
    data = body
    while data:
        inflater = zlib.decompressobj(wbits=31)
        try:
            out += inflater.decompress(data, limit + 1 - len(out))
        except zlib.error:
            raise GzipBodyError("corrupt" if data.startswith(b"\x1f\x8b") else "not gzip") from None
        if len(out) > limit:
            raise GzipBodyError("too large")
        if not inflater.eof:
            raise GzipBodyError("truncated")
        data = inflater.unused_data
    return bytes(out)
