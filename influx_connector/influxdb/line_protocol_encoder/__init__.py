"""Encoder from JSON-like records to InfluxDB line protocol (contract notes, section 6).

A record is a mapping::

    {"measurement": "cpu", "tags": {"host": "a"}, "fields": {"usage": 0.5}, "time": 1700000000}

and becomes one line: ``cpu,host=a usage=0.5 1700000000``.

Every problem is reported as a ``ValidationError`` whose ``FieldError.field`` is a path such as
``data[2].fields.temp``, so a form can show it next to the input that caused it. Records are
encoded lazily; the first bad record stops the stream and all of its problems are listed.

Records that share a shape (measurement, tag keys, field keys) are written by a formatter
compiled for the shape, which checks the names once; anything unusual falls back to the
record-by-record reference path, so both write the same lines and raise the same errors (see
``compiled``).

The modules: ``base`` (limits and shared types), ``escaping`` (names), ``values`` (field
values), ``timestamps``, ``records`` (the reference encoder), ``compiled`` (the fast path) and
``body`` (a write's body, the entry points re-exported here).
"""
from __future__ import annotations

from influx_connector.influxdb.line_protocol_encoder.base import MAX_SERIES_KEY_BYTES, MAX_STRING_BYTES, Unsigned
from influx_connector.influxdb.line_protocol_encoder.body import encode_data, encode_points, encode_records

__all__ = ["Unsigned", "encode_data", "encode_points", "encode_records", "MAX_SERIES_KEY_BYTES", "MAX_STRING_BYTES"]
