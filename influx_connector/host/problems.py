"""What the service answers when something goes wrong: one JSON shape for every error.

    {"error": {"status": 422, "code": "invalid_input", "message": "...", "by_field": {...}}}

``status`` is the service's HTTP status. An error the data source's server answered keeps that
server's status, code and message under ``upstream``. Every text comes from the connector's own
errors, which never hold a secret; the service masks the saved secrets once more on the way out.
"""
from __future__ import annotations

from typing import Any

from ..errors import (
    APIError,
    ConnectorError,
    DecodeError,
    ManifestError,
    NotFoundError,
    TimeoutError,
    TransportError,
    ValidationError,
)


class Problem(Exception):
    """An error the service answers with its own status and code."""

    status = 400

    def __init__(self, code: str, message: str, field: str | None = None, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        if status is not None:
            self.status = status

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "code": self.code, "message": self.message}
        if self.field:
            out["by_field"] = {self.field: [self.message]}
        return out


class Missing(Problem):
    status = 404


class Conflict(Problem):
    status = 409


class Refused(Problem):
    """The request is not allowed: no access key, a foreign Host or Origin."""

    status = 403


def describe(error: BaseException) -> dict[str, Any]:
    """An error as the ``error`` member of an answer (a Problem, or any ConnectorError)."""
    if isinstance(error, Problem):
        return error.to_dict()
    if isinstance(error, ValidationError):
        first = error.errors[0] if error.errors else None
        return {"status": 422, "code": "invalid_input", "subject": error.subject,
                "message": str(first) if first else str(error), "by_field": error.by_field()}
    if isinstance(error, APIError):
        upstream = {"status": error.status, "code": error.code, "message": error.message}
        out = {"status": 502, "code": "upstream_error", "message": str(error), "upstream": upstream}
        if error.details:
            out["details"] = error.details
        return out
    if isinstance(error, TimeoutError):
        return {"status": 504, "code": "upstream_timeout", "message": str(error)}
    if isinstance(error, TransportError):
        return {"status": 502, "code": "network_error", "message": str(error)}
    if isinstance(error, DecodeError):
        return {"status": 502, "code": "bad_answer", "message": str(error)}
    if isinstance(error, NotFoundError):
        return {"status": 404, "code": "not_found", "message": str(error)}
    if isinstance(error, ManifestError):
        return {"status": 500, "code": "manifest_error", "message": str(error)}
    if isinstance(error, ConnectorError):
        return {"status": 400, "code": "connector_error", "message": str(error)}
    return {"status": 500, "code": "internal_error", "message": "the service failed; its log says why"}
