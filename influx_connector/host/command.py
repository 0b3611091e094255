"""The ``serve`` command: run the reference host on loopback and print the address to open.

``--sandbox`` asks each hosted data source's plugin for its demo server (the hook the ``demo``
command uses; the InfluxDB data source starts its sandbox) and saves a data source that points
at it, so the page works at once with nothing else installed. Where the manifest finds a
connection field out from the server (``detect``, such as InfluxDB's API), the saved data source
is tested so that is known, and a server of each other kind the field names is started and saved
too (InfluxDB: an InfluxDB 3 sandbox).
"""
from __future__ import annotations

import argparse
import errno
import logging
import os
import signal
import sys
import threading
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from ..cli.exits import EXIT_OK
from ..cli.invocation import Invocation
from ..cli.registry import CommandRegistry
from ..errors import UsageError

log = logging.getLogger(__name__)


def default_db() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "influx-connector" / "serve.sqlite3"


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bind", default="127.0.0.1", metavar="ADDRESS",
                        help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    parser.add_argument("--db", metavar="FILE",
                        help=f"SQLite file of saved data sources and queries (default {default_db()}; "
                             "in memory with --sandbox)")
    parser.add_argument("--key-file", metavar="FILE",
                        help="key that encrypts saved secrets, created 0600 on first start (default: the "
                             "database's path + .key)")
    parser.add_argument("--sandbox", action="store_true",
                        help="also start the data sources' demo servers (InfluxDB: the sandbox) and save a "
                             "data source for each")
    parser.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                        help="a host name the service answers to besides localhost (repeatable)")
    parser.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                        help="an origin (https://app.example) whose pages may call the API (repeatable)")
    parser.add_argument("--max-body-bytes", type=int, default=32 * 1024 * 1024, metavar="N",
                        help="largest request body taken (default 32 MiB)")
    parser.add_argument("--threads", type=int, default=16, help="worker threads (default 16)")


def run(inv: Invocation) -> int:
    try:
        from .server import build_app, few_heaps, make_server
    except ImportError as exc:  # waitress or cryptography missing
        raise UsageError(f"serve needs the 'serve' extra: pip install 'influx-connector[serve]' ({exc})") from None
    ns = inv.args
    few_heaps()  # before any thread allocates: the service's memory stays bounded by one stream's
    if ns.bind not in ("127.0.0.1", "localhost", "::1"):
        log.warning("serving on %s: other machines can reach this service (the access key still guards it)",
                    ns.bind)
    # Every installed data source is hosted; --data-source with a connector.yaml path adds that one.
    source = inv.option("source")
    sources = [source] if source and str(source).endswith((".yaml", ".yml")) else []
    db = ns.db or (":memory:" if ns.sandbox else str(default_db()))
    app = build_app(db, key_file=ns.key_file, sources=sources, operation_dirs=inv.options("operations_dir"),
                    allowed_hosts=ns.allow_host, cors_origins=ns.cors_origin, max_body=ns.max_body_bytes)
    with ExitStack() as stack:
        if ns.sandbox:
            _start_demo_servers(app, stack)
        try:
            server = make_server(app, ns.bind, ns.port, ns.threads)
        except OSError as exc:
            raise UsageError(f"serve: {_cannot_listen(exc, ns.bind, ns.port)}") from None
        port = server.effective_port
        shown = "127.0.0.1" if ns.bind in ("0.0.0.0", "::") else ns.bind
        where = f"[{shown}]" if ":" in shown else shown
        print(f"influx-connector serve: database {db}", flush=True)
        print(f"Open the page (the key is required; keep it private):\n    http://{where}:{port}/?key={app.guard.key}",
              flush=True)
        print(f"API: Authorization: Bearer {app.guard.key}   (OpenAPI: http://{where}:{port}/api/openapi.json)",
              flush=True)
        _stop_on_signals(server)
        try:
            server.run()
        except KeyboardInterrupt:
            pass
        finally:
            server.close()
            app.catalog.close()
    return EXIT_OK


def _cannot_listen(exc: OSError, bind: str, port: int) -> str:
    """Why the service could not listen, and what to do, in the words of the flags."""
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} on {bind} is already in use: pick another with --port, or --port 0 for a free one"
    if exc.errno == errno.EACCES:
        return f"not allowed to listen on {bind}:{port} (ports below 1024 need privileges): use --port 0 for a free one"
    return f"cannot listen on {bind}:{port}: {exc.strerror or exc}"


def _start_demo_servers(app: Any, stack: ExitStack) -> None:
    host = app.catalog.host
    for ds in app.catalog.all():
        # No settings given: each plugin starts its default kind of server.
        server = host.hook.influx_connector_demo_server(data_source=ds.id, out=sys.stdout, values={})
        if server is None:
            continue
        saved = _save_demo_source(app, ds, f"{ds.title} sandbox", stack.enter_context(server))
        detect = ds.connection.detect
        if detect is None:
            continue
        # A data source whose connection field is found out from its server (detect) gets a
        # server of each other kind that field names too, so each kind can be tried at once.
        conn = app.tested(saved.id)[1]
        plays = conn.detected.get(detect.field)
        field = next(p for p in ds.connection.fields if p.name == detect.field)
        for value in field.schema.get("enum") or ():
            if value in (detect.auto, plays):
                continue
            other = host.hook.influx_connector_demo_server(data_source=ds.id, out=sys.stdout,
                                                           values={detect.field: value})
            if other is not None:
                values = {**stack.enter_context(other), detect.field: value}
                _save_demo_source(app, ds, f"{ds.title} sandbox, {field.title} {value}", values)


def _save_demo_source(app: Any, ds: Any, name: str, values: dict[str, Any]) -> Any:
    existing = [s for s in app.store.sources() if s.name == name]
    if existing:
        saved = app.store.update_source(existing[0].id, name, *app.split_values(ds.id, values, {}))
    else:
        saved = app.store.add_source(name, ds.id, *app.split_values(ds.id, values, {}))
    print(f"Saved the data source '{name}' for it", flush=True)
    return saved


def _stop_on_signals(server: Any) -> None:
    if threading.current_thread() is not threading.main_thread():
        return

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


def register(commands: CommandRegistry) -> None:
    commands.add("serve", run, help="serve the reference host: a page and a JSON API over every data source",
                 arguments=arguments,
                 epilog="Binds 127.0.0.1 and prints an address with a random access key; the page and the API\n"
                        "require it. Saved data sources and queries live in the SQLite file --db, their secrets\n"
                        "encrypted with the key in --key-file. Needs the 'serve' extra (waitress, cryptography).\n"
                        "With --sandbox: an in-memory database, and the InfluxDB sandboxes (v2 and v3) already saved.")
