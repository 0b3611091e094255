"""influx-connector: a declarative InfluxDB data source for low-code host apps.

What a host uses is named in ``__all__`` and importable from here: the ``api`` facade
(``connect``, ``load``, ``run_saved``...), ``forms``, the connection and its results, the errors,
and for plugin authors ``hookimpl`` and the types hooks see (``messages``). The public modules
are ``api``, ``connection``, ``errors``, ``forms``, ``hookspecs``, ``messages``, ``model``,
``plugins``, ``sandbox``, ``influxdb``, ``cli``, ``reference``, ``host`` (the reference host
app) and ``binary`` (the JSON shape of an answer given as bytes); every other module says in its
docstring that it is internal to the engine, and may change without notice.

Names are imported when first used, so ``import influx_connector`` stays cheap.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"  # kept equal to pyproject.toml's version (a packaging test checks it)

#: Where each exported name lives (imported on first use).
_HOMES = {
    # the facade and the forms
    "api": None, "forms": None, "errors": None, "messages": None,
    "connect": "api", "load": "api", "list_datasources": "api", "run_saved": "api", "saved_query": "api",
    "failure_envelope": "api",
    # a connection and what it returns
    "Connection": "connection", "Result": "connection", "Rows": "connection", "TestReport": "connection",
    "StepReport": "connection", "Request": "render",
    # compiled data sources
    "DataSource": "model", "Operation": "model",
    # errors
    "ConnectorError": "errors", "ValidationError": "errors", "FieldError": "errors", "APIError": "errors",
    "DecodeError": "errors", "TransportError": "errors", "NetworkError": "errors", "ManifestError": "errors",
    "NotFoundError": "errors",
    # plugins
    "hookimpl": "hookspecs", "PluginHost": "plugins", "create_host": "plugins",
    "Codec": "messages", "ErrorFacts": "messages", "HTTPRequest": "messages", "HTTPResponse": "messages",
    "HTTPTransport": "messages", "Lookup": "messages", "RowStream": "messages",
}

__all__ = ["__version__", *_HOMES]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'influx_connector' has no attribute {name!r}")
    home = _HOMES[name]
    if home is None:
        value: Any = importlib.import_module(f".{name}", __name__)
    else:
        value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
