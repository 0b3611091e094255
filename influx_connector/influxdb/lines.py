"""Where the points of a line-protocol body end, so a large write can be cut into batches.

A newline ends a point, except inside a quoted string field value, where line protocol lets it
stay. The rules follow the server's scanner: a backslash escapes the next byte anywhere; the
field set starts at the first unescaped space after the measurement and tags (a quote before
it is a literal character); there, a quote right after ``=`` opens a string value and the next
unescaped quote closes it. Blank lines and ``#`` comment lines are records too: they go with
the batch they fall in and the server skips them.
"""
from __future__ import annotations

from ..batch import split_ends

_NL = 0x0A
_SPACE = 0x20
_QUOTE = 0x22
_EQUALS = 0x3D
_BACKSLASH = 0x5C


def point_ends(body: bytes) -> list[int]:
    """Offsets just past each line of ``body`` (newline excluded), newlines in strings kept inside."""
    if b'"' not in body:
        return split_ends(body, b"\n")
    ends: list[int] = []
    start = 0
    size = len(body)
    while start < size:
        end = _line_end(body, start)
        if end > start:
            ends.append(end)
        start = end + 1
    return ends


def _line_end(body: bytes, start: int) -> int:
    """The offset of the newline that ends the line starting at ``start`` (or the body's end)."""
    plain = body.find(b"\n", start)
    plain = len(body) if plain < 0 else plain
    if body.find(b'"', start, plain) < 0:
        return plain  # no quote before the next newline: it cannot be inside a string
    i = start
    in_fields = in_string = False
    previous = -1
    while i < len(body):
        byte = body[i]
        if byte == _BACKSLASH:
            previous = -1
            i += 2
            continue
        if in_string:
            if byte == _QUOTE:
                in_string = False
        elif byte == _NL:
            return i
        elif byte == _SPACE:
            in_fields = True
        elif byte == _QUOTE and in_fields and previous == _EQUALS:
            in_string = True
        previous = byte
        i += 1
    return len(body)
