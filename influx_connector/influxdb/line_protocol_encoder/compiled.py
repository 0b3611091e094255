"""The compiled fast path: a generated formatter per record shape, the reference for anything unusual."""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from influx_connector.influxdb.line_protocol_encoder.base import (
    _FIELD_KEY_SEPARATOR_BYTES,
    _INT64_MAX,
    _INT64_MIN,
    _PRECISION_NS,
    _RECORD_KEYS,
    _SAFE_KEY_CHARS,
    _SAFE_STRING_CHARS,
    _TIME_MAX_NS,
    _Bad,
)
from influx_connector.influxdb.line_protocol_encoder.escaping import _field_key_text, _measurement_text
from influx_connector.influxdb.line_protocol_encoder.records import _STRIPPED_AT_START, _encode_record, _tag_set
from influx_connector.influxdb.line_protocol_encoder.timestamps import _time_text
from influx_connector.influxdb.line_protocol_encoder.values import _field_text, _string_inner

# The records of one write mostly share a *shape*: the same measurement, tag keys and field
# keys, with the same value types. Checking and escaping the names is the costly part of a
# record, and it gives the same answer for every record of a shape; so the first records of a
# shape go through _encode_record (the reference), and then the shape gets a formatter,
# generated as Python source once, that holds the checked, escaped names as constants and only
# looks at the values: a type test, a range or finiteness test, and an escape only when a
# special character is there. Series keys (measurement and tag set) are remembered per shape
# by their tag values, so tag values are checked once per series rather than once per point.
#
# The fast path never decides an error, or anything unusual: a formatter gives up (returns
# None) on any value that is not plainly fine — NaN, an int out of range, a long string, a tag
# value that is not a str, a time that is not an int in range, a name that cannot be written,
# a series key that may be too long — and the record then goes through _encode_record, which
# writes it or raises the exact errors. Records that are not plain dicts (or whose tags or
# fields are not plain dicts) take that path too. tests/test_line_protocol_fast.py checks that
# both paths write the same lines.

# A shape is compiled at its _COMPILE_AFTER-th record: data whose every record has a shape of
# its own (field keys made of ids, say) then never pays for the compiler.
_COMPILE_AFTER = 4
_SHAPE_LIMIT = 512  # shapes remembered per precision; all are dropped when there are more
# Series keys remembered, all shapes together (each holds its tag values): past the limit every
# shape is forgotten, which keeps memory flat for high-cardinality tags (they cost a check and a
# recompile per _SERIES_LIMIT series).
_SERIES_LIMIT = 50_000
_series_remembered = 0
_NONE_TYPE = type(None)
_BOOL_TEXT = ("false", "true")


def _give_up(tags: Any, fields: Any, stamp: Any) -> None:
    """The formatter of a shape whose every record goes through the reference path."""
    return None


class _Shape:
    """One (measurement, tag keys, field keys) shape: its escaped names, its series keys by tag
    values, and a generated formatter per combination of field value types."""

    __slots__ = ("measurement", "tag_count", "field_keys", "key_margin", "series", "variants", "unit_ns")

    def __init__(self, measurement: str, tag_keys: tuple[Any, ...], field_keys: tuple[Any, ...], unit_ns: int):
        if measurement == "":
            raise _Bad("left to the reference path")
        self.measurement = _measurement_text(measurement)  # raises _Bad
        escaped = []
        for name in field_keys:
            if type(name) is not str or name == "":
                raise _Bad("left to the reference path")
            escaped.append(_field_key_text(name))  # raises _Bad
        self.tag_count = len(tag_keys)
        self.field_keys = escaped
        # The series key fits whenever key + separator + longest field key stays under the
        # character bound (see _key_size_problem); longer ones go through the reference path.
        self.key_margin = _FIELD_KEY_SEPARATOR_BYTES + max(map(len, escaped), default=0)
        self.series: dict[tuple[str, ...], str] = {}
        self.variants: dict[tuple[type, ...], Any] = {}
        self.unit_ns = unit_ns

    def series_key(self, tags: Mapping[str, Any]) -> str:
        """The measurement and tag set, fully checked; raises _Bad for anything unusual."""
        problems: list[tuple[str, str]] = []
        key = self.measurement + _tag_set(tags, problems) if self.tag_count else self.measurement
        if problems or len(key) + self.key_margin > _SAFE_KEY_CHARS:
            raise _Bad("left to the reference path")
        return key

    def new_series(self, tags: Mapping[str, Any], values: tuple[str, ...]) -> str:
        global _series_remembered
        key = self.series_key(tags)
        if _series_remembered >= _SERIES_LIMIT:
            for shapes in _SHAPES.values():
                shapes.clear()
            self.series.clear()  # this shape's formatter finishes the record it is writing
            _series_remembered = 0
        _series_remembered += 1
        self.series[values] = key
        return key

    def other_types(self, tags: Any, fields: dict[Any, Any], stamp: Any) -> str | None:
        """For a record whose field types are not those of the formatter it reached."""
        types = tuple(map(type, fields.values()))
        variant = self.variants.get(types)
        if variant is None:
            if len(self.variants) >= 64:
                return None
            variant = self.variants[types] = self.compile(types)
        return variant(tags, fields, stamp)

    def time_suffix(self, stamp: Any) -> str:
        return "" if stamp is None else " " + _time_text(stamp, self.unit_ns)

    def compile(self, types: tuple[type, ...]) -> Any:
        """Generate the formatter of this shape for field values of these types."""
        written = [(i, key) for i, (key, kind) in enumerate(zip(self.field_keys, types)) if kind is not _NONE_TYPE]
        if not written:
            return _give_up  # "needs at least one field with a value"
        if written[0][1][0] in _STRIPPED_AT_START:
            plain = next((w for w in written if w[1][0] not in _STRIPPED_AT_START), None)
            if plain is None:
                return _give_up
            written.remove(plain)
            written.insert(0, plain)
        consts: dict[str, Any] = {
            "_Bad": _Bad, "BOOL": _BOOL_TEXT, "field_text": _field_text,
            "string_inner": _string_inner, "time_suffix": self.time_suffix,
            "other_types": self.other_types, "series_get": self.series.get,
            "new_series": self.new_series, "series_key": self.series_key,
            "float": float, "int": int, "str": str, "bool": bool, "len": len, "type": type,
        }
        n_tags = self.tag_count
        body = ["    try:"]
        if n_tags:
            names = ", ".join(f"v{i}" for i in range(n_tags))
            values = f"({names},)"
            all_str = " and ".join(f"type(v{i}) is str" for i in range(n_tags))
            body += [
                f"        {values} = tags.values()",
                f"        if {all_str}:",
                f"            key = series_get({values})",
                "            if key is None:",
                f"                key = new_series(tags, {values})",
                "        else:",
                "            key = series_key(tags)",
            ]
        else:
            try:
                consts["KEY"] = self.series_key({})
            except _Bad:
                return _give_up
            body.append("        key = KEY")
        count = len(types)
        body.append(f"        ({', '.join(f'f{i}' for i in range(count))},) = fields.values()")
        # Values of other types (Decimal, Unsigned, {"unsigned": n}, ...) go through
        # _field_text, which takes any type: they need no guard.
        guards = [f"f{i} is not None" if kind is _NONE_TYPE else f"type(f{i}) is not {kind.__name__}"
                  for i, kind in enumerate(types) if kind in (float, int, str, bool, _NONE_TYPE)]
        if guards:
            body += [f"        if {' or '.join(guards)}:", "            return other_types(tags, fields, t)"]
        floats = [i for i, kind in enumerate(types) if kind is float]
        if floats:
            # x - x is 0.0 for every finite float and NaN for NaN and the infinities.
            body += [f"        if {' + '.join(f'(f{i} - f{i})' for i in floats)} != 0.0:", "            return None"]
        for i, kind in enumerate(types):
            if kind is int:
                body += [f"        if not {_INT64_MIN} <= f{i} <= {_INT64_MAX}:", "            return None"]
            elif kind is str:
                body += [
                    f"        if len(f{i}) > {_SAFE_STRING_CHARS} or '\"' in f{i} or '\\\\' in f{i}:",
                    f"            f{i} = string_inner(f{i})",
                ]
        parts = ["{key}"]
        for position, (i, key) in enumerate(written):
            const = f"K{position}"
            consts[const] = (" " if position == 0 else ",") + key + "="
            kind = types[i]
            if kind is float:
                value = f"{{f{i}!r}}"
            elif kind is int:
                value = f"{{f{i}}}i"
            elif kind is str:
                value = f'"{{f{i}}}"'
            elif kind is bool:
                value = f"{{BOOL[f{i}]}}"
            else:
                value = f"{{field_text(f{i})}}"
            parts.append(f"{{{const}}}{value}")
        line = "".join(parts)
        unit = self.unit_ns
        low, high = -(_TIME_MAX_NS // unit), _TIME_MAX_NS // unit
        body += [
            f"        if type(t) is int and {low} <= t <= {high}:",
            f"            return f'{line} {{t}}'",
            "        if t is None:",  # its batch gives it a time (see _clock)
            f"            return f'{line}'",
            f"        return f'{line}{{time_suffix(t)}}'",
            "    except _Bad:",
            "        return None",
        ]
        source = "def formatter(tags, fields, t):\n" + "\n".join(body) + "\n"
        exec(compile(source, "<line protocol formatter>", "exec"), consts)  # noqa: S102 - our own source
        return consts["formatter"]


def _new_shape(shapes: dict[Any, Any], key: tuple[Any, Any, Any], unit_ns: int) -> Any:
    """The formatter of a shape seen for the first time: it counts the shape's records (which
    take the reference path) and compiles the shape at the _COMPILE_AFTER-th."""
    if len(shapes) >= _SHAPE_LIMIT:
        shapes.clear()
    seen = 0

    def pending(tags: Any, fields: dict[Any, Any], stamp: Any) -> str | None:
        nonlocal seen
        seen += 1
        if seen < _COMPILE_AFTER:
            return None
        measurement, tag_keys, field_keys = key
        try:
            shape = _Shape(measurement, tag_keys, field_keys, unit_ns)
        except _Bad:
            shapes[key] = _give_up
            return None
        types = tuple(map(type, fields.values()))
        formatter = shape.variants[types] = shapes[key] = shape.compile(types)
        return formatter(tags, fields, stamp)

    shapes[key] = pending
    return pending


_SHAPES: dict[int, dict[Any, Any]] = {unit: {} for unit in _PRECISION_NS.values()}


def _encode_lines(records: Iterable[Any], unit_ns: int, field: str, untimed: list[int] | None = None) -> Iterator[str]:
    """One line per record: through the shape's formatter when it can, else _encode_record.
    The indices of records without a time are added to ``untimed`` when it is given."""
    shapes = _SHAPES[unit_ns]
    formatter_of = shapes.get
    for index, record in enumerate(records):
        if type(record) is dict:
            if len(record) == 4:
                try:
                    measurement = record["measurement"]
                    tags = record["tags"]
                    fields = record["fields"]
                    stamp = record["time"]
                except KeyError:  # an unknown key in place of a known one
                    measurement = None
            elif record.keys() <= _RECORD_KEYS:
                measurement = record.get("measurement")
                tags = record.get("tags")
                fields = record.get("fields")
                stamp = record.get("time")
            else:
                measurement = None
            if type(measurement) is str and type(fields) is dict:
                if type(tags) is dict:
                    key = (measurement, tuple(tags), tuple(fields))
                elif tags is None:
                    key = (measurement, (), tuple(fields))
                else:
                    key = None
                if key is not None:
                    formatter = formatter_of(key)
                    if formatter is None:
                        formatter = _new_shape(shapes, key, unit_ns)
                    line = formatter(tags, fields, stamp)
                    if line is not None:
                        if stamp is None and untimed is not None:
                            untimed.append(index)
                        yield line
                        continue
        line = _encode_record(record, index, unit_ns, field)  # a Mapping from here on: others raised
        if untimed is not None and record.get("time") is None:
            untimed.append(index)
        yield line

