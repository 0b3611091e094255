"""The ``docs`` command: the data source's reference, generated from its YAML.

Writes ``reference.md`` and ``reference.html`` (one structure, two formats) and, with
``--readme``, the table of operations between the README's markers. ``--check`` writes nothing
and fails when a file differs from what the YAML gives: what CI runs so the docs cannot drift.
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from ..errors import UsageError
from .exits import EXIT_OK, EXIT_TEST_FAILED
from .invocation import Invocation
from .registry import CommandRegistry

BEGIN = "<!-- operations: generated from the YAML by influx-connector docs --readme; edit the YAML, not this table -->"
END = "<!-- end of operations -->"


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="DIR", default="docs",
                        help="folder to write reference.md and reference.html to (default: docs); - prints the "
                             "Markdown on stdout")
    parser.add_argument("--readme", metavar="FILE",
                        help="also write the table of operations into FILE, between its markers")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when a file differs from what the YAML gives")


def replace_between(text: str, body: str, where: str) -> str:
    """``text`` with what stands between the markers replaced by ``body``."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise UsageError(f"docs: {where} has no place for the table of operations: put the lines\n"
                         f"  {BEGIN}\n  {END}\nwhere it belongs")
    return text[:start + len(BEGIN)] + "\n\n" + body.rstrip("\n") + "\n\n" + text[end:]


def regenerate(inv: Invocation) -> str:
    """The command that writes what --check compared."""
    words = ["influx-connector", "docs", "--out", shlex.quote(inv.args.out)]
    if inv.args.readme:
        words += ["--readme", shlex.quote(inv.args.readme)]
    if inv.option("source"):
        words += ["--data-source", shlex.quote(inv.option("source"))]
    for folder in inv.options("operations_dir"):
        words += ["--operations-dir", shlex.quote(folder)]
    return " ".join(words)


def run(inv: Invocation) -> int:
    from ..reference import markdown_table, operations_table, reference, to_html, to_markdown

    ns = inv.args
    data_source = inv.data_source()
    document = reference(data_source)
    if ns.out == "-":
        if ns.check:
            raise UsageError("docs: --check compares files: give --out DIR")
        sys.stdout.write(to_markdown(document))
        return EXIT_OK
    out = Path(ns.out)
    wanted = {out / "reference.md": to_markdown(document), out / "reference.html": to_html(document)}
    if ns.readme:
        readme = Path(ns.readme)
        if not readme.is_file():
            raise UsageError(f"docs: no such file: {readme}")
        current = readme.read_bytes().decode("utf-8")
        wanted[readme] = replace_between(current, markdown_table(operations_table(data_source)), str(readme))
    if ns.check:
        stale = [path for path, content in wanted.items()
                 if not path.is_file() or path.read_bytes() != content.encode("utf-8")]
        for path in stale:
            print(f"{path} is out of date with the YAML of '{data_source.id}'", file=sys.stderr)
        if stale:
            print(f"regenerate: {regenerate(inv)}", file=sys.stderr)
            return EXIT_TEST_FAILED
        print(f"up to date: {', '.join(map(str, wanted))}")
        return EXIT_OK
    out.mkdir(parents=True, exist_ok=True)
    for path, content in wanted.items():
        path.write_bytes(content.encode("utf-8"))
        print(f"wrote {path}")
    return EXIT_OK


def register(commands: CommandRegistry) -> None:
    commands.add("docs", run, arguments=arguments, uses="data source",
                 help="write the data source's reference (Markdown and HTML) from its YAML",
                 epilog="The reference covers the connection fields and every operation: its parameters (type,\n"
                        "default, limits, what it falls back to, aliases), its request and its worked examples.\n"
                        "With --operations-dir the extra operations are documented with the others.\n"
                        "exit status with --check: 0 when every file is up to date, 1 otherwise.")
