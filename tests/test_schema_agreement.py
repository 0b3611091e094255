"""The authoring schema and the compiler accept the same manifests.

Manifests are made by mutating the real ones (a key dropped or added, a value of another kind, a
word misspelt, an item removed from a list) and judged twice: by the JSON Schemas alone, as an
editor would, and by the compiler. They must agree. The compiler may refuse more only for what a
schema cannot say (each such check is listed below, and a refusal it cannot explain fails the
test), it must refuse everything the schema refuses, at the same places, and it must never fail
any other way than with ManifestError.
"""
from __future__ import annotations

import copy
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from influx_connector import manifest_schema
from influx_connector.errors import ManifestError, ManifestProblem
from influx_connector.influxdb import connector_file
from influx_connector.manifest import load_data_source
from influx_connector.plugins import default_host
from influx_connector.yamlsource import Located, load_text

NOTES = Path(__file__).parent / "fixtures" / "notes" / "connector.yaml"
SOURCES = {"influxdb": connector_file(), "notes": NOTES}

#: Checks the compiler makes that no JSON Schema can: names that must exist, lists that must
#: line up, patterns and defaults that must mean the same in a form. A compiler problem outside
#: the schema's is allowed only when its message is one of these.
CROSS_CHECKS = (
    r"is not a parameter", r"is not a connection field", r"no plugin provides the", r"unknown template key",
    r"\$param cannot be used here", r"no shared parameter", r"is already (used by|a parameter|an alias of)",
    r"needs one title per enum value", r"the pattern would not mean the same", r"not a valid JSON Schema",
    r"the default does not fit the field", r"^no operation '", r"is not one of \w+'s values",
    r"^path field '", r"the flag --\S+ is already given", r"environment variables need an env_prefix",
    r"is not a field a flag can carry", r"is not a value of the field's type", r"no variable '",
    r"takes no parameters", r"has no result to save from", r"^operation id '", r"a lone brace",
    r"has no key '\w+' beside it", r"is not an auth scheme of the connection", r"not a valid regular expression",
    r"^no test step '",
)
_CROSS = re.compile("|".join(CROSS_CHECKS))

ODD_VALUES = ("x", "sting", "", 0, 7, -1, 2.5, True, None, [], ["x"], {}, {"k": "v"}, {"$param": "nope"})


def nodes(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path of every node of a document, the root's included."""
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += nodes(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += nodes(item, (*path, index))
    return found


def at(doc: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        doc = doc[part]
    return doc


@st.composite
def mutation(draw: st.DrawFn, doc: Any) -> Any:
    """``doc`` with one change at one node."""
    doc = copy.deepcopy(doc)
    path = draw(st.sampled_from(nodes(doc)))
    node = at(doc, path)
    kinds = ["replace"] if path else []
    if isinstance(node, dict) and node:
        kinds += ["drop key", "add key"]
    if isinstance(node, list) and node:
        kinds += ["drop item"]
    if isinstance(node, str) and node:
        kinds += ["misspell"]
    if not kinds:
        return doc
    kind = draw(st.sampled_from(kinds))
    if kind == "drop key":
        del node[draw(st.sampled_from(sorted(node, key=str)))]
    elif kind == "add key":
        node[draw(st.sampled_from(["sucess", "extra", "titel", "$param", "params"]))] = draw(st.sampled_from(ODD_VALUES))
    elif kind == "drop item":
        del node[draw(st.integers(0, len(node) - 1))]
    else:
        if kind == "misspell":
            cut = draw(st.integers(0, len(node) - 1))
            value: Any = node[:cut] + node[cut + 1:] if len(node) > 1 else node + node
        else:
            value = draw(st.sampled_from(ODD_VALUES))
        parent = at(doc, path[:-1])
        parent[path[-1]] = value
    return doc


def schema_problems(file: Path, text: str) -> list[ManifestProblem]:
    name = (manifest_schema.CONNECTOR if file.name == "connector.yaml" else
            manifest_schema.DEMO if file.name == "demo.yaml" else manifest_schema.OPERATION)
    doc: Located = load_text(text, file.name)
    if not isinstance(doc.data, dict):
        return [doc.problem("", "not a mapping")]
    return manifest_schema.schema_problems(doc, name)


def files_of(source: Path) -> list[Path]:
    found = [source, *sorted((source.parent / "operations").glob("*.yaml"))]
    return found + [source.parent / "demo.yaml"] * (source.parent / "demo.yaml").is_file()


CASES = [(name, file) for name, source in SOURCES.items() for file in files_of(source)]


@pytest.mark.slow
@settings(max_examples=250, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_the_schema_and_the_compiler_judge_alike(data: st.DataObject) -> None:
    name, file = data.draw(st.sampled_from(CASES), label="file")
    original = yaml.safe_load(file.read_text(encoding="utf-8"))
    changed = data.draw(mutation(original), label="mutation")
    text = yaml.safe_dump(changed, sort_keys=False, allow_unicode=True)
    source = SOURCES[name]
    with tempfile.TemporaryDirectory() as folder:
        copy_root = Path(folder) / name
        copy_root.mkdir()
        for part in files_of(source):
            (copy_root / part.relative_to(source.parent)).parent.mkdir(exist_ok=True)
            shutil.copy(part, copy_root / part.relative_to(source.parent))
        target = copy_root / file.relative_to(source.parent)
        target.write_text(text, encoding="utf-8")
        by_schema = schema_problems(target, text)
        try:
            load_data_source(copy_root / "connector.yaml", (), default_host().provided_names(), strict=True)
            by_compiler: list[ManifestProblem] = []
        except ManifestError as exc:
            by_compiler = [p for p in exc.problems if p.is_error]
    if by_schema:
        assert by_compiler, f"the compiler accepts what the schema refuses: {by_schema}"
        here = {p.pointer for p in by_compiler if p.file.endswith(target.name)}
        assert {p.pointer for p in by_schema} <= here, (by_schema, by_compiler)
    schema_spots = {p.pointer for p in by_schema}
    unexplained = [p for p in by_compiler
                   if not (p.file.endswith(target.name) and p.pointer in schema_spots) and not _CROSS.search(p.message)]
    assert not unexplained, f"the compiler refuses, for no reason the schema or a listed check gives: {unexplained}"


def test_the_unmutated_manifests_pass_both() -> None:
    for _name, file in CASES:
        assert schema_problems(file, file.read_text(encoding="utf-8")) == [], file
    for source in SOURCES.values():
        assert load_data_source(source, (), default_host().provided_names(), strict=True).problems == ()


@pytest.mark.parametrize(("name", "file"), CASES, ids=[f"{n}:{f.name}" for n, f in CASES])
def test_every_manifest_reads_alike_with_and_without_libyaml(name: str, file: Path) -> None:
    """The engine reads YAML with libyaml when it is there and with PyYAML's own parser when it is
    not; the two disagree on some plain scalars in flow mappings (a '?' inside one)."""
    text = file.read_text(encoding="utf-8")
    pure = yaml.load(text, Loader=yaml.SafeLoader)  # noqa: S506 - the safe loader, pure Python
    assert pure == load_text(text, file.name).data
