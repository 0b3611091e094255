"""The plugin host: builds the pluggy manager and loads plugins without letting one break it.

pluggy's own ``load_setuptools_entrypoints`` stops at the first plugin that fails to import, so
this loader guards each entry point: a broken plugin is logged and listed in ``failures``, and
the rest still load. ``INFLUX_CONNECTOR_PLUGINS`` (comma-separated names) allows only those
entry points; ``INFLUX_CONNECTOR_DISABLE_PLUGINS`` blocks the ones named (both are listed in
``excluded``, so a missing data source can say why); ``INFLUX_CONNECTOR_STRICT_PLUGINS=1`` makes a
load error fatal, as a ``PluginLoadError`` naming the plugin, for plugin authors.

Entry points are read from the metadata of the packages installed on the import path, leaving
out the working folder (see ``plugin_search_path``), so running the command line in a folder
someone else filled cannot load their plugin.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, distributions
from typing import Any

import pluggy

from . import builtin, hookspecs
from .errors import PluginLoadError
from .messages import Codec

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "influx_connector"
ALLOW_ENV = "INFLUX_CONNECTOR_PLUGINS"
BLOCK_ENV = "INFLUX_CONNECTOR_DISABLE_PLUGINS"
STRICT_ENV = "INFLUX_CONNECTOR_STRICT_PLUGINS"


@dataclass(frozen=True)
class PluginFailure:
    name: str
    error: str


def _names(env: str) -> set[str] | None:
    raw = os.environ.get(env)
    if raw is None:
        return None
    return {n.strip() for n in raw.split(",") if n.strip()}


@dataclass(frozen=True)
class PluginExclusion:
    """An installed plugin that was not loaded because the environment left it out."""

    name: str
    variable: str

    def __str__(self) -> str:
        value = os.environ.get(self.variable, "")
        return f"{self.name} (left out by {self.variable}={value})"


@dataclass
class PluginHost:
    """A pluggy manager with the engine's hooks, plus the merged tables plugins provide."""

    pm: pluggy.PluginManager
    failures: list[PluginFailure] = field(default_factory=list)
    excluded: list[PluginExclusion] = field(default_factory=list)
    _tables: dict[str, dict[str, Callable[..., Any]]] = field(default_factory=dict)

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def table(self, kind: str) -> Mapping[str, Callable[..., Any]]:
        """Merged name→callable table for 'codecs', 'encoders', 'rules' or 'resolvers'."""
        if kind not in self._tables:
            merged: dict[str, Callable[..., Any]] = {}
            # pluggy calls the last registered first; reverse so later plugins override earlier ones.
            for part in reversed(getattr(self.pm.hook, f"influx_connector_{kind}")()):
                merged.update(part or {})
            self._tables[kind] = merged
        return self._tables[kind]

    def codec(self, name: str) -> Codec:
        """The codec registered as ``name`` (a plain function registered is its ``decode``)."""
        return Codec.of(self.table("codecs")[name])

    def provided_names(self) -> dict[str, list[str]]:
        """What templates and operations may name, for manifest checks."""
        return {"codec": list(self.table("codecs")), "encoder": list(self.table("encoders")),
                "rule": list(self.table("rules")), "resolver": list(self.table("resolvers"))}

    def register(self, plugin: Any, name: str | None = None) -> None:
        self.pm.register(plugin, name=name)
        self.pm.check_pending()
        self._tables.clear()


def plugin_search_path() -> list[str]:
    """The folders whose installed packages may provide plugins: the import path without the
    working folder.

    ``python -m`` and ``python -c`` put the working folder first on the import path; a
    ``*.dist-info`` folder left there (a downloaded archive, an untrusted checkout) would
    otherwise name a module for this process to import as a plugin.
    """
    try:
        here = os.path.realpath(os.getcwd())
    except OSError:  # the working folder was removed: nothing to leave out
        here = None
    found = []
    for entry in sys.path:
        if not isinstance(entry, str) or not entry or not os.path.isabs(entry):
            continue  # '' and relative entries are the working folder, or below it
        if here is not None and os.path.realpath(entry) == here:
            continue
        found.append(entry)
    return found


def _installed_entry_points() -> list[EntryPoint]:
    """The group's entry points, from the metadata of the packages installed on the search path
    (the first package of a name wins, as for imports)."""
    seen: set[str] = set()
    found: list[EntryPoint] = []
    for dist in distributions(path=plugin_search_path()):
        name = getattr(dist, "_normalized_name", None) or str(dist.metadata["Name"]).lower().replace("-", "_")
        if name in seen:
            continue
        seen.add(name)
        found.extend(dist.entry_points.select(group=ENTRY_POINT_GROUP))
    return found


def load_entry_points(pm: pluggy.PluginManager, failures: list[PluginFailure],
                      excluded: list[PluginExclusion] | None = None) -> None:
    allow, block = _names(ALLOW_ENV), _names(BLOCK_ENV) or set()
    strict = os.environ.get(STRICT_ENV) == "1"
    for ep in _installed_entry_points():
        if (allow is not None and ep.name not in allow) or ep.name in block:
            variable = BLOCK_ENV if ep.name in block else ALLOW_ENV
            log.info("plugin %s not loaded: excluded by %s", ep.name, variable)
            if excluded is not None:
                excluded.append(PluginExclusion(ep.name, variable))
            continue
        if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
            continue
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
            pm.check_pending()
        except Exception as exc:  # a broken plugin must not take the host down
            if strict:
                raise PluginLoadError(ep.name, exc) from exc
            plugin_obj = pm.get_plugin(ep.name)
            if plugin_obj is not None:
                pm.unregister(plugin_obj)
            failures.append(PluginFailure(ep.name, f"{type(exc).__name__}: {exc}"))
            log.warning("plugin %s failed to load and was skipped: %s: %s", ep.name, type(exc).__name__, exc)


def create_host(load_entrypoints: bool = True, extra: tuple[Any, ...] = ()) -> PluginHost:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(builtin, name="builtin")
    host = PluginHost(pm)
    if load_entrypoints:
        load_entry_points(pm, host.failures, host.excluded)
    for plugin in extra:
        pm.register(plugin)
    pm.check_pending()
    return host


_default: PluginHost | None = None
_lock = threading.Lock()


def default_host() -> PluginHost:
    """The process-wide host, created on first use."""
    global _default
    with _lock:
        if _default is None:
            _default = create_host()
        return _default


def reset_default_host() -> None:
    """Forget the process-wide host (tests change the environment and load again)."""
    global _default
    with _lock:
        _default = None
