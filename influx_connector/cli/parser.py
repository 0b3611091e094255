"""The argument parser: the options every command shares and each command's own."""
from __future__ import annotations

import argparse
from typing import Any, Sequence

from .exits import EXIT_CODES_HELP, PROG

# Options that choose and load the data source: every subcommand has them.
_LOAD_OPTIONS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (("--source",), {"metavar": "ID", "help": "data source id or path of a connector.yaml "
                                               "(default: $INFLUX_CONNECTOR_SOURCE, else the only one installed)"}),
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

