"""The sandbox's InfluxQL for the v1 ``/query`` endpoint: a small, documented subset.

``parser`` turns text into statements (refusing, with a message, what the subset lacks),
``executor`` runs them against the store, and ``encode`` writes InfluxDB 1.x's JSON or CSV.
"""
from influx_connector.sandbox.influxql.encode import to_csv, to_json
from influx_connector.sandbox.influxql.executor import Context, Result, Series, StatementError, run
from influx_connector.sandbox.influxql.parser import ParseError, parse_query

__all__ = ["Context", "ParseError", "Result", "Series", "StatementError", "parse_query", "run", "to_csv", "to_json"]
