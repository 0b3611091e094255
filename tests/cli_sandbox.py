"""A sandbox started the way a user starts one (``influx-connector sandbox``), in its own process.

The live-target proofs point a fresh pytest at it through the environment, as they would point
it at a real server.
"""
from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def cli_sandbox(folder: Path, token: str, org: str) -> Iterator[dict[str, str]]:
    """Run the sandbox command; yield the ``export INFLUX_...`` values its banner prints.

    On leaving, SIGTERM must stop it cleanly (exit status 0, "sandbox stopped" on stderr).
    """
    server = subprocess.Popen(
        [sys.executable, "-m", "influx_connector", "sandbox", "--port", "0", "--token", token, "--org", org],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=folder)
    try:
        banner = [server.stdout.readline() for _ in range(3)] if server.stdout else []
        exports = dict(re.findall(r"(INFLUX_\w+)=(\S+)", banner[1] if len(banner) > 1 else ""))
        assert exports == {"INFLUX_HOST": exports.get("INFLUX_HOST"), "INFLUX_TOKEN": token, "INFLUX_ORG": org}, banner
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", exports["INFLUX_HOST"]), banner
        yield exports
    finally:
        server.send_signal(signal.SIGTERM)
        _out, err = server.communicate(timeout=10)
    assert server.returncode == 0 and "sandbox stopped" in err, err[-2000:]
