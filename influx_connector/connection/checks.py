"""Test connection: the data source's test steps, run in order, each reported.

Internal to the engine: hosts call ``Connection.test``.
"""
from __future__ import annotations

import time
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
    if detect is not None and conn.values.get(detect.field, detect.auto) == detect.auto:
        started = time.perf_counter()
        outcome = _detect(conn, deadline)
        reports.append(StepReport(detect.field, detect.title or f"{detect.field} found out", *outcome,
                                  elapsed_ms=round((time.perf_counter() - started) * 1000, 3)))
        failed = outcome[0] == "failed"
    for step in conn.connector.test_steps:
        if not conn.applies(step.needs):
            continue  # a step for another kind of server is not part of this one's test
        if failed:
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


def _detect(conn: Connection, deadline: Deadline) -> tuple[str, str, int | None]:
    """Find out the ``detect`` field from the server's answer; remember it for this connection."""
    detect = conn.connector.connection.detect
    assert detect is not None
    try:
        request = render_request(detect.request, {}, conn._context(resolve=False))
        response = conn.transport.send(request, f"test:{detect.field}", limit=conn.limits.answer_bytes,
                                       deadline=deadline, ok=lambda status: True)
    except ConnectorError as exc:
        return "failed", str(exc), None
    try:
        value, seen = detected_value(detect, response.headers)
    finally:
        response.close()
    if value is None:
        return ("failed", f"could not tell {detect.field} from the answer (HTTP {response.status_code}, "
                          f"{detect.header}: {conn.redactor.excerpt(seen, 80) or 'not sent'}); set it instead of "
                          f"{detect.auto}", response.status_code)
    conn.detected[detect.field] = value
    return "passed", f"{value} ({detect.header}: {conn.redactor.excerpt(seen, 80)})", response.status_code


def _run_step(conn: Connection, step: Any, deadline: Deadline) -> tuple[str, str, int | None]:
    def expected(status: int) -> bool:
        return status in step.expect_status if step.expect_status else 200 <= status < 300

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
