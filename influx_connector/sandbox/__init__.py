"""A loopback InfluxDB v2 look-alike for developing and testing the connector.

``Sandbox`` serves the v2 HTTP API (health, ping, orgs, buckets, write, delete, query and its
helpers) and the v1 compatibility endpoints (``/write``, and ``/query`` with an InfluxQL subset)
from an in-memory ``Store``, over http or https, and records every request and response it sees.

The server is imported when one of these names is first used, so what only needs a part of the
package (the command line registering the ``sandbox`` command) does not pay for all of it.
"""
from __future__ import annotations

from typing import Any

__all__ = ["Sandbox", "RecordedRequest", "RecordedResponse", "SandboxExposedWarning"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
