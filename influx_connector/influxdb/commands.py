"""What the InfluxDB data source adds to the command line: the ``sandbox`` command, and a
sandbox for the demo to run against when no server is given."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from ..hookspecs import hookimpl

DATA_SOURCE_ID = "influxdb"
DEMO_TOKEN = "demo-token-not-secret"
DEMO_ORG = "demo-org"


@hookimpl
def influx_connector_register_commands(commands: Any) -> None:
    from ..sandbox.command import register

    register(commands)


@contextmanager
def _demo_sandbox(out: TextIO) -> Iterator[dict[str, Any]]:
    from ..sandbox import Sandbox

    with Sandbox(token=DEMO_TOKEN, org=DEMO_ORG, bucket=None) as sandbox:
        out.write(f"Started the sandbox InfluxDB API at {sandbox.url} (in memory, for trying things out)\n")
        yield sandbox.connection_settings


@hookimpl
def influx_connector_demo_server(data_source: str, out: TextIO) -> Any:
    return _demo_sandbox(out) if data_source == DATA_SOURCE_ID else None
