"""A disk cache of compiled data sources, so a new process does not parse and check YAML again.

Loading a data source reads a dozen YAML files and checks each against the authoring schemas,
which costs far more than the rest of a CLI call. The compiled result is stored, pickled, in a
per-user cache folder, keyed by the engine's version, the names plugins provide and the path,
size and modification time of every file that went into it; any change to any of them is a new
key, so a stale entry is never used. Only a folder owned by the current user and not writable
by others is read from. ``INFLUX_CONNECTOR_CACHE`` names another folder, or ``off`` turns the
cache off.
"""
from __future__ import annotations

import copyreg
import hashlib
import io
import json
import logging
import os
import pickle
import stat
import tempfile
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Iterable

log = logging.getLogger(__name__)

CACHE_ENV = "INFLUX_CONNECTOR_CACHE"
#: Bumped whenever the compiled model changes shape, so older entries are never read.
FORMAT = 3


def folder() -> Path | None:
    """The cache folder, or None when caching is off."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "0", "off", "no", "false") else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "influx-connector"


def key(files: Iterable[Path], extra: Iterable[Any]) -> str:
    """A digest of the inputs: each file's path, size and modification time, and ``extra``."""
    from . import __version__

    digest = hashlib.sha256(f"{FORMAT}|{__version__}".encode())
    for item in extra:
        digest.update(b"|" + repr(item).encode())
    for path in files:
        info = path.stat()
        digest.update(f"|{path}|{info.st_size}|{info.st_mtime_ns}".encode())
    return digest.hexdigest()[:32]


def _trusted(where: Path) -> bool:
    """Only a folder this user owns and nobody else can write to is read from (pickles run code)."""
    try:
        info = where.stat()
    except OSError:
        return False
    mine = not hasattr(os, "getuid") or info.st_uid == os.getuid()
    return stat.S_ISDIR(info.st_mode) and mine and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def read_only(mapping: dict[str, Any]) -> MappingProxyType:
    """Rebuilds a read-only mapping when a cache entry is loaded."""
    return MappingProxyType(mapping)


def _reduce_proxy(proxy: MappingProxyType) -> tuple[Any, ...]:
    return (read_only, (dict(proxy),))


def _dumps(value: Any) -> bytes:
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    # Compiled manifests are frozen with read-only mapping proxies, which pickle does not know;
    # taught here, for this pickler only.
    pickler.dispatch_table = {**copyreg.dispatch_table, MappingProxyType: _reduce_proxy}
    pickler.dump(value)
    return buffer.getvalue()


def cached(name: str, digest: str, build: Callable[[], Any], as_json: bool = False) -> Any:
    """The value stored under ``name``/``digest``, or ``build()``'s result, stored for next time.

    ``as_json`` stores plain data as JSON instead of a pickle. Any problem with the cache
    (unreadable, unwritable, corrupt) is logged and ignored: the value is then simply built.
    """
    where = folder()
    if where is None:
        return build()
    entry = where / f"{name}-{digest}.{'json' if as_json else 'pickle'}"
    if _trusted(where) and entry.is_file():
        try:
            data = entry.read_bytes()
            return json.loads(data) if as_json else pickle.loads(data)
        except Exception as exc:  # a corrupt or foreign entry: rebuild it
            log.debug("ignoring the cache entry %s: %s", entry, exc)
    value = build()
    try:
        where.mkdir(mode=0o700, parents=True, exist_ok=True)
        if _trusted(where):
            data = json.dumps(value).encode() if as_json else _dumps(value)
            fd, tmp = tempfile.mkstemp(dir=where, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, entry)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
            for older in where.glob(f"{name}-*.{entry.suffix[1:]}"):  # earlier versions of the same inputs
                if older != entry:
                    older.unlink(missing_ok=True)
    except Exception as exc:
        log.debug("could not store the cache entry %s: %s", entry, exc)
    return value
