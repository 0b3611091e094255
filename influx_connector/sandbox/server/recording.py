"""What the sandbox keeps of each exchange, so a test can check exactly what a client sent."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RecordedRequest:
    """A request as received: raw path, decoded query pairs, headers, raw body.

    ``body`` holds at most the sandbox's ``record_body_bytes``; ``body_size`` is the whole
    body's length. The body of a request refused on its head is not read: it is recorded
    empty, with the length the client declared (-1 for a chunked body).
    """

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: dict[str, str]
    body: bytes
    body_size: int = 0

    @property
    def truncated(self) -> bool:
        return len(self.body) != self.body_size


@dataclass(frozen=True)
class RecordedResponse:
    method: str
    path: str
    status: int
    headers: dict[str, str]
    body: bytes
    body_size: int = 0

    @property
    def truncated(self) -> bool:
        return len(self.body) < self.body_size
