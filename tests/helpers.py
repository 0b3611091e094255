"""Small helpers shared by the tests (no fixtures here: see conftest.py)."""
from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from influx_connector.messages import HTTPResponse

TOKEN = "sandbox-token-0123456789"
# The eleven operations of the data-source model, in its order, then the ones added since.
SEED_OPERATIONS = ("write_data", "query_data", "generate_ast", "query_suggestions", "query_suggestions_name",
                   "analyze_query", "list_buckets", "create_bucket", "retrieve_bucket", "update_bucket",
                   "delete_bucket")
#: InfluxDB 3's operations (and ping, which any InfluxDB answers).
V3_OPERATIONS = ("query_sql", "query_influxql_v3", "write_lp", "list_databases", "create_database",
                 "delete_database", "create_table", "delete_table", "health_v3", "ping")
#: The v1-compatibility endpoints, which InfluxDB 2.x and 3 both serve, come after each API's
#: own operations, so where a host lists only what a server serves, its own come first.
ADDED_OPERATIONS = ("delete_data", "list_organizations", "health", *V3_OPERATIONS[:-1],
                    "write_data_v1", "query_influxql", "ping")
ALL_OPERATIONS = SEED_OPERATIONS + ADDED_OPERATIONS
EXAMPLE_CONNECTION = {"token": "example-token-0000", "host": "localhost", "port": 8086, "protocol": "http"}


def canned_response(status: int, headers: Mapping[str, str] | None = None, body: str | bytes = b"") -> HTTPResponse:
    """An answer held in memory, as the engine hands it to codecs, for decoding without a server."""
    response = HTTPResponse.of(status, headers, body, reason="canned")
    response.encoding = "utf-8"
    return response


def request_parts(req: Any) -> dict[str, Any]:
    """Path, query pairs and decoded body of a rendered Request, for comparisons."""
    url = urlsplit(req.url)
    body = req.body
    if body is not None and req.headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return {
        "method": req.method,
        "path": url.path,
        "query": parse_qsl(url.query, keep_blank_values=True),
        "headers": dict(req.headers),
        "body": body,
        "json": json.loads(body) if body and req.json is not None else None,
    }
