"""Small helpers shared by the tests (no fixtures here: see conftest.py)."""
from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from requests.structures import CaseInsensitiveDict

TOKEN = "sandbox-token-0123456789"
# The eleven operations of the data-source model, in its order, then the ones added since.
SEED_OPERATIONS = ("write_data", "query_data", "generate_ast", "query_suggestions", "query_suggestions_name",
                   "analyze_query", "list_buckets", "create_bucket", "retrieve_bucket", "update_bucket",
                   "delete_bucket")
ADDED_OPERATIONS = ("delete_data", "list_organizations", "health", "write_data_v1", "query_influxql")
ALL_OPERATIONS = SEED_OPERATIONS + ADDED_OPERATIONS
EXAMPLE_CONNECTION = {"token": "example-token-0000", "host": "localhost", "port": 8086, "protocol": "http"}


def canned_response(status: int, headers: Mapping[str, str] | None = None, body: str | bytes = b"") -> requests.Response:
    """A real requests.Response holding a recorded answer, for decoding without a server."""
    response = requests.Response()
    response.status_code = status
    response.headers = CaseInsensitiveDict(headers or {})
    response._content = body.encode("utf-8") if isinstance(body, str) else body
    response._content_consumed = True
    response.encoding = "utf-8"
    response.reason = "canned"
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
