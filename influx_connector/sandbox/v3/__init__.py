"""InfluxDB 3's HTTP API in the sandbox: SQL and InfluxQL queries, line-protocol writes, databases
and tables, and a v3 server's /ping and /health.

A database is a bucket of the sandbox's first organization, so what one API writes the other
reads. Errors are InfluxDB 3's: ``{"error": "..."}`` (with ``"data"`` for rejected lines), with
its statuses. The SQL is a documented subset run by sqlite3 (``sql``); InfluxQL is the
sandbox's InfluxQL engine, its series turned into InfluxDB 3's rows.

``handle`` is the entry point the server calls: it answers the paths it owns and returns None
for any other; ``refusal`` words a refusal made before any route ran (a token, a size, Host or
Origin) as InfluxDB 3 does, on those paths.
"""
from __future__ import annotations

from .endpoints import handle, refusal

__all__ = ["handle", "refusal"]
