"""`pytest` run before the package is installed says what to do, rather than failing at collection."""
from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from .installation import INSTALL

ROOT = Path(__file__).resolve().parent.parent


def site_without(tmp_path: Path, *left_out: str) -> Path:
    """This Python's installed packages, less the distributions named (their modules and
    metadata), as links in a folder: what a Python that never installed them sees."""
    site = Path(sysconfig.get_paths()["purelib"])
    folder = tmp_path / "site"
    folder.mkdir()
    for entry in site.iterdir():
        name = entry.name.lower().replace("-", "_")
        if entry.suffix == ".pth" or any(name.startswith(dist) for dist in left_out):
            continue
        (folder / entry.name).symlink_to(entry)
    return folder


def run_pytest(site: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    # -S: no site-packages but the folder given; the repository itself stays importable, as it is
    # from a checkout.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "INFLUX_"))}
    env.update(PYTHONPATH=str(site), INFLUX_CONNECTOR_CACHE=str(tmp_path / "cache"))
    return subprocess.run([sys.executable, "-S", "-m", "pytest", "-q", "tests/test_manifest.py"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_the_package_not_installed(tmp_path: Path) -> None:
    done = run_pytest(site_without(tmp_path, "influx_connector", "_influx_connector", "_editable_impl_influx"),
                      tmp_path)
    said = done.stdout + done.stderr
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, said
    assert "influx-connector is not installed in this Python" in said and INSTALL in said
    assert "no data source" not in said and "Traceback" not in said


@pytest.mark.slow
def test_a_test_tool_missing(tmp_path: Path) -> None:
    done = run_pytest(site_without(tmp_path, "hypothesis", "_hypothesis"), tmp_path)
    said = done.stdout + done.stderr
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, said
    assert "the tests need hypothesis" in said and INSTALL in said


def test_the_check_passes_where_everything_is_installed() -> None:
    from .installation import installation_problem

    assert installation_problem() is None
