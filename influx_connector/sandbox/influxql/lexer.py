"""Tokens of InfluxQL text, with the line and character positions InfluxDB names in its errors.

Positions are 1-based, as in ``found FROM, expected identifier at line 1, char 8``. Two quirks of
the real scanner are kept because clients see them in messages: an unterminated string is
reported at the character before its opening quote, and the end of the text is reported one
character further when the text ends in a bare word or a comma (the real scanner reads past
the end twice there).
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

#: InfluxQL's reserved words (unquoted, they are never identifiers).
KEYWORDS = frozenset(
    [
        "ALL", "ALTER", "ANALYZE", "AND", "ANY", "AS", "ASC", "BEGIN", "BY", "CARDINALITY", "CREATE", "CONTINUOUS",
        "DATABASE", "DATABASES", "DEFAULT", "DELETE", "DESC", "DESTINATIONS", "DIAGNOSTICS", "DISTINCT", "DROP",
        "DURATION", "END", "EVERY", "EXACT", "EXPLAIN", "FALSE", "FIELD", "FOR", "FROM", "GRANT", "GRANTS", "GROUP",
        "GROUPS", "IN", "INF", "INSERT", "INTO", "KEY", "KEYS", "KILL", "LIMIT", "MEASUREMENT", "MEASUREMENTS",
        "NAME", "OFFSET", "ON", "OR", "ORDER", "PASSWORD", "POLICY", "POLICIES", "PRIVILEGES", "QUERIES", "QUERY",
        "READ", "REPLICATION", "RESAMPLE", "RETENTION", "REVOKE", "SELECT", "SERIES", "SET", "SHARD", "SHARDS",
        "SHOW", "SLIMIT", "SOFFSET", "STATS", "SUBSCRIPTION", "SUBSCRIPTIONS", "TAG", "TO", "TRUE", "USER", "USERS",
        "VALUES", "WHERE", "WITH", "WRITE"
    ]
)

# Longest first, so "<=" is not read as "<" then "=".
_OPERATORS = ("::", "=~", "!=", "!~", "<>", "<=", ">=", "=", "<", ">", "+", "-", "*", "/", "%", "&", "|", "^",
              ",", ";", "(", ")", ".", ":")
_STRING_ESCAPES = {"n": "\n", "\\": "\\", '"': '"', "'": "'"}


@dataclass(frozen=True)
class Token:
    #: word (bare identifier or keyword), ident (double-quoted), string, integer, number, duration,
    #: op, eof, or one the parser always rejects: badstring (unterminated), badescape, illegal
    kind: str
    text: str
    line: int
    char: int

    @property
    def keyword(self) -> str | None:
        if self.kind == "word" and self.text.upper() in KEYWORDS:
            return self.text.upper()
        return None

    @property
    def is_identifier(self) -> bool:
        return self.kind == "ident" or (self.kind == "word" and self.keyword is None)

    def is_op(self, *symbols: str) -> bool:
        return self.kind == "op" and self.text in symbols

    @property
    def shown(self) -> str:
        """How the server names this token after ``found``."""
        if self.kind == "eof":
            return "EOF"
        if self.kind in ("badstring", "badescape", "illegal"):
            return self.text or self.kind.upper()  # the server's token name when there is no text
        return self.keyword or self.text


def tokenize(text: str) -> list[Token]:
    """Every token of ``text`` (whitespace and comments dropped), ending with an ``eof`` token."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return list(_Scanner(text).tokens())


class _Scanner:
    def __init__(self, text: str):
        self.text = text
        self.i = 0
        self.line = 1
        self.line_start = 0

    def col(self, index: int) -> int:
        """The 0-based column of ``index`` on the current line."""
        return index - self.line_start

    def tokens(self) -> Iterator[Token]:
        text = self.text
        while self.i < len(text):
            ch = text[self.i]
            if ch == "\n":
                self.i += 1
                self.line += 1
                self.line_start = self.i
            elif ch in " \t":
                self.i += 1
            elif text.startswith("--", self.i):
                end = text.find("\n", self.i)
                self.i = len(text) if end < 0 else end
            elif text.startswith("/*", self.i):
                end = text.find("*/", self.i + 2)
                if end < 0:
                    yield Token("illegal", "", self.line, self.col(self.i) + 1)
                    self.i = len(text)
                else:
                    self._skip_comment(end + 2)
            elif ch == '"' or ch == "'":
                yield self._quoted()
            elif _is_word_start(ch):
                yield self._word()
            elif ch.isascii() and ch.isdigit() or (ch == "." and text[self.i + 1 : self.i + 2].isdigit()):
                yield self._number()
            else:
                yield self._operator()
        yield self._eof()

    def _skip_comment(self, end: int) -> None:
        newlines = self.text.count("\n", self.i, end)
        if newlines:
            self.line += newlines
            self.line_start = self.text.rfind("\n", self.i, end) + 1
        self.i = end

    def _word(self) -> Token:
        start = self.i
        while self.i < len(self.text) and _is_word_char(self.text[self.i]):
            self.i += 1
        return Token("word", self.text[start : self.i], self.line, self.col(start) + 1)

    def _number(self) -> Token:
        text, start = self.text, self.i
        while self.i < len(text) and text[self.i].isascii() and text[self.i].isdigit():
            self.i += 1
        if text[self.i : self.i + 1] == "." and text[self.i + 1 : self.i + 2].isdigit():
            self.i += 1
            while self.i < len(text) and text[self.i].isascii() and text[self.i].isdigit():
                self.i += 1
            return Token("number", text[start : self.i], self.line, self.col(start) + 1)
        if self.i < len(text) and (_is_letter(text[self.i]) or text[self.i] == "µ"):
            while self.i < len(text) and (_is_letter(text[self.i]) or text[self.i] == "µ" or text[self.i].isdigit()):
                self.i += 1
            return Token("duration", text[start : self.i], self.line, self.col(start) + 1)
        return Token("integer", text[start : self.i], self.line, self.col(start) + 1)

    def _quoted(self) -> Token:
        text, start = self.text, self.i
        quote = text[start]
        out: list[str] = []
        self.i += 1
        while self.i < len(text):
            ch = text[self.i]
            if ch == quote:
                self.i += 1
                kind = "ident" if quote == '"' else "string"
                return Token(kind, "".join(out), self.line, self.col(start) + 1)
            if ch == "\n":
                break
            if ch == "\\":
                following = text[self.i + 1 : self.i + 2]
                if following not in _STRING_ESCAPES:
                    self.i += 2
                    return Token("badescape", "\\" + following, self.line, self.col(self.i - 1) + 1)
                out.append(_STRING_ESCAPES[following])
                self.i += 2
                continue
            out.append(ch)
            self.i += 1
        # Unterminated: the real scanner names the character before the opening quote.
        token = Token("badstring", "".join(out), self.line, max(self.col(start), 1))
        self.i = len(text)
        return token

    def _operator(self) -> Token:
        start = self.i
        op = next((o for o in _OPERATORS if self.text.startswith(o, start)), None)
        if op is None:
            self.i += 1
            return Token("illegal", self.text[start], self.line, self.col(start) + 1)
        self.i += len(op)
        return Token("op", op, self.line, self.col(start) + 1)

    def _eof(self) -> Token:
        end_col = len(self.text) - self.line_start
        stripped = self.text.rstrip(" \t\n")
        bare_word_end = bool(stripped) and stripped == self.text and _ends_in_bare_word(stripped)
        extra = 2 if bare_word_end or self.text.endswith(",") else 1
        return Token("eof", "", self.line, end_col + extra)


def _is_letter(ch: str) -> bool:
    return ch.isascii() and ch.isalpha()


def _is_word_start(ch: str) -> bool:
    return _is_letter(ch) or ch == "_"


def _is_word_char(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch == "_")


def _ends_in_bare_word(text: str) -> bool:
    i = len(text)
    while i > 0 and _is_word_char(text[i - 1]):
        i -= 1
    return i < len(text) and _is_word_start(text[i]) and (i == 0 or text[i - 1] != '"')
