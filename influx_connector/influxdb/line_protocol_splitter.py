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


_COMMA = 0x2C
_BLANKS = b" \t\x00"  # what the server skips at the start of a line and between its sections
_BLANKS_AND_EMPTY_LINES = _BLANKS + b"\n"  # empty lines before a line are not among the ends


def points(body: bytes, ends: list[int]) -> tuple[list[int], list[int]]:
    """Of the lines ending at ``ends``, the ends of those that are points (not blank, not ``#``
    comments), and the indices (among those) of the points that have no timestamp."""
    kept: list[int] = []
    untimed: list[int] = []
    start = 0
    for end in ends:
        line = body[start:end].lstrip(_BLANKS_AND_EMPTY_LINES)
        start = end + 1
        if not line or line[0] == 0x23:  # '#'
            continue
        if lacks_time(line):
            untimed.append(len(kept))
        kept.append(end)
    return kept, untimed


def lacks_time(point: bytes) -> bool:
    """Whether a point (leading blanks stripped) is one the server would stamp with its clock:
    a series key and a field set with nothing after them. A point that already ends in a
    timestamp, or that the server cannot read, is left as it is.

    The sections are found as the server's parser finds them: the series key ends at the first
    space not directly after a backslash; in the field set backslashes pair up and a quote
    opens or closes a string only inside a value (more '=' than ',' seen so far); blanks may
    stand between the sections.
    """
    if b'"' not in point and b"\\" not in point:
        key_end = point.find(b" ")
        if key_end < 0:
            return False
        fields = point[key_end:].lstrip(b" ")
        end = fields.find(b" ")
        if end >= 0:
            if fields[end:].strip(_BLANKS):
                return False
            fields = fields[:end]
        return _plausible(fields)
    return _lacks_time_exactly(point)


def _plausible(fields: bytes) -> bool:
    """A field set with a key and a value at both ends: one the server may accept. A line it is
    sure to refuse is left as written, so its error quotes it unchanged."""
    return b"=" in fields and fields[:1] not in b"=," and fields[-1:] not in b"=,"


def _lacks_time_exactly(point: bytes) -> bool:
    size = len(point)
    i = 1
    while True:
        i = point.find(b" ", i)
        if i < 0:
            return False  # no field set
        if point[i - 1] != _BACKSLASH:
            break
        i += 1
    while i < size and point[i] in _BLANKS:
        i += 1
    start = i
    quoted = False
    equals = commas = 0
    while i < size:
        byte = point[i]
        if byte == _BACKSLASH:
            i += 2
            continue
        if byte == _QUOTE and equals > commas:
            quoted = not quoted
        elif not quoted:
            if byte == _EQUALS:
                equals += 1
            elif byte == _COMMA:
                commas += 1
            elif byte == _SPACE:
                break
        i += 1
    if quoted or not _plausible(point[start:i]):
        return False  # an open string, or no field: the server refuses the line as it is
    return not point[i:].strip(_BLANKS)
