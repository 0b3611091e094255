"""The ``influx-connector`` command line: list, describe, validate, render, run and test operations.

Everything here goes through the same engine a host app uses (``api.load`` / ``api.connect``), so
what the command line accepts and what a host's form accepts cannot drift apart. The CLI only
adds what a shell needs: reading connection values from flags, the environment and a config
file, turning ``-p key=value`` text into typed values, and printing results.

Secrets: the CLI never prints connection values itself. Requests, results and errors come from
the engine already masked; as a second line of defence every error text is masked again with
the token values the CLI was given.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import traceback
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time as dtime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence
from urllib.parse import urlsplit

import yaml

from . import api, resources, textvalues
from .errors import ConnectorError, FieldError, InsecureTLSWarning, ManifestError, ManifestProblem, ValidationError
from .forms import all_forms, connection_form, operation_form
from .model import Connector, Operation, Param
from .plugins import default_host
from .secrets import Redactor

if TYPE_CHECKING:
    from .connection import Connection, TestReport

log = logging.getLogger(__name__)

PROG = "influx-connector"

EXIT_OK = 0
EXIT_TEST_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70  # EX_SOFTWARE from sysexits.h: a bug, not a user mistake
EXIT_INTERRUPTED = 130

#: Environment variables of the official influx CLI, and the connection field each one fills.
TOKEN_ENV = "INFLUX_TOKEN"
ENV_FIELDS = ((TOKEN_ENV, "token"), ("INFLUX_ORG", "org"), ("INFLUX_BUCKET", "bucket"))
ENV_HOST = "INFLUX_HOST"

#: Operation parameters that ``--data`` fills, in order of preference.
DATA_PARAMS = ("data", "body")

_DEFAULT_PORTS = {"http": 80, "https": 443}

EXIT_CODES_HELP = """\
exit codes:
  0   success
  1   'test': the connection test failed (the report says which step)
  2   usage error, invalid parameters or connection values, unknown operation
  3   the connector manifest has problems
  4   the server answered with an error, or its answer could not be decoded
  5   the server could not be reached (network, TLS, timeout)
  70  internal error (a bug: please report it)

connection values: flags > environment (INFLUX_HOST, INFLUX_TOKEN, INFLUX_ORG,
INFLUX_BUCKET) > --config file. Values given nowhere keep the data source's defaults.
"""


class UsageError(ConnectorError):
    """The command line itself is wrong (a malformed flag value, a missing argument)."""

    exit_code = EXIT_USAGE


# --- argument parsing ------------------------------------------------------------------------

# Options that choose and load the data source: every subcommand has them.
_LOAD_OPTIONS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (("--source",), {"metavar": "ID", "help": "data source id or path of a connector.yaml (default: influxdb)"}),
    (("--operations-dir",), {"action": "append", "metavar": "DIR",
                             "help": "extra folder of operation YAML files (repeatable)"}),
    (("--format",), {"choices": ("json", "table"), "help": "output format (default: json)"}),
    (("-v", "--verbose"), {"action": "store_true", "help": "debug logging on stderr"}),
)

# Options that make a connection: the subcommands that talk to (or render for) a server.
_CONNECTION_OPTIONS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (("--host",), {"metavar": "HOST", "help": "server host name, or a URL such as https://example.com:8086/prefix"}),
    (("--port",), {"type": int, "help": "server port (default 8086)"}),
    (("--protocol",), {"choices": ("http", "https"), "help": "http or https (default http)"}),
    (("--token",), {"help": "API token (prefer INFLUX_TOKEN: flags show up in the process list)"}),
    (("--org",), {"help": "default organization name or ID"}),
    (("--bucket",), {"help": "default bucket name"}),
    (("--base-path",), {"metavar": "PATH", "help": "path prefix behind a reverse proxy, such as /influx"}),
    (("--timeout",), {"type": float, "metavar": "SECONDS", "help": "connect and answer timeout"}),
    (("--deadline",), {"type": float, "metavar": "SECONDS", "help": "time limit for the whole call (default 300)"}),
    (("--max-answer-mb",), {"type": float, "metavar": "MIB", "help": "largest answer held in memory (default 256)"}),
    (("--insecure",), {"action": "store_true", "help": "do not verify the TLS certificate (test servers only)"}),
    (("--ca-bundle",), {"metavar": "FILE", "help": "PEM file of certificate authorities to trust"}),
    (("--header",), {"action": "append", "metavar": "'NAME: VALUE'", "help": "extra request header (repeatable)"}),
    (("--config",), {"metavar": "FILE", "help": "YAML or JSON mapping of connection field values"}),
)

# Common options are accepted before and after the subcommand name. Before it they are stored
# under this prefix so that the subcommand's parser cannot overwrite them with nothing.
_TOP = "top_"


def _dest(flags: Sequence[str]) -> str:
    return flags[-1].lstrip("-").replace("-", "_")


def _add_options(parser: argparse.ArgumentParser, title: str,
                 options: Sequence[tuple[tuple[str, ...], dict[str, Any]]], prefix: str = "") -> None:
    group = parser.add_argument_group(title)
    for flags, kwargs in options:
        if "metavar" not in kwargs and "choices" not in kwargs and kwargs.get("action") != "store_true":
            # The same name in help before and after the subcommand, not the prefixed dest.
            kwargs = {**kwargs, "metavar": _dest(flags).upper()}
        # SUPPRESS leaves an option out of the namespace when it is not given, so "not given"
        # can be told apart from a default and the engine's own defaults apply.
        group.add_argument(*flags, dest=prefix + _dest(flags), default=argparse.SUPPRESS, **kwargs)


def _subparser(sub: Any, name: str, help_text: str, connects: bool, epilog: str = "") -> argparse.ArgumentParser:
    # Every subcommand's help ends with the exit codes, so a script author finds them where they look.
    epilog = f"{epilog}\n\n{EXIT_CODES_HELP}" if epilog else EXIT_CODES_HELP
    parser = sub.add_parser(name, help=help_text, description=help_text, epilog=epilog,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_options(parser, "data source options", _LOAD_OPTIONS)
    if connects:
        _add_options(parser, "connection options", _CONNECTION_OPTIONS)
    return parser


def _add_param_arguments(parser: argparse.ArgumentParser) -> None:
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Run and inspect the operations of an influx-connector data source.",
        epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_options(parser, "data source options", _LOAD_OPTIONS, _TOP)
    _add_options(parser, "connection options", _CONNECTION_OPTIONS, _TOP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    _subparser(sub, "operations", "list the operations: id, title and required parameters", connects=False)

    describe = _subparser(sub, "describe", "show an operation's parameters, description and form", connects=False)
    describe.add_argument("operation", metavar="OP", nargs="?", help="operation id")
    describe.add_argument("--connection", action="store_true", help="describe the connection form instead")

    _subparser(sub, "forms", "print every form of the data source as JSON (what a host app loads)",
               connects=False)

    validate = _subparser(sub, "validate", "check a connector manifest and report every problem",
                          connects=False,
                          epilog="Prints one problem per line as file:line:col: pointer: message (hint)\n"
                                 "and exits 3 when there are any; --format json prints them as a JSON report.")
    validate.add_argument("directory", metavar="DIR", nargs="?",
                          help="folder holding connector.yaml and operations/ (default: the built-in one)")

    run = _subparser(sub, "run", "run an operation and print its result", connects=True)
    _add_param_arguments(run)
    run.add_argument("--progress", choices=("auto", "always", "never"), default="auto",
                     help="a progress bar on stderr for writes sent in batches (auto: when stderr is a terminal)")
    run.add_argument("--envelope", action="store_true",
                     help='print {"status": "ok", "data": ...} as Insight²/ToolJet hosts expect; a failure '
                          'prints {"status": "failed", ...} and exits with its usual code')

    render = _subparser(sub, "render", "show the request an operation would send (nothing is sent)",
                        connects=True)
    _add_param_arguments(render)
    render.add_argument("--curl", action="store_true", help="print a curl command (credentials masked)")

    _subparser(sub, "demo", "run every operation once and print what each returned", connects=True,
               epilog="Without connection settings (flags, INFLUX_HOST/INFLUX_TOKEN or --config) the demo\n"
                      "starts the built-in sandbox on loopback and runs against it.\n"
                      "exit status: 0 when every operation did what it should, 1 otherwise.")

    sandbox = sub.add_parser("sandbox", help="serve the sandbox InfluxDB v2 API on loopback until interrupted",
                             description="Serve the in-memory sandbox InfluxDB v2 API (a development and test "
                                         "server, not a database) until Ctrl-C.")
    sandbox.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=8086, help="port to listen on (default 8086; 0 picks one)")
    sandbox.add_argument("--token", default="sandbox-token", help="API token the sandbox accepts")
    sandbox.add_argument("--org", default="sandbox-org", help="organization to create")
    sandbox.add_argument("--bucket", default="sandbox-bucket", help="bucket to create")
    sandbox.add_argument("--extra-token", action="append", default=[], metavar="TOKEN",
                         help="another token the sandbox accepts (repeatable)")
    sandbox.add_argument("--extra-org", action="append", default=[], metavar="ORG",
                         help="another organization to create (repeatable)")
    sandbox.add_argument("--tls-cert", metavar="PEM",
                         help="serve https with this certificate (a PEM file; give --tls-key too)")
    sandbox.add_argument("--tls-key", metavar="PEM", help="the certificate's private key (a PEM file)")
    sandbox.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                         help="a host name clients may use in the Host header besides IP addresses and localhost "
                              "(repeatable; others are refused, against DNS rebinding)")

    _subparser(sub, "test", "test the connection step by step", connects=True,
               epilog="exit status: 0 when every step passed, 1 when a step failed\n"
                      "(the report names the step and the reason); 2 for invalid connection values.")
    return parser


# --- the parsed command line ---------------------------------------------------------------------


@dataclass
class Invocation:
    """One parsed command line, with common options merged from before and after the subcommand."""

    ns: argparse.Namespace
    redactor: Redactor = field(default_factory=Redactor)

    def option(self, name: str, default: Any = None) -> Any:
        """A common option: the value after the subcommand wins over the one before it."""
        values = vars(self.ns)
        if name in values:
            return values[name]
        return values.get(_TOP + name, default)

    def options(self, name: str) -> list[Any]:
        """A repeatable common option: occurrences before and after the subcommand, in order."""
        values = vars(self.ns)
        return [*(values.get(_TOP + name) or []), *(values.get(name) or [])]

    def given(self, name: str) -> bool:
        values = vars(self.ns)
        return name in values or _TOP + name in values

    @property
    def output_format(self) -> str:
        return self.option("format", "json")

    def connector(self) -> Connector:
        source = self.option("source", api.DEFAULT_SOURCE)
        return api.load(source, self.options("operations_dir"))

    def remember_secrets(self, connector: Connector, values: Mapping[str, Any]) -> None:
        """Mask the connection's secret values in anything this command prints from now on."""
        self.redactor = Redactor.of(
            [*self.redactor.secrets, *connector.connection.secret_values(values)])

    def connect(self) -> Connection:
        connector = self.connector()
        values = connection_values(self, os.environ)
        self.remember_secrets(connector, values)
        log.debug("connection fields given: %s", ", ".join(sorted(values)) or "none")
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always", InsecureTLSWarning)
            from .connection import Connection

            conn = Connection(connector, values, default_host())
        for warning in said:  # the connection's own warnings, as one line each
            print(f"warning: {warning.message}", file=sys.stderr)
        return conn


# --- connection values: config file < environment < flags -----------------------------------------


def split_host_url(text: str, origin: str) -> dict[str, Any]:
    """protocol, host, port and base_path from a URL such as ``https://example.com/prefix``.

    Without a scheme the text is taken as a bare host name. A URL describes the whole server,
    so it also sets base_path (empty when it has no path) instead of inheriting one meant for
    another server. The port defaults to the scheme's (443/80), as in the URL itself.
    """
    text = text.strip()
    if "://" not in text:
        return {"host": text}
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    # Messages name the origin but never repeat the value: a URL can carry credentials.
    if parts.username or parts.password:
        raise UsageError(f"{origin}: do not put credentials in the URL; give the token with --token or INFLUX_TOKEN")
    if parts.query or parts.fragment:
        raise UsageError(f"{origin}: the URL must not have a query string or fragment")
    if not parts.hostname:
        raise UsageError(f"{origin}: the URL has no host name")
    try:
        port = parts.port
    except ValueError:
        raise UsageError(f"{origin}: the port in the URL is not a number between 0 and 65535") from None
    # urlsplit drops the brackets of an IPv6 literal; the base URL needs them back.
    hostname = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    out: dict[str, Any] = {"protocol": scheme, "host": hostname, "base_path": parts.path.rstrip("/")}
    port = port if port is not None else _DEFAULT_PORTS.get(scheme)
    if port is not None:
        out["port"] = port
    return out


def env_values(environ: Mapping[str, str]) -> dict[str, Any]:
    """Connection values from the official influx CLI's environment variables."""
    out: dict[str, Any] = {}
    host = environ.get(ENV_HOST, "").strip()
    if host:
        out.update(split_host_url(host, ENV_HOST))
    for var, name in ENV_FIELDS:
        if environ.get(var):
            out[name] = environ[var]
    return out


def read_config(path: str) -> dict[str, Any]:
    """A YAML or JSON mapping of connection values (JSON is YAML, so one parser reads both)."""
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"--config: no such file: {path}")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        # Only the position: the parser's snippet of the offending line could hold the token.
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise UsageError(f"--config {path}: not valid YAML or JSON{where}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--config {path}: cannot read it: {type(exc).__name__}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"--config {path}: must be a mapping of connection fields, such as 'host: localhost'")
    return {str(k): v for k, v in data.items()}


def parse_header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        # The value is not repeated: a header often carries a credential.
        raise UsageError("--header must look like 'Name: value'")
    return name.strip(), value.strip()


def flag_values(inv: Invocation) -> dict[str, Any]:
    """Connection values given as flags; a --host URL is split like INFLUX_HOST."""
    out: dict[str, Any] = {}
    host = inv.option("host")
    if host is not None:
        out.update(split_host_url(host, "--host"))
    # Explicit flags win over the parts of a --host URL.
    for name in ("port", "protocol", "token", "org", "bucket", "base_path", "timeout", "deadline", "max_answer_mb",
                 "ca_bundle"):
        if inv.given(name):
            out[name] = inv.option(name)
    if inv.option("insecure"):
        out["verify_tls"] = False
    headers = dict(parse_header(h) for h in inv.options("header"))
    if headers:
        out["headers"] = headers
    return out


def connection_values(inv: Invocation, environ: Mapping[str, str]) -> dict[str, Any]:
    """Merged connection values: config file, then environment, then flags (the later wins)."""
    config_file = inv.option("config")
    config = read_config(config_file) if config_file else {}
    flags = flag_values(inv)
    values = {**config, **env_values(environ), **flags}
    if "headers" in flags and isinstance(config.get("headers"), Mapping):
        # Headers merge per name, so --header adds to the config file's headers.
        values["headers"] = {**config["headers"], **flags["headers"]}
    return values


# --- operation parameters ------------------------------------------------------------------------


def param_types(op: Operation, name: str) -> list[str]:
    """The JSON types a parameter declares (by its name or an alias), [] when it declares none
    (or is unknown)."""
    name = next((p.name for p in op.params if name in p.aliases), name)
    prop = (op.input_schema.get("properties") or {}).get(name) or {}
    declared = prop.get("type")
    if declared is None:
        return []
    return [declared] if isinstance(declared, str) else list(declared)


def _to_json(text: str, kind: str) -> Any:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"must be JSON ({exc.msg} at column {exc.colno})") from None
    expected = dict if kind == "object" else list
    if not isinstance(value, expected):
        raise ValueError(f"must be a JSON {'object' if kind == 'object' else 'array'}")
    return value


# Numbers and true/false as the engine reads a host's text for them (one grammar, one message).
_CONVERTERS = {**textvalues.CONVERTERS,
               "object": lambda t: _to_json(t, "object"), "array": lambda t: _to_json(t, "array")}


def convert_value(text: str, types: Sequence[str]) -> Any:
    """Text from ``-p`` as a value of the declared type(s); ValueError says what was expected."""
    if text == "" or not types:
        # Empty text means "not given" to the engine, like an untouched form field.
        return text
    if len(types) == 1:
        kind = types[0]
        return _CONVERTERS[kind](text) if kind in _CONVERTERS else text
    if text.lstrip()[:1] in ("{", "["):
        kind = "object" if text.lstrip().startswith("{") else "array"
        if kind in types:
            try:
                return _to_json(text, kind)
            except ValueError:
                if "string" not in types:
                    raise
    if "string" in types:
        return text
    for kind in types:
        if kind in ("integer", "number", "boolean"):
            try:
                return _CONVERTERS[kind](text)
            except ValueError:
                continue
    raise ValueError(f"must be {' or '.join(types)}")


def parse_assignments(items: Sequence[str]) -> list[tuple[str, str]]:
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"-p expects KEY=VALUE, got '{item}'")
        pairs.append((key.strip(), value))
    return pairs


def read_text_argument(value: str, what: str) -> str:
    """``@file`` reads a file, ``-`` reads stdin, anything else is the text itself."""
    if value == "-":
        return sys.stdin.read()
    if value.startswith("@"):
        path = Path(value[1:])
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UsageError(f"{what}: no such file: {path}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{what}: cannot read {path}: {type(exc).__name__}") from None
    return value


def data_param(op: Operation) -> str:
    for name in DATA_PARAMS:
        if op.param(name) is not None:
            return name
    raise UsageError(f"--data: operation '{op.id}' has no 'data' or 'body' parameter; use -p instead")


def data_value(text: str, types: Sequence[str]) -> Any:
    """Parsed JSON when the text is a JSON list/object the parameter accepts, else the text."""
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    if (isinstance(parsed, list) and "array" in types) or (isinstance(parsed, dict) and "object" in types):
        return parsed
    return text


def build_params(op: Operation, ns: argparse.Namespace, from_json: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Parameters from --params-json (already read), then -p (converted by declared type), then --data."""
    params: dict[str, Any] = dict(from_json or {})
    errors: list[FieldError] = []
    given: set[str] = set()
    for key, text in parse_assignments(ns.param):
        given.add(key)
        try:
            params[key] = convert_value(text, param_types(op, key))
        except ValueError as exc:
            errors.append(FieldError(key, f"{exc} (got '{text}')"))
    if errors:
        raise ValidationError(errors, f"-p values for '{op.id}'")
    if ns.data is not None:
        name = data_param(op)
        if name in given:
            raise UsageError(f"'{name}' is given twice: with --data and with -p {name}=...")
        params[name] = data_value(read_text_argument(ns.data, "--data"), param_types(op, name))
    return params


def _params_json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"--params-json: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(value, dict):
        raise UsageError("--params-json must be a JSON object")
    return value


# --- output ----------------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, (datetime, date, dtime)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    return str(value)


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=_json_default)


def emit_json(value: Any) -> None:
    print(to_json(value))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list, tuple, Mapping)):
        return json.dumps(value, ensure_ascii=False, default=_json_default)
    # One row per line: an embedded newline would break the columns.
    return str(value).replace("\r", "\\r").replace("\n", "\\n")


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Left-aligned columns separated by two spaces, with a header and a dashed rule."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths)).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out.extend(line(r) for r in cells)
    return "\n".join(out)


def is_flat_rows(data: Any) -> bool:
    """A list of dicts whose values are all scalars: what fits a text table."""
    return isinstance(data, list) and all(
        isinstance(row, Mapping) and not any(isinstance(v, (Mapping, list, tuple)) for v in row.values())
        for row in data)


def rows_table(rows: Sequence[Mapping[str, Any]]) -> str:
    if not rows:
        return "(no rows)"
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    return format_table(list(columns), [[row.get(c) for c in columns] for row in rows])


# --- commands ----------------------------------------------------------------------------------------


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


def _connector_file(directory: str | None) -> Path:
    if directory is None:
        return resources.connector_file()
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
    file = _connector_file(inv.ns.directory)
    extra = [Path(d) for d in inv.options("operations_dir")]
    as_json = inv.option("format") == "json"  # plain lines unless JSON is asked for
    try:
        from .manifest import load_connector

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
    from .demo import demo

    values = connection_values(inv, os.environ)
    if values:
        inv.remember_secrets(inv.connector(), values)
    ok = demo(values or None, sys.stdout)
    return EXIT_OK if ok else EXIT_TEST_FAILED


def cmd_sandbox(inv: Invocation) -> int:
    from .sandbox import Sandbox, SandboxExposedWarning

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


# --- entry point ---------------------------------------------------------------------------------------


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


if __name__ == "__main__":  # pragma: no cover - the console script and __main__.py call main()
    sys.exit(main())
