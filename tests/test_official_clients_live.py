"""The official-client suites' live target: an explicit opt-in, run against a server in another process.

No InfluxDB 2.x can be installed here, so this starts the sandbox as a user would
(``influx-connector sandbox``), opts in with ``INFLUX_E2E_LIVE=1`` and INFLUX_HOST/TOKEN/ORG, and
runs both client suites in a fresh pytest with only their live target. That proves the switch:
the live target talks to whatever server the environment names, and leaves no bucket behind.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from . import official_clients
from .cli_sandbox import cli_sandbox
from .official_clients import BUCKET_PREFIX, OPT_IN, live_server

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "live-clients-token-7c2d"
ORG = "live-clients-org"
MODULES = ("tests/test_official_python_client.py", "tests/test_official_js_client.py")


def sandbox_test_ids() -> list[str]:
    """The suites' tests on the sandbox target: the live run must have each of them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INFLUX_", "PYTEST_"))}
    listed = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--collect-only", *MODULES],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    ids = [line for line in listed.stdout.splitlines() if "[sandbox" in line]
    assert len(ids) > 20, listed.stdout[-2000:]
    return ids


def test_the_live_target_needs_the_explicit_opt_in() -> None:
    server = {"INFLUX_HOST": "http://127.0.0.1:8086", "INFLUX_TOKEN": "secret-token", "INFLUX_ORG": "o"}
    assert live_server(server) is None  # INFLUX_HOST exported for other reasons is not enough
    assert live_server({**server, OPT_IN: "0"}) is None
    found = live_server({**server, OPT_IN: "1"})
    assert found == official_clients.Server("http://127.0.0.1:8086", "secret-token", "o")
    assert "secret-token" not in repr(found)
    with pytest.raises(RuntimeError, match="INFLUX_TOKEN, INFLUX_ORG is not set"):
        live_server({OPT_IN: "1", "INFLUX_HOST": "http://127.0.0.1:8086"})
    with pytest.raises(RuntimeError, match="must be the server's URL"):
        live_server({**server, OPT_IN: "yes", "INFLUX_HOST": "localhost:8086"})


def test_both_client_suites_run_against_a_server_named_in_the_environment(tmp_path: Path) -> None:
    with cli_sandbox(tmp_path, TOKEN, ORG) as exports:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("INFLUX_", "PYTEST_"))}
        env.update(exports, **{OPT_IN: "1"})
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *MODULES, "-k", "live"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        summary = run.stdout.strip().splitlines()[-1]
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
        assert f"{len(sandbox_test_ids())} passed" in summary, summary
        assert not re.search(r"failed|skipped|error", summary), summary

        listed = requests.get(exports["INFLUX_HOST"] + "/api/v2/buckets", params={"limit": 100},
                              headers={"Authorization": f"Token {TOKEN}"}, timeout=10).json()["buckets"]
        assert [b["name"] for b in listed if b["name"].startswith(BUCKET_PREFIX)] == []
