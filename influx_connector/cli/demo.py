"""The ``demo`` command: run the steps a data source declares in ``demo.yaml``, printing each.

Against the connection given (flags, environment, --config), or, when none is, against a server
a plugin starts for the demo (``influx_connector_demo_server``; the InfluxDB data source starts
its sandbox). The steps are data: this module only renders their values, runs them and prints.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, TextIO

from .. import demo_spec
from ..errors import ConnectorError, UsageError
from ..model import DataSource, Demo, DemoStep
from ..plugins import default_host
from .config import how_to_give
from .invocation import Invocation
from .output import emit_json, format_table

_LIMIT = 400


def _short(value: Any, limit: int = _LIMIT) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


@dataclass
class Outcome:
    """What one step did."""

    title: str
    operation: str | None
    ok: bool
    status: int | None = None
    shown: Any = None
    error: str | None = None

    def line(self) -> str:
        tag = f" [{self.operation}]" if self.operation else ""
        if not self.ok:
            return f"✗ {self.title}{tag}: {self.error}"
        if self.operation is None:
            return f"{self.title}: {self.shown}"
        return f"✓ {self.title}{tag} HTTP {self.status}: {_short(self.shown)}"

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "operation": self.operation, "ok": self.ok, "status": self.status,
                "shown": self.shown, "error": self.error}


class Runner:
    """Runs a demo's steps on one connection, keeping the variables the steps save."""

    def __init__(self, conn: Any, demo: Demo, out: TextIO | None):
        self.conn, self.demo, self.out = conn, demo, out
        self.variables: dict[str, Any] = {}
        self.outcomes: list[Outcome] = []
        self.ran: set[str] = set()
        self.skipped = 0

    def applies(self, step: DemoStep) -> bool:
        """A step for another kind of server (its needs, or its operation's) is skipped."""
        op = self.conn.connector.operation(step.operation) if step.operation else None
        return self.conn.applies(step.needs) and (op is None or self.conn.applies(op.needs))

    def run(self) -> bool:
        for name, value in self.demo.variables.items():
            self.variables[name] = demo_spec.render(value, self.variables)
        for step in self.demo.steps:
            if not self.applies(step):
                self.skipped += 1
                continue
            outcome = self._step(step)
            self.outcomes.append(outcome)
            if self.out is not None:
                self.out.write(outcome.line() + "\n")
            if not outcome.ok and step.required:
                self._say("stopped: the steps after this one need its result")
                break
        failures = sum(1 for o in self.outcomes if not o.ok and o.operation is not None)
        self._say(f"{len(self.ran)} of {len(self.conn.operations())} operations ran; {failures} calls failed")
        return all(o.ok for o in self.outcomes) and len(self.outcomes) + self.skipped == len(self.demo.steps)

    def _say(self, text: str) -> None:
        if self.out is not None:
            self.out.write(text + "\n")

    def _step(self, step: DemoStep) -> Outcome:
        if step.operation is None:
            report = self.conn.test()
            shown = ", ".join(f"{s.title}: {s.status}" for s in report.steps)
            return Outcome(step.title, None, report.ok, shown=shown,
                           error=None if report.ok else f"{shown}")
        op = self.conn.connector.operation(step.operation)
        self.ran.add(op.id)
        try:
            result = self.conn.run(op.id, demo_spec.render(dict(step.params), self.variables))
        except ConnectorError as exc:
            return Outcome(step.title, op.id, False, error=str(exc))
        for name, ptr in step.save.items():
            self.variables[name] = demo_spec.resolve(result.data, ptr)
        return Outcome(step.title, op.id, True, status=result.status, shown=demo_spec.show(result.data, step.show))


def _demo_of(data_source: DataSource) -> Demo:
    if data_source.demo is None:
        raise UsageError(f"demo: the data source '{data_source.id}' has no demo "
                         f"(its steps go in {demo_spec.FILE_NAME} beside its connector.yaml)")
    return data_source.demo


def run_demo(inv: Invocation) -> bool:
    """Run the demo the command line asks for; True when every step did what it should."""
    data_source = inv.data_source()
    demo = _demo_of(data_source)
    values: Mapping[str, Any] = inv.connection_values()
    # Lines as they happen; with --format json or table, one report at the end.
    lines = sys.stdout if inv.output_format is None else None
    with ExitStack() as stack:
        missing = [p.name for p in data_source.connection.fields if p.required and p.name not in values]
        if not values or missing:
            # No server given (connection settings alone, such as --api v3, shape the one started).
            server = _server_values(inv, data_source, stack, sys.stdout if lines else sys.stderr, values)
            values = {**server, **values}
        conn = stack.enter_context(inv.connect(values))
        runner = Runner(conn, demo, lines)
        ok = runner.run()
    if inv.output_format == "json":
        emit_json({"ok": ok, "steps": [o.to_dict() for o in runner.outcomes]})
    elif inv.output_format == "table":
        rows = [["passed" if o.ok else "failed", o.title, o.operation or "", o.status or "",
                 _short(o.shown, 120) if o.ok else o.error] for o in runner.outcomes]
        print(format_table(["STATUS", "STEP", "OPERATION", "HTTP", "RESULT"], rows))
    return ok


def _server_values(inv: Invocation, data_source: DataSource, stack: ExitStack, out: TextIO,
                   given: Mapping[str, Any]) -> Mapping[str, Any]:
    """Connection values of a server a plugin starts for the demo; a usage error naming the
    connection flags when no plugin offers one."""
    server = default_host().hook.influx_connector_demo_server(data_source=data_source.id, out=out,
                                                              values=dict(given))
    if server is None:
        required = [p.name for p in data_source.connection.fields if p.required and not p.has_default]
        ways = "; ".join(f"{name}: {how_to_give(data_source, name)}" for name in required)
        raise UsageError(f"demo: give a connection to run the demo against ({ways}; or --config FILE): "
                         f"no plugin starts a server for '{data_source.id}'")
    values = stack.enter_context(server)
    inv.remember_secrets(data_source, values)
    return values
