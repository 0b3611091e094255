"""The disk cache of compiled data sources: used when nothing changed, never when anything did."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from influx_connector import api, cache, resources


@pytest.fixture
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the built-in data source, and a cache folder of this test's own."""
    shutil.copy(resources.connector_file(), tmp_path / "connector.yaml")
    shutil.copytree(resources.manifest_dir() / "operations", tmp_path / "operations")
    folder = tmp_path / "cache"
    monkeypatch.setenv(cache.CACHE_ENV, str(folder))
    return tmp_path


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.pickle")) if folder.is_dir() else []


def operations_in_new_process(source: Path) -> list[str]:
    script = f"from influx_connector import api; print(','.join(api.load({str(source / 'connector.yaml')!r}).operations))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=os.environ)
    return done.stdout.strip().split(",")


def test_a_compiled_source_is_stored_and_read_back_equal(source: Path) -> None:
    first = operations_in_new_process(source)
    (stored,) = entries(source / "cache")
    assert oct(stored.parent.stat().st_mode & 0o777) == "0o700"
    built = api.load(source / "connector.yaml")  # this process: read from the entry
    assert list(built.operations) == first


def test_the_entry_is_what_a_new_process_reads(source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    operations_in_new_process(source)
    (stored,) = entries(source / "cache")
    # Replace the entry with a different compiled value under the same key: a new process must
    # read that one (proving the YAML is not parsed again).
    import pickle

    value = pickle.loads(stored.read_bytes())
    trimmed = type(value)(**{**value.__dict__, "title": "from the cache"})
    stored.write_bytes(cache._dumps(trimmed))
    script = (f"from influx_connector import api; "
              f"print(api.load({str(source / 'connector.yaml')!r}).title)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=os.environ)
    assert done.stdout.strip() == "from the cache"


def test_an_added_or_changed_operation_is_a_new_compile(source: Path) -> None:
    before = operations_in_new_process(source)
    (source / "operations" / "ping_it.yaml").write_text(
        "id: ping_it\ntitle: Ping it\nrequest: {method: GET, path: /ping}\nresponse: {codec: empty}\n"
        "examples: [{name: ping, params: {}}]\n", encoding="utf-8")
    after = operations_in_new_process(source)
    assert after == before + ["ping_it"]
    time.sleep(0.01)
    (source / "operations" / "ping_it.yaml").write_text(
        "id: ping_it\ntitle: Ping it again\nrequest: {method: GET, path: /ping}\nresponse: {codec: empty}\n"
        "examples: [{name: ping, params: {}}]\n", encoding="utf-8")
    assert api.load(source / "connector.yaml").operations["ping_it"].title == "Ping it again"
    assert len(entries(source / "cache")) == 1  # older entries of the same source are removed


def test_a_corrupt_entry_is_rebuilt(source: Path) -> None:
    operations_in_new_process(source)
    (stored,) = entries(source / "cache")
    stored.write_bytes(b"not a pickle")
    assert "write_data" in operations_in_new_process(source)
    assert stored.read_bytes() != b"not a pickle"


def test_a_folder_others_can_write_to_is_not_read(source: Path) -> None:
    folder = source / "cache"
    operations_in_new_process(source)
    (stored,) = entries(folder)
    stored.write_bytes(b"planted")
    folder.chmod(0o777)
    try:
        assert "write_data" in operations_in_new_process(source)  # built, not read
        assert stored.read_bytes() == b"planted"  # and nothing is written there either
    finally:
        folder.chmod(0o700)


def test_the_cache_can_be_turned_off(source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache.CACHE_ENV, "off")
    assert "write_data" in operations_in_new_process(source)
    assert not (source / "cache").exists()
