"""Statements of the sandbox's InfluxQL subset, parsed into small dataclasses.

The subset (everything else is refused with a message naming it)::

    SELECT * | <name>[, <name>...] FROM <measurement>[, <measurement>...]
        [WHERE <condition>] [GROUP BY * | <tag>[, <tag>...]] [ORDER BY time [ASC|DESC]]
        [LIMIT <n>] [OFFSET <n>]
    SHOW DATABASES
    SHOW MEASUREMENTS [ON <db>]
    SHOW TAG KEYS [ON <db>] [FROM <measurement>[, ...]]
    SHOW FIELD KEYS [ON <db>] [FROM <measurement>[, ...]]
    CREATE DATABASE <name>
    DROP DATABASE <name>

A measurement may be qualified (``rp.m``, ``db.rp.m``, ``db..m``). A condition compares names,
``time``, strings, numbers, booleans, durations and ``now()`` with ``= != <> < <= > >=``, combines
them with ``AND``/``OR`` and parentheses, and may add or subtract durations (``now() - 1h``).
Errors are worded like InfluxDB 1.x's parser: ``found X, expected Y at line L, char C``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from influx_connector.sandbox.influxql.lexer import Token, tokenize

STATEMENT_STARTS = ("SELECT", "DELETE", "SHOW", "CREATE", "DROP", "EXPLAIN", "GRANT", "REVOKE", "ALTER", "SET", "KILL")
SHOW_WORDS = ("CONTINUOUS", "DATABASES", "DIAGNOSTICS", "FIELD", "GRANTS", "MEASUREMENT", "MEASUREMENTS", "QUERIES",
              "RETENTION", "SERIES", "SHARD", "SHARDS", "STATS", "SUBSCRIPTIONS", "TAG", "USERS")
CREATE_WORDS = ("CONTINUOUS", "DATABASE", "USER", "RETENTION", "SUBSCRIPTION")
DROP_WORDS = ("CONTINUOUS", "DATABASE", "MEASUREMENT", "RETENTION", "SERIES", "SHARD", "SUBSCRIPTION", "USER")
OPERAND = ("identifier", "string", "number", "bool")
COMPARISONS = ("=", "!=", "<>", "<", "<=", ">", ">=")
_PRECEDENCE = {"OR": 1, "AND": 2, **{op: 4 for op in (*COMPARISONS, "=~", "!~")},
               "+": 5, "-": 5, "*": 6, "/": 6, "%": 6}


class ParseError(Exception):
    """The query cannot be run at all: the server answers 400 ``error parsing query: ...``."""


# --- the syntax tree ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    name: str


@dataclass(frozen=True)
class Literal:
    value: Any  # str, int, float or bool
    kind: str  # string, integer, number, bool or duration (an int of nanoseconds)


@dataclass(frozen=True)
class Now:
    pass


@dataclass(frozen=True)
class Binary:
    op: str  # a comparison, AND, OR, + - * / %
    left: Expr
    right: Expr


Expr = Ref | Literal | Now | Binary


@dataclass(frozen=True)
class Source:
    name: str
    database: str | None = None  # from db.rp.m or db..m
    rp: str | None = None  # from rp.m or db.rp.m ("" for db..m)


@dataclass
class Select:
    fields: list[str | None]  # None stands for *
    sources: list[Source]
    condition: Expr | None = None
    group_by: list[str] | None = None  # ["*"] for GROUP BY *
    descending: bool = False
    limit: int = 0
    offset: int = 0


@dataclass
class ShowDatabases:
    pass


@dataclass
class ShowMeasurements:
    database: str | None = None


@dataclass
class ShowTagKeys:
    database: str | None = None
    sources: list[Source] = field(default_factory=list)


@dataclass
class ShowFieldKeys:
    database: str | None = None
    sources: list[Source] = field(default_factory=list)


@dataclass
class CreateDatabase:
    name: str


@dataclass
class DropDatabase:
    name: str


Statement = Select | ShowDatabases | ShowMeasurements | ShowTagKeys | ShowFieldKeys | CreateDatabase | DropDatabase


# --- errors -----------------------------------------------------------------------------------------------


def expected(token: Token, wanted: tuple[str, ...] | list[str]) -> ParseError:
    return ParseError(f"found {token.shown}, expected {', '.join(wanted)} at line {token.line}, char {token.char}")


def unsupported(what: str, token: Token) -> ParseError:
    return ParseError(f"the sandbox does not support {what} at line {token.line}, char {token.char}")


# --- the parser -------------------------------------------------------------------------------------------


def parse_query(text: str) -> list[Statement]:
    """The statements of ``text`` (separated by ``;``); ParseError when any of them is not in the subset."""
    return _Parser(tokenize(text)).query()


class _Parser:
    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.at = 0

    # token access

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.at + ahead, len(self.tokens) - 1)]

    def take(self) -> Token:
        token = self.peek()
        self.at = min(self.at + 1, len(self.tokens) - 1)
        return token

    def take_keyword(self, *words: str) -> str | None:
        """Consume and return the next token's keyword if it is one of ``words``."""
        word = self.peek().keyword
        if word in words:
            self.take()
            return word
        return None

    def expect_keyword(self, word: str) -> None:
        if self.take_keyword(word) is None:
            raise expected(self.peek(), [word])

    def identifier(self) -> str:
        token = self.peek()
        if not token.is_identifier:
            raise expected(token, ["identifier"])
        return self.take().text

    def is_call(self, name: str) -> bool:
        return self.peek().kind == "word" and self.peek().text.lower() == name and self.peek(1).is_op("(")

    # statements

    def query(self) -> list[Statement]:
        statements: list[Statement] = []
        while True:
            while self.peek().is_op(";"):
                self.take()
            if self.peek().kind == "eof":
                return statements
            statements.append(self.statement())
            token = self.peek()
            if not (token.is_op(";") or token.kind == "eof"):
                raise expected(token, [";"])

    def statement(self) -> Statement:
        token = self.peek()
        word = token.keyword
        if word not in STATEMENT_STARTS:
            raise expected(token, STATEMENT_STARTS)
        self.take()
        if word == "SELECT":
            return self.select()
        if word == "SHOW":
            return self.show()
        if word == "CREATE":
            return CreateDatabase(self.database_statement(CREATE_WORDS, "CREATE"))
        if word == "DROP":
            return DropDatabase(self.database_statement(DROP_WORDS, "DROP"))
        raise unsupported(f"{word} statements", token)

    def database_statement(self, words: tuple[str, ...], verb: str) -> str:
        token = self.peek()
        word = token.keyword
        if word not in words:
            raise expected(token, words)
        self.take()
        if word != "DATABASE":
            raise unsupported(f"{verb} {word}", token)
        name = self.identifier()
        if verb == "CREATE" and self.peek().keyword == "WITH":
            raise unsupported("CREATE DATABASE ... WITH", self.peek())
        return name

    def show(self) -> Statement:
        token = self.peek()
        word = token.keyword
        if word not in SHOW_WORDS:
            raise expected(token, SHOW_WORDS)
        self.take()
        if word == "DATABASES":
            return ShowDatabases()
        if word == "MEASUREMENTS":
            statement: Statement = ShowMeasurements(self.on_database())
        elif word == "TAG":
            statement = ShowTagKeys(*self.keys_of("TAG", ("KEY", "KEYS", "VALUES")))
        elif word == "FIELD":
            statement = ShowFieldKeys(*self.keys_of("FIELD", ("KEY", "KEYS")))
        else:
            raise unsupported(f"SHOW {word}", token)
        clause = self.peek()
        if clause.keyword in ("WITH", "WHERE", "LIMIT", "OFFSET", "SLIMIT", "SOFFSET"):
            raise unsupported(f"{clause.keyword} in SHOW {word}", clause)
        return statement

    def keys_of(self, kind: str, words: tuple[str, ...]) -> tuple[str | None, list[Source]]:
        token = self.peek()
        word = token.keyword
        if word not in words:
            raise expected(token, words)
        self.take()
        if word != "KEYS":
            raise unsupported(f"SHOW {kind} {word}", token)
        database = self.on_database()
        sources = self.sources() if self.take_keyword("FROM") else []
        return database, sources

    def on_database(self) -> str | None:
        return self.identifier() if self.take_keyword("ON") else None

    def select(self) -> Select:
        fields = self.select_fields()
        if self.peek().keyword == "INTO":
            raise unsupported("SELECT ... INTO", self.peek())
        self.expect_keyword("FROM")
        statement = Select(fields, self.sources())
        if self.take_keyword("WHERE"):
            statement.condition = self.expression()
        if self.take_keyword("GROUP"):
            self.expect_keyword("BY")
            statement.group_by = self.dimensions()
        if self.is_call("fill"):
            raise unsupported("fill()", self.peek())
        if self.take_keyword("ORDER"):
            self.expect_keyword("BY")
            statement.descending = self.order()
        if self.take_keyword("LIMIT"):
            statement.limit = self.integer()
        if self.take_keyword("OFFSET"):
            statement.offset = self.integer()
        token = self.peek()
        if token.keyword in ("SLIMIT", "SOFFSET") or self.is_call("tz"):
            raise unsupported(token.keyword or "tz()", token)
        return statement

    def select_fields(self) -> list[str | None]:
        fields: list[str | None] = []
        while True:
            token = self.peek()
            if token.is_op("*"):
                self.take()
                fields.append(None)
            elif token.is_identifier:
                if self.peek(1).is_op("("):
                    raise unsupported(f"functions such as {token.text}()", token)
                fields.append(self.take().text)
            elif token.kind in ("string", "integer", "number", "duration") or token.keyword in ("TRUE", "FALSE"):
                raise unsupported("literals in the SELECT list", token)
            elif token.is_op("(", "-"):
                raise unsupported("expressions in the SELECT list", token)
            else:
                raise expected(token, OPERAND)
            after = self.peek()
            if after.is_op("::"):
                raise unsupported("type casts (::)", after)
            if after.keyword == "AS":
                raise unsupported("AS aliases", after)
            if after.is_op("+", "-", "*", "/", "%"):
                raise unsupported("arithmetic in the SELECT list", after)
            if not after.is_op(","):
                return fields
            self.take()

    def sources(self) -> list[Source]:
        sources = [self.source()]
        while self.peek().is_op(","):
            self.take()
            sources.append(self.source())
        return sources

    def source(self) -> Source:
        token = self.peek()
        if token.is_op("/"):
            raise unsupported("regular expressions in FROM", token)
        if token.is_op("("):
            raise unsupported("subqueries", token)
        parts = [self.identifier()]
        while self.peek().is_op(".") and len(parts) < 3:
            self.take()
            if self.peek().is_op(".") and len(parts) == 1:
                parts.append("")  # db..m: the database's default retention policy
                continue
            parts.append(self.identifier())
        if len(parts) == 1:
            return Source(parts[0])
        if len(parts) == 2:
            return Source(parts[1], rp=parts[0])
        return Source(parts[2], database=parts[0], rp=parts[1])

    def dimensions(self) -> list[str]:
        names: list[str] = []
        while True:
            token = self.peek()
            if token.is_op("*"):
                self.take()
                names.append("*")
            elif self.is_call("time"):
                raise unsupported("GROUP BY time()", token)
            elif token.is_op("/"):
                raise unsupported("regular expressions in GROUP BY", token)
            elif token.is_identifier:
                names.append(self.take().text)
            else:
                raise expected(token, OPERAND)
            if not self.peek().is_op(","):
                return ["*"] if "*" in names else names
            self.take()

    def order(self) -> bool:
        token = self.peek()
        if token.keyword in ("ASC", "DESC"):
            return self.take().keyword == "DESC"
        if not token.is_identifier:
            raise expected(token, ["identifier", "ASC", "DESC"])
        name = self.take().text
        descending = self.take_keyword("ASC", "DESC") == "DESC"
        if name != "time" or self.peek().is_op(","):
            raise ParseError("only ORDER BY time supported at this time")
        return descending

    def integer(self) -> int:
        token = self.peek()
        if token.kind != "integer":
            raise expected(token, ["integer"])
        return int(self.take().text)

    # expressions (WHERE)

    def expression(self, min_precedence: int = 1) -> Expr:
        left = self.unary()
        while True:
            token = self.peek()
            op = token.keyword if token.keyword in ("AND", "OR") else (token.text if token.kind == "op" else None)
            precedence = _PRECEDENCE.get(op or "")
            if precedence is None or precedence < min_precedence:
                return left
            self.take()
            if op in ("=~", "!~"):
                raise unsupported("regular expressions", token)
            left = Binary(op or "", left, self.expression(precedence + 1))

    def unary(self) -> Expr:
        token = self.peek()
        if token.is_op("("):
            self.take()
            inner = self.expression()
            if not self.peek().is_op(")"):
                raise expected(self.peek(), [")"])
            self.take()
            return inner
        if token.is_op("-") and self.peek(1).kind in ("integer", "number", "duration"):
            self.take()
            literal = self.unary()
            assert isinstance(literal, Literal)
            return Literal(-literal.value, literal.kind)
        if token.is_op("/"):
            raise unsupported("regular expressions", token)
        if token.keyword in ("TRUE", "FALSE"):
            self.take()
            return Literal(token.keyword == "TRUE", "bool")
        if token.kind == "string":
            return Literal(self.take().text, "string")
        if token.kind == "integer":
            return Literal(int(self.take().text), "integer")
        if token.kind == "number":
            return Literal(float(self.take().text), "number")
        if token.kind == "duration":
            return Literal(parse_duration(self.take().text), "duration")
        if token.is_identifier:
            if self.peek(1).is_op("("):
                return self.call()
            self.take()
            if self.peek().is_op("::"):
                raise unsupported("type casts (::)", self.peek())
            return Ref(token.text)
        raise expected(token, OPERAND)

    def call(self) -> Expr:
        token = self.take()
        if token.text.lower() != "now" or not self.peek(1).is_op(")"):
            raise unsupported(f"functions such as {token.text}()", token)
        self.take()
        self.take()
        return Now()


_DURATION_UNITS = {"ns": 1, "u": 1_000, "µ": 1_000, "ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000,
                   "h": 3_600_000_000_000, "d": 86_400_000_000_000, "w": 604_800_000_000_000}


def parse_duration(text: str) -> int:
    """Nanoseconds of an InfluxQL duration literal such as ``90m`` or ``1h30m``."""
    total, i = 0, 0
    if not text:
        raise ParseError("invalid duration")
    while i < len(text):
        start = i
        while i < len(text) and text[i].isdigit():
            i += 1
        digits = text[start:i]
        unit_start = i
        while i < len(text) and not text[i].isdigit():
            i += 1
        unit = text[unit_start:i]
        if not digits or unit not in _DURATION_UNITS:
            raise ParseError("invalid duration")
        total += int(digits) * _DURATION_UNITS[unit]
    return total
