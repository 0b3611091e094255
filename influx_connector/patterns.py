"""Regular expressions that mean the same here and in the host's form validator.

A declared ``pattern`` is run twice: by Python's ``re`` when the engine checks a value, and by an
ECMAScript regular expression with the ``u`` flag when a host's form validator (ajv, as
react-jsonschema-form runs it) checks the same value in the browser. The two dialects read some
of the same text differently:

- ``$`` is the true end in ECMAScript, but Python's also matches before a final line break,
  so ``^[a-z]+$`` would let ``"abc\\n"`` through here and not there;
- ``\\d``, ``\\w``, ``\\s``, ``\\b`` and ``.`` cover Unicode in Python (Arabic digits, NEL, ...)
  and a fixed, mostly ASCII set in ECMAScript;
- escapes, groups and braces that one accepts, the other refuses (``\\Z``, ``(?P<n>...)``,
  ``(?i)``, a lone ``{``).

A pattern is written in the common subset, with ECMAScript meanings. ``problems`` says what is
outside it (the manifest loader reports it with the file and line); ``compile`` translates the
rest into a Python expression with the same meaning, which the engine uses with ``search``, as
JSON Schema says.

Internal to the engine (not part of what hosts use; see ``influx_connector.__all__``).
"""
from __future__ import annotations

import re
from functools import lru_cache

#: ECMAScript's whitespace (WhiteSpace and LineTerminator), the set its ``\\s`` matches; the
#: engine's "blank text" means text made of these only, in forms and in checks alike.
SPACE_CLASS = "\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
_WORD_CLASS = "A-Za-z0-9_"
_DIGIT_CLASS = "0-9"
_CLASS_OF = {"d": _DIGIT_CLASS, "w": _WORD_CLASS, "s": SPACE_CLASS}
# ECMAScript's "." (without the s flag) stops at these four line terminators.
_DOT = "[^\\n\\r\\u2028\\u2029]"
_WORD_BOUNDARY = "(?:(?<=[A-Za-z0-9_])(?![A-Za-z0-9_])|(?<![A-Za-z0-9_])(?=[A-Za-z0-9_]))"
_NOT_WORD_BOUNDARY = "(?:(?<=[A-Za-z0-9_])(?=[A-Za-z0-9_])|(?<![A-Za-z0-9_])(?![A-Za-z0-9_]))"
# What may follow a backslash with the same meaning in both (ECMAScript's u flag allows only
# these characters to be escaped as themselves).
_SYNTAX = set("^$\\.*+?()[]{}|/")
_CONTROL_ESCAPES = set("nrtfv")
_QUANTIFIER = re.compile(r"\{[0-9]+(,[0-9]*)?\}")
_HEX2 = re.compile(r"[0-9A-Fa-f]{2}")
_HEX4 = re.compile(r"[0-9A-Fa-f]{4}")
_GROUP_OPENERS = ("(?:", "(?=", "(?!", "(?<=", "(?<!")

_BLANK = None  # compiled on first use, below


class PatternError(ValueError):
    """A pattern that would not mean the same in the browser's validator; the text says why."""


def _escape(pattern: str, i: int, in_class: bool) -> tuple[str, int, str]:
    """The Python text for the escape at ``pattern[i]`` (a backslash), where it ends, and its kind:
    "atom" (one character), "set" (\\d, \\w, \\s and their negations) or "assertion" (\\b, \\B)."""
    if i + 1 >= len(pattern):
        raise PatternError("ends with a lone backslash")
    c = pattern[i + 1]
    end = i + 2
    if c in _CLASS_OF:
        return (_CLASS_OF[c] if in_class else f"[{_CLASS_OF[c]}]"), end, "set"
    if c in "DWS":
        if in_class:
            raise PatternError(f"\\{c} inside [...] cannot be written portably; list what is allowed instead")
        return f"[^{_CLASS_OF[c.lower()]}]", end, "set"
    if c == "b" and in_class:
        return "\\x08", end, "atom"  # a backspace, in both
    if c in "bB":
        if in_class:
            raise PatternError("\\B inside [...] is not portable")
        return (_WORD_BOUNDARY if c == "b" else _NOT_WORD_BOUNDARY), end, "assertion"
    if c in _CONTROL_ESCAPES:
        return "\\" + c, end, "atom"
    if c == "x":
        if not _HEX2.fullmatch(pattern, end, end + 2):
            raise PatternError("\\x needs two hexadecimal digits")
        return pattern[i:end + 2], end + 2, "atom"
    if c == "u":
        if not _HEX4.fullmatch(pattern, end, end + 4):
            raise PatternError("\\u needs four hexadecimal digits (\\u{...} is not portable)")
        return pattern[i:end + 4], end + 4, "atom"
    if c == "0":
        if end < len(pattern) and pattern[end].isdigit():
            raise PatternError("octal escapes are not portable; use \\xHH")
        return "\\x00", end, "atom"
    if c in "123456789":
        if in_class:
            raise PatternError(f"\\{c} inside [...] is not portable")
        j = end
        while j < len(pattern) and pattern[j] in "0123456789":
            j += 1
        return pattern[i:j], j, "atom"  # a back-reference: Python checks that the group exists
    if c in _SYNTAX or (in_class and c == "-"):
        return "\\" + c, end, "atom"
    if c.isalnum() or c == "_":
        raise PatternError(f"'\\{c}' is not portable: it means something else, or nothing, in the browser")
    raise PatternError(f"'\\{c}' is not portable: write '{c}' without the backslash")


def _class(pattern: str, i: int) -> tuple[str, int]:
    """The Python text of the character class starting at ``pattern[i]`` ('['), and its end."""
    out = ["["]
    j = i + 1
    if j < len(pattern) and pattern[j] == "^":
        out.append("^")
        j += 1
    if j < len(pattern) and pattern[j] == "]":
        raise PatternError("an empty class [] or [^] is not portable")
    kinds: list[str] = []  # "set", "dash" or "atom": a range may not start or end at a set
    while j < len(pattern):
        c = pattern[j]
        if c == "]":
            for k in range(1, len(kinds) - 1):
                if kinds[k] == "dash" and "set" in (kinds[k - 1], kinds[k + 1]):
                    raise PatternError("a range to or from \\d, \\w or \\s is not portable")
            out.append("]")
            return "".join(out), j + 1
        if c == "\\":
            text, j, kind = _escape(pattern, j, in_class=True)
            kinds.append(kind)
            out.append(text)
            continue
        if c == "[":
            raise PatternError("a '[' inside [...] must be escaped as \\[")
        if c in "-&~|" and pattern[j + 1:j + 2] == c:
            raise PatternError(f"'{c}{c}' inside [...] must have one '{c}' escaped")
        kinds.append("dash" if c == "-" else "atom")
        out.append(c)
        j += 1
    raise PatternError("a '[' is not closed")


def translate(pattern: str) -> str:
    """The Python regular expression that matches what ``pattern`` matches in ECMAScript (u flag)."""
    out: list[str] = []
    groups: list[str] = []  # the opener of each open group
    i = 0
    repeatable = False  # whether a quantifier may follow what came last
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            text, i, kind = _escape(pattern, i, in_class=False)
            out.append(text)
            repeatable = kind != "assertion"
        elif c == "[":
            text, i = _class(pattern, i)
            out.append(text)
            repeatable = True
        elif c == "(":
            opener = "("
            if pattern.startswith("(?", i):
                opener = next((o for o in _GROUP_OPENERS if pattern.startswith(o, i)), "")
                if not opener:
                    raise PatternError(
                        "only (...), (?:...), (?=...), (?!...), (?<=...) and (?<!...) groups are portable")
            groups.append(opener)
            out.append(opener)
            i += len(opener)
            repeatable = False
        elif c == ")":
            if not groups:
                raise PatternError("a ')' has no '(' to close")
            # A lookaround cannot be repeated in the browser (u flag).
            repeatable = groups.pop() in ("(", "(?:")
            out.append(")")
            i += 1
        elif c in "*+?{":
            quantifier = _QUANTIFIER.match(pattern, i) if c == "{" else None
            if c == "{" and quantifier is None:
                raise PatternError("a '{' that does not start a quantifier such as {2} or {1,3} must be escaped as \\{")
            text = quantifier.group() if quantifier else c
            if not repeatable:
                raise PatternError(f"'{text}' has nothing to repeat")
            out.append(text)
            i += len(text)
            if pattern[i:i + 1] == "?":
                out.append("?")  # lazy, in both
                i += 1
            elif pattern[i:i + 1] == "+":
                raise PatternError("possessive quantifiers (such as a*+) are not portable")
            repeatable = False
        elif c in "}]":
            raise PatternError(f"a lone '{c}' must be escaped as \\{c}")
        else:
            # "." stops at ECMAScript's line terminators; "$" is the true end (Python's also
            # matches before a final line break); other characters mean themselves in both.
            out.append(_DOT if c == "." else "\\Z" if c == "$" else c)
            repeatable = c not in "^$|"
            i += 1
    if groups:
        raise PatternError("a '(' is not closed")
    return "".join(out)


def problems(pattern: str) -> list[str]:
    """What keeps ``pattern`` from meaning the same in Python and in the browser; [] when nothing."""
    try:
        compile(pattern)
    except PatternError as exc:
        return [str(exc)]
    except re.error as exc:
        return [f"not a valid regular expression: {exc}"]
    return []


@lru_cache(maxsize=512)
def compile(pattern: str) -> re.Pattern[str]:  # noqa: A001 - mirrors re.compile
    """The compiled Python form of a portable pattern (PatternError or re.error when it is not)."""
    return re.compile(translate(pattern))


def search(pattern: str, text: str) -> bool:
    """JSON Schema's ``pattern``: True when the pattern matches somewhere in ``text``."""
    return compile(pattern).search(text) is not None


def is_blank(text: str) -> bool:
    """Text made of whitespace only (ECMAScript's), the empty text included."""
    global _BLANK
    if _BLANK is None:
        _BLANK = compile(f"^[{SPACE_CLASS}]*$")
    return _BLANK.match(text) is not None
