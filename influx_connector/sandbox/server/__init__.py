"""A loopback HTTP server that speaks enough of the InfluxDB v2 API for a connector to do real work.

Besides the v2 API it serves ``/api/v2/delete`` and the v1 compatibility endpoints ``/write`` and
``/query`` (a documented InfluxQL subset, see ``sandbox.influxql``), and can serve https.

It is a development and test server, not a database: state lives in ``store.Store``, requests are
served one thread per connection (a bounded number), and recent requests and responses are
recorded so a test can check exactly what a client sent. Who may ask is checked on a request's
head before its body is read (``sandbox.guard``). Statuses and error bodies are the
real OSS server's answers, because a connector tested here must behave the same against a
real InfluxDB.

Only the standard library is used. Query endpoints delegate the Flux work to
``influx_connector.sandbox.flux`` (written separately), imported lazily so the rest of the server
works before, or without, that engine.

The modules, outside in: ``sandbox`` (the public object), ``httpd`` (connections, framing,
bodies), ``routes`` (the route table and dispatch), ``auth`` (tokens), ``endpoints`` (one module
per concern: health, orgs, buckets, write, delete, query, suggestions, v1), and what those share:
``messages`` (request, reply, error answers), ``parsing``, ``lookup``, ``paging``, ``shapes``,
``dialect``, ``recording``.
"""
from __future__ import annotations

from influx_connector.sandbox.server.recording import RecordedRequest, RecordedResponse
from influx_connector.sandbox.server.sandbox import Sandbox, SandboxExposedWarning

__all__ = ["Sandbox", "RecordedRequest", "RecordedResponse", "SandboxExposedWarning"]
