"""Decoder for the annotated CSV that InfluxDB's ``POST /api/v2/query`` answers with.

The layout (see the contract notes, section 5) is a sequence of *blocks*. A block is a few
annotation rows (``#datatype``, ``#group``, ``#default``), one header row and then data rows;
an empty line ends it. Column 0 is the annotation column: it names the annotation on annotation
rows and is empty everywhere else. Several tables of the same schema share one block and are
told apart by the ``table`` column; a schema change or a new result starts a new block.

Everything here streams: at most one table (``iter_tables``) or one span of lines
(``iter_rows``, :class:`RowStream`) is held in memory, so a large query answer never has to fit
in RAM as text. :class:`RowStream` also takes a row limit and says when it cut the answer.

Two paths decode, with equal results. The reference path reads a caller's iterable of lines
one line at a time with csv.reader and converts one cell at a time. The fast path (a whole
``str``/``bytes``, or :func:`lines_from_chunks` handed over untouched, as the plugin does) cuts
whole spans of data lines into columns and converts a column at a time; whatever it does not
handle it passes to the reference code, record by record (see ``fast``).

Two value modes exist. The default, JSON-ready mode, produces only plain JSON values (times
stay RFC3339 strings, non-finite floats become ``"NaN"``/``"+Inf"``/``"-Inf"``, binary stays
base64) so that a result can be handed to ``json.dumps(..., allow_nan=False)`` unchanged.
The typed mode produces Python objects (aware ``datetime``, ``float('nan')``, ``bytes``).

The modules: ``model`` (tables and columns), ``values`` (cell text to values), ``csv_lines``
(bytes and chunks to CSV lines), ``reference`` (the reference decoder), ``fast`` (the fast
path) and ``reader`` (the entry points, re-exported here).
"""
from __future__ import annotations

from influx_connector.influxdb.annotated_csv.csv_lines import _utf8 as _utf8  # the plugin's csv shape
from influx_connector.influxdb.annotated_csv.csv_lines import lines_from_chunks
from influx_connector.influxdb.annotated_csv.model import SHAPES, Column, Table
from influx_connector.influxdb.annotated_csv.reader import (
    ResultList,
    RowStream,
    decode,
    iter_rows,
    iter_tables,
    table_to_dict,
)
from influx_connector.influxdb.annotated_csv.values import parse_rfc3339_ns

__all__ = [
    "Column",
    "Table",
    "decode",
    "iter_rows",
    "iter_tables",
    "RowStream",
    "ResultList",
    "lines_from_chunks",
    "parse_rfc3339_ns",
    "table_to_dict",
    "SHAPES",
]
