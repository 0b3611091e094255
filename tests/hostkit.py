"""What the reference host's tests share: a notes API (the engine's second test manifest) on a
real socket, and a client of the service that carries the access key."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import requests

NOTES = Path(__file__).parent / "fixtures" / "notes" / "connector.yaml"
NOTES_KEY = "notes-key-42"


class NotesAPI(BaseHTTPRequestHandler):
    """Just enough of the notes API for the host's tests: list and add, behind X-Api-Key."""

    notes: list[dict[str, Any]]

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _allowed(self) -> bool:
        if self.headers.get("X-Api-Key") != NOTES_KEY:
            self._send(403, {"error": "forbidden", "detail": "bad key"})
            return False
        return True

    def do_GET(self) -> None:
        if self._allowed() and urlsplit(self.path).path == "/v1/notes":
            self._send(200, {"notes": self.server.notes})  # type: ignore[attr-defined]

    def do_POST(self) -> None:
        if not self._allowed():
            return
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        notes = self.server.notes  # type: ignore[attr-defined]
        note = {"id": str(len(notes) + 1), "text": body.get("text"), "tags": body.get("tags") or []}
        notes.append(note)
        self._send(201, note)


def notes_api() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), NotesAPI)
    server.notes = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


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
