"""Fixtures: a sandbox InfluxDB on loopback whose every exchange is checked against the contract."""
from __future__ import annotations

from typing import Iterator

import pytest

from influx_connector import api
from influx_connector.connection import Connection
from influx_connector.sandbox import Sandbox

from .helpers import TOKEN
from .openapi_contract import Contract

ORG = "sandbox-org"
BUCKET = "sandbox-bucket"
CHECKED = {"requests": 0, "responses": 0}


def contract_problems(sandbox: Sandbox) -> list[str]:
    """Every contract violation in what the sandbox received and answered."""
    contract = Contract.load()
    problems: list[str] = []
    for req in sandbox.requests:
        problems += contract.check_request(req.method, req.path, list(req.query), req.headers, req.body)
    for resp in sandbox.responses:
        problems += contract.check_response(resp.method, resp.path, resp.status, resp.headers, resp.body)
    CHECKED["requests"] += len(sandbox.requests)
    CHECKED["responses"] += len(sandbox.responses)
    return problems


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if CHECKED["requests"]:
        terminalreporter.write_line(
            f"contract: {CHECKED['requests']} requests and {CHECKED['responses']} responses "
            "checked against the InfluxDB OpenAPI contract")


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(token=TOKEN, org=ORG, bucket=BUCKET) as sb:
        yield sb
    problems = contract_problems(sb)
    assert not problems, "the contract was broken:\n" + "\n".join(problems)


@pytest.fixture
def conn(sandbox: Sandbox) -> Iterator[Connection]:
    port = int(sandbox.url.rsplit(":", 1)[1])
    with api.connect({"host": "127.0.0.1", "port": port, "token": TOKEN, "org": ORG, "bucket": BUCKET}) as c:
        yield c
