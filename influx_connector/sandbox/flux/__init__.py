"""A subset of Flux for the sandbox server, an InfluxDB v2 stand-in for demos and tests.

It parses Flux into the AST JSON the real server returns, checks syntax for the analyze
endpoint, and runs the common query shapes (from |> range |> filter |> ... |> yield)
against the in-memory store, answering in the exact annotated CSV of ``/api/v2/query``.
Features outside the subset fail with a FluxError that names them.
"""
from __future__ import annotations

from .analysis import analyze, parse_ast
from .errors import FluxError
from .query import run_query

__all__ = ["FluxError", "analyze", "parse_ast", "run_query"]
