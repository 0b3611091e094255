"""``POST /api/v2/delete``: the request body, the delete predicate, and the deletion itself.

The predicate language is the one documented for InfluxDB OSS 2.x ("Delete predicate syntax"):
comparisons ``key="value"`` joined with ``AND`` (any case), where ``key`` is ``_measurement`` or a
tag key. Parentheses group comparisons, as the real parser allows. The documented limits are
enforced with 400s: no ``OR``, no regular expressions, only equality (no ``!=``), and no
``_time``, ``_value`` or ``_field`` (OSS cannot delete by field; the real server accepts
``_field`` and then deletes nothing, which the sandbox turns into an error that says so).

Messages follow the real server's wording (``http/delete_handler.go`` and ``predicate/parser.go``
of InfluxDB 2.x): body problems start ``invalid request; error parsing request json:`` and
positions are 0-based character offsets, as the server reports them.

Points whose series matches the predicate and whose time is in ``[start, stop]`` (both ends
included, like the storage engine's range delete) are removed.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from influx_connector.sandbox.influxql.lexer import KEYWORDS
from influx_connector.sandbox.line_protocol_parser import MAX_TIME_NS, MIN_TIME_NS
from influx_connector.sandbox.store import Bucket

JSON_PREFIX = "invalid request; error parsing request json: "
START_EXAMPLE = "2009-01-02T23:00:00Z"
STOP_EXAMPLE = "2009-01-01T23:00:00Z"
#: Keys the docs say a delete predicate cannot use in InfluxDB OSS.
UNSUPPORTED_KEYS = ("_time", "_value", "_field")

_OPERATORS = ("!=", "<>", "<=", ">=", "=~", "!~", "=", "<", ">")


class DeleteError(Exception):
    """A request the server answers 400 ``invalid``; the message is the whole error message."""


@dataclass(frozen=True)
class DeleteRequest:
    start: int  # nanoseconds, inclusive
    stop: int  # nanoseconds, inclusive
    predicate: tuple[tuple[str, str], ...]  # (key, value) pairs that must all match; () matches all

    def matches(self, measurement: str, tags: tuple[tuple[str, str], ...]) -> bool:
        tag_values = dict(tags)
        for key, value in self.predicate:
            actual = measurement if key == "_measurement" else tag_values.get(key, "")
            if actual != value:
                return False
        return True


# --- the request body ------------------------------------------------------------------------------


def decode_request(body: bytes, parse_time: Any) -> DeleteRequest:
    """The delete request in ``body``; ``parse_time`` turns RFC 3339 text into nanoseconds."""
    data = _json_body(body)
    start = _time_field(data, "start", parse_time, START_EXAMPLE)
    stop = _time_field(data, "stop", parse_time, STOP_EXAMPLE)
    predicate_text = data.get("predicate", "")
    if predicate_text is None:
        predicate_text = ""
    if not isinstance(predicate_text, str):
        raise DeleteError(JSON_PREFIX + _go_type_error("predicate", predicate_text))
    predicate = parse_predicate(predicate_text)
    if start > stop:
        raise DeleteError(f"invalid request; start time {data['start']} must not be after stop time {data['stop']}")
    return DeleteRequest(start, stop, predicate)


def _json_body(body: bytes) -> dict[str, Any]:
    if not body.strip():
        raise DeleteError(JSON_PREFIX + "EOF")
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DeleteError(JSON_PREFIX + f"invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        kind = "array" if isinstance(data, list) else type(data).__name__
        raise DeleteError(JSON_PREFIX + f"json: cannot unmarshal {kind} into a delete request object")
    return data


def _time_field(data: dict[str, Any], name: str, parse_time: Any, example: str) -> int:
    raw = data.get(name)
    if raw is not None and not isinstance(raw, str):
        raise DeleteError(JSON_PREFIX + _go_type_error(name, raw))
    try:
        value = parse_time(raw or "")
    except ValueError:
        raise DeleteError(
            JSON_PREFIX + f"invalid RFC3339Nano for field {name}, please format your time with RFC3339Nano "
            f"format, example: {example}"
        ) from None
    if not MIN_TIME_NS <= value <= MAX_TIME_NS:
        if name == "start":
            raise DeleteError(
                JSON_PREFIX + "invalid start time, start time must not be before 1677-09-21T00:12:43.145224194Z")
        raise DeleteError(JSON_PREFIX + "invalid stop time, stop time must not be after 2262-04-11T23:47:16.854775806Z")
    return value


def _go_type_error(name: str, value: Any) -> str:
    kinds = {bool: "bool", int: "number", float: "number", list: "array", dict: "object"}
    kind = kinds.get(type(value), "value")
    return f"json: cannot unmarshal {kind} into Go struct field deleteRequestDecode.{name} of type string"


# --- the predicate -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # "ident" (bare or double-quoted), "keyword", "number", "string", "op", "(", ")", "eof", "illegal"
    text: str  # the value: unquoted identifier text, upper-case keyword, operator, number...
    pos: int  # 0-based character offset in its line, as the server reports it


def parse_predicate(text: str) -> tuple[tuple[str, str], ...]:
    """The ``(key, value)`` comparisons of a delete predicate, all of which must hold.

    An empty (or blank) predicate selects every point of the time range.
    """
    tokens = _tokenize(text)
    if tokens[0].kind == "eof":
        return ()
    parser = _PredicateParser(tokens)
    pairs = parser.expression(depth=0)
    for key, _value in pairs:
        if key in UNSUPPORTED_KEYS:
            raise DeleteError(
                f"invalid request; error parsing predicate: {key} cannot be used in a delete predicate: "
                "InfluxDB OSS deletes by time range, _measurement and tags only"
            )
    return tuple(pairs)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, line_start = 0, 0
    while i < len(text):
        ch = text[i]
        pos = i - line_start
        if ch == "\n":
            i, line_start = i + 1, i + 1
        elif ch in " \t\r":
            i += 1
        elif ch == '"' or ch == "'":
            value, i = _quoted(text, i, pos)
            tokens.append(_Token("ident" if ch == '"' else "string", value, pos))
        elif ch.isascii() and (ch.isalpha() or ch == "_"):
            j = i
            while j < len(text) and text[j].isascii() and (text[j].isalnum() or text[j] == "_"):
                j += 1
            word = text[i:j]
            # Unquoted InfluxQL keywords are not tag keys (the docs say to double-quote such keys).
            kind = "keyword" if word.upper() in KEYWORDS else "ident"
            tokens.append(_Token(kind, word.upper() if kind == "keyword" else word, pos))
            i = j
        elif ch.isdigit() or (ch == "." and text[i + 1 : i + 2].isdigit()):
            j = i
            while j < len(text) and (text[j].isalnum() or text[j] in ".µ"):
                j += 1
            tokens.append(_Token("number", text[i:j], pos))
            i = j
        elif ch in "()":
            tokens.append(_Token(ch, ch, pos))
            i += 1
        elif ch == "-":
            tokens.append(_Token("op", "-", pos))
            i += 1
        else:
            op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
            tokens.append(_Token("op", op, pos) if op else _Token("illegal", ch, pos))
            i += len(op) if op else 1
    tokens.append(_Token("eof", "", len(text) - line_start))
    return tokens


def _quoted(text: str, start: int, pos: int) -> tuple[str, int]:
    """A quoted identifier or string starting at ``text[start]``: its value and the index after it."""
    quote, i = text[start], start + 1
    out: list[str] = []
    escapes = {"n": "\n", "\\": "\\", '"': '"', "'": "'"}
    while i < len(text):
        ch = text[i]
        if ch == quote:
            return "".join(out), i + 1
        if ch == "\n":
            break
        if ch == "\\" and i + 1 < len(text):
            if text[i + 1] not in escapes:
                raise DeleteError(JSON_PREFIX + f"bad escape {text[i:i + 2]} at position {pos + i + 1 - start}")
            out.append(escapes[text[i + 1]])
            i += 2
            continue
        out.append(ch)
        i += 1
    raise DeleteError(JSON_PREFIX + f"unterminated {'identifier' if quote == chr(34) else 'string'} at position {pos}")


class _PredicateParser:
    """expression := term (AND term)* ; term := "(" expression ")" | key "=" value."""

    def __init__(self, tokens: list[_Token]):
        self.tokens = tokens
        self.at = 0

    def peek(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at = min(self.at + 1, len(self.tokens) - 1)
        return token

    def expression(self, depth: int) -> list[tuple[str, str]]:
        pairs = self.term(depth)
        while True:
            token = self.take()
            if token.kind == "keyword" and token.text == "AND":
                pairs += self.term(depth)
            elif token.kind == "keyword" and token.text == "OR":
                raise _error(f"the logical operator OR is not supported yet at position {token.pos}")
            elif token.kind == ")":
                if depth == 0:
                    raise _error("extra ) seen")
                return pairs
            elif token.kind == "eof":
                if depth > 0:
                    raise _error("extra ( seen")
                return pairs
            else:
                raise _error(f"bad logical expression, at position {token.pos}")

    def term(self, depth: int) -> list[tuple[str, str]]:
        token = self.peek()
        if token.kind == "(":
            self.take()
            return self.expression(depth + 1)
        if token.kind == "keyword" and token.text == "OR":
            raise _error(f"the logical operator OR is not supported yet at position {token.pos}")
        if token.kind not in ("ident", "number") and not (token.kind == "keyword" and token.text == "NAME"):
            raise _error(f"bad logical expression, at position {token.pos}")
        return [self.comparison()]

    def comparison(self) -> tuple[str, str]:
        key = self.take()
        if key.kind == "keyword":  # only NAME gets here: the server reads it as the key "name"
            key_text = "name"
        elif key.kind == "ident":
            key_text = key.text
        else:
            raise _error(f"bad tag key, at position {key.pos}")
        op = self.take()
        if op.kind == "op" and op.text in ("=~", "!~", "!=", "<>"):
            shown = "!=" if op.text == "<>" else op.text
            raise _error(f'operator: "{shown}" at position: {op.pos} is not supported yet')
        if op.kind != "op" or op.text != "=":
            shown = op.text if op.kind in ("op", "illegal", "(", ")") else op.kind.upper()
            raise _error(f'invalid operator "{shown or "EOF"}" at position: {op.pos}')
        return key_text, self.value()

    def value(self) -> str:
        sign = ""
        token = self.take()
        if token.kind == "op" and token.text == "-":
            sign, token = "-", self.take()
        if token.kind in ("ident", "number"):
            return sign + token.text
        if token.kind == "keyword" and token.text in ("TRUE", "FALSE"):
            return token.text.lower()
        shown = token.text if token.kind != "eof" else ""
        raise _error(f'bad tag value: "{shown}", at position {token.pos}')


def _error(message: str) -> DeleteError:
    return DeleteError(JSON_PREFIX + message)


# --- deleting ----------------------------------------------------------------------------------------


def delete_points(bucket: Bucket, request: DeleteRequest) -> int:
    """Remove the matching points from ``bucket`` (call with the store lock held); returns how many."""
    removed = 0
    for key in list(bucket.series):
        measurement, tags, _field = key
        if not request.matches(measurement, tags):
            continue
        rows = bucket.series[key]
        doomed = [t for t in rows if request.start <= t <= request.stop]
        for t in doomed:
            del rows[t]
        removed += len(doomed)
        if not rows:
            # A series left empty disappears, as from the index of a real server: it no longer
            # shows up in schema listings (SHOW MEASUREMENTS, tag keys, Flux schema functions).
            del bucket.series[key]
    return removed
