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


@pytest.mark.slow
def test_wheel_contains_manifest_schemas_and_entry_points(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    operations = sorted(Path(n).name for n in names if n.startswith("influx_connector/manifest/operations/"))
    source_ops = sorted(p.name for p in (ROOT / "operations").glob("*.yaml"))
    assert operations == source_ops and len(operations) >= 11
    assert "influx_connector/manifest/connector.yaml" in names
    assert "influx_connector/manifest/demo.yaml" in names and "influx_connector/manifest/schemas/demo.schema.json" in names
    assert "influx_connector/manifest/schemas/operation.schema.json" in names
    # The reference host's page, built: a pip install needs no node.
    assert {f"influx_connector/host/static/{n}" for n in ("index.html", "app.js", "app.css")} <= set(names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "influx-connector = influx_connector.cli:main" in text
    assert "influxdb = influx_connector.influxdb" in text
    assert "[pytest11]\ninflux_connector = influx_connector.sandbox.pytest_plugin" in text


@pytest.mark.slow
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


# --- what the package declares ------------------------------------------------------------------------------

PROVIDED_BY_THE_HOST = {
    # Loaded only by pytest itself (the pytest11 entry point), so pytest is there when it runs.
    "influx_connector/sandbox/pytest_plugin.py": {"pytest", "_pytest"},
}
#: Imported only when installed (an extra); without it the code says what to install instead.
FROM_AN_EXTRA = {
    "influx_connector/sandbox/v3/answers.py": ("parquet", {"pyarrow"}),
    "influx_connector/influxdb/parquet.py": ("parquet", {"pyarrow"}),
}
#: Floors past the advisories known for these packages (see the comment in pyproject.toml).
FIXED_IN = {"requests": (2, 33, 0), "urllib3": (2, 7, 0)}


def _project() -> dict:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _requirement(text: str) -> tuple[str, tuple[int, ...]]:
    import re

    match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*>=\s*([0-9.]+)", text.strip())
    assert match, f"dependency {text!r} has no '>=' floor"
    return match.group(1).lower().replace("_", "-"), tuple(int(p) for p in match.group(2).split("."))


def _imported_packages() -> dict[str, set[str]]:
    """Top-level modules imported anywhere in the package, outside the standard library: file -> names."""
    import ast

    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "influx_connector").rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        outside = {n for n in names if n not in sys.stdlib_module_names and n not in ("influx_connector", "__future__")}
        if outside:
            found[str(path.relative_to(ROOT))] = outside
    return found


def test_every_package_the_code_imports_is_declared() -> None:
    from importlib.metadata import packages_distributions

    declared = {_requirement(r)[0] for r in _project()["dependencies"]}
    # The reference host (influx-connector serve) may use what its extra brings, and only it.
    serve = declared | {_requirement(r)[0] for r in _project()["optional-dependencies"]["serve"]}
    providers = packages_distributions()
    missing = []
    extras = _project()["optional-dependencies"]
    for extra, modules in FROM_AN_EXTRA.values():
        assert modules <= {_requirement(r)[0] for r in extras[extra]}, f"the {extra} extra must bring {modules}"
    for path, modules in _imported_packages().items():
        allowed = serve if path.startswith("influx_connector/host/") else declared
        optional = FROM_AN_EXTRA.get(path, ("", set()))[1]
        for module in sorted(modules - PROVIDED_BY_THE_HOST.get(path, set()) - optional):
            dists = {d.lower().replace("_", "-") for d in providers.get(module, [module])}
            if not dists & allowed:
                missing.append(f"{path} imports {module} ({', '.join(sorted(dists))}), which is not a dependency")
    assert not missing, "\n".join(missing)


def test_dependency_floors_are_past_known_advisories_and_installed() -> None:
    from importlib.metadata import version

    floors = dict(_requirement(r) for r in _project()["dependencies"])
    for name, fixed in FIXED_IN.items():
        assert floors.get(name, ()) >= fixed, f"{name} may be installed below {'.'.join(map(str, fixed))}"
    for name, floor in floors.items():
        installed = tuple(int(p) for p in version(name).split(".")[:len(floor)] if p.isdigit())
        assert installed >= floor, f"{name} {version(name)} is installed, below the declared {floor}"


def test_the_declared_python_is_the_one_tested() -> None:
    declared = _project()["requires-python"]
    assert declared == ">=3.11", declared  # the suite reads TOML with tomllib (3.11) and runs on 3.11
    assert sys.version_info >= (3, 11)


IMPORT_EVERYTHING = r"""
import csv, json, logging, os, pkgutil, signal, socket, sys, threading, warnings

def state():
    loggers = {name: (getattr(l, "level", None), len(getattr(l, "handlers", [])), getattr(l, "disabled", None))
               for name, l in logging.Logger.manager.loggerDict.items() if isinstance(l, logging.Logger)}
    return {
        "csv.field_size_limit": csv.field_size_limit(),
        "root logger": [logging.getLogger().level, len(logging.getLogger().handlers)],
        "loggers with settings": {n: v for n, v in loggers.items() if v != (0, 0, False)},
        "logging.disable": logging.root.manager.disable,
        "warnings.filters": [repr(f) for f in warnings.filters],
        "sys.path": list(sys.path), "os.environ": dict(os.environ),
        "socket timeout": socket.getdefaulttimeout(), "recursion limit": sys.getrecursionlimit(),
        "signals": {s.name: repr(signal.getsignal(s)) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE)},
        "excepthooks": [repr(sys.excepthook), repr(threading.excepthook)],
        "int digits": sys.get_int_max_str_digits(), "switch interval": sys.getswitchinterval(),
    }

# The dependencies first: what they do to the process on import is theirs, not the package's.
import jsonschema, pluggy, pytest, referencing, requests, urllib3, yaml
before = state()
import influx_connector
names = sorted(m.name for m in pkgutil.walk_packages(influx_connector.__path__, "influx_connector."))
for name in names:
    __import__(name)
after = state()
print(json.dumps({"modules": len(names),
                  "changed": {k: [before[k], after[k]] for k in before if before[k] != after[k]}}))
"""


def test_importing_the_package_changes_no_global_state() -> None:
    """A host app imports the connector into its own interpreter: no module may change settings
    that belong to the whole process (logging, warnings, the import path, timeouts, signals...)."""
    import json as json_module

    done = subprocess.run([sys.executable, "-c", IMPORT_EVERYTHING], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    found = json_module.loads(done.stdout)
    assert found["modules"] > 40
    changed = found["changed"]
    assert changed == {}, changed
