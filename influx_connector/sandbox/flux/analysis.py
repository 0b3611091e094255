"""The two syntax-only entry points: the AST endpoint and the analyze endpoint."""
from __future__ import annotations

from typing import Any

from .errors import FluxSyntaxError
from .parser import parse_file


def parse_ast(query: str) -> dict[str, Any]:
    """The ``Package`` JSON ``/api/v2/query/ast`` returns (under its ``ast`` key).

    Raises FluxSyntaxError (a FluxError) when the query does not parse.
    """
    file = parse_file(query)
    package = file["package"]["name"]["name"] if file["package"] else "main"
    if file["package"] is None:
        # The contract types File.package as an object (not nullable): leave it out instead of null.
        del file["package"]
    return {"type": "Package", "package": package, "files": [file]}


def analyze(query: str) -> list[dict[str, Any]]:
    """``[]`` for syntactically valid Flux, else the error the parser stopped at, shaped
    like one entry of ``/api/v2/query/analyze``'s ``errors``. Only syntax is checked,
    as on the real endpoint: unknown functions are not errors here."""
    try:
        parse_file(query)
    except FluxSyntaxError as exc:
        return [{"line": exc.line, "column": exc.column, "character": exc.character, "message": exc.reason}]
    return []
