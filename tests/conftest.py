"""Fixtures: a sandbox InfluxDB on loopback whose every exchange is checked against the contract."""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from influx_connector import api
from influx_connector.connection import Connection
from influx_connector.sandbox import Sandbox

from .helpers import TOKEN
from .openapi_contract import Contract, contract_for

pytest_plugins = ["pytester"]  # test_pytest_plugin.py runs host-app test files in a subprocess

ORG = "sandbox-org"
BUCKET = "sandbox-bucket"
CHECKED = {"requests": 0, "responses": 0, "off_contract": 0, "send_hook": 0}


def sandbox_contract(sandbox: Sandbox, path: str) -> Contract:
    """The contract for an exchange with ``sandbox`` (``contract_for``; /ping and /health by the
    API the sandbox plays)."""
    return contract_for(path, v3_server=getattr(sandbox, "api", "v2") == "v3")


def contract_problems(sandbox: Sandbox, *, requests: bool = True, off_contract_ok: bool = False) -> list[str]:
    """Every contract violation in what the sandbox received and answered.

    ``requests=False`` checks only the answers: for tests of the sandbox itself, which send
    malformed requests on purpose. ``off_contract_ok`` lets through answers to a path or method
    the contract does not have (404 routing, 405, trailing-slash redirects); a test asks for it
    with ``@pytest.mark.off_contract``, so nothing is excused silently.
    """
    problems: list[str] = []
    if requests:
        for req in sandbox.requests:
            problems += sandbox_contract(sandbox, req.path).check_request(
                req.method, req.path, list(req.query), req.headers, req.body,
                body_complete=not req.truncated)
        CHECKED["requests"] += len(sandbox.requests)
    for resp in sandbox.responses:
        contract = sandbox_contract(sandbox, resp.path)
        if off_contract_ok and not contract.declares(resp.method, resp.path):
            CHECKED["off_contract"] += 1
            continue
        problems += contract.check_response(resp.method, resp.path, resp.status, resp.headers, resp.body)
        CHECKED["responses"] += 1
    return problems


def assert_contract_kept(sandbox: Sandbox, **options: bool) -> None:
    problems = contract_problems(sandbox, **options)
    assert not problems, "the contract was broken:\n" + "\n".join(problems)


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if CHECKED["responses"]:
        terminalreporter.write_line(
            f"contract: {CHECKED['requests']} requests and {CHECKED['responses']} responses "
            "checked against the InfluxDB OpenAPI contracts (v2, and v3 for InfluxDB 3); "
            f"{CHECKED['off_contract']} answers to paths or methods it does not have (marked off_contract); "
            f"{CHECKED['send_hook']} exchanges of the end-to-end suite checked at the connector's send hook")


def pytest_configure(config) -> None:  # type: ignore[no-untyped-def]
    # Compiled manifests are cached on disk: the tests (and the processes they start) use a
    # folder of their own, never the user's ~/.cache.
    if "INFLUX_CONNECTOR_CACHE" not in os.environ:
        folder = tempfile.mkdtemp(prefix="influx-connector-cache-")
        os.chmod(folder, 0o700)
        os.environ["INFLUX_CONNECTOR_CACHE"] = folder
        config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses the real InfluxDB (the ``influxd`` fixture, directly or through another
    fixture) is marked ``real_server``, so ``-m "not real_server"`` leaves out every one of them."""
    for item in items:
        if "influxd" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.real_server)


@pytest.fixture
def make_sandbox(request: pytest.FixtureRequest) -> Iterator[Callable[..., Sandbox]]:
    """Start sandboxes for a test; afterwards every answer they gave is checked against the contract.

    Only answers: these tests send malformed requests on purpose. A test that calls paths or
    methods the contract does not have says so with ``@pytest.mark.off_contract``.
    """
    started: list[Sandbox] = []

    def make(**options: Any) -> Sandbox:
        sb = Sandbox(**options).start()
        started.append(sb)
        return sb

    yield make
    off_contract_ok = request.node.get_closest_marker("off_contract") is not None
    for sb in started:
        sb.stop()
    for sb in started:
        assert_contract_kept(sb, requests=False, off_contract_ok=off_contract_ok)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(token=TOKEN, org=ORG, bucket=BUCKET) as sb:
        yield sb
    assert_contract_kept(sb)


@pytest.fixture
def conn(sandbox: Sandbox) -> Iterator[Connection]:
    with api.connect(sandbox.connection_settings) as c:
        yield c
