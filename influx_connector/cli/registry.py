"""The commands the command line offers: its own, and those plugins add through a hook.

A plugin adds commands as datasette's ``register_commands`` does, through the
``influx_connector_register_commands`` hook (documented in ``hookspecs.py``): it is handed a
``CommandRegistry`` and calls ``add``. A plugin whose hook fails is logged and skipped, as a
plugin that fails to load is; a name already taken keeps its first command.
"""
from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import PluginLoadError

if TYPE_CHECKING:
    from ..plugins import PluginHost
    from .invocation import Invocation

log = logging.getLogger(__name__)

#: What a command needs: nothing, a loaded data source, or a connection (which adds the
#: connection flags to the command).
USES = ("nothing", "data source", "connection")
#: Output formats a command may offer with --format.
FORMATS = ("json", "table")
BUILT_IN = "influx-connector"


@dataclass(frozen=True)
class Command:
    """One command: its name, help, arguments, and the function that runs it."""

    name: str
    run: Callable[[Invocation], int]
    help: str
    description: str = ""
    epilog: str = ""
    #: Adds the command's own arguments to its ``argparse`` parser.
    arguments: Callable[[argparse.ArgumentParser], None] | None = None
    uses: str = "nothing"
    #: The --format values the command can print; a command without any refuses --format.
    formats: tuple[str, ...] = ()
    plugin: str = BUILT_IN


class CommandRegistry:
    """The commands by name, in the order they were added."""

    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}
        self._plugin = BUILT_IN

    def add(self, name: str, run: Callable[[Invocation], int], *, help: str, description: str = "",
            epilog: str = "", arguments: Callable[[argparse.ArgumentParser], None] | None = None,
            uses: str = "nothing", formats: tuple[str, ...] = ()) -> None:
        """Add a command. ``run(invocation)`` returns the exit code; ``arguments(parser)`` adds its
        own arguments; ``uses`` is one of ``nothing``, ``data source`` or ``connection``;
        ``formats`` lists the ``--format`` values it prints (json, table)."""
        if uses not in USES:
            raise ValueError(f"command '{name}': uses must be one of {', '.join(USES)}, not {uses!r}")
        unknown = set(formats) - set(FORMATS)
        if unknown:
            raise ValueError(f"command '{name}': unknown output formats {sorted(unknown)}")
        taken = self._commands.get(name)
        if taken is not None:
            log.warning("command '%s' of %s not added: %s already has that name", name, self._plugin, taken.plugin)
            return
        self._commands[name] = Command(name, run, help, description or help, epilog, arguments, uses,
                                       tuple(formats), self._plugin)

    def get(self, name: str) -> Command:
        return self._commands[name]

    def __iter__(self) -> Iterator[Command]:
        return iter(self._commands.values())

    def add_from_plugins(self, host: PluginHost, strict: bool = False) -> None:
        """Let each plugin add its commands; one that fails is logged and skipped (raised when strict)."""
        for impl in reversed(host.pm.hook.influx_connector_register_commands.get_hookimpls()):
            self._plugin = impl.plugin_name
            kwargs: dict[str, Any] = {"commands": self} if "commands" in impl.argnames else {}
            try:
                impl.function(**kwargs)
            except Exception as exc:  # a broken plugin must not take the command line down
                if strict:
                    raise PluginLoadError(impl.plugin_name, exc) from exc
                log.warning("plugin %s could not add its commands: %s: %s", impl.plugin_name, type(exc).__name__, exc)
        self._plugin = BUILT_IN
