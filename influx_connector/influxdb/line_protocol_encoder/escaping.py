"""Names (measurement, tag and field keys, tag values): checked, and escaped as the server reads them."""
from __future__ import annotations

from influx_connector.influxdb.line_protocol_encoder.base import _Bad

#
# How InfluxDB reads a line (the parser in its models/points.go; every rule below was checked
# against a real InfluxDB 1.6.7, see tests/test_roundtrip.py and tests/test_real_influxdb.py):
#
# * The parts of the series key (measurement, tag keys, tag values) end at a delimiter that is
#   not *directly* preceded by a backslash. Backslashes do not pair up there: in 'a\\,b' the
#   comma is still escaped. So a name cannot end in a backslash (it would escape the delimiter
#   that follows), whatever is written.
# * When the server unescapes a part, only a backslash before one of the part's special
#   characters is dropped; every other backslash, '\\' included, is kept as it is. So
#   backslashes are written exactly as they are, never doubled.
# * Measurements and field keys are unescaped for ',', ' ', '=' and '"'; tag keys and values
#   for ',', ' ' and '=' only.
# * The line splitter (which finds where a line ends) and the field-set scanner do pair
#   backslashes, unlike the key scanners. Where the two readings disagree the point is
#   misread: a backslash before ' ' in the series key makes the splitter take the rest of the
#   key for the field set (a '"' there can then swallow the line break and merge two lines),
#   and in a field key a backslash before ',', ' ' or '=' splits the key where the
#   key scanner does not. Those names are refused rather than written wrongly.
# * A measurement holding a backslash before ',', ' ', '=' or '"' is stored under a name that
#   SHOW MEASUREMENTS and SELECT disagree on (the points cannot be read back): refused too.

_MEASUREMENT_ESCAPES = str.maketrans({",": "\\,", " ": "\\ "})
_KEY_ESCAPES = str.maketrans({",": "\\,", "=": "\\=", " ": "\\ "})
_STRING_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"'})

# Characters a backslash may not stand directly before, per part (see above).
_MEASUREMENT_BACKSLASH_BEFORE = ' ,="'
_TAG_BACKSLASH_BEFORE = " "
_FIELD_KEY_BACKSLASH_BEFORE = " ,="
_CHAR_NAMES = {" ": "a space", ",": "a comma", "=": "'='", '"': 'a double quote'}


def _backslash_problem(name: str, before: str) -> str | None:
    """Why the backslashes in a name cannot be written (see the notes above), or None."""
    if name[-1] == "\\":
        return "ends with a backslash, which line protocol cannot carry (it escapes the delimiter after it)"
    for char in before:
        if "\\" + char in name:
            return f"has a backslash right before {_CHAR_NAMES[char]}, which InfluxDB does not read back as written"
    return None


def _escape_measurement(name: str) -> str:
    return name.translate(_MEASUREMENT_ESCAPES)


def _escape_key(name: str) -> str:
    """Escape a tag key or tag value."""
    return name.translate(_KEY_ESCAPES)


def _escape_field_key(name: str) -> str:
    # A field key is unescaped like a measurement, so a backslash before '"' would be lost:
    # escaping the quote keeps the backslash ('\\"' reads back as a backslash and a quote).
    escaped = name.translate(_KEY_ESCAPES)
    return escaped.replace('\\"', '\\\\"') if '\\"' in escaped else escaped


def _line_feed_problem(text: str) -> str | None:
    """A line feed ends a line wherever it stands outside a string value, and no escape keeps it
    in a name (a backslash before it is kept as a character). Carriage returns and tabs are
    ordinary characters to the server's parser (1.6.7 stores them as written), so they go as
    they are."""
    at = text.find("\n")
    if at < 0:
        return None
    shown = text[max(0, at - 10):at]
    return (f"contains a line feed (\\n) at index {at}{f' (after {shown!r})' if shown else ''}, "
            "which ends the line in line protocol: only string field values can hold one")


def _name_problem(name: str) -> str | None:
    """Why a measurement, tag key or field key cannot be written, or None if it can."""
    if "\n" in name:
        return _line_feed_problem(name)
    if name[0] == "_":
        return "names starting with '_' are reserved by InfluxDB"
    return None


def _measurement_start_problem(name: str) -> str | None:
    """The server reads a line that starts with '#' as a comment and skips leading tabs, so
    such a measurement would be dropped or renamed without an error; refuse it instead."""
    if name[0] == "#":
        return "starts with '#', which would turn the line into a comment"
    if name[0] in "\t\x00":
        return "starts with a tab or NUL, which the server strips from the line"
    return None


# Measurement names, tag keys and field keys repeat from record to record, so their checked,
# escaped forms are remembered. A cache is emptied when it outgrows its bound, which keeps memory
# flat when a caller sends high-cardinality names.
_NAME_CACHE_LIMIT = 10_000
_measurement_cache: dict[str, str] = {}
_tag_key_cache: dict[str, str] = {}
_field_key_cache: dict[str, str] = {}


def _remember(cache: dict[str, str], name: str, escaped: str) -> str:
    if len(cache) >= _NAME_CACHE_LIMIT:
        cache.clear()
    cache[name] = escaped
    return escaped


def _measurement_text(name: str) -> str:
    """The escaped measurement (non-empty str); raises _Bad when it cannot be written."""
    escaped = _measurement_cache.get(name)
    if escaped is None:
        problem = _name_problem(name) or _measurement_start_problem(name)
        if problem is None and "\\" in name:
            problem = _backslash_problem(name, _MEASUREMENT_BACKSLASH_BEFORE)
        if problem:
            raise _Bad(problem)
        escaped = _remember(_measurement_cache, name, _escape_measurement(name))
    return escaped


def _key_problem(name: str, backslash_before: str) -> str | None:
    problem = _name_problem(name)
    if problem is None and "\\" in name:
        problem = _backslash_problem(name, backslash_before)
    if problem is None or problem.startswith("names"):
        return problem
    return f"the key {problem}"


def _tag_key_text(name: str) -> str:
    """The escaped tag key (non-empty str); raises _Bad when it cannot be written."""
    escaped = _tag_key_cache.get(name)
    if escaped is None:
        problem = _key_problem(name, _TAG_BACKSLASH_BEFORE)
        if problem:
            raise _Bad(problem)
        escaped = _remember(_tag_key_cache, name, _escape_key(name))
    return escaped


def _field_key_text(name: str) -> str:
    """The escaped field key (non-empty str); raises _Bad when it cannot be written."""
    escaped = _field_key_cache.get(name)
    if escaped is None:
        problem = _key_problem(name, _FIELD_KEY_BACKSLASH_BEFORE)
        if problem:
            raise _Bad(problem)
        escaped = _remember(_field_key_cache, name, _escape_field_key(name))
    return escaped

