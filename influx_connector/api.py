"""The facade a host app uses: find data sources, open connections, run operations.

    from influx_connector import api
    with api.connect({"host": "localhost", "token": "..."}) as conn:
        result = conn.run("list_buckets", {"limit": 5})
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import cache
from .demo_spec import demo_file
from .errors import ManifestError, NotFoundError
from .model import COMPILED_CLASSES, Connector, DataSource  # noqa: F401 (Connector: the earlier name)
from .plugins import PluginHost, default_host
from .suggest import did_you_mean

if TYPE_CHECKING:
    from .connection import Connection, Result, TestReport  # noqa: F401

log = logging.getLogger(__name__)

#: Extra folders of operation YAML files, separated like PATH.
OPERATIONS_ENV = "INFLUX_CONNECTOR_OPERATIONS"
#: The id of the data source to use when a call names none (needed when several are installed).
SOURCE_ENV = "INFLUX_CONNECTOR_SOURCE"

_cache: dict[tuple[Any, ...], DataSource] = {}
_cache_lock = threading.Lock()


def _env_dirs() -> tuple[Path, ...]:
    raw = os.environ.get(OPERATIONS_ENV, "")
    return tuple(Path(p) for p in raw.split(os.pathsep) if p)


def datasource_files(host: PluginHost | None = None) -> list[Path]:
    """connector.yaml of every data source the loaded plugins provide."""
    host = host or default_host()
    files: list[Path] = []
    for part in host.hook.influx_connector_datasources():
        files.extend(Path(p) for p in part or ())
    return files


def list_datasources(host: PluginHost | None = None) -> list[DataSource]:
    return [load(f, host=host) for f in datasource_files(host)]


def load(source: str | Path | None = None, extra_operation_dirs: Iterable[str | Path] = (),
         host: PluginHost | None = None, *, strict: bool = False) -> DataSource:
    """A compiled data source, by id or by the path of its connector.yaml (compiled once, cached).

    With no ``source``, the data source ``$INFLUX_CONNECTOR_SOURCE`` names, else the only one
    installed (see ``default_source``). Operations come from the ``operations/`` folder beside
    connector.yaml, from plugins, from ``extra_operation_dirs`` and from the folders in
    ``$INFLUX_CONNECTOR_OPERATIONS``.

    A file of those extra folders that has problems is left out, as a broken plugin is, and its
    problems are listed in the data source's ``problems`` (logged once); ``strict=True`` raises
    ``ManifestError`` for them instead. Problems in the data source's own files always raise.
    """
    host = host or default_host()
    path = source_file(source, host)
    source_id = path.resolve()
    dirs = operation_dirs(path, extra_operation_dirs, host)
    files = _inputs(path, dirs)
    provided = host.provided_names()
    digest = cache.key(files, [sorted((kind, sorted(names)) for kind, names in provided.items())])
    key = (source_id, dirs, id(host), digest)
    with _cache_lock:
        if key not in _cache:
            name = "data-source-" + hashlib.sha256(repr((source_id, dirs)).encode()).hexdigest()[:12]
            _cache[key] = loaded = cache.cached(name, digest, lambda: _compile(path, dirs, provided),
                                                COMPILED_CLASSES)
            for problem in loaded.problems:
                if problem.is_error:  # said once a process, also when the compile came from the cache
                    log.warning("operation file left out: %s", problem)
        loaded = _cache[key]
    if strict and any(p.is_error for p in loaded.problems):
        raise ManifestError(list(loaded.problems))
    return loaded


def operation_dirs(path: Path, extra_operation_dirs: Iterable[str | Path] = (),
                   host: PluginHost | None = None) -> tuple[Path, ...]:
    """The extra operation folders of the data source at ``path``, as ``load`` reads them: from
    plugins, ``extra_operation_dirs`` and ``$INFLUX_CONNECTOR_OPERATIONS``. Each is read once: a
    folder named twice (by a flag and the environment, say), or the data source's own
    operations/ folder, is not read again."""
    host = host or default_host()
    plugin_dirs = [Path(d) for part in host.hook.influx_connector_operation_dirs(connector_id=_declared_id(path))
                   for d in part or ()]
    own = (path.parent / "operations").resolve()
    found = dict.fromkeys(Path(d).resolve() for d in (*plugin_dirs, *extra_operation_dirs, *_env_dirs()))
    return tuple(d for d in found if d != own)


def _compile(path: Path, dirs: tuple[Path, ...], provided: Mapping[str, Iterable[str]]) -> DataSource:
    from .manifest import load_data_source  # only when the cache has no compiled copy

    return load_data_source(path, dirs, provided, strict=False)


def _inputs(path: Path, dirs: tuple[Path, ...]) -> list[Path]:
    """Every file and folder a data source is compiled from: a change to any is a new compile,
    so an operation dropped into a folder shows up without a restart."""
    found = [path, *(f for f in [demo_file(path)] if f.is_file())]
    for folder in (path.parent / "operations", *dirs):
        if folder.is_dir():
            found.append(folder)
            found.extend(sorted(folder.glob("*.y*ml")))
    return found


_TOP_LEVEL_ID = re.compile(r"""^id:[ \t]*(["']?)([a-z][a-z0-9_]*)\1[ \t]*(?:#.*)?$""", re.MULTILINE)


def _declared_id(path: Path) -> str:
    """The id a connector.yaml declares.

    A plain top-level ``id: name`` line is read as it is; anything fancier is parsed as YAML,
    once per file content.
    """
    text = path.read_text(encoding="utf-8")
    plain = _TOP_LEVEL_ID.search(text)
    if plain:
        return plain.group(2)
    if text not in _ids:
        import yaml

        _ids[text] = str((yaml.safe_load(text) or {}).get("id"))
    return _ids[text]


_ids: dict[str, str] = {}


def installed(host: PluginHost | None = None) -> dict[str, Path]:
    """The installed data sources: connector.yaml of each, by the id it declares."""
    return {_declared_id(path): path for path in datasource_files(host or default_host())}


def source_file(source: str | Path | None = None, host: PluginHost | None = None) -> Path:
    """The connector.yaml of a data source given by id or path, or of the default one."""
    host = host or default_host()
    if source is not None and str(source).endswith((".yaml", ".yml")):
        if not Path(source).is_file():
            raise NotFoundError(f"no such file: {source}")
        return Path(source)
    found = installed(host)
    source_id = str(source) if source is not None else default_source(host, found)
    if source_id not in found:
        hint = did_you_mean(source_id, found)
        raise NotFoundError(f"no data source '{source_id}'{hint}; installed: {', '.join(sorted(found)) or 'none'}"
                            f"{_left_out(host)}")
    return found[source_id]


def default_source(host: PluginHost | None = None, found: Mapping[str, Path] | None = None) -> str:
    """The id of the data source to use when none is named: the one ``$INFLUX_CONNECTOR_SOURCE``
    names, else the only one installed. Several installed and none named is an error that lists
    them; so is none installed, which also names the plugins the environment left out."""
    host = host or default_host()
    named = os.environ.get(SOURCE_ENV, "").strip()
    if named:
        return named
    found = installed(host) if found is None else found
    if len(found) == 1:
        return next(iter(found))
    if not found:
        raise NotFoundError(f"no data source is installed{_left_out(host)}")
    raise NotFoundError(f"several data sources are installed ({', '.join(sorted(found))}): "
                        f"name the one to use, or set {SOURCE_ENV}")


def _left_out(host: PluginHost) -> str:
    """Why an installed data source may be missing: plugins the environment did not load."""
    if not host.excluded and not host.failures:
        return ""
    parts = [*map(str, host.excluded), *(f"{f.name} (failed to load: {f.error})" for f in host.failures)]
    return f"; plugins not loaded: {', '.join(parts)}"


def connect(values: Mapping[str, Any], source: str | Path | None = None,
            extra_operation_dirs: Iterable[str | Path] = (), host: PluginHost | None = None) -> Connection:
    """A connection with validated values (raises ValidationError naming each bad field)."""
    from .connection import Connection

    host = host or default_host()
    return Connection(load(source, extra_operation_dirs, host), values, host)


#: The key of a saved query of the data-source model that names its operation.
OPERATION_KEY = "operation"


def saved_query(options: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The operation and parameters of a saved query of the Insight² / ToolJet model, whose
    options name the operation under "operation" beside its fields."""
    from .errors import FieldError, ValidationError

    params = dict(options)
    op_id = params.pop(OPERATION_KEY, None)
    if not isinstance(op_id, str) or not op_id.strip():
        raise ValidationError([FieldError(OPERATION_KEY, "is required: the id (or alias) of the operation to run")],
                              "saved query")
    return op_id, params


def run_saved(source_options: Mapping[str, Any], query_options: Mapping[str, Any], *, envelope: bool = False,
              source: str | Path | None = None, host: PluginHost | None = None) -> Any:
    """Run a saved query on a saved data source, both as the Insight² / ToolJet model stores them
    (``{"api_token", "host", "port": "8086", "protocol"}`` and ``{"operation": "write", "body", ...}``).

    Returns the ``Result``, or with ``envelope=True`` the ``{"status": "ok", "data": ...}`` that
    model's hosts expect. Errors are raised as with ``run``.
    """
    op_id, params = saved_query(query_options)
    with connect(source_options, source, host=host) as conn:
        result = conn.run(op_id, params)
    return result.envelope() if envelope else result


def failure_envelope(error: Exception) -> dict[str, Any]:
    """An error as the data-source model's hosts show a failed query: status, message and, for
    bad input, the messages by field. The text is the connector's own, which shows no secret."""
    from .errors import ValidationError

    out: dict[str, Any] = {"status": "failed", "message": str(error).split("\n", 1)[0], "description": str(error)}
    if isinstance(error, ValidationError):
        out["errors"] = error.by_field()
    return out


def __getattr__(name: str) -> Any:
    # The connection machinery is imported when first used, so listing operations or drawing
    # forms (the CLI's quick commands) does not pay for it.
    if name in ("Connection", "Result", "TestReport"):
        from . import connection

        return getattr(connection, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Connection", "Connector", "DataSource", "Result", "TestReport", "connect", "default_source",
           "failure_envelope", "installed", "list_datasources", "load", "run_saved", "saved_query", "source_file"]
