"""The reference host's parts that need no server: the store and its key, the row stream's
records, the guard's header parsing."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from influx_connector.errors import APIError
from influx_connector.host.problems import Conflict, Missing
from influx_connector.host.security import Guard
from influx_connector.host.store import Store, load_key
from influx_connector.host.streaming import rows_ndjson
from influx_connector.secrets import Redactor


def test_the_key_file_is_made_0600_once_and_one_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "serve.key"
    key = load_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and load_key(path) == key
    os.chmod(path, 0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        load_key(path)


def test_secrets_saved_under_one_key_are_not_readable_under_another(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite3"
    store = Store(db, load_key(tmp_path / "a.key"))
    saved = store.add_source("one", "influxdb", {"host": "h"}, {"token": "t0k3n-value"})
    assert store.source(saved.id).secrets == {"token": "t0k3n-value"}
    assert "t0k3n-value" not in repr(saved.public()) and saved.public()["secrets"] == {"token": "configured"}
    other = Store(db, load_key(tmp_path / "b.key"))
    with pytest.raises(Conflict, match="cannot be decrypted"):
        other.source(saved.id)


def test_names_are_unique_and_a_query_needs_its_data_source(tmp_path: Path) -> None:
    store = Store(":memory:")
    first = store.add_source("one", "notes", {}, {})
    with pytest.raises(Conflict) as taken:
        store.add_source("one", "notes", {}, {})
    assert taken.value.field == "name"
    with pytest.raises(Missing):
        store.add_query("q", "no-such-id", "list_notes", {})
    query = store.add_query("q", first.id, "list_notes", {"all_pages": True})
    store.delete_source(first.id)
    with pytest.raises(Missing):
        store.query(query.id)  # its queries go with it


class Rows:
    def __init__(self, rows: list, truncated: bool = False, fail: Exception | None = None):
        self.rows, self.truncated, self.fail, self.closed = rows, truncated, fail, False

    def __iter__(self):
        yield from self.rows
        if self.fail is not None:
            raise self.fail

    def close(self) -> None:
        self.closed = True


def lines(chunks) -> list:
    return [json.loads(line) for line in b"".join(chunks).decode().splitlines()]


def test_a_row_stream_ends_with_a_record_of_its_rows_and_writes_nan_as_null() -> None:
    rows = Rows([{"v": 1.5, "s": "a\nb"}, {"v": float("nan"), "s": "é"}], truncated=True)
    out = lines(rows_ndjson(rows, Redactor.of([])))
    assert out == [{"row": {"v": 1.5, "s": "a\nb"}}, {"row": {"v": None, "s": "é"}},
                   {"end": {"rows": 2, "truncated": True}}]
    assert rows.closed


def test_a_stream_that_fails_midway_ends_with_the_error_and_masks_secrets() -> None:
    rows = Rows([{"note": "token s3cr3t-token here"}],
                fail=APIError(500, "broke with s3cr3t-token", code="internal error"))
    out = lines(rows_ndjson(rows, Redactor.of(["s3cr3t-token"])))
    assert out[0] == {"row": {"note": "token **** here"}}
    assert out[-1]["error"]["upstream"]["status"] == 500 and out[-1]["rows"] == 1
    assert "s3cr3t-token" not in json.dumps(out)


def test_the_guard_reads_host_names_with_ports_and_brackets() -> None:
    guard = Guard("k" * 32, allowed_hosts=("box.internal",))
    for host in ("127.0.0.1:8765", "localhost", "[::1]:8765", "box.internal:80", "LOCALHOST:1"):
        assert guard.check_host({"HTTP_HOST": host}) == host
    for host in ("evil.example", "127.0.0.1.evil.example:80", "", "localhost.:80"):
        with pytest.raises(Exception, match="does not answer"):
            guard.check_host({"HTTP_HOST": host})
    assert "k" * 32 not in repr(guard)
