"""The end-to-end suite's ``live`` target, exercised against a server in another process.

No InfluxDB 2.x can be installed here, so this starts the sandbox the way a user would
(``influx-connector sandbox``, which also tests that command), points INFLUX_HOST/TOKEN/ORG at it
and runs the end-to-end suite in a fresh pytest. That proves the switch works: the live target
is collected only when ``INFLUX_E2E_LIVE=1`` asks for it (the variables alone send nothing
there), talks to whatever server they name, checks the contract at the send hook, and leaves no
bucket behind.
"""
from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from . import test_end_to_end as e2e
from .cli_sandbox import cli_sandbox

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "live-run-token-5e1f"
ORG = "live-org"


def target_tests() -> list[str]:
    return [name for name, fn in vars(e2e).items()
            if name.startswith("test_") and "target" in inspect.signature(fn).parameters]


def test_the_end_to_end_suite_runs_against_a_server_named_in_the_environment(tmp_path: Path) -> None:
    with cli_sandbox(tmp_path, TOKEN, ORG) as exports:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("INFLUX_", "PYTEST_"))}
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_end_to_end.py",
             "-k", "live"],
            cwd=ROOT, env={**env, **exports, "INFLUX_E2E_LIVE": "1"}, capture_output=True, text=True, timeout=300)
        summary = run.stdout.strip().splitlines()[-1]
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
        assert re.search(rf"\b{len(target_tests())} passed\b", summary), summary
        assert "failed" not in summary and "skipped" not in summary and "error" not in summary

        listed = requests.get(exports["INFLUX_HOST"] + "/api/v2/buckets", params={"limit": 100},
                              headers={"Authorization": f"Token {TOKEN}"}, timeout=10).json()["buckets"]
        left = [b["name"] for b in listed if b["name"].startswith(e2e.E2E_PREFIX)]
        assert left == [], "the live run must delete the buckets it made"


def test_the_variables_alone_do_not_send_the_suite_to_a_server(tmp_path: Path) -> None:
    """A user with INFLUX_HOST/TOKEN/ORG exported for their own server runs pytest: nothing of the
    suite goes there without INFLUX_E2E_LIVE=1."""
    with cli_sandbox(tmp_path, TOKEN, ORG) as exports:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("INFLUX_", "PYTEST_"))}
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_end_to_end.py",
             "-k", "live"],
            cwd=ROOT, env={**env, **exports}, capture_output=True, text=True, timeout=300)
        summary = run.stdout.strip().splitlines()[-1]
        # Exit 5: pytest collected no test to run; every target test ran on the sandboxes only.
        assert run.returncode == 5, run.stdout[-3000:] + run.stderr[-2000:]
        assert re.fullmatch(r"\d+ deselected in [0-9.]+s", summary), summary
        listed = requests.get(exports["INFLUX_HOST"] + "/api/v2/buckets", params={"limit": 100},
                              headers={"Authorization": f"Token {TOKEN}"}, timeout=10).json()["buckets"]
        assert not [b["name"] for b in listed if b["name"].startswith(e2e.E2E_PREFIX)]
