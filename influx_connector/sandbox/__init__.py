"""A loopback InfluxDB v2 look-alike for developing and testing the connector.

``Sandbox`` serves the v2 HTTP API (health, ping, orgs, buckets, write, delete, query and its
helpers) and the v1 compatibility endpoints (``/write``, and ``/query`` with an InfluxQL subset)
from an in-memory ``Store``, over http or https, and records every request and response it sees.
"""
from influx_connector.sandbox.server import RecordedRequest, RecordedResponse, Sandbox, SandboxExposedWarning

__all__ = ["Sandbox", "RecordedRequest", "RecordedResponse", "SandboxExposedWarning"]
