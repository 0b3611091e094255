"""Putting the service together and running it under waitress.

waitress is a production WSGI server in pure Python with no dependencies of its own: a thread
pool for the blocking calls to data sources (the engine is synchronous), request body caps, and
no C build, so ``pip install influx-connector[serve]`` works wherever the connector does.
"""
from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..plugins import PluginHost
from .app import App
from .catalog import Catalog
from .security import DEFAULT_MAX_BODY, Guard, new_key
from .store import MEMORY, Store, load_key

log = logging.getLogger(__name__)

DEFAULT_THREADS = 16
#: What a connection may queue for a client that reads slower than the service writes.
OUTBUF_HIGH_WATERMARK = 2 * 1024 * 1024
#: glibc's mallopt parameter for the number of heaps (malloc.h).
M_ARENA_MAX = -8
#: The send buffer asked of the kernel for each connection (Linux gives twice this).
SEND_BUFFER = 1024 * 1024


def build_app(db: str | Path = MEMORY, *, key_file: str | Path | None = None, access_key: str | None = None,
              host: PluginHost | None = None, sources: Iterable[str | Path] = (),
              operation_dirs: Iterable[str | Path] = (), allowed_hosts: Iterable[str] = (),
              cors_origins: Iterable[str] = (), max_body: int = DEFAULT_MAX_BODY,
              refresh_seconds: float = 1.0) -> App:
    """The WSGI app over the SQLite file ``db`` (``:memory:`` keeps nothing), its secrets under
    the key in ``key_file`` (created 0600 when missing; default: beside the database)."""
    if str(db) == MEMORY:
        store = Store(MEMORY)
    else:
        db_path = Path(db)
        db_path.parent.mkdir(parents=True, exist_ok=True)
        key_path = Path(key_file) if key_file else db_path.with_name(db_path.name + ".key")
        store = Store(db_path, load_key(key_path))
    catalog = Catalog(host, sources, operation_dirs, refresh_seconds)
    guard = Guard(access_key or new_key(), tuple(allowed_hosts), tuple(cors_origins), max_body)
    return App(store, catalog, guard)


@dataclass
class Running:
    """A service started in a background thread (tests, benchmarks, ``--sandbox``)."""

    app: App
    server: Any
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.effective_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def key(self) -> str:
        return self.app.guard.key

    def stop(self) -> None:
        """Close the listening socket and every open connection, in the server's own thread
        (waitress's loop runs until nothing is left in its map), then stop the workers."""
        server = self.server

        def close_all() -> None:
            for dispatcher in list(server._map.values()):
                if dispatcher is not server and dispatcher is not server.trigger:
                    dispatcher.close()
            server.close()

        try:
            server.trigger.pull_trigger(close_all)
        except OSError:  # the loop has ended already (its trigger is closed)
            pass
        self.thread.join(10)
        server.task_dispatcher.shutdown()
        self.app.catalog.close()

    def __enter__(self) -> Running:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def make_server(app: App, bind: str = "127.0.0.1", port: int = 0, threads: int = DEFAULT_THREADS) -> Any:
    from waitress.server import BaseWSGIServer, create_server

    # waitress refuses a declared body above the cap before reading it (413), and stops reading
    # a chunked one there; the app checks again for any server that would not. A stream waits
    # for a slow reader once 2 MiB are queued, rather than queueing the whole answer; what is
    # queued stays in memory (waitress's default moves a queue past 1 MiB to a temporary file,
    # a write and a read of every byte of a long stream to a client that lags a little).
    server = create_server(app, host=bind, port=port, threads=threads, ident="influx-connector",
                           max_request_body_size=app.guard.max_body, clear_untrusted_proxy_headers=True,
                           channel_timeout=300, outbuf_high_watermark=OUTBUF_HIGH_WATERMARK,
                           outbuf_overflow=2 * OUTBUF_HIGH_WATERMARK)
    # waitress sends at most the socket's send buffer a call, as the socket reports it when
    # accepted: 16 KiB by Linux's default, before the kernel grows it. Connections inherit the
    # listener's size; a larger one lets a stream go out in few large sends.
    # (A name with two addresses gets a listener for each.)
    listeners: list[Any] = [server] if isinstance(server, BaseWSGIServer) else list((server.map or {}).values())
    for listener in listeners:
        if isinstance(listener, BaseWSGIServer) and listener.socket is not None:
            listener.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
    return server


def few_heaps(arenas: int = 2) -> bool:
    """Ask glibc's allocator for at most ``arenas`` heaps in this process (True when it took it).

    By default each thread that allocates under contention gets its own heap, up to eight per
    core, and a heap keeps what its thread once held at its peak. waitress hands requests to its
    worker threads in turn, so after a long stream on each of them the service would hold about
    sixteen streams' worth of buffers. The GIL lets only one thread run Python at a time, so
    sharing a couple of heaps costs them next to nothing. For the service's own process only
    (``influx-connector serve``), never for a program that merely starts it.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS)
        return False
    return bool(mallopt(M_ARENA_MAX, arenas))


def start(app: App, bind: str = "127.0.0.1", port: int = 0, threads: int = DEFAULT_THREADS) -> Running:
    server = make_server(app, bind, port, threads)
    thread = threading.Thread(target=server.run, name="influx-connector-serve", daemon=True)
    thread.start()
    return Running(app, server, thread)
