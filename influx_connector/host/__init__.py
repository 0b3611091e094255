"""The reference host: ``influx-connector serve``, a page and a JSON service over every hosted
data source.

Modules, one concern each: ``app`` (routes, WSGI), ``store`` (SQLite, secrets at rest),
``security`` (access key, Host/Origin, CORS, body caps), ``catalog`` (hosted data sources and
open connections), ``openapi`` (the API document), ``streaming`` (NDJSON), ``problems`` (error
answers), ``server`` (waitress) and ``command`` (the ``serve`` command). Loaded when used, so
the command line starts as fast without it.
"""
from __future__ import annotations

from typing import Any

__all__ = ["Running", "build_app", "start"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
