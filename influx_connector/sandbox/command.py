"""``influx-connector sandbox``: serve the sandbox until interrupted.

The InfluxDB plugin adds this command to the command line (``influx_connector_register_commands``);
the command line itself knows no sandbox.
"""
from __future__ import annotations

import argparse
import errno
import signal
import socket
import sys
import threading
import warnings
from typing import Any

from ..errors import UsageError

DEFAULT_PORT = 8086
DEFAULT_TOKEN = "sandbox-token"


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port to listen on (default {DEFAULT_PORT}; 0 picks a free one)")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="API token the sandbox accepts")
    parser.add_argument("--org", default="sandbox-org", help="organization to create")
    parser.add_argument("--bucket", default="sandbox-bucket", help="bucket to create")
    parser.add_argument("--extra-token", action="append", default=[], metavar="TOKEN",
                        help="another token the sandbox accepts (repeatable)")
    parser.add_argument("--extra-org", action="append", default=[], metavar="ORG",
                        help="another organization to create (repeatable)")
    parser.add_argument("--tls-cert", metavar="PEM",
                        help="serve https with this certificate (a PEM file; give --tls-key too)")
    parser.add_argument("--tls-key", metavar="PEM", help="the certificate's private key (a PEM file)")
    parser.add_argument("--api", choices=["v2", "v3"], default="v2",
                        help="v3 answers /ping and /health as InfluxDB 3 does "
                             "(its /api/v3 endpoints are always served)")
    parser.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                        help="a host name clients may use in the Host header besides IP addresses and localhost "
                             "(repeatable; others are refused, against DNS rebinding)")


def run(inv: Any) -> int:
    from . import Sandbox, SandboxExposedWarning

    ns = inv.args
    try:
        sandbox = Sandbox(host=ns.bind, port=ns.port, token=ns.token, org=ns.org, bucket=ns.bucket,
                          extra_tokens=ns.extra_token, extra_orgs=ns.extra_org,
                          tls_cert=ns.tls_cert, tls_key=ns.tls_key, allowed_hosts=ns.allow_host, api=ns.api)
    except ValueError as exc:  # only one of --tls-cert/--tls-key, or a certificate or key it cannot load
        raise UsageError(f"sandbox: {exc}") from None
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always", SandboxExposedWarning)
        try:
            sandbox.start()
        except OSError as exc:
            raise UsageError(f"sandbox: {_cannot_listen(exc, ns.bind, ns.port)}") from None
    for warning in said:  # bound off loopback: said plainly, before anything else
        if issubclass(warning.category, SandboxExposedWarning):
            print(f"warning: {warning.message}", file=sys.stderr, flush=True)
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    with sandbox as sb:
        # Printing the token is the point here: it is the sandbox's own, made up for local testing.
        which, extra = ("InfluxDB 3 API", " INFLUX_API=v3") if ns.api == "v3" else ("InfluxDB v2 API", "")
        print(f"sandbox {which} (in memory, for development and tests) at {sb.url}")
        print(f"  export INFLUX_HOST={sb.url} INFLUX_TOKEN={ns.token} INFLUX_ORG={ns.org}{extra}")
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
    return 0


def _cannot_listen(exc: OSError, bind: str, port: int) -> str:
    """Why the sandbox could not listen, and what to do: in the words of the flags."""
    where = f"{bind}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return (f"port {port} on {bind} is already in use (another sandbox or server listens there): "
                "pick another with --port, or --port 0 for a free one")
    if exc.errno == errno.EACCES:
        return f"not allowed to listen on {where} (ports below 1024 need privileges): use --port 0 for a free port"
    if exc.errno == errno.EADDRNOTAVAIL or isinstance(exc, socket.gaierror):
        return f"cannot listen on {bind}: not an address of this machine"
    return f"cannot listen on {where}: {exc.strerror or exc}"


def register(commands: Any) -> None:
    commands.add("sandbox", run, arguments=arguments,
                 help="serve the sandbox InfluxDB v2 API on loopback until interrupted",
                 description="Serve the in-memory sandbox InfluxDB v2 API (a development and test server, "
                             "not a database) until Ctrl-C or SIGTERM.")
