"""The command line's own commands; each takes the parsed command line and returns an exit code.

``register`` adds them to a registry; plugins add theirs after (see ``registry``).
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import api
from ..binary import is_bytes, result_json
from ..errors import ConnectorError, ManifestError, ManifestProblem, UsageError
from ..forms import all_forms, connection_form, operation_form
from ..model import Operation, Param
from ..plugins import default_host
from . import docs, savefile
from .exits import EXIT_OK, EXIT_TEST_FAILED
from .invocation import Invocation
from .output import ProgressBar, data_table, emit_json, format_table, to_json
from .params import _params_json, build_params, read_text_argument
from .registry import CommandRegistry

if TYPE_CHECKING:
    from ..connection import Result, TestReport


def required_names(op: Operation) -> list[str]:
    return [p.name for p in op.params if p.required]


def cmd_operations(inv: Invocation) -> int:
    data_source = inv.data_source()
    listing = []
    for op in data_source.operations.values():
        entry: dict[str, Any] = {"id": op.id, "title": op.title, "required": required_names(op)}
        if op.aliases:
            entry["aliases"] = list(op.aliases)
        if op.requires_one_of:
            entry["requires_one_of"] = [list(g) for g in op.requires_one_of]
        listing.append(entry)
    if inv.output_format == "table":
        rows = [[e["id"], e["title"], _required_text(e)] for e in listing]
        print(format_table(["ID", "TITLE", "REQUIRED"], rows))
    else:
        emit_json(listing)
    return EXIT_OK


def _required_text(entry: Mapping[str, Any]) -> str:
    parts = list(entry["required"])
    if entry.get("requires_one_of"):
        parts.append("one of: " + " | ".join("+".join(g) for g in entry["requires_one_of"]))
    return ", ".join(parts)


def param_info(p: Param, schema: Mapping[str, Any]) -> dict[str, Any]:
    prop = (schema.get("properties") or {}).get(p.name) or {}
    info: dict[str, Any] = {"name": p.name, "title": p.title, "type": prop.get("type"),
                            "required": p.required, "default_from": p.default_from}
    if p.has_default:
        info["default"] = p.default
    if p.secret:
        info["secret"] = True
    if p.aliases:
        info["aliases"] = list(p.aliases)
    if p.description:
        info["description"] = p.description
    return info


def _params_table(params: Sequence[Mapping[str, Any]]) -> str:
    def type_text(t: Any) -> str:
        return "|".join(t) if isinstance(t, list) else (t or "")

    rows = [[p["name"], type_text(p["type"]), "yes" if p["required"] else "",
             to_json(p["default"]).replace("\n", "") if "default" in p else "", p["default_from"] or "", p["title"]]
            for p in params]
    return format_table(["NAME", "TYPE", "REQUIRED", "DEFAULT", "DEFAULT FROM", "TITLE"], rows)


def cmd_describe(inv: Invocation) -> int:
    ns = inv.ns
    data_source = inv.data_source()
    if ns.connection and ns.operation:
        raise UsageError("describe: give an operation id or --connection, not both")
    if ns.connection:
        spec = data_source.connection
        doc: dict[str, Any] = {
            "id": data_source.id, "title": data_source.title, "description": data_source.description,
            "fields": [param_info(p, spec.input_schema) for p in spec.fields],
            "form": connection_form(data_source)}
    elif ns.operation:
        op = data_source.operation(ns.operation)
        doc = {"id": op.id, "title": op.title, "description": op.description, "source": op.source,
               "params": [param_info(p, op.input_schema) for p in op.params],
               "form": operation_form(data_source, op)}
        if op.aliases:
            doc["aliases"] = list(op.aliases)
        if op.requires_one_of:
            doc["requires_one_of"] = [list(g) for g in op.requires_one_of]
    else:
        raise UsageError("describe: give an operation id (see 'operations') or --connection")
    if inv.output_format == "table":
        print(f"{doc['id']}: {doc['title']}")
        if doc["description"]:
            print(doc["description"])
        if doc.get("requires_one_of"):
            print("requires one of: " + " | ".join("+".join(g) for g in doc["requires_one_of"]))
        print()
        print(_params_table(doc.get("params") or doc.get("fields") or []))
    else:
        emit_json(doc)
    return EXIT_OK


def cmd_forms(inv: Invocation) -> int:
    # Always JSON: this is the document a host app loads, there is no table form of it.
    emit_json(all_forms(inv.data_source()))
    return EXIT_OK


def _validate_target(inv: Invocation, directory: str | None) -> tuple[Path, list[Path]]:
    """The connector.yaml to validate, and a folder of extra operations when DIR holds only those."""
    if directory is None:
        return api.source_file(inv.option("source")), []
    path = Path(directory)
    if path.is_file() and path.suffix in (".yaml", ".yml"):
        return path, []  # a connector.yaml named directly
    if (path / "connector.yaml").is_file():
        return path / "connector.yaml", []
    if path.is_dir() and any(path.glob("*.y*ml")):
        # A folder of extra operations: checked as they would be loaded, with the data source.
        return api.source_file(inv.option("source")), [path]
    raise UsageError(f"validate: no connector.yaml and no operation files (*.yaml) in {path}")


def _problem_dict(p: ManifestProblem) -> dict[str, Any]:
    return {"file": p.file, "line": p.line, "column": p.column, "pointer": p.pointer,
            "message": p.message, "hint": p.hint, "severity": p.severity}


def _print_problems(inv: Invocation, problems: Sequence[ManifestProblem], summary: Mapping[str, Any]) -> None:
    if inv.output_format == "json":
        emit_json({**summary, "problems": [_problem_dict(p) for p in problems]})
    elif inv.output_format == "table":
        rows = [[p.severity, p.file, p.line, p.column, p.pointer or "/", p.message, p.hint or ""] for p in problems]
        if rows:
            print(format_table(["SEVERITY", "FILE", "LINE", "COL", "POINTER", "MESSAGE", "HINT"], rows))
    else:
        for problem in problems:
            print(problem)


def _counted(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def cmd_validate(inv: Invocation) -> int:
    file, operations_only = _validate_target(inv, inv.ns.directory)
    host = default_host()
    extra = api.operation_dirs(file, [*operations_only, *inv.options("operations_dir")], host)
    from ..manifest import load_data_source

    try:
        data_source = load_data_source(file, extra, host.provided_names(), strict=True)
    except ManifestError as exc:
        errors = [p for p in exc.problems if p.is_error]
        warnings = len(exc.problems) - len(errors)
        _print_problems(inv, exc.problems, {"ok": False})
        tail = f", and {_counted(warnings, 'warning')}" if warnings else ""
        print(f"{_counted(len(errors), 'problem')} found{tail}", file=sys.stderr)
        return ManifestError.exit_code
    count = len(data_source.operations)
    _print_problems(inv, data_source.problems,
                    {"ok": True, "id": data_source.id, "file": data_source.source, "operations": count})
    if inv.output_format != "json":
        extras = f" with {', '.join(map(str, extra))}" if extra else ""
        warned = f" ({_counted(len(data_source.problems), 'warning')})" if data_source.problems else ""
        print(f"OK: {data_source.id} ({data_source.source}){extras}: {_counted(count, 'operation')}{warned}")
    return EXIT_OK


def _operation_and_params(inv: Invocation) -> tuple[Operation, dict[str, Any]]:
    """The operation and its typed parameters, checked before any connection is made.

    --params-json may hold a saved query of the Insight² / ToolJet model, whose "operation"
    names the operation (an id or alias); OP may then be left out."""
    ns = inv.ns
    from_json = _params_json(read_text_argument(ns.params_json, "--params-json")) if ns.params_json is not None else {}
    data_source = inv.data_source()
    saved = from_json.get(api.OPERATION_KEY)
    op = data_source.operation(ns.operation if ns.operation is not None else api.saved_query(from_json)[0])
    if saved is not None and op.param(api.OPERATION_KEY) is None:
        if data_source.operation(str(saved)) is not op:
            raise UsageError(f"OP is '{ns.operation}' but the saved query's operation is '{saved}'")
        from_json.pop(api.OPERATION_KEY)
    return op, build_params(op, ns, from_json)


def cmd_run(inv: Invocation) -> int:
    if not inv.ns.envelope:
        return _run(inv)
    try:
        return _run(inv)
    except ConnectorError as exc:
        print(inv.redactor.mask(to_json(api.failure_envelope(exc))))
        raise


def _run(inv: Invocation) -> int:
    op, params = _operation_and_params(inv)
    output = inv.ns.output
    where = savefile.target(output) if output is not None else None  # checked before anything is sent
    wanted = getattr(inv.ns, "progress", "never")
    bar = ProgressBar(sys.stderr) if wanted == "always" or (wanted == "auto" and sys.stderr.isatty()) else None
    with inv.connect() as conn:
        try:
            result = conn.run(op.id, params, progress=bar)
        finally:
            if bar is not None:
                bar.finish()
    if where is not None:
        _written(inv, where, result)
    elif inv.ns.envelope:
        emit_json(result_json(result, envelope=True))
    elif inv.output_format == "table":
        print(_binary_line(result) if is_bytes(result.data) else data_table(result.data))
    else:
        emit_json(result_json(result))
    return EXIT_OK


def _binary_line(result: Result) -> str:
    media = result.meta.get("content_type")
    return (f"binary answer: {len(result.data):,} bytes{f' ({media})' if media else ''}; "
            "give --output FILE to save it")


def _written(inv: Invocation, where: savefile.Target, result: Result) -> None:
    """Write the data where --output says, and print what was written instead of it (on
    stderr when the data itself went to standard output)."""
    size, kind = savefile.write(where, result.data)
    described = savefile.summary(where, size, kind, result.meta.get("content_type") if kind == "bytes" else None)
    out = sys.stderr if where.path is None else sys.stdout
    if inv.ns.envelope:
        print(to_json({"status": "ok", "output": described}), file=out)
    elif inv.output_format == "table":
        print(savefile.summary_line(described), file=out)
    else:
        print(to_json({"output": described, "status": result.status, "meta": dict(result.meta)}), file=out)


def cmd_render(inv: Invocation) -> int:
    op, params = _operation_and_params(inv)
    with inv.connect() as conn:
        request = conn.render(op.id, params)
    if inv.ns.curl:
        print(request.curl())
    elif inv.output_format == "table":
        print(data_table(request.to_dict()))
    else:
        emit_json(request.to_dict())
    return EXIT_OK


def report_table(report: TestReport) -> str:
    rows = [[s.status, s.title, s.message] for s in report.steps]
    verdict = "connection OK" if report.ok else "connection test FAILED"
    return format_table(["STATUS", "STEP", "MESSAGE"], rows) + f"\n{verdict}"


def cmd_test(inv: Invocation) -> int:
    with inv.connect() as conn:
        report = conn.test()
    if inv.output_format == "table":
        print(report_table(report))
    else:
        emit_json(report.to_dict())
    return EXIT_OK if report.ok else EXIT_TEST_FAILED


def cmd_demo(inv: Invocation) -> int:
    from .demo import run_demo

    return EXIT_OK if run_demo(inv) else EXIT_TEST_FAILED


# --- the commands' own arguments ------------------------------------------------------------------------


def _param_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("operation", metavar="OP", nargs="?",
                        help="operation id or alias (see 'operations'); may be left out when --params-json "
                             "holds a saved query with an 'operation' key")
    parser.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                        help="operation parameter; the text is converted to the parameter's type (repeatable)")
    parser.add_argument("--params-json", metavar="JSON",
                        help="parameters as a JSON object (or @file, or - for stdin); -p values win")
    parser.add_argument("--data", metavar="@FILE|-|TEXT",
                        help="fills the operation's 'data' (or 'body') parameter from a file, stdin or text; "
                             "JSON lists and objects are passed parsed")


def _describe_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("operation", metavar="OP", nargs="?", help="operation id")
    parser.add_argument("--connection", action="store_true", help="describe the connection form instead")


def _validate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", metavar="DIR", nargs="?",
                        help="folder holding connector.yaml and operations/, or a folder of extra operation "
                             "files (checked with the data source); default: the data source in use")


def _run_arguments(parser: argparse.ArgumentParser) -> None:
    _param_arguments(parser)
    parser.add_argument("--progress", choices=("auto", "always", "never"), default="auto",
                        help="a progress bar on stderr for writes sent in batches (auto: when stderr is a terminal)")
    parser.add_argument("--envelope", action="store_true",
                        help='print {"status": "ok", "data": ...} as Insight²/ToolJet hosts expect; a failure '
                             'prints {"status": "failed", ...} and exits with its usual code')
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the result's data to FILE exactly (bytes as they came, text as UTF-8, "
                             "rows and objects as JSON) and print what was written instead; - writes it to "
                             "standard output when that is not a terminal")


def _render_arguments(parser: argparse.ArgumentParser) -> None:
    _param_arguments(parser)
    parser.add_argument("--curl", action="store_true", help="print a curl command (credentials masked)")


BOTH = ("json", "table")


def register(commands: CommandRegistry) -> None:
    """The built-in commands, in the order help lists them."""
    commands.add("operations", cmd_operations, help="list the operations: id, title and required parameters",
                 uses="data source", formats=BOTH)
    commands.add("describe", cmd_describe, help="show an operation's parameters, description and form",
                 uses="data source", formats=BOTH, arguments=_describe_arguments)
    commands.add("forms", cmd_forms, help="print every form of the data source as JSON (what a host app loads)",
                 uses="data source", formats=("json",))
    commands.add("validate", cmd_validate, help="check a data source's manifest and report every problem",
                 formats=BOTH, arguments=_validate_arguments,
                 epilog="Prints one problem per line as file:line:col: pointer: message (hint), warnings\n"
                        "marked 'warning:', and exits 3 when there are problems; --format json or table prints\n"
                        "them as a JSON report or a table. The operations of INFLUX_CONNECTOR_OPERATIONS and\n"
                        "--operations-dir are checked with the data source, as they would be loaded.")
    commands.add("run", cmd_run, help="run an operation and print its result", uses="connection", formats=BOTH,
                 arguments=_run_arguments,
                 epilog="An answer given as bytes (such as Parquet) is printed in JSON as\n"
                        '{"$binary": {"base64": "...", "size": N, "content_type": "..."}}; with --format table,\n'
                        "as its size and type. --output FILE writes the bytes themselves.")
    commands.add("render", cmd_render, help="show the request an operation would send (nothing is sent)",
                 uses="connection", formats=BOTH, arguments=_render_arguments)
    commands.add("demo", cmd_demo, help="run the data source's demo: its operations, one step at a time",
                 uses="connection", formats=BOTH,
                 epilog="Without connection settings (flags, environment or --config) the demo starts a server\n"
                        "of the data source's own when a plugin offers one (the InfluxDB data source starts\n"
                        "its sandbox on loopback), and runs against it.\n"
                        "exit status: 0 when every step did what it should, 1 otherwise.")
    docs.register(commands)
    commands.add("test", cmd_test, help="test the connection step by step", uses="connection", formats=BOTH,
                 epilog="exit status: 0 when every step passed, 1 when a step failed\n"
                        "(the report names the step and the reason); 2 for invalid connection values.")
    from ..host import command as serve  # the reference host: its own package, loaded when it runs

    serve.register(commands)
