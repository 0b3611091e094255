"""The manifest keys for a data source that serves two kinds of server (needs, detect,
auth schemes) are checked like every other name: a wrong one is a problem with its place."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from influx_connector.errors import ManifestError
from influx_connector.influxdb import connector_file
from influx_connector.manifest import load_data_source
from influx_connector.plugins import default_host


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    source = connector_file().parent
    shutil.copy(source / "connector.yaml", tmp_path / "connector.yaml")
    shutil.copytree(source / "operations", tmp_path / "operations")
    return tmp_path


def problems(folder: Path) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        load_data_source(folder / "connector.yaml", provided=default_host().provided_names())
    return [f"{p.pointer}: {p.message}" for p in caught.value.problems]


def edit(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_needs_names_a_field_and_one_of_its_values(copy: Path) -> None:
    edit(copy / "operations" / "query_sql.yaml", lambda d: d.update(needs={"api": "v4", "flavour": "x"}))
    found = problems(copy)
    assert any(p.startswith("/needs/api: 'v4' is not one of api's values") for p in found), found
    assert any(p.startswith("/needs/flavour: 'flavour' is not a connection field") for p in found), found


def test_a_request_names_an_auth_scheme_the_connection_has(copy: Path) -> None:
    edit(copy / "operations" / "write_lp.yaml", lambda d: d["request"].update(auth="beerer"))
    found = problems(copy)
    assert any(p.startswith("/request/auth: 'beerer' is not an auth scheme of the connection") for p in found), found


def test_detect_names_a_field_its_values_a_step_and_valid_patterns(copy: Path) -> None:
    def change(d: dict) -> None:
        d["connection"]["detect"].update(step="reachabel")
        d["connection"]["detect"]["rules"] = [{"pattern": "^v?3\\.(", "value": "v3"}, {"pattern": "", "value": "v9"}]
        d["test"][0]["needs"] = {"api": "v5"}

    edit(copy / "connector.yaml", change)
    found = problems(copy)
    assert any(p.startswith("/connection/detect/step: no test step 'reachabel'") for p in found), found
    assert any(p.startswith("/connection/detect/rules/0/pattern: not a valid regular expression") for p in found)
    assert any(p.startswith("/connection/detect/rules/1/value: 'v9' is not one of api's values") for p in found)
    assert any(p.startswith("/test/0/needs/api: 'v5' is not one of api's values") for p in found), found
