"""Before anything is collected: is the package installed, with what the tests need?

The suite loads the InfluxDB data source the way a host does, through the package's entry point,
and uses the test extra's tools. Run before ``pip install -e ".[test]"``, it would otherwise fail
at collection with ``no data source 'influxdb'`` or an import error; this says what to do instead.
Loaded first, with ``-p tests.installation`` (see pyproject.toml).
"""
from __future__ import annotations

import importlib.util
from importlib.metadata import PackageNotFoundError, distribution

import pytest

INSTALL = 'python3 -m pip install -e ".[test]"'
#: What the tests import that the test extra installs, by module name.
TEST_MODULES = ("pytest", "hypothesis", "openapi_schema_validator", "cryptography", "influxdb_client", "pandas")
#: What the package imports (its own dependencies).
PACKAGE_MODULES = ("yaml", "jsonschema", "referencing", "requests", "urllib3", "pluggy")


def installation_problem() -> str | None:
    """What is missing, and the command that installs it; None when nothing is."""
    missing = [name for name in (*PACKAGE_MODULES, *TEST_MODULES) if importlib.util.find_spec(name) is None]
    if missing:
        return (f"the tests need {', '.join(missing)}, which this Python ({_python()}) does not have: "
                f"run {INSTALL} in the repository first")
    try:
        entry_points = distribution("influx-connector").entry_points
    except PackageNotFoundError:
        return (f"influx-connector is not installed in this Python ({_python()}): the tests load its data "
                f"source through the package's entry points, as a host does. Run {INSTALL} in the "
                "repository first")
    if not any(ep.group == "influx_connector" and ep.name == "influxdb" for ep in entry_points):
        return f"the installed influx-connector has no 'influxdb' entry point: run {INSTALL} again"
    return None


def _python() -> str:
    import sys

    return sys.executable


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests() -> None:
    problem = installation_problem()
    if problem is not None:
        raise pytest.UsageError(problem)
