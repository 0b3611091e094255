"""A loopback InfluxDB v2 look-alike for developing and testing the connector.

``Sandbox`` serves the v2 HTTP API (health, ping, orgs, buckets, write, query and its helpers)
from an in-memory ``Store`` and records every request and response it sees.
"""
from influx_connector.sandbox.server import RecordedRequest, RecordedResponse, Sandbox

__all__ = ["Sandbox", "RecordedRequest", "RecordedResponse"]
