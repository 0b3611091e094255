"""Saved data sources and saved queries, in SQLite; secret connection values encrypted at rest.

The database is the service's only state: several processes may serve one file (SQLite's WAL
journal and a busy timeout let them take turns). Each saved data source has a ``revision`` that
every change increases, so a process that keeps a connection open for it can tell it is stale.

Secret values (the fields a data source marks ``secret``) are kept apart from the others, as one
Fernet token (AES-128-CBC with HMAC-SHA256, from ``cryptography``) per data source. The key is
read from a file created with 0600 permissions on first start; an in-memory store (the sandbox's)
gets a key that lives only as long as the process.
"""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .problems import Conflict, Missing

log = logging.getLogger(__name__)

MEMORY = ":memory:"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS data_sources (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    plain TEXT NOT NULL,
    secret BLOB NOT NULL,
    revision INTEGER NOT NULL DEFAULT 1,
    detected TEXT NOT NULL DEFAULT '{}',
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS queries (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    data_source TEXT NOT NULL REFERENCES data_sources(id) ON DELETE CASCADE,
    operation TEXT NOT NULL,
    params TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
"""


@dataclass(frozen=True)
class SavedSource:
    """A saved data source as stored: its plain values, and its secrets once decrypted."""

    id: str
    name: str
    type: str
    plain: Mapping[str, Any]
    secrets: Mapping[str, Any]
    revision: int
    created: float
    updated: float
    #: Connection fields Test connection found out from the server (``detect``), remembered so
    #: every process lists the operations of the server it talks to.
    detected: Mapping[str, str] = field(default_factory=dict)

    def values(self) -> dict[str, Any]:
        """Every connection value: what a connection is opened with (never sent to a client)."""
        return {**self.plain, **self.secrets}

    def public(self) -> dict[str, Any]:
        """What a client may see: the plain values, and which secrets are configured (not them)."""
        return {"id": self.id, "name": self.name, "type": self.type, "values": dict(self.plain),
                "secrets": {name: "configured" for name, value in self.secrets.items() if value not in (None, "")},
                "detected": dict(self.detected), "revision": self.revision, "created": self.created,
                "updated": self.updated}


@dataclass(frozen=True)
class SavedQuery:
    id: str
    name: str
    data_source: str
    operation: str
    params: Mapping[str, Any]
    created: float
    updated: float

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "data_source": self.data_source, "operation": self.operation,
                "params": dict(self.params), "created": self.created, "updated": self.updated}


def load_key(path: Path) -> bytes:
    """The Fernet key in ``path``, created (0600, written once) when the file does not exist.

    A key file others may read is refused: it unlocks every saved secret."""
    from cryptography.fernet import Fernet

    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise PermissionError(f"{path}: the key file is readable by others (mode {stat.S_IMODE(mode):o}); "
                                  f"make it 0600 (chmod 600 {path})") from None
        return path.read_bytes().strip()
    key = Fernet.generate_key()
    with os.fdopen(fd, "wb") as out:
        out.write(key + b"\n")
    log.info("created the key file %s for secrets at rest", path)
    return key


class Store:
    """SQLite-backed saved data sources and queries. Thread-safe: one connection per thread
    (for a file), or one shared connection under a lock (in memory)."""

    def __init__(self, path: str | Path, key: bytes | None = None):
        from cryptography.fernet import Fernet

        self.path = str(path)
        self.memory = self.path == MEMORY
        if key is None and not self.memory:
            raise ValueError("a file-backed store needs the key of its secrets")
        self._fernet = Fernet(key or Fernet.generate_key())
        self._local = threading.local()
        self._lock = threading.RLock()
        self._shared: sqlite3.Connection | None = None
        with self._db() as db:
            db.executescript(_SCHEMA)
            columns = {row["name"] for row in db.execute("PRAGMA table_info(data_sources)")}
            if "detected" not in columns:  # a database saved before detection was remembered
                db.execute("ALTER TABLE data_sources ADD COLUMN detected TEXT NOT NULL DEFAULT '{}'")

    def __repr__(self) -> str:
        return f"Store({self.path!r})"

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, check_same_thread=not self.memory, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA foreign_keys = ON")
        if not self.memory:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA busy_timeout = 30000")
        return db

    class _Using:
        def __init__(self, store: Store, db: sqlite3.Connection, locked: bool):
            self.store, self.db, self.locked = store, db, locked

        def __enter__(self) -> sqlite3.Connection:
            if self.locked:
                self.store._lock.acquire()
            return self.db

        def __exit__(self, *exc: object) -> None:
            if self.locked:
                self.store._lock.release()

    def _db(self) -> Store._Using:
        if self.memory:
            if self._shared is None:
                self._shared = self._connect()
            return Store._Using(self, self._shared, True)
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._connect()
        return Store._Using(self, db, False)

    # --- secrets ----------------------------------------------------------------------------

    def _seal(self, secrets: Mapping[str, Any]) -> bytes:
        return self._fernet.encrypt(json.dumps(dict(secrets)).encode())

    def _open(self, token: bytes) -> dict[str, Any]:
        from cryptography.fernet import InvalidToken

        try:
            return dict(json.loads(self._fernet.decrypt(token)))
        except InvalidToken:
            raise Conflict("secrets_unreadable", "the saved secrets cannot be decrypted with this key file; "
                           "enter them again") from None

    # --- data sources -----------------------------------------------------------------------

    def _source(self, row: sqlite3.Row) -> SavedSource:
        return SavedSource(row["id"], row["name"], row["type"], json.loads(row["plain"]), self._open(row["secret"]),
                           row["revision"], row["created"], row["updated"], json.loads(row["detected"]))

    def sources(self) -> list[SavedSource]:
        with self._db() as db:
            rows = db.execute("SELECT * FROM data_sources ORDER BY name").fetchall()
        return [self._source(r) for r in rows]

    def source(self, source_id: str) -> SavedSource:
        with self._db() as db:
            row = db.execute("SELECT * FROM data_sources WHERE id = ?", (source_id,)).fetchone()
        if row is None:
            raise Missing("data_source_not_found", f"no saved data source '{source_id}'")
        return self._source(row)

    def revision(self, source_id: str) -> int:
        """The current revision of a saved data source (cheap: no decryption)."""
        with self._db() as db:
            row = db.execute("SELECT revision FROM data_sources WHERE id = ?", (source_id,)).fetchone()
        if row is None:
            raise Missing("data_source_not_found", f"no saved data source '{source_id}'")
        return int(row[0])

    def add_source(self, name: str, type_id: str, plain: Mapping[str, Any], secrets: Mapping[str, Any]) -> SavedSource:
        now = time.time()
        source_id = uuid.uuid4().hex[:12]
        with self._db() as db:
            try:
                db.execute("INSERT INTO data_sources (id, name, type, plain, secret, created, updated) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (source_id, name, type_id, json.dumps(dict(plain)), self._seal(secrets), now, now))
            except sqlite3.IntegrityError:
                raise Conflict("name_taken", f"a data source named '{name}' is already saved", "name") from None
        return self.source(source_id)

    def update_source(self, source_id: str, name: str, plain: Mapping[str, Any],
                      secrets: Mapping[str, Any], keep_detected: bool = False) -> SavedSource:
        """Save new values; what was found out from the server is forgotten unless
        ``keep_detected`` (the values still reach the same server)."""
        with self._db() as db:
            try:
                cur = db.execute("UPDATE data_sources SET name = ?, plain = ?, secret = ?, revision = revision + 1, "
                                 "updated = ?, detected = CASE WHEN ? THEN detected ELSE '{}' END WHERE id = ?",
                                 (name, json.dumps(dict(plain)), self._seal(secrets), time.time(), keep_detected,
                                  source_id))
            except sqlite3.IntegrityError:
                raise Conflict("name_taken", f"a data source named '{name}' is already saved", "name") from None
        if cur.rowcount == 0:
            raise Missing("data_source_not_found", f"no saved data source '{source_id}'")
        return self.source(source_id)

    def remember_detected(self, source_id: str, revision: int, detected: Mapping[str, str]) -> bool:
        """Remember what Test connection found out, if the data source is still at ``revision``
        (values changed meanwhile may reach another server) and it differs from what is kept.
        A change is a new revision, so every process's open connection learns it."""
        text = json.dumps(dict(detected), sort_keys=True)
        with self._db() as db:
            cur = db.execute("UPDATE data_sources SET detected = ?, revision = revision + 1 "
                             "WHERE id = ? AND revision = ? AND detected != ?", (text, source_id, revision, text))
        return cur.rowcount > 0

    def delete_source(self, source_id: str) -> None:
        with self._db() as db:
            cur = db.execute("DELETE FROM data_sources WHERE id = ?", (source_id,))
        if cur.rowcount == 0:
            raise Missing("data_source_not_found", f"no saved data source '{source_id}'")

    # --- queries ----------------------------------------------------------------------------

    @staticmethod
    def _query(row: sqlite3.Row) -> SavedQuery:
        return SavedQuery(row["id"], row["name"], row["data_source"], row["operation"], json.loads(row["params"]),
                          row["created"], row["updated"])

    def queries(self) -> list[SavedQuery]:
        with self._db() as db:
            rows = db.execute("SELECT * FROM queries ORDER BY name").fetchall()
        return [self._query(r) for r in rows]

    def query(self, query_id: str) -> SavedQuery:
        with self._db() as db:
            row = db.execute("SELECT * FROM queries WHERE id = ?", (query_id,)).fetchone()
        if row is None:
            raise Missing("query_not_found", f"no saved query '{query_id}'")
        return self._query(row)

    def add_query(self, name: str, source_id: str, operation: str, params: Mapping[str, Any]) -> SavedQuery:
        self.revision(source_id)  # says which data source is missing, rather than a bare constraint
        now = time.time()
        query_id = uuid.uuid4().hex[:12]
        with self._db() as db:
            try:
                db.execute("INSERT INTO queries (id, name, data_source, operation, params, created, updated) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (query_id, name, source_id, operation, json.dumps(dict(params)), now, now))
            except sqlite3.IntegrityError:
                raise Conflict("name_taken", f"a query named '{name}' is already saved", "name") from None
        return self.query(query_id)

    def update_query(self, query_id: str, name: str, source_id: str, operation: str,
                     params: Mapping[str, Any]) -> SavedQuery:
        self.revision(source_id)
        with self._db() as db:
            try:
                cur = db.execute("UPDATE queries SET name = ?, data_source = ?, operation = ?, params = ?, updated = ? "
                                 "WHERE id = ?", (name, source_id, operation, json.dumps(dict(params)), time.time(),
                                                  query_id))
            except sqlite3.IntegrityError:
                raise Conflict("name_taken", f"a query named '{name}' is already saved", "name") from None
        if cur.rowcount == 0:
            raise Missing("query_not_found", f"no saved query '{query_id}'")
        return self.query(query_id)

    def delete_query(self, query_id: str) -> None:
        with self._db() as db:
            cur = db.execute("DELETE FROM queries WHERE id = ?", (query_id,))
        if cur.rowcount == 0:
            raise Missing("query_not_found", f"no saved query '{query_id}'")

