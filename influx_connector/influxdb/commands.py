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
def _demo_sandbox(out: TextIO, api: str) -> Iterator[dict[str, Any]]:
    from ..sandbox import Sandbox

    with Sandbox(token=DEMO_TOKEN, org=DEMO_ORG, bucket=None, api=api) as sandbox:
        which = "InfluxDB 3 API" if api == "v3" else "InfluxDB API"
        out.write(f"Started the sandbox {which} at {sandbox.url} (in memory, for trying things out)\n")
        yield sandbox.connection_settings


@hookimpl
def influx_connector_demo_server(data_source: str, out: TextIO, values: Any) -> Any:
    # --api v3 asks for an InfluxDB 3 server; v2 and auto get the v2 one.
    api = "v3" if (values or {}).get("api") == "v3" else "v2"
    return _demo_sandbox(out, api) if data_source == DATA_SOURCE_ID else None
