"""A configured connection to a data source: what hosts call to run operations.

``Connection`` (``client``) is the pipeline: validate, render, send, decode. Beside it, one
concern a module: ``exchange`` (one request, retried while that is safe; the answer checked and
decoded), ``paging`` (next-page links), ``batching`` (a body of many records in batches),
``checks`` (test connection), ``rows`` (an answer's rows one at a time) and ``results``.
Those modules are internal to the engine; what hosts use is exported here.
"""
from __future__ import annotations

from .client import Connection
from .exchange import decode_response
from .results import Result, StepReport, TestReport
from .rows import Rows

__all__ = ["Connection", "Result", "Rows", "StepReport", "TestReport", "decode_response"]
