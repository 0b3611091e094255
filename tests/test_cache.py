"""The disk cache of compiled data sources: used when nothing changed, never when anything did,
and never a way for another local user to change what this process does."""
from __future__ import annotations

import ctypes
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from influx_connector import api, cache, influxdb, resources
from influx_connector.model import COMPILED_CLASSES

REPO = Path(__file__).resolve().parent.parent
#: Another local user: the one who shares a folder with the victim.
OTHER_UID = 4242
#: What the other user turns the data source's title into; as long as the real one, so the
#: change fits any entry format (a pickle's strings carry their length).
REAL_TITLE, PLANTED_TITLE = b"InfluxDB", b"Attackr!"

needs_root = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                                reason="making files owned by another user takes root")


@pytest.fixture
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the built-in data source, and a cache folder of this test's own."""
    shutil.copy(influxdb.connector_file(), tmp_path / "connector.yaml")
    shutil.copytree(resources.manifest_dir() / "operations", tmp_path / "operations")
    folder = tmp_path / "cache"
    monkeypatch.setenv(cache.CACHE_ENV, str(folder))
    return tmp_path


def entries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith(".")) if folder.is_dir() else []


def in_new_process(source: Path, expression: str = "','.join(c.operations)",
                   env: dict[str, str] | None = None, **run: Any) -> str:
    script = f"from influx_connector import api; c = api.load({str(source / 'connector.yaml')!r}); print({expression})"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env or os.environ,
                          **run)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def operations_in_new_process(source: Path) -> list[str]:
    return in_new_process(source).split(",")


def planted(data: bytes, marker: Path) -> bytes:
    """What another user would put in place of an entry: code to run, where the format runs
    code (a pickle); otherwise the same entry with the title changed."""
    if data.startswith(b"\x80"):
        return pickle.dumps(_RunsCode(marker))
    return data.replace(REAL_TITLE, PLANTED_TITLE)


class _RunsCode:
    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self) -> Any:
        return (exec, (f"open({self.marker!r}, 'w').write('ran')",))


# --- a cache that works --------------------------------------------------------------------------------


def test_a_compiled_source_is_stored_and_read_back_equal(source: Path) -> None:
    first = operations_in_new_process(source)
    (stored,) = entries(source / "cache")
    assert oct(stored.parent.stat().st_mode & 0o777) == "0o700"
    assert oct(stored.stat().st_mode & 0o777) == "0o600"
    built = api.load(source / "connector.yaml")  # this process: read from the entry
    assert list(built.operations) == first
    compiled = api._compile(source / "connector.yaml", (), api.default_host().provided_names())
    assert cache.to_plain(built) == cache.to_plain(compiled)  # every field, every nested value


def test_the_entry_is_what_a_new_process_reads(source: Path) -> None:
    operations_in_new_process(source)
    (stored,) = entries(source / "cache")
    # Change the entry under the same key: a new process must read that (so the YAML is not
    # parsed again).
    stored.write_bytes(stored.read_bytes().replace(b'"InfluxDB"', b'"from the cache"'))
    assert in_new_process(source, "c.title") == "from the cache"


def test_an_entry_is_plain_data_that_names_no_code(source: Path) -> None:
    operations_in_new_process(source)
    (stored,) = entries(source / "cache")
    header, _, body = stored.read_bytes().partition(b"\n")
    assert json.loads(header)["format"] == cache.FORMAT
    classes: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            (tag, value), = node.items()
            if tag == "$c":
                classes.add(value[0])
            walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(json.loads(body))
    assert classes and classes <= set(COMPILED_CLASSES)


def test_only_allowed_classes_are_rebuilt() -> None:
    assert cache.from_plain('{"$c": ["AuthSpec", [["header", "A"], ["value", "v"]]]}', COMPILED_CLASSES).header == "A"
    for text in ('{"$c": ["Popen", [["args", "id"]]]}', '{"$c": ["AuthSpec", [["header", "A"], ["value", "v"]]]}',
                 '{"$x": 1}', '{"$t": [], "$d": []}'):
        with pytest.raises(ValueError):
            cache.from_plain(text, {"Param": COMPILED_CLASSES["Param"]})
    with pytest.raises(cache.Unstorable):
        cache.to_plain({"f": print})


def test_an_added_or_changed_operation_is_a_new_compile(source: Path) -> None:
    before = operations_in_new_process(source)
    (source / "operations" / "ping_it.yaml").write_text(
        "id: ping_it\ntitle: Ping it\nrequest: {method: GET, path: /ping}\nresponse: {codec: empty}\n"
        "examples: [{name: ping, params: {}}]\n", encoding="utf-8")
    after = operations_in_new_process(source)
    assert after == before + ["ping_it"]
    (source / "operations" / "ping_it.yaml").write_text(
        "id: ping_it\ntitle: Ping it again\nrequest: {method: GET, path: /ping}\nresponse: {codec: empty}\n"
        "examples: [{name: ping, params: {}}]\n", encoding="utf-8")
    assert api.load(source / "connector.yaml").operations["ping_it"].title == "Ping it again"
    assert len(entries(source / "cache")) == 1  # older entries of the same source are removed


def test_an_edit_of_the_same_size_with_the_time_put_back_is_a_new_compile(source: Path) -> None:
    """Size and time say nothing changed; the content does."""
    yaml_file = source / "operations" / "health.yaml"
    text = yaml_file.read_text(encoding="utf-8")
    assert "title: Health\n" in text
    in_new_process(source)
    times = yaml_file.stat()
    yaml_file.write_text(text.replace("title: Health\n", "title: Healed\n"), encoding="utf-8")
    os.utime(yaml_file, ns=(times.st_atime_ns, times.st_mtime_ns))
    assert yaml_file.stat().st_size == times.st_size and yaml_file.stat().st_mtime_ns == times.st_mtime_ns
    assert in_new_process(source, "c.operations['health'].title") == "Healed"


def test_editing_the_engine_is_a_new_compile(tmp_path: Path) -> None:
    """The compiled form depends on the engine's code: an edit to it (same size, same time)
    must not reuse what the old code compiled."""
    copy = tmp_path / "checkout"
    shutil.copytree(REPO / "influx_connector", copy / "influx_connector",
                    ignore=shutil.ignore_patterns("__pycache__", "manifest"))
    for name in ("connector.yaml", "operations", "schemas"):
        (shutil.copytree if (REPO / name).is_dir() else shutil.copy)(REPO / name, copy / name)
    env = {**os.environ, cache.CACHE_ENV: str(tmp_path / "cache"), "PYTHONPATH": str(copy),
           "PYTHONDONTWRITEBYTECODE": "1"}
    script = "from influx_connector import api, resources; api.load(); print(resources.manifest_dir())"

    def run() -> list[str]:
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == str(copy)  # the copy's engine ran, not the installed one
        return [p.name for p in entries(tmp_path / "cache")]

    before = run()
    module = copy / "influx_connector" / "template.py"
    times = module.stat()
    code = module.read_text(encoding="utf-8")
    module.write_text(code.replace("Templates: how", "Templates- how", 1), encoding="utf-8")
    os.utime(module, ns=(times.st_atime_ns, times.st_mtime_ns))
    after = run()
    assert len(before) == len(after) == 1 and before != after


def test_a_corrupt_entry_is_rebuilt(source: Path) -> None:
    operations_in_new_process(source)
    (stored,) = entries(source / "cache")
    stored.write_bytes(b"not an entry")
    assert "write_data" in operations_in_new_process(source)
    assert stored.read_bytes() != b"not an entry"


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


# --- another local user ----------------------------------------------------------------------------------


@needs_root
def test_an_entry_another_user_planted_is_not_read(source: Path) -> None:
    """Another user's file in the cache folder (however it got there) is neither run nor believed."""
    folder = source / "cache"
    operations_in_new_process(source)
    marker = source / "code-ran"
    for stored in entries(folder):
        stored.write_bytes(planted(stored.read_bytes(), marker))
        os.chown(stored, OTHER_UID, OTHER_UID)
    assert in_new_process(source, "c.title") == REAL_TITLE.decode()
    assert not marker.exists(), "a cache entry ran code"


@needs_root
@pytest.mark.slow
def test_swapping_the_folder_during_a_load_is_never_believed(source: Path, monkeypatch: pytest.MonkeyPatch,
                                                             request: pytest.FixtureRequest) -> None:
    """The attack of a user who can write to the cache folder's parent (a shared team folder, a
    CI workspace): they swap the victim's folder for their own, as fast as they can, while the
    victim loads. Whatever the timing, the victim only ever reads its own entries."""
    libc = ctypes.CDLL(None, use_errno=True)
    if not hasattr(libc, "renameat2"):
        pytest.skip("the C library has no renameat2 (an atomic swap of two folders)")
    # The parent others may write to; outside pytest's temporary folders, which only root may enter.
    shared = Path(tempfile.mkdtemp(prefix="shared-cache-"))
    request.addfinalizer(lambda: shutil.rmtree(shared, ignore_errors=True))
    shared.chmod(0o777)
    mine, theirs = shared / "influx-connector", shared / "theirs"
    monkeypatch.setenv(cache.CACHE_ENV, str(mine))
    api._cache.clear()
    legit = api.load(source / "connector.yaml")
    marker = shared / "code-ran"
    theirs.mkdir()
    for stored in entries(mine):
        (theirs / stored.name).write_bytes(planted(stored.read_bytes(), marker))
        os.chown(theirs / stored.name, OTHER_UID, OTHER_UID)
    os.chown(theirs, OTHER_UID, OTHER_UID)
    # Loading reads the entry; building is made instant, so the victim loads as often as it can.
    monkeypatch.setattr(api, "_compile", lambda *args: legit)

    seconds = 3.0
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    readable, writable = os.pipe()
    pid = os.fork()
    if pid == 0:  # the other user, with no privileges
        try:
            if len(cpus) > 1:  # on a core of its own, so the swaps keep coming while the victim runs
                os.sched_setaffinity(0, cpus[-1:])
            os.setgid(OTHER_UID)
            os.setuid(OTHER_UID)
            swaps, deadline = 0, time.monotonic() + seconds
            a, b = os.fsencode(mine), os.fsencode(theirs)
            while time.monotonic() < deadline:
                if libc.renameat2(-100, a, -100, b, 2) == 0:  # AT_FDCWD, RENAME_EXCHANGE
                    swaps += 1
            os.write(writable, str(swaps).encode())
        finally:
            os._exit(0)
    os.close(writable)
    titles: dict[str, int] = {}
    if len(cpus) > 1:
        os.sched_setaffinity(0, cpus[:-1])
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            api._cache.clear()
            title = api.load(source / "connector.yaml").title
            titles[title] = titles.get(title, 0) + 1
    finally:
        if len(cpus) > 1:
            os.sched_setaffinity(0, cpus)
        os.waitpid(pid, 0)
        swaps = int(os.read(readable, 64) or b"0")
        os.close(readable)
    assert swaps > 1000, "the swapping did not run"
    assert sum(titles.values()) > 50, "the victim hardly loaded"
    assert not marker.exists(), "a cache entry ran code"
    assert titles == {REAL_TITLE.decode(): sum(titles.values())}, f"the other user's entry was read: {titles}"
