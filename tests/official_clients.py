"""Where the official-client suites run: the sandbox always, a real InfluxDB 2.x when asked.

A live run is an explicit opt-in: ``INFLUX_E2E_LIVE=1`` together with ``INFLUX_HOST`` (the
server's URL, as the ``influx`` CLI takes it), ``INFLUX_TOKEN`` (read/write on buckets) and
``INFLUX_ORG``. Having INFLUX_HOST exported for other reasons never sends these tests to a
server. The suites make their own buckets (``influx-connector-e2e-<random>``) and delete them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

OPT_IN = "INFLUX_E2E_LIVE"
LIVE_ENV = ("INFLUX_HOST", "INFLUX_TOKEN", "INFLUX_ORG")
BUCKET_PREFIX = "influx-connector-e2e-"


@dataclass(frozen=True)
class Server:
    url: str
    token: str
    org: str

    def __repr__(self) -> str:  # the token stays out of test ids, logs and tracebacks
        return f"Server(url={self.url!r}, org={self.org!r})"


def live_server(environ: os._Environ[str] | dict[str, str] = os.environ) -> Server | None:
    """The real server the environment opts into, or None; a half-given opt-in is an error."""
    if environ.get(OPT_IN, "").strip().lower() not in ("1", "true", "yes"):
        return None
    missing = [name for name in LIVE_ENV if not environ.get(name, "").strip()]
    if missing:
        raise RuntimeError(f"{OPT_IN} asks for a live run, but {', '.join(missing)} is not set")
    url = environ["INFLUX_HOST"].strip().rstrip("/")
    if "://" not in url:
        raise RuntimeError("INFLUX_HOST must be the server's URL for a live run, such as http://localhost:8086")
    return Server(url, environ["INFLUX_TOKEN"], environ["INFLUX_ORG"])


def targets() -> list[str]:
    """Target ids to parametrise over: an unconfigured live target is not collected at all."""
    return ["sandbox"] + (["live"] if live_server() is not None else [])
