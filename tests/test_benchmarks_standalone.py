"""The benchmarks run from the `bench` extra alone: they import the package and their peer, never
the test suite or its tools (a fresh `pip install -e ".[bench]"` has no pytest)."""
from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEST_ONLY = {"tests", "pytest", "hypothesis", "openapi_schema_validator"}


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted((ROOT / "benchmarks").glob("*.py")), ids=lambda p: p.name)
def test_a_benchmark_imports_nothing_of_the_test_suite(path: Path) -> None:
    assert not imported(path) & TEST_ONLY, f"{path.name} imports {sorted(imported(path) & TEST_ONLY)}"


def test_the_test_only_tools_are_not_in_the_bench_extra() -> None:
    """So the check above means something: what it refuses is really missing from .[bench]."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    bench = {spec.split("=")[0].split(">")[0].replace("-", "_") for spec in extras["bench"]}
    assert not bench & TEST_ONLY
    assert {"pytest", "hypothesis"} <= {spec.split(">")[0] for spec in extras["test"]}
