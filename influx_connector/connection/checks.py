"""Test connection: the data source's test steps, run in order, each reported.

Internal to the engine: hosts call ``Connection.test``.
"""
from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..deadline import Deadline
from ..errors import ConnectorError, DecodeError
from ..needs import detected_value
from ..render import render_request
from ..transport import api_error
from .paging import pointer_get
from .results import StepReport, TestReport

if TYPE_CHECKING:
    from .client import Connection


def run_test(conn: Connection) -> TestReport:
    """Run the data source's test steps in order; each is reported, the first failure stops.
    All of them together are bounded by the connection's time limit."""
    deadline = conn.limits.deadline()
    try:
        return _test(conn, deadline)
    finally:
        deadline.close()

def _test(conn: Connection, deadline: Deadline) -> TestReport:
    reports: list[StepReport] = []
    failed = False
    detect = conn.connector.connection.detect
    replaced = None
    if detect is not None and conn.values.get(detect.field, detect.auto) == detect.auto:
        started = time.perf_counter()
        found = _detect(conn, deadline)
        reports.append(replace(found, elapsed_ms=round((time.perf_counter() - started) * 1000, 3)))
        failed, replaced = found.status == "failed", detect.step
    for step in conn.connector.test_steps:
        if not conn.applies(step.needs) or step.name == replaced:
            continue  # a step for another kind of server, or the one detection was
        if failed:
            if all(r.name != step.name for r in reports):  # one line per step, whichever server it is
                reports.append(StepReport(step.name, step.title, "not run"))
            continue
        if step.when and not conn.values.get(step.when):
            reports.append(StepReport(step.name, step.title, "skipped", f"'{step.when}' is not set"))
            continue
        started = time.perf_counter()
        report = _run_step(conn, step, deadline)
        elapsed = round((time.perf_counter() - started) * 1000, 3)
        reports.append(StepReport(step.name, step.title, report[0], report[1], report[2], elapsed))
        failed = report[0] == "failed"
    return TestReport(ok=not failed, steps=tuple(reports))


def _detect(conn: Connection, deadline: Deadline) -> StepReport:
    """Find out the ``detect`` field from the server's answer and remember it; reported as the
    test step it stands for (judged by that step's check) or as a step of its own."""
    detect = conn.connector.connection.detect
    assert detect is not None
    name = detect.step or detect.field
    title = detect.title or next((s.title for s in conn.connector.test_steps if s.name == detect.step),
                                 f"{detect.field} found out")
    try:
        request = render_request(detect.request, {}, conn._context(resolve=False))
        response = conn.transport.send(request, f"test:{name}", limit=conn.limits.answer_bytes,
                                       deadline=deadline, ok=lambda status: True)
    except ConnectorError as exc:
        return StepReport(name, title, "failed", str(exc))
    try:
        value, seen = detected_value(detect, response.headers)
        status = response.status_code
        if value is None:
            return StepReport(name, title, "failed", f"could not tell {detect.field} from the answer (HTTP "
                              f"{status}, {detect.header}: {conn.redactor.excerpt(seen, 80) or 'not sent'}); set "
                              f"it instead of {detect.auto}", status)
        conn.detected[detect.field] = value
        found = f"{detect.field} {value} ({detect.header}: {conn.redactor.excerpt(seen, 80)})"
        step = next((s for s in conn.connector.test_steps if s.name == detect.step and conn.applies(s.needs)), None)
        if step is None:
            return StepReport(name, title, "passed", found, status)
        if not _step_passes(step, status):
            err = api_error(response, conn.connector.error_keys, conn.redactor, f"test:{name}", conn.host)
            return StepReport(name, step.title, "failed", f"{err}; {found}", status)
        return StepReport(name, step.title, "passed", f"HTTP {status}; {found}", status)
    finally:
        response.close()


def _step_passes(step: Any, status: int) -> bool:
    return status in step.expect_status if step.expect_status else 200 <= status < 300


def _run_step(conn: Connection, step: Any, deadline: Deadline) -> tuple[str, str, int | None]:
    def expected(status: int) -> bool:
        return _step_passes(step, status)

    try:
        request = render_request(step.request, {}, conn._context(resolve=False))
        response = conn.transport.send(request, f"test:{step.name}", limit=conn.limits.answer_bytes,
                                       deadline=deadline, ok=expected)
    except ConnectorError as exc:
        return "failed", str(exc), None
    status = response.status_code
    if not response.success:
        err = api_error(response, conn.connector.error_keys, conn.redactor, f"test:{step.name}", conn.host)
        return "failed", str(err), status
    if step.expect_nonempty:
        try:
            found = pointer_get(conn.host.codec("json").decode(response), step.expect_nonempty)
        except DecodeError:
            found = None
        if not found:
            return "failed", f"the server answered, but {step.expect_nonempty} is empty: it was not found", status
    return "passed", f"HTTP {status}", status
