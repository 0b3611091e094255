"""Running a Flux query against the sandbox store and encoding the answer."""
from __future__ import annotations

from typing import Any

from ..store import Org, Store
from .builtins import BUILTINS
from .csv_encoder import encode_midstream_error, encode_results
from .extern import extern_bindings
from .interpreter import Interpreter
from .parser import parse_file


def run_query(
    query: str,
    *,
    store: Store,
    org: Org,
    now_ns: int,
    params: dict[str, Any] | None = None,
    extern: Any = None,
    midstream_error: str | None = None,
) -> str:
    """Evaluate ``query`` in ``org`` and return the annotated CSV response body.

    Raises FluxError before anything would be sent (syntax errors, unsupported features,
    unknown buckets, runtime errors), which the HTTP layer reports as a 400. ``extern`` is the
    request's Flux file of options and variables (AST JSON), evaluated first. With
    ``midstream_error`` the answer instead fails after its first table, the way the real
    server reports an error it meets while streaming (status 200, error table in the body).
    """
    predefined = extern_bindings(extern)
    file = parse_file(query)
    interpreter = Interpreter(store=store, org=org, now_ns=now_ns, params=params, builtins=BUILTINS)
    results = interpreter.run(file, predefined)
    if midstream_error is not None:
        return encode_midstream_error(results, midstream_error)
    return encode_results(results)
