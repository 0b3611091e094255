"""The argument parser: the options every command shares, the connection flags the data source
declares, and each command's own arguments."""
from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from typing import Any

from ..cli_spec import field_types, is_pairs_field
from ..errors import ManifestError, ManifestProblem
from ..model import CliFlag, CommandLineSpec, DataSource, Param
from .config import url_fields
from .exits import EXIT_CODES_HELP, PROG
from .registry import Command, CommandRegistry

log = logging.getLogger(__name__)

#: The variable that names the data source when several are installed (the engine reads it too).
SOURCE_FLAGS = ("--data-source", "--source")

# Options that choose and load the data source: every command has them.
_LOAD_OPTIONS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (SOURCE_FLAGS, {"metavar": "ID", "dest": "source",
                    "help": "data source id or path of a connector.yaml "
                            "(default: $INFLUX_CONNECTOR_SOURCE, else the only one installed)"}),
    (("--operations-dir",), {"action": "append", "metavar": "DIR",
                             "help": "extra folder of operation YAML files (repeatable)"}),
    (("--format",), {"choices": ("json", "table"), "help": "output format, for the commands that offer one"}),
    (("-v", "--verbose"), {"action": "store_true", "help": "debug logging on stderr"}),
)

_CONFIG_OPTION = (("--config",), {"metavar": "FILE", "help": "YAML or JSON mapping of connection field values"})

# Common options are accepted before and after the command name. Before it they are stored
# under this prefix so that the command's parser cannot overwrite them with nothing.
_TOP = "top_"
#: Where a connection flag's value is stored: under its field's name, behind this prefix.
FIELD = "field_"


def _dest(flags: Sequence[str]) -> str:
    return flags[-1].lstrip("-").replace("-", "_")


def _add_options(group: Any, options: Sequence[tuple[tuple[str, ...], dict[str, Any]]], prefix: str = "") -> None:
    for flags, kwargs in options:
        kwargs = dict(kwargs)
        dest = prefix + kwargs.pop("dest", _dest(flags))
        if "metavar" not in kwargs and "choices" not in kwargs and kwargs.get("action") not in (
                "store_true", "store_const", argparse.BooleanOptionalAction):
            # The same name in help before and after the command, not the prefixed dest.
            kwargs["metavar"] = _dest(flags).upper()
        # SUPPRESS leaves an option out of the namespace when it is not given, so "not given"
        # can be told apart from a default and the engine's own defaults apply.
        group.add_argument(*flags, dest=dest, default=argparse.SUPPRESS, **kwargs)


# --- the data source's connection flags ---------------------------------------------------------------


def flag_help(flag: CliFlag, param: Param, spec: CommandLineSpec, base_url: str) -> str:
    """The help a flag gets when the data source words none: from its field."""
    if flag.help:
        return flag.help
    text = param.title
    url = url_fields(base_url)
    if url is not None and url.host == param.name:
        text += ", or a URL (scheme://host:port/path) that sets the other parts too"
    if param.has_default and not flag.switch and param.default not in (None, ""):
        text += f" (default {param.default})"
    variable = spec.variable(param.name)
    if param.secret and variable:
        text += f" (prefer {variable}: flags show up in the process list)"
    elif variable:
        text += f" (or {variable})"
    return text


def connection_options(data_source: DataSource) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """argparse options for the connection flags the data source declares."""
    spec = data_source.command_line
    fields = {p.name: p for p in data_source.connection.fields}
    options: list[tuple[tuple[str, ...], dict[str, Any]]] = []
    for flag in spec.flags:
        param = fields[flag.field]
        kwargs: dict[str, Any] = {"dest": FIELD + param.name,
                                  "help": flag_help(flag, param, spec, data_source.connection.base_url)}
        types = [t for t in field_types(param.schema) if t != "null"]
        if flag.switch:
            kwargs.update(action="store_const", const=flag.value)
        elif is_pairs_field(param.schema):
            kwargs.update(action="append", metavar=flag.metavar or "'NAME: VALUE'")
        elif types == ["boolean"]:
            kwargs.update(action=argparse.BooleanOptionalAction)
        else:
            if types == ["integer"]:
                kwargs["type"] = int
            elif types == ["number"]:
                kwargs["type"] = float
            if isinstance(param.schema.get("enum"), (list, tuple)) and flag.metavar is None:
                kwargs["choices"] = tuple(param.schema["enum"])
            if flag.metavar:
                kwargs["metavar"] = flag.metavar
        options.append(((f"--{flag.flag}",), kwargs))
    return options


def _add_connection_options(parser: argparse.ArgumentParser, data_source: DataSource | None, prefix: str = "") -> None:
    group = parser.add_argument_group("connection options")
    _add_options(group, [_CONFIG_OPTION], prefix)
    if data_source is None:
        return
    for option in connection_options(data_source):
        try:
            _add_options(group, [option], prefix)
        except argparse.ArgumentError:
            flag = option[0][0]
            if not data_source.command_line.flags_declared:
                log.debug("connection field %s has no flag: %s is the command line's own", option[1]["dest"], flag)
                continue
            raise ManifestError([ManifestProblem(data_source.source, 1, 1, "/command_line/flags",
                                                 f"the flag {flag} is one the command line uses itself",
                                                 "give the field another flag name with 'flag:'")]) from None


def connection_help(data_source: DataSource | None) -> str:
    """Where connection values come from, for the help text."""
    if data_source is None:
        return "connection values: flags > --config file (the data source declares the flags)."
    spec = data_source.command_line
    variables = [v for v in (spec.variable(p.name) for p in data_source.connection.fields) if v]
    where = f"flags > environment ({', '.join(variables)})" if variables else "flags"
    return (f"connection values: {where} > --config file.\n"
            "Values given nowhere keep the data source's defaults.")


# --- commands -----------------------------------------------------------------------------------------


def _add_command(sub: Any, command: Command, data_source: DataSource | None) -> None:
    # Every command's help ends with the exit codes, so a script author finds them where they look.
    epilog = "\n\n".join(part for part in (command.epilog, EXIT_CODES_HELP,
                                           connection_help(data_source) if command.uses == "connection" else "")
                         if part)
    parser = sub.add_parser(command.name, help=command.help, description=command.description, epilog=epilog,
                            formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    _add_options(parser.add_argument_group("data source options"), _LOAD_OPTIONS)
    if command.arguments is not None:
        command.arguments(parser)
    # After the command's own: a connection flag that clashes with one of them is the one left out.
    if command.uses == "connection":
        _add_connection_options(parser, data_source)


def build_parser(data_source: DataSource | None, commands: CommandRegistry) -> argparse.ArgumentParser:
    """The parser for ``data_source`` (None when it could not be loaded: no connection flags)."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="Run and inspect the operations of an influx-connector data source.",
        epilog=f"{EXIT_CODES_HELP}\n{connection_help(data_source)}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        # Flags come from the data source: an abbreviation that is unique for one may not be for another.
        allow_abbrev=False)
    _add_options(parser.add_argument_group("data source options"), _LOAD_OPTIONS, _TOP)
    _add_connection_options(parser, data_source, _TOP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in commands:
        _add_command(sub, command, data_source)
    return parser


def early_options(argv: Sequence[str]) -> argparse.Namespace:
    """The options needed before the parser can be built: which data source, which extra
    folders, and whether to log. Read the same wherever they stand on the line."""
    early = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    early.add_argument(*SOURCE_FLAGS, dest="source")
    early.add_argument("--operations-dir", action="append", default=[])
    early.add_argument("-v", "--verbose", action="store_true")
    ns, _ = early.parse_known_args(list(argv))
    return ns
