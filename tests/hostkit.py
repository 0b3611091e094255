"""What the reference host's tests share: a client of the service that carries the access key."""
from __future__ import annotations

import json
from typing import Any

import requests


class Client:
    """requests to the service, with its access key (or without, for the refusals)."""

    def __init__(self, url: str, key: str | None):
        self.url = url
        self.session = requests.Session()
        if key is not None:
            self.session.headers["Authorization"] = f"Bearer {key}"

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.url + path, timeout=60, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.call("POST", path, json=body if body is not None else {}, **kwargs)

    def put(self, path: str, body: Any, **kwargs: Any) -> requests.Response:
        return self.call("PUT", path, json=body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("DELETE", path, **kwargs)

    def save_source(self, name: str, type_id: str, values: dict[str, Any]) -> dict[str, Any]:
        answer = self.post("/api/data-sources", {"name": name, "type": type_id, "values": values})
        assert answer.status_code == 201, answer.text
        return answer.json()


def ndjson(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]
