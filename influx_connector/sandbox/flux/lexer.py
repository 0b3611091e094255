"""Turns Flux source text into tokens, each with its place in the text.

Token kinds use the names the real Flux scanner prints in its error messages (``RPAREN``,
``PIPE_FORWARD``, ...) so that parse errors read the same as the server's.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from .errors import FluxSyntaxError

KEYWORDS = {
    "and": "AND",
    "or": "OR",
    "not": "NOT",
    "exists": "EXISTS",
    "import": "IMPORT",
    "package": "PACKAGE",
    "option": "OPTION",
    "return": "RETURN",
    "if": "IF",
    "then": "THEN",
    "else": "ELSE",
    "with": "WITH",
}

# Longest operators first so that "|>" is not read as "|" then ">".
OPERATORS = [
    ("|>", "PIPE_FORWARD"),
    ("<-", "PIPE_RECEIVE"),
    ("=>", "ARROW"),
    ("==", "EQ"),
    ("!=", "NEQ"),
    ("<=", "LTE"),
    (">=", "GTE"),
    ("=~", "REGEXEQ"),
    ("!~", "REGEXNEQ"),
    ("<", "LT"),
    (">", "GT"),
    ("=", "ASSIGN"),
    ("+", "ADD"),
    ("-", "SUB"),
    ("*", "MUL"),
    ("/", "DIV"),
    ("%", "MOD"),
    ("^", "POW"),
    ("(", "LPAREN"),
    (")", "RPAREN"),
    ("[", "LBRACK"),
    ("]", "RBRACK"),
    ("{", "LBRACE"),
    ("}", "RBRACE"),
    (",", "COMMA"),
    (":", "COLON"),
    (".", "DOT"),
    ("?", "QUESTION_MARK"),
]

# A "/" after one of these ends an operand, so it divides; anywhere else it opens a regex.
_OPERAND_ENDS = {"IDENT", "INT", "FLOAT", "STRING", "DURATION", "TIME", "REGEX", "RPAREN", "RBRACK", "RBRACE"}

_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))?")
_DURATION = re.compile(r"(?:\d+(?:mo|ms|us|µs|ns|y|w|d|h|m|s))+")
_FLOAT = re.compile(r"\d+\.\d+|\.\d+")
_INT = re.compile(r"\d+")


class LineIndex:
    """Maps offsets in the whole query to 1-based (line, column) pairs."""

    def __init__(self, source: str) -> None:
        self.starts = [0] + [i + 1 for i, ch in enumerate(source) if ch == "\n"]

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1


@dataclass(frozen=True)
class Token:
    kind: str
    text: str  # the exact source text of the token
    start: int  # offset of the first character
    end: int  # offset just past the last character


def syntax_error(reason: str, index: LineIndex, offset: int) -> FluxSyntaxError:
    line, column = index.position(offset)
    return FluxSyntaxError(reason, line, column, offset)


class Lexer:
    """Scans ``source[start:end]``; positions stay relative to the whole source so that an
    interpolated expression inside a string reports its true line and column."""

    def __init__(self, source: str, index: LineIndex, start: int = 0, end: int | None = None) -> None:
        self.src = source
        self.index = index
        self.pos = start
        self.end = len(source) if end is None else end

    def tokens(self) -> list[Token]:
        out: list[Token] = []
        while True:
            self._skip_space_and_comments()
            if self.pos >= self.end:
                out.append(Token("EOF", "", self.end, self.end))
                return out
            previous = out[-1].kind if out else None
            out.append(self._next(previous))

    def _skip_space_and_comments(self) -> None:
        while self.pos < self.end:
            ch = self.src[self.pos]
            if ch in " \t\r\n":
                self.pos += 1
            elif self.src.startswith("//", self.pos):
                newline = self.src.find("\n", self.pos, self.end)
                self.pos = self.end if newline < 0 else newline + 1
            else:
                return

    def _take(self, kind: str, length: int) -> Token:
        start = self.pos
        self.pos += length
        return Token(kind, self.src[start : self.pos], start, self.pos)

    def _match(self, pattern: re.Pattern[str]) -> int:
        m = pattern.match(self.src, self.pos, self.end)
        return m.end() - self.pos if m else 0

    def _next(self, previous: str | None) -> Token:
        ch = self.src[self.pos]
        if ch == '"':
            return self._take("STRING", self._string_length(self.pos))
        if ch == "/" and previous not in _OPERAND_ENDS:
            return self._take("REGEX", self._regex_length())
        if ch.isdigit() or (ch == "." and self.pos + 1 < self.end and self.src[self.pos + 1].isdigit()):
            return self._number()
        if ch == "_" or ch.isalpha():
            length = 1
            while self.pos + length < self.end and (
                self.src[self.pos + length] == "_" or self.src[self.pos + length].isalnum()
            ):
                length += 1
            word = self.src[self.pos : self.pos + length]
            return self._take(KEYWORDS.get(word, "IDENT"), length)
        for text, kind in OPERATORS:
            if self.src.startswith(text, self.pos) and self.pos + len(text) <= self.end:
                return self._take(kind, len(text))
        raise syntax_error(f"unexpected character {ch!r}", self.index, self.pos)

    def _number(self) -> Token:
        # Order matters: 2023-01-01 is a date, not 2023 minus 1; 1m30s is one duration.
        for kind, pattern in (("TIME", _DATETIME), ("DURATION", _DURATION), ("FLOAT", _FLOAT), ("INT", _INT)):
            length = self._match(pattern)
            if length:
                return self._take(kind, length)
        raise syntax_error("invalid number", self.index, self.pos)  # pragma: no cover - unreachable

    def _string_length(self, start: int) -> int:
        """Length of the string literal at ``start``, including any ``${...}`` parts."""
        i = start + 1
        while i < self.end:
            ch = self.src[i]
            if ch == "\\":
                i += 2
            elif ch == '"':
                return i + 1 - start
            elif ch == "$" and self.src.startswith("{", i + 1):
                i = self._interpolation_end(i + 2)
            else:
                i += 1
        raise syntax_error("unterminated string literal", self.index, start)

    def _interpolation_end(self, i: int) -> int:
        """Offset just past the ``}`` closing an interpolation whose body starts at ``i``."""
        depth = 1
        while i < self.end:
            ch = self.src[i]
            if ch == '"':
                i += self._string_length(i)
                continue
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        raise syntax_error("unterminated string interpolation", self.index, i)

    def _regex_length(self) -> int:
        i = self.pos + 1
        while i < self.end:
            ch = self.src[i]
            if ch == "\\":
                i += 2
            elif ch == "/":
                return i + 1 - self.pos
            elif ch == "\n":
                break
            else:
                i += 1
        raise syntax_error("unterminated regular expression literal", self.index, self.pos)
