"""``/health``, ``/ping`` and ``/ready``: the paths anyone may call, without a token."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

from influx_connector.sandbox.server.messages import VERSION, Reply, Request, json_reply
from influx_connector.sandbox.server.parsing import go_duration

if TYPE_CHECKING:
    from influx_connector.sandbox.server.sandbox import Sandbox


def health(sandbox: Sandbox, req: Request) -> Reply:
    return json_reply(
        200,
        {
            "name": "influxdb",
            "message": "ready for queries and writes",
            "status": "pass",
            "checks": [],
            "version": VERSION,
            "commit": "sandbox",
        },
    )


def ping(sandbox: Sandbox, req: Request) -> Reply:
    return Reply(204)


def ready(sandbox: Sandbox, req: Request) -> Reply:
    started, since = sandbox.started
    return json_reply(200, {"status": "ready", "started": started, "up": go_duration(time.monotonic() - since)})
