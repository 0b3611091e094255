"""The one exception family the Flux subset raises.

Messages are shown to whoever typed the query (the sandbox's HTTP layer returns them as the
``message`` of an ``invalid`` error), so they name the function, argument or token at fault.
"""
from __future__ import annotations


class FluxError(Exception):
    """A query the sandbox cannot run: bad syntax, an unsupported feature or a runtime error."""

    #: The HTTP status and InfluxDB error code the query endpoint answers with.
    status = 400
    code = "invalid"


class FluxNotFound(FluxError):
    """The query names something that does not exist (a bucket): the server answers 404."""

    status = 404
    code = "not found"


class FluxSyntaxError(FluxError):
    """A syntax error with its place in the source.

    ``reason`` is the bare parser message (what ``/api/v2/query/analyze`` reports); the
    exception's text adds the ``@line:column`` span the way Flux's own compiler errors do.
    """

    def __init__(self, reason: str, line: int, column: int, character: int) -> None:
        super().__init__(f"error @{line}:{column}-{line}:{column}: {reason}")
        self.reason = reason
        self.line = line
        self.column = column
        self.character = character  # 0-based offset into the query text
