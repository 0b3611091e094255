"""The entry point: load the data source, parse, run the command, and turn what went wrong into a
message and an exit code.

The data source is loaded before the arguments are parsed, because its connection flags are part
of the parser. When it cannot be loaded, commands that need it say why; the others still run.
"""
from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..errors import ConnectorError, UsageError, ValidationError
from ..plugins import STRICT_ENV, default_host
from ..secrets import Redactor
from . import commands
from .exits import EXIT_CLOSED_OUTPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from .hints import hints
from .invocation import Invocation, Selection
from .parser import build_parser, early_options
from .registry import CommandRegistry


@contextmanager
def _logging(verbose: bool) -> Iterator[None]:
    """The package's log records on stderr for this call only (main may run many times in a
    process): DEBUG and up with -v, else warnings as ``warning:`` lines."""
    logger = logging.getLogger(__package__.rpartition(".")[0] or "influx_connector")
    handler = logging.StreamHandler(sys.stderr)
    if verbose:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    else:
        handler.setLevel(logging.WARNING)
        handler.setFormatter(logging.Formatter("warning: %(message)s"))
    old_level = logger.level
    logger.addHandler(handler)
    if verbose:
        logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


@dataclass
class _State:
    """What the error handler needs to know about the call so far."""

    verbose: bool
    redactor: Redactor = field(default_factory=Redactor)
    invocation: Invocation | None = None


def _report_error(exc: ConnectorError, state: _State) -> None:
    if isinstance(exc, ValidationError):
        lines = [f"error: invalid {exc.subject}:", *(f"  {e.field}: {e.message}" for e in exc.errors)]
    else:
        lines = [f"error: {exc}"]
    inv = state.invocation
    lines += hints(exc, inv.selection.loaded if inv is not None else None)
    redactor = inv.redactor if inv is not None else state.redactor
    for line in lines:
        print(redactor.mask(line), file=sys.stderr)


def _guarded(state: _State, call: Callable[[], int]) -> int:
    try:
        code = call()
        sys.stdout.flush()
        return code
    except ConnectorError as exc:
        _report_error(exc, state)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (| head -1): nothing is wrong, and nothing more can be printed.
        # Later writes (the interpreter's own flush at exit) go nowhere instead of failing.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_CLOSED_OUTPUT
    except Exception as exc:  # a bug: say so plainly, with the traceback when asked for
        redactor = state.invocation.redactor if state.invocation is not None else state.redactor
        print(redactor.mask(f"internal error: {type(exc).__name__}: {exc}"), file=sys.stderr)
        if state.verbose:
            print(redactor.mask(traceback.format_exc()), file=sys.stderr)
        return EXIT_INTERNAL


def command_registry() -> CommandRegistry:
    """The built-in commands, then those plugins add."""
    registry = CommandRegistry()
    commands.register(registry)
    registry.add_from_plugins(default_host(), strict=os.environ.get(STRICT_ENV) == "1")
    return registry


def _run(argv: Sequence[str], state: _State) -> int:
    early = early_options(argv)
    selection = Selection.load(early.source, early.operations_dir)
    registry = command_registry()
    parser = build_parser(selection.loaded, registry)
    try:
        # Without a data source there are no connection flags: a command that needs one says why
        # it could not be loaded rather than that its flags are unknown.
        ns, unknown = parser.parse_known_args(argv) if selection.loaded is None else (parser.parse_args(argv), [])
    except SystemExit as exc:  # --help, or argparse's own usage error; returned, not raised
        return exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_USAGE)
    if ns.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    command = registry.get(ns.command)
    inv = state.invocation = Invocation(ns, command, selection)
    inv.redactor = inv.given_secrets()
    if command.uses != "nothing":
        selection.get()
    if unknown:
        raise UsageError(f"unrecognized arguments: {' '.join(unknown)}")
    fmt = inv.output_format
    if fmt is not None and fmt not in command.formats:
        offered = f"it prints {' or '.join(command.formats)} only" if command.formats else "it has no output formats"
        raise UsageError(f"{command.name}: --format {fmt} is not available: {offered}")
    return command.run(inv)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    state = _State(verbose=early_options(argv).verbose)
    with _logging(state.verbose):
        return _guarded(state, lambda: _run(argv, state))
