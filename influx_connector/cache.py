"""A disk cache of compiled data sources, so a new process does not parse and check YAML again.

Loading a data source reads a dozen YAML files and checks each against the authoring schemas,
which costs far more than the rest of a CLI call. The compiled result is stored in a per-user
cache folder, keyed by a digest of the content of every file that went into it, of the engine's
own code and schemas, and of the names plugins provide: any change to any of them is a new key,
so a stale entry is never used.

An entry is plain JSON. Compiled classes are rebuilt by name from an allow-list the caller
gives, with the constructor's own checks, so an entry can describe a manifest but never name a
module to import or a function to call. Because a planted entry could still point requests
somewhere else, entries are only read from, and written to, a folder that this user owns and
nobody else can write to; the checks are made with ``fstat`` on descriptors opened without
following symbolic links (the folder first, then the entry inside it), so the folder cannot be
swapped between the check and the read. ``INFLUX_CONNECTOR_CACHE`` names another folder, or
``off`` turns the cache off.

Internal to the engine (not part of what hosts use; see ``influx_connector.__all__``).
"""
from __future__ import annotations

import dataclasses
import datetime
import functools
import hashlib
import json
import logging
import os
import secrets
import stat
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

log = logging.getLogger(__name__)

CACHE_ENV = "INFLUX_CONNECTOR_CACHE"
#: Bumped whenever the entry format changes, so older entries are never read.
FORMAT = 4
#: No entry is larger than this; a bigger file is not read (what comes from disk is bounded).
MAX_ENTRY_BYTES = 16 * 1024 * 1024
SUFFIX = ".json"

_PACKAGE = Path(__file__).resolve().parent
# Descriptor-relative calls (openat, renameat, unlinkat) and O_NOFOLLOW are what make the checks
# hold; where the platform lacks them the cache is simply not used.
SUPPORTED = (hasattr(os, "O_NOFOLLOW") and hasattr(os, "O_DIRECTORY") and os.open in os.supports_dir_fd
             and hasattr(os, "geteuid"))


def folder() -> Path | None:
    """The cache folder, or None when caching is off."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "0", "off", "no", "false") else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "influx-connector"


# --- keys ------------------------------------------------------------------------------------------


@functools.cache
def engine_digest(package: Path = _PACKAGE) -> str:
    """A digest of the engine's modules and the authoring schemas: editing either is a new key."""
    from . import __version__, resources

    digest = hashlib.sha256(f"{FORMAT}|{__version__}|{sys.version_info[:2]}".encode())
    for path in (*sorted(package.glob("*.py")), *sorted(resources.schemas_dir().glob("*.json"))):
        _add_file(digest, path)
    return digest.hexdigest()


def key(files: Iterable[Path], extra: Iterable[Any]) -> str:
    """A digest of the content of ``files`` (a folder counts by its name), the engine and ``extra``."""
    digest = hashlib.sha256(engine_digest().encode())
    for item in extra:
        digest.update(b"|" + repr(item).encode())
    for path in files:
        if path.is_dir():
            digest.update(b"|dir|" + os.fsencode(path))
        else:
            _add_file(digest, path)
    return digest.hexdigest()[:32]


def _add_file(digest: Any, path: Path) -> None:
    data = path.read_bytes()
    # Lengths first, so no two different (name, content) lists hash alike.
    name = os.fsencode(path)
    digest.update(b"|%d|%s|%d|" % (len(name), name, len(data)))
    digest.update(data)


# --- plain data: what an entry holds ------------------------------------------------------------------


class Unstorable(TypeError):
    """A value holds something plain data cannot describe; it is then not stored."""


def to_plain(value: Any) -> Any:
    """``value`` as JSON-ready data, tagging what JSON has no type for.

    Every JSON object in the result is a one-tag wrapper (mapping contents become lists of
    pairs), so reading back can never mistake data for a tag.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, tuple):
        return {"$t": [to_plain(v) for v in value]}
    if isinstance(value, (dict, MappingProxyType)):
        pairs = [[to_plain(k), to_plain(v)] for k, v in value.items()]
        return {"$m" if isinstance(value, MappingProxyType) else "$d": pairs}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = [[f.name, to_plain(getattr(value, f.name))] for f in dataclasses.fields(value) if f.init]
        return {"$c": [type(value).__name__, fields]}
    if isinstance(value, datetime.datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"$date": value.isoformat()}
    raise Unstorable(f"cannot store a {type(value).__name__}")


def from_plain(text: str | bytes, classes: Mapping[str, type]) -> Any:
    """Rebuild what ``to_plain`` wrote; only the dataclasses named in ``classes`` are made."""

    def rebuild(obj: dict[str, Any]) -> Any:
        if len(obj) != 1:
            raise ValueError("not a cache entry")
        (tag, body), = obj.items()
        if tag == "$t":
            return tuple(body)
        if tag == "$d":
            return {_hashable(k): v for k, v in body}
        if tag == "$m":
            return MappingProxyType({_hashable(k): v for k, v in body})
        if tag == "$c":
            name, fields = body
            cls = classes.get(name)
            if cls is None:
                raise ValueError(f"{name!r} is not a class a cache entry may hold")
            return cls(**{str(k): v for k, v in fields})
        if tag == "$dt":
            return datetime.datetime.fromisoformat(body)
        if tag == "$date":
            return datetime.date.fromisoformat(body)
        raise ValueError(f"unknown tag {tag!r} in a cache entry")

    return json.loads(text, object_hook=rebuild)


def _hashable(key: Any) -> Any:
    if isinstance(key, list):
        raise ValueError("a list cannot be a mapping key")
    return key


# --- the folder, through descriptors -----------------------------------------------------------------


class _Untrusted(OSError):
    """The folder or entry is not this user's alone."""


def _check(fd: int, kind: int) -> os.stat_result:
    info = os.fstat(fd)
    if stat.S_IFMT(info.st_mode) != kind:
        raise _Untrusted("not a folder" if kind == stat.S_IFDIR else "not a regular file")
    if info.st_uid != os.geteuid():
        raise _Untrusted(f"owned by uid {info.st_uid}, not by this user")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise _Untrusted("writable by other users")
    return info


def _open_folder(where: Path, create: bool) -> int:
    """A descriptor of the cache folder itself (never a link to one), checked to be this user's alone."""
    if create:
        try:
            where.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.mkdir(where, 0o700)
        except FileExistsError:
            pass
    fd = os.open(where, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        _check(fd, stat.S_IFDIR)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _read(dir_fd: int, name: str) -> bytes:
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=dir_fd)
    try:
        info = _check(fd, stat.S_IFREG)
        if info.st_size > MAX_ENTRY_BYTES:
            raise _Untrusted(f"larger than {MAX_ENTRY_BYTES} bytes")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(MAX_ENTRY_BYTES + 1)
    finally:
        os.close(fd)


def _write(dir_fd: int, name: str, data: bytes, prefix: str) -> None:
    tmp = f".tmp-{secrets.token_hex(8)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dir_fd)
    try:
        with os.fdopen(fd, "wb", closefd=False) as fh:
            fh.write(data)
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        os.unlink(tmp, dir_fd=dir_fd)
        raise
    finally:
        os.close(fd)
    for older in os.listdir(dir_fd):  # earlier versions of the same inputs, and pickles of old releases
        if older.startswith(prefix) and older.endswith((SUFFIX, ".pickle")) and older != name:
            os.unlink(older, dir_fd=dir_fd)


def cached(name: str, digest: str, build: Callable[[], Any], classes: Mapping[str, type] = MappingProxyType({})) -> Any:
    """The value stored under ``name``/``digest``, or ``build()``'s result, stored for next time.

    ``classes`` are the dataclasses an entry may hold, by name. Any problem with the cache
    (unreadable, unwritable, not this user's, corrupt) is logged and ignored: the value is then
    simply built.
    """
    where = folder()
    if where is None or not SUPPORTED:
        return build()
    entry = f"{name}-{digest}{SUFFIX}"
    header = json.dumps({"format": FORMAT, "key": digest}).encode()
    try:
        dir_fd: int | None = _open_folder(where, create=False)
    except FileNotFoundError:
        dir_fd = None
    except OSError as exc:
        log.debug("not using the cache folder %s: %s", where, exc)
        return build()
    try:
        if dir_fd is not None:
            try:
                first, _, body = _read(dir_fd, entry).partition(b"\n")
                if first == header:
                    return from_plain(body, classes)
                log.debug("ignoring the cache entry %s: made for other inputs", entry)
            except FileNotFoundError:
                pass
            except Exception as exc:  # a corrupt or foreign entry: rebuild it
                log.debug("ignoring the cache entry %s: %s", entry, exc)
        value = build()
        try:
            data = header + b"\n" + json.dumps(to_plain(value), separators=(",", ":")).encode()
            if dir_fd is None:
                dir_fd = _open_folder(where, create=True)
            _write(dir_fd, entry, data, prefix=f"{name}-")
        except Exception as exc:
            log.debug("could not store the cache entry %s in %s: %s", entry, where, exc)
        return value
    finally:
        if dir_fd is not None:
            os.close(dir_fd)
