"""The commands: each takes the parsed command line and returns an exit code."""
from __future__ import annotations

import signal
import sys
import threading
import warnings
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from .. import api
from ..errors import ConnectorError, ManifestError, ManifestProblem, UsageError
from ..forms import all_forms, connection_form, operation_form
from ..model import Operation, Param
from ..plugins import default_host
from .config import connection_values
from .exits import EXIT_OK, EXIT_TEST_FAILED
from .invocation import Invocation
from .output import emit_json, format_table, is_flat_rows, rows_table, to_json
from .params import _params_json, build_params, read_text_argument

if TYPE_CHECKING:
    from ..connection import TestReport


def required_names(op: Operation) -> list[str]:
    return [p.name for p in op.params if p.required]


def cmd_operations(inv: Invocation) -> int:
    connector = inv.connector()
    listing = []
    for op in connector.operations.values():
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
    connector = inv.connector()
    if ns.connection and ns.operation:
        raise UsageError("describe: give an operation id or --connection, not both")
    if ns.connection:
        spec = connector.connection
        doc: dict[str, Any] = {
            "id": connector.id, "title": connector.title, "description": connector.description,
            "fields": [param_info(p, spec.input_schema) for p in spec.fields],
            "form": connection_form(connector)}
    elif ns.operation:
        op = connector.operation(ns.operation)
        doc = {"id": op.id, "title": op.title, "description": op.description, "source": op.source,
               "params": [param_info(p, op.input_schema) for p in op.params],
               "form": operation_form(connector, op)}
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
    emit_json(all_forms(inv.connector()))
    return EXIT_OK


def _connector_file(inv: Invocation, directory: str | None) -> Path:
    if directory is None:
        return api.source_file(inv.option("source"))
    path = Path(directory)
    if path.is_file() and path.suffix in (".yaml", ".yml"):
        return path  # a connector.yaml named directly
    file = path / "connector.yaml"
    if not file.is_file():
        raise UsageError(f"validate: no connector.yaml in {path}")
    return file


def _problem_dict(p: ManifestProblem) -> dict[str, Any]:
    return {"file": p.file, "line": p.line, "column": p.column, "pointer": p.pointer,
            "message": p.message, "hint": p.hint}


def cmd_validate(inv: Invocation) -> int:
    file = _connector_file(inv, inv.ns.directory)
    extra = [Path(d) for d in inv.options("operations_dir")]
    as_json = inv.option("format") == "json"  # plain lines unless JSON is asked for
    try:
        from ..manifest import load_connector

        connector = load_connector(file, extra, default_host().provided_names())
    except ManifestError as exc:
        if as_json:
            emit_json({"ok": False, "problems": [_problem_dict(p) for p in exc.problems]})
        else:
            for problem in exc.problems:
                print(problem)
        count = len(exc.problems)
        print(f"{count} problem{'s' if count != 1 else ''} found", file=sys.stderr)
        return ManifestError.exit_code
    count = len(connector.operations)
    if as_json:
        emit_json({"ok": True, "id": connector.id, "file": connector.source, "operations": count})
    else:
        print(f"OK: {connector.id} ({connector.source}): {count} operation{'s' if count != 1 else ''}")
    return EXIT_OK


def _operation_and_params(inv: Invocation) -> tuple[Operation, dict[str, Any]]:
    """The operation and its typed parameters, checked before any connection is made.

    --params-json may hold a saved query of the Insight² / ToolJet model, whose "operation"
    names the operation (an id or alias); OP may then be left out."""
    ns = inv.ns
    from_json = _params_json(read_text_argument(ns.params_json, "--params-json")) if ns.params_json is not None else {}
    connector = inv.connector()
    saved = from_json.get(api.OPERATION_KEY)
    op = connector.operation(ns.operation if ns.operation is not None else api.saved_query(from_json)[0])
    if saved is not None and op.param(api.OPERATION_KEY) is None:
        if connector.operation(str(saved)) is not op:
            raise UsageError(f"OP is '{ns.operation}' but the saved query's operation is '{saved}'")
        from_json.pop(api.OPERATION_KEY)
    return op, build_params(op, ns, from_json)


class ProgressBar:
    """A one-line bar on a stream for writes sent in batches: records sent of all, and batches."""

    WIDTH = 30

    def __init__(self, out: Any):
        self.out = out
        self.drawn = False

    def __call__(self, done: Mapping[str, Any]) -> None:
        total = done["records_total"] or 1
        filled = round(self.WIDTH * done["records"] / total)
        self.out.write(f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}] {done['records'] * 100 // total:3d}% "
                       f"{done['records']:,}/{done['records_total']:,} records, {done['batches']} batches")
        self.out.flush()
        self.drawn = True

    def finish(self) -> None:
        if self.drawn:
            self.out.write("\n")
            self.out.flush()


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
    wanted = getattr(inv.ns, "progress", "never")
    bar = ProgressBar(sys.stderr) if wanted == "always" or (wanted == "auto" and sys.stderr.isatty()) else None
    with inv.connect() as conn:
        try:
            result = conn.run(op.id, params, progress=bar)
        finally:
            if bar is not None:
                bar.finish()
    if inv.ns.envelope:
        emit_json(result.envelope())
    elif inv.output_format == "table" and is_flat_rows(result.data):
        print(rows_table(result.data))
    else:
        emit_json(result.to_dict())
    return EXIT_OK


def cmd_render(inv: Invocation) -> int:
    op, params = _operation_and_params(inv)
    with inv.connect() as conn:
        request = conn.render(op.id, params)
    if inv.ns.curl:
        print(request.curl())
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
    from ..demo import demo

    values = connection_values(inv, os.environ)
    if values:
        inv.remember_secrets(inv.connector(), values)
    ok = demo(values or None, sys.stdout)
    return EXIT_OK if ok else EXIT_TEST_FAILED


def cmd_sandbox(inv: Invocation) -> int:
    from ..sandbox import Sandbox, SandboxExposedWarning

    ns = inv.ns
    try:
        sandbox = Sandbox(host=ns.bind, port=ns.port, token=ns.token, org=ns.org, bucket=ns.bucket,
                          extra_tokens=ns.extra_token, extra_orgs=ns.extra_org,
                          tls_cert=ns.tls_cert, tls_key=ns.tls_key, allowed_hosts=ns.allow_host)
    except ValueError as exc:  # only one of --tls-cert/--tls-key, or a certificate or key it cannot load
        raise UsageError(f"sandbox: {exc}") from None
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always", SandboxExposedWarning)
        sandbox.start()
    for warning in said:  # bound off loopback: said plainly, before anything else
        if issubclass(warning.category, SandboxExposedWarning):
            print(f"warning: {warning.message}", file=sys.stderr, flush=True)
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    with sandbox as sb:
        # Printing the token is the point here: it is the sandbox's own, made up for local testing.
        print(f"sandbox InfluxDB v2 API (in memory, for development and tests) at {sb.url}")
        print(f"  export INFLUX_HOST={sb.url} INFLUX_TOKEN={ns.token} INFLUX_ORG={ns.org}")
        print("  connection: " + " ".join(f"{k}={v}" for k, v in sb.connection_settings.items()), flush=True)
        stop = threading.Event()
        # A service manager or a test stops it with SIGTERM: shut down as cleanly as on Ctrl-C.
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
    print("sandbox stopped", file=sys.stderr)
    return EXIT_OK


COMMANDS = {"operations": cmd_operations, "describe": cmd_describe, "forms": cmd_forms,
            "validate": cmd_validate, "run": cmd_run, "render": cmd_render, "test": cmd_test,
            "demo": cmd_demo, "sandbox": cmd_sandbox}

