"""The data sources the service hosts, their forms, and open connections to the saved ones.

Every installed data source is hosted, plus those given by path. Each is compiled by
``api.load``, which compiles again when a file changed: an operation file dropped into an
extension folder shows in the next listing without a restart. Running an operation reuses the
compiled data source for up to ``refresh_seconds`` (checking the files costs more than the
service's whole per-call budget), and looks again at once for an operation it does not know.

Connections are kept open per saved data source and revision: a revision another process
wrote (an edit of the token, say) opens a new connection, so the cache never serves stale values.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .. import api, formats, forms
from ..connection import Connection
from ..errors import NotFoundError
from ..model import DataSource
from ..plugins import PluginHost, default_host
from .problems import Missing
from .store import SavedSource, Store

log = logging.getLogger(__name__)


class Catalog:
    """Compiled data sources by id, and open connections by saved data source."""

    def __init__(self, host: PluginHost | None = None, sources: Iterable[str | Path] = (),
                 operation_dirs: Iterable[str | Path] = (), refresh_seconds: float = 1.0):
        self.host = host or default_host()
        self.paths = tuple(Path(p) for p in sources)
        self.operation_dirs = tuple(Path(d) for d in operation_dirs)
        self.refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._compiled: dict[str, tuple[float, DataSource]] = {}
        self._connections: dict[str, tuple[int, DataSource, Connection]] = {}

    def _files(self) -> dict[str, Path]:
        found = dict(api.installed(self.host))
        for path in self.paths:
            found[api._declared_id(path)] = path
        return found

    def _load(self, path: Path) -> DataSource:
        return api.load(path, self.operation_dirs, self.host)

    def all(self) -> list[DataSource]:
        """Every hosted data source, compiled now (so new operation files show)."""
        loaded = [self._load(path) for path in self._files().values()]
        now = time.monotonic()
        with self._lock:
            for ds in loaded:
                self._compiled[ds.id] = (now, ds)
        return loaded

    def get(self, type_id: str, fresh: bool = False) -> DataSource:
        with self._lock:
            seen = self._compiled.get(type_id)
        if seen is not None and not fresh and time.monotonic() - seen[0] < self.refresh_seconds:
            return seen[1]
        path = self._files().get(type_id)
        if path is None:
            raise Missing("data_source_type_not_found", f"no data source type '{type_id}' is hosted; "
                                                        f"hosted: {', '.join(sorted(self._files()))}")
        ds = self._load(path)
        with self._lock:
            self._compiled[type_id] = (time.monotonic(), ds)
        return ds

    def describe(self, ds: DataSource) -> dict[str, Any]:
        """A data source as the page draws it: forms, operations in their declared order, hints."""
        return {
            "id": ds.id, "title": ds.title, "description": ds.description, "docs_url": ds.docs_url,
            "formats": dict(formats.CUSTOM_FORMATS),
            "connection": forms.connection_form(ds),
            "secret_fields": list(ds.connection.secret_fields),
            "operations": [{"id": op.id, "title": op.title, "description": op.description,
                            "aliases": list(op.aliases), "form": forms.operation_form(ds, op),
                            "result": _plain(op.result)}
                           for op in ds.operations.values()],
            "problems": [str(p) for p in ds.problems],
        }

    @staticmethod
    def operations_for(saved: SavedSource, conn: Connection) -> dict[str, Any]:
        """The operations of a saved data source, each saying whether its server serves it and,
        if not, why (the words running it would be refused with), as the manifest's ``needs``
        and what Test connection found out decide. ``undetermined`` names the connection fields
        still to be found out: until then every operation is available."""
        return {"data_source": saved.id, "revision": saved.revision, "detected": dict(conn.detected),
                "undetermined": conn.undetermined(),
                "operations": [{"id": op.id, "title": op.title, "available": why is None, "reason": why,
                                "needs": {k: list(v) for k, v in op.needs.items()}}
                               for op, why in conn.availability()]}

    def connection(self, saved: SavedSource, operation: str | None = None) -> Connection:
        """An open connection for a saved data source at its current revision."""
        ds = self.get(saved.type)
        if operation is not None and not _knows(ds, operation):
            ds = self.get(saved.type, fresh=True)
        with self._lock:
            cached = self._connections.get(saved.id)
        if cached is not None and cached[0] == saved.revision and cached[1] is ds:
            return cached[2]
        conn = Connection(ds, saved.values(), self.host)
        conn.detected.update(saved.detected)  # found out by an earlier test, in any process
        with self._lock:
            current = self._connections.get(saved.id)
            if current is not None and current[0] == saved.revision and current[1] is ds:
                winner = current[2]  # another thread opened it meanwhile: ours was never used
            else:
                # A connection of an older revision is dropped, not closed: a call may still be
                # using it, and its pool closes its sockets when it is collected.
                winner = conn
                self._connections[saved.id] = (saved.revision, ds, conn)
        if winner is not conn:
            conn.close()
        return winner

    def cached_connection(self, store: Store, source_id: str, operation: str | None = None) -> Connection:
        """The open connection for a saved data source, reading only its revision when it is
        current (no decryption per call)."""
        with self._lock:
            cached = self._connections.get(source_id)
        if cached is not None:
            ds = self.get(cached[1].id)
            if cached[1] is ds and (operation is None or _knows(ds, operation)) \
                    and store.revision(source_id) == cached[0]:
                return cached[2]
        return self.connection(store.source(source_id), operation)

    def forget(self, source_id: str) -> None:
        """Drop the open connection of a changed or deleted data source (not closed: a call may
        still be using it)."""
        with self._lock:
            self._connections.pop(source_id, None)

    def close(self) -> None:
        with self._lock:
            items = list(self._connections.values())
            self._connections.clear()
        for _, _, conn in items:
            conn.close()


def _knows(ds: DataSource, operation: str) -> bool:
    try:
        ds.operation(operation)
    except NotFoundError:
        return False
    return True


def _plain(value: Any) -> Any:
    """A compiled mapping (read-only views inside) as plain JSON data."""
    if isinstance(value, dict) or hasattr(value, "items"):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
