"""Decoding the text of literal tokens into values: strings, regexes and durations."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .lexer import LineIndex, syntax_error

_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "$": "$"}
_DURATION_PART = re.compile(r"(\d+)(mo|ms|us|µs|ns|y|w|d|h|m|s)")
_HEX = set("0123456789abcdefABCDEF")


@dataclass(frozen=True)
class TextPart:
    value: str
    start: int
    end: int


@dataclass(frozen=True)
class InterpolatedPart:
    start: int  # offset of the first character after "${"
    end: int  # offset of the closing "}"


def string_parts(text: str, offset: int, index: LineIndex) -> list[TextPart | InterpolatedPart]:
    """Split a string token (quotes included, starting at ``offset``) into decoded text and
    ``${...}`` expression spans. A plain string gives exactly one TextPart."""
    parts: list[TextPart | InterpolatedPart] = []
    buf = bytearray()  # \xNN escapes are bytes of UTF-8, so text is built as bytes
    part_start = offset + 1
    i = 1
    last = len(text) - 1  # the closing quote
    while i < last:
        ch = text[i]
        if ch == "\\":
            esc = text[i + 1]
            if esc in _SIMPLE_ESCAPES:
                buf += _SIMPLE_ESCAPES[esc].encode()
                i += 2
            elif esc == "x" and len(text) > i + 3 and set(text[i + 2 : i + 4]) <= _HEX:
                buf.append(int(text[i + 2 : i + 4], 16))
                i += 4
            else:
                raise syntax_error(f"invalid escape sequence \\{esc}", index, offset + i)
        elif ch == "$" and text.startswith("{", i + 1):
            parts.append(TextPart(_utf8(buf, index, offset + i), part_start, offset + i))
            buf = bytearray()
            close = _closing_brace(text, i + 2)
            parts.append(InterpolatedPart(offset + i + 2, offset + close))
            i = close + 1
            part_start = offset + i
        else:
            buf += ch.encode()
            i += 1
    parts.append(TextPart(_utf8(buf, index, offset + i), part_start, offset + last))
    if len(parts) > 1:
        # Interpolated strings keep no empty text parts, like the real parser.
        parts = [p for p in parts if not (isinstance(p, TextPart) and p.value == "")]
    return parts


def _utf8(buf: bytearray, index: LineIndex, offset: int) -> str:
    try:
        return buf.decode("utf-8")
    except UnicodeDecodeError:
        raise syntax_error("invalid UTF-8 in string escape", index, offset) from None


def _closing_brace(text: str, i: int) -> int:
    """Index of the ``}`` that ends the interpolation starting at ``i`` (the lexer has
    already checked it exists)."""
    depth = 1
    while True:
        ch = text[i]
        if ch == '"':
            i += 1
            while text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1


def regex_value(text: str) -> str:
    """The pattern of a ``/.../`` token; ``\\/`` is how a slash is written inside it."""
    return text[1:-1].replace("\\/", "/")


def duration_values(text: str) -> list[dict[str, int | str]]:
    """``1h30m`` -> ``[{"magnitude": 1, "unit": "h"}, {"magnitude": 30, "unit": "m"}]``."""
    return [{"magnitude": int(n), "unit": unit} for n, unit in _DURATION_PART.findall(text)]
