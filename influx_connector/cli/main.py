"""The entry point: parse, run the command, turn what went wrong into a message and an exit code."""
from __future__ import annotations

import logging
import os
import sys
import traceback
from contextlib import contextmanager
from typing import Iterator

from ..errors import ConnectorError, ValidationError
from ..secrets import Redactor
from .commands import COMMANDS
from .config import TOKEN_ENV
from .exits import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from .invocation import Invocation
from .parser import build_parser


@contextmanager
def _logging(verbose: bool) -> Iterator[None]:
    """DEBUG records of the package on stderr for this call only (main may run many times in a process)."""
    if not verbose:
        yield
        return
    logger = logging.getLogger(__package__ or "influx_connector")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def _report_error(exc: ConnectorError, redactor: Redactor) -> None:
    if isinstance(exc, ValidationError):
        lines = [f"error: invalid {exc.subject}:", *(f"  {e.field}: {e.message}" for e in exc.errors)]
    else:
        lines = [f"error: {exc}"]
    for line in lines:
        print(redactor.mask(line), file=sys.stderr)


def _early_secrets(inv: Invocation) -> Redactor:
    """Token values known before the data source is loaded, to mask any early error."""
    return Redactor.of([inv.option("token"), os.environ.get(TOKEN_ENV)])


def _dispatch(inv: Invocation) -> int:
    try:
        return COMMANDS[inv.ns.command](inv)
    except ConnectorError as exc:
        _report_error(exc, inv.redactor)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: say so plainly, with the traceback when asked for
        print(inv.redactor.mask(f"internal error: {type(exc).__name__}: {exc}"), file=sys.stderr)
        if inv.option("verbose"):
            print(inv.redactor.mask(traceback.format_exc()), file=sys.stderr)
        return EXIT_INTERNAL


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        ns = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or argparse's own usage error; returned, not raised
        return exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_USAGE)
    if ns.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    inv = Invocation(ns)
    inv.redactor = _early_secrets(inv)
    with _logging(bool(inv.option("verbose"))):
        return _dispatch(inv)

