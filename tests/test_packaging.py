"""The wheel carries the manifest: installed into a fresh venv, it loads every operation elsewhere."""
from __future__ import annotations

import json
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from .helpers import ALL_OPERATIONS

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
                   check=True, capture_output=True, text=True)
    [built] = list(out.glob("influx_connector-*.whl"))
    return built


def test_wheel_contains_manifest_schemas_and_entry_points(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    operations = sorted(Path(n).name for n in names if n.startswith("influx_connector/manifest/operations/"))
    source_ops = sorted(p.name for p in (ROOT / "operations").glob("*.yaml"))
    assert operations == source_ops and len(operations) >= 11
    assert "influx_connector/manifest/connector.yaml" in names
    assert "influx_connector/manifest/schemas/operation.schema.json" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "influx-connector = influx_connector.cli:main" in text
    assert "influxdb = influx_connector.influxdb" in text
    assert "[pytest11]\ninflux_connector = influx_connector.sandbox.pytest_plugin" in text


def test_installed_wheel_works_outside_the_source_tree(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], check=True, capture_output=True, text=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = (
        "import json; from influx_connector import api, resources\n"
        "c = api.load()\n"
        "print(json.dumps({'dir': str(resources.manifest_dir()), 'ops': list(c.operations)}))\n"
    )
    done = subprocess.run([str(python), "-c", script], cwd=elsewhere, check=True, capture_output=True, text=True)
    found = json.loads(done.stdout)
    assert "site-packages" in found["dir"] and str(ROOT) not in found["dir"]
    assert found["ops"] == list(ALL_OPERATIONS)
    cli = subprocess.run([str(env_dir / "bin" / "influx-connector"), "operations"], cwd=elsewhere,
                         capture_output=True, text=True)
    assert cli.returncode == 0, cli.stderr
    assert "list_buckets" in cli.stdout


def test_the_package_version_is_the_projects() -> None:
    import tomllib

    import influx_connector

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert influx_connector.__version__ == declared  # the manifest cache keys on it
