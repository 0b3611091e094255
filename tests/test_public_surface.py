"""What hosts and plugin authors may use is stated, and it all imports; the rest says it is internal."""
from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import influx_connector

PACKAGE = Path(influx_connector.__file__).resolve().parent
#: The modules named public in the package's docstring.
PUBLIC = {"api", "connection", "errors", "forms", "hookspecs", "messages", "model", "plugins", "sandbox", "influxdb",
          "cli", "reference", "host", "binary", "__main__", "__init__"}


@pytest.mark.parametrize("name", influx_connector.__all__)
def test_every_exported_name_exists(name: str) -> None:
    value = getattr(influx_connector, name)
    assert value is not None
    # Exported from its home module: the same object either way.
    home = influx_connector._HOMES.get(name)
    if home is not None:
        assert getattr(importlib.import_module(f"influx_connector.{home}"), name) is value


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        influx_connector.nothing_here  # noqa: B018


def test_the_documented_public_modules_are_the_ones_the_docstring_names() -> None:
    doc = influx_connector.__doc__ or ""
    for name in PUBLIC - {"__main__", "__init__"}:
        assert f"``{name}``" in doc, name
        importlib.import_module(f"influx_connector.{name}")


def test_what_the_readme_imports_imports() -> None:
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    lines = [line.strip() for line in readme.splitlines()
             if line.strip().startswith(("from influx_connector", "import influx_connector"))]
    assert lines, "the README shows no import"
    for line in lines:
        statement = line.split("#", 1)[0].strip()
        exec(compile(statement, "README.md", "exec"), {})  # noqa: S102 - the README's own import lines


def _docstring(path: Path) -> str:
    return ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""


def test_every_other_module_says_it_is_internal() -> None:
    unmarked = [path.name for path in sorted(PACKAGE.glob("*.py"))
                if path.stem not in PUBLIC and "Internal" not in _docstring(path)]
    assert unmarked == []


def test_the_connections_own_concerns_are_marked_internal() -> None:
    folder = PACKAGE / "connection"
    exported = set(importlib.import_module("influx_connector.connection").__all__)
    assert {"Connection", "Result", "Rows", "TestReport"} <= exported
    for module in ("exchange", "paging", "batching", "checks"):
        assert "Internal" in _docstring(folder / f"{module}.py"), module


def test_importing_the_package_loads_no_http_library() -> None:
    """Names load when used: a host that only draws forms does not pay for the HTTP stack."""
    env = {**os.environ, "PYTHONPATH": str(PACKAGE.parent)}
    code = "import sys, influx_connector; print(sorted(m for m in ('requests', 'urllib3') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "[]"
