"""What a connection hands back: an operation's result and a test connection's report."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Result:
    """What an operation returned: decoded data, the HTTP status and facts about the call."""

    data: Any
    status: int
    meta: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"data": self.data, "status": self.status, "meta": dict(self.meta)}

    def envelope(self) -> dict[str, Any]:
        """The result as hosts of the Insight² / ToolJet data-source model expect it."""
        return {"status": "ok", "data": self.data}


@dataclass(frozen=True)
class StepReport:
    name: str
    title: str
    status: str  # "passed", "failed", "skipped" or "not run"
    message: str = ""
    http_status: int | None = None
    elapsed_ms: float | None = None


@dataclass(frozen=True)
class TestReport:
    ok: bool
    steps: tuple[StepReport, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "steps": [s.__dict__ for s in self.steps]}
