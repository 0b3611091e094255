"""``Sandbox``: the public object that owns the store, the tokens, the listener and the recordings."""
from __future__ import annotations

import logging
import ssl
import threading
import time
import warnings
from typing import Any

from influx_connector.sandbox import guard
from influx_connector.sandbox.server.endpoints.buckets import DAY, default_shard_group_seconds
from influx_connector.sandbox.server.httpd import SandboxHTTPServer
from influx_connector.sandbox.server.messages import Reply, Request
from influx_connector.sandbox.server.recording import RecordedRequest, RecordedResponse
from influx_connector.sandbox.server.routes import Router
from influx_connector.sandbox.store import Bucket, Org, Store, now_rfc3339

logger = logging.getLogger(__name__)


class SandboxExposedWarning(UserWarning):
    """The sandbox listens on an address other machines can reach."""


class Sandbox:
    """An InfluxDB v2 look-alike on loopback: an org with a bucket, any extra orgs, system buckets in each.

    Every token in ``token`` and ``extra_tokens`` may do everything, like an operator token. The
    v1 endpoints (``/write``, ``/query``) see the first org's buckets as databases. With
    ``tls_cert`` and ``tls_key`` (PEM files) it serves https and ``url`` starts with ``https://``.

    On a shared machine: the token is checked, and the body's size against ``max_body_bytes``,
    before a body is read; requests a web page sends from another site (``Origin``,
    ``Sec-Fetch-Site``) and requests naming a host other than an IP address, ``localhost`` or
    ``allowed_hosts`` (DNS rebinding) are refused with 403; at most ``max_connections`` are served
    at once, each read waiting at most ``read_timeout`` seconds. ``requests``/``responses`` keep
    the last ``record_limit`` exchanges, each body cut to ``record_body_bytes`` and all bodies
    together within ``record_bytes``. Binding an address other machines can reach warns
    (``SandboxExposedWarning``).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str = "sandbox-token",
        org: str = "sandbox-org",
        org_id: str | None = None,
        bucket: str | None = "sandbox-bucket",
        extra_tokens: tuple[str, ...] | list[str] = (),
        extra_orgs: tuple[str, ...] | list[str] = (),
        max_body_bytes: int = 25 * 1024 * 1024,
        flux: Any = None,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        allowed_hosts: tuple[str, ...] | list[str] = (),
        max_connections: int = 128,
        read_timeout: float = 60.0,
        record_limit: int = 10_000,
        record_body_bytes: int = 1024 * 1024,
        record_bytes: int = 64 * 1024 * 1024,
        api: str = "v2",
    ):
        #: "v3": /ping and /health answer as InfluxDB 3 does (its /api/v3 endpoints are always served).
        self.api = api
        self.host = host
        #: Host names (besides IP addresses and localhost) that requests may name in ``Host``:
        #: those given, and the name the sandbox was told to listen on.
        self.allowed_hosts = (*allowed_hosts, *(() if guard.is_ip(host) else (host,)))
        self.max_connections = max_connections
        self.read_timeout = read_timeout
        self.record_limit = record_limit
        self.record_body_bytes = record_body_bytes
        self.record_bytes = record_bytes
        self._recorded_bytes = 0
        #: The PEM certificate (chain) and private key to serve https with; None serves http.
        self.tls_cert = str(tls_cert) if tls_cert is not None else None
        self.tls_key = str(tls_key) if tls_key is not None else None
        self._tls_context = self._make_tls_context()
        self.port = port
        self.token = token
        self.tokens: tuple[str, ...] = (token, *extra_tokens)
        #: Hides the tokens and any v1 password in a text (what the log shows of a request).
        self.mask = guard.masker(self.tokens)
        self.max_body_bytes = max_body_bytes
        #: A Flux engine object (with run_query, parse_ast, analyze, FluxError) to use instead of
        #: importing influx_connector.sandbox.flux; lets tests drive the query endpoints.
        self.flux = flux
        self.midstream_error: str | None = None
        self.url = ""
        self._bound_host = ""
        self._bound_port = 0
        self.store = Store()
        self.org = self.store.add_org(org, org_id)
        self._add_system_buckets(self.org)
        for name in extra_orgs:
            self._add_system_buckets(self.store.add_org(name))
        self.bucket: Bucket | None = None
        if bucket is not None:
            self.bucket = self.store.add_bucket(self.org.id, bucket, shard_group_seconds=default_shard_group_seconds(0))
        self.requests: list[RecordedRequest] = []
        self.responses: list[RecordedResponse] = []
        self._record_lock = threading.Lock()
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None
        #: When the sandbox started (RFC 3339, and the monotonic clock), for ``/ready``.
        self.started: tuple[str, float] = ("", 0.0)

    def _make_tls_context(self) -> ssl.SSLContext | None:
        """The server's TLS context, built at once so a bad certificate or key fails here."""
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together: give both to serve https, or neither")
        if self.tls_cert is None:
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            context.load_cert_chain(self.tls_cert, self.tls_key)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"cannot serve https with {self.tls_cert} and {self.tls_key}: {exc}") from exc
        return context

    @property
    def scheme(self) -> str:
        return "https" if self._tls_context is not None else "http"

    def _add_system_buckets(self, org: Org) -> None:
        # A real server creates these in every org; clients listing buckets see them.
        for name, retention in (("_monitoring", 7 * DAY), ("_tasks", 3 * DAY)):
            self.store.add_bucket(
                org.id,
                name,
                type="system",
                retention_seconds=retention,
                shard_group_seconds=default_shard_group_seconds(retention),
                description=f"System bucket for {name[1:]} logs",
            )

    def start(self) -> Sandbox:
        if self._server is not None:
            return self
        self.started = (now_rfc3339(), time.monotonic())
        server = SandboxHTTPServer((self.host, self.port), self, Router(self))
        if self._tls_context is not None:
            server.socket = self._tls_context.wrap_socket(server.socket, server_side=True,
                                                          do_handshake_on_connect=False)
        host, port = str(server.server_address[0]), int(server.server_address[1])
        self._bound_host = f"[{host}]" if ":" in host else host
        self._bound_port = port
        self.url = f"{self.scheme}://{self._bound_host}:{port}"
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"influx-sandbox-{port}", daemon=True
        )
        self._thread.start()
        logger.debug("sandbox listening on %s", self.url)
        if not guard.is_loopback(str(host)):
            text = (f"the sandbox listens on {self.url}, which other machines can reach: anyone who can connect "
                    f"and knows a token{' (the default one is public)' if 'sandbox-token' in self.tokens else ''} "
                    "can read and change its data. It is a test server: bind 127.0.0.1 unless this is meant")
            warnings.warn(text, SandboxExposedWarning, stacklevel=2)
        return self

    @property
    def connection_settings(self) -> dict[str, Any]:
        """The connector's connection values for this sandbox (started), as a connection form holds them."""
        if not self.url:
            raise RuntimeError("the sandbox has not been started, so it has no address yet")
        settings: dict[str, Any] = {"protocol": self.scheme, "host": self._bound_host, "port": self._bound_port,
                                    "token": self.token, "org": self.org.name}
        if self.bucket is not None:
            settings["bucket"] = self.bucket.name
        if self.tls_cert is not None:
            # A self-signed certificate (the usual sandbox case) is its own CA: trusting it is
            # what lets a client verify the connection instead of turning verification off.
            settings["ca_bundle"] = self.tls_cert
        return settings

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        logger.debug("sandbox on %s stopped", self.url)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def record(self, req: Request, reply: Reply, sent_body: bytes, body_size: int | None = None) -> None:
        """Keep the request and the response in arrival order (called from handler threads),
        within the recording limits: the oldest exchanges go first. ``body_size`` is the
        declared length of a body that was not read."""
        cap = self.record_body_bytes
        request = RecordedRequest(req.method, req.path, req.query, dict(req.headers.items()), req.body[:cap],
                                  len(req.body) if body_size is None else body_size)
        response = RecordedResponse(req.method, req.path, reply.status, dict(reply.headers), sent_body[:cap],
                                    len(sent_body))
        with self._record_lock:
            self.requests.append(request)
            self.responses.append(response)
            self._recorded_bytes += len(request.body) + len(response.body)
            drop = 0
            while drop < len(self.requests) and (len(self.requests) - drop > self.record_limit
                                                  or self._recorded_bytes > self.record_bytes):
                self._recorded_bytes -= len(self.requests[drop].body) + len(self.responses[drop].body)
                drop += 1
            if drop:
                del self.requests[:drop], self.responses[:drop]
