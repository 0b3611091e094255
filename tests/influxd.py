"""A real InfluxDB 1.x server for the tests: Debian's ``influxdb`` package (``/usr/bin/influxd``).

Test modules use it by importing the fixture::

    from .influxd import influxd  # noqa: F401

The server is started once per test session, on loopback ports picked at random, with its
metadata, data and WAL in a temporary folder; it is stopped (SIGTERM, then SIGKILL if it
lingers) and the folder removed when the session ends. Authentication is off, as it is by
default in 1.x, so any token the connector sends is accepted and ignored.

When ``influxd`` is not installed the fixture fails (it does not skip): the tests that use it
are part of the suite. ``.ci/run`` installs it; by hand: ``sudo apt-get install -y influxdb``.
"""
from __future__ import annotations

import contextlib
import copy
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from influx_connector import api
from influx_connector.connection import Connection
from influx_connector.plugins import create_host

from .conftest import CHECKED
from .openapi_contract import Contract
from .test_end_to_end import ContractRecorder

__all__ = ["InfluxD", "InfluxQLError", "V1ContractRecorder", "influxd", "quote_ident", "quote_string"]

INSTALL_HINT = "install it with: sudo apt-get install -y influxdb  (Debian/Ubuntu; .ci/run does this)"
START_DEADLINE_S = 30.0
STOP_DEADLINE_S = 10.0
# Any non-empty token: the connection form requires one, and InfluxDB 1.x with auth-enabled =
# false (its default) does not look at the Authorization header.
TOKEN = "influxd-1x-auth-is-off"

# Keys checked against `influxd config` of 1.6.7: every one is in its printed configuration.
CONFIG_TEMPLATE = """\
reporting-enabled = false
bind-address = "127.0.0.1:{rpc_port}"

[meta]
  dir = "{root}/meta"
  logging-enabled = false

[data]
  dir = "{root}/data"
  wal-dir = "{root}/wal"
  query-log-enabled = false

[monitor]
  store-enabled = false

[retention]
  enabled = false

[shard-precreation]
  enabled = false

[continuous_queries]
  log-enabled = false

[http]
  bind-address = "127.0.0.1:{http_port}"
  log-enabled = false
  pprof-enabled = false

[logging]
  level = "warn"
  suppress-logo = true
"""


class InfluxQLError(AssertionError):
    """A raw InfluxQL statement of the test setup failed (the tests' own helper, not the connector)."""


def _quote(text: str, quote: str) -> str:
    # InfluxQL's scanner (influxql ScanString, as in 1.6.7) reads these escapes inside quotes:
    # \\ \" \' and \n; a raw line break ends the token with an error, and its reader turns
    # CR into LF and takes NUL for the end of the input, so neither can be quoted at all.
    if "\r" in text or "\x00" in text:
        raise ValueError(f"InfluxQL cannot quote {text!r}: it holds a CR or NUL")
    return quote + text.replace("\\", "\\\\").replace(quote, "\\" + quote).replace("\n", "\\n") + quote


def quote_ident(name: str) -> str:
    """An InfluxQL identifier for any name InfluxQL can express: double quotes, escaped."""
    return _quote(name, '"')


def quote_string(text: str) -> str:
    """An InfluxQL string literal: single quotes, escaped."""
    return _quote(text, "'")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _influxd_binary() -> str:
    found = shutil.which("influxd") or next(
        (p for p in ("/usr/bin/influxd", "/usr/sbin/influxd") if os.access(p, os.X_OK)), None)
    if found is None:
        pytest.fail(f"influxd (InfluxDB 1.x) is not installed: {INSTALL_HINT}", pytrace=False)
    return found


@dataclass
class InfluxD:
    """A running influxd: where it listens, and a helper for raw InfluxQL in test setup."""

    host: str
    port: int
    rpc_port: int
    root: Path
    process: subprocess.Popen[bytes]
    session: requests.Session = field(default_factory=requests.Session, repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def connection_settings(self) -> dict[str, Any]:
        """Values for ``influx_connector.api.connect``."""
        return {"protocol": "http", "host": self.host, "port": self.port, "token": TOKEN}

    @property
    def log_path(self) -> Path:
        return self.root / "influxd.log"

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text("utf-8", "replace")
        except OSError as exc:
            return f"(no log: {exc})"
        return "\n".join(text.splitlines()[-lines:]) or "(the log is empty)"

    def influxql(self, q: str, db: str | None = None, **params: str) -> list[dict[str, Any]]:
        """Run InfluxQL directly (POST /query, no connector) and return its results list.

        Raises InfluxQLError when the request or any statement fails, so setup mistakes show.
        """
        data = {"q": q, **({"db": db} if db else {}), **params}
        response = self.session.post(self.url + "/query", data=data, timeout=30)
        try:
            doc = response.json()
        except ValueError:
            raise InfluxQLError(f"{q!r}: HTTP {response.status_code}: {response.text[:500]}") from None
        if response.status_code != 200 or doc.get("error"):
            raise InfluxQLError(f"{q!r}: HTTP {response.status_code}: {doc.get('error')}")
        results: list[dict[str, Any]] = doc.get("results") or []
        for result in results:
            if result.get("error"):
                raise InfluxQLError(f"{q!r}: statement {result.get('statement_id')}: {result['error']}")
        return results

    def rows(self, q: str, db: str, epoch: str = "ns") -> list[dict[str, Any]]:
        """Every row of every series of a one-statement query, as dicts (tags included)."""
        (result,) = self.influxql(q, db, epoch=epoch)
        out = []
        for series in result.get("series") or []:
            for values in series["values"]:
                out.append({**(series.get("tags") or {}), **dict(zip(series["columns"], values))})
        return out

    def count(self, db: str, measurement: str, field_key: str, rp: str | None = None) -> int:
        """How many points of ``measurement`` hold ``field_key`` (0 when there are none)."""
        source = (quote_ident(rp) + "." if rp else "") + quote_ident(measurement)
        rows = self.rows(f"SELECT count({quote_ident(field_key)}) FROM {source}", db)
        return int(rows[0]["count"]) if rows else 0

    def create_database(self, name: str) -> str:
        self.influxql(f"CREATE DATABASE {quote_ident(name)}")
        return name

    def drop_database(self, name: str) -> None:
        self.influxql(f"DROP DATABASE {quote_ident(name)}")

    def write_raw(self, db: str, body: bytes | str, **params: str) -> requests.Response:
        """POST line protocol as it is (no connector): for probing what the server itself does."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        return self.session.post(self.url + "/write", params={"db": db, **params}, data=data, timeout=30)

    @contextlib.contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connector Connection whose every exchange is checked against the contract on exit."""
        recorder = V1ContractRecorder()
        conn = api.connect(self.connection_settings, host=create_host(extra=(recorder,)))
        try:
            yield conn
        finally:
            conn.close()
        problems = recorder.problems()
        assert not problems, "the contract was broken:\n" + "\n".join(problems)


# --- the contract, as InfluxDB 1.x answers it ----------------------------------------------------
#
# Requests are checked against the official contract exactly as it is. Answers are checked
# against it with two amendments, both confined to the v1 paths (/write, /query) and each for a
# reason found on InfluxDB 1.6.7:
#   1. Error answers: 1.x words them {"error": "<message>"} (see connector.yaml's error keys),
#      not {"code", "message"}; the amended schema requires exactly {"error": <string>}.
#   2. GET /query 200 JSON: the contract puts `oneOf: [{required: [statement_id, error]},
#      {required: [statement_id, series]}]` on the `results` *array*; `required` does not apply
#      to arrays, so both branches always match and `oneOf` rejects every answer. It is dropped;
#      the item schema (statement_id, series, columns, values...) still applies.

V1_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string", "minLength": 1}},
    "additionalProperties": False,
}
# (path, method, response key) of the answers that carry 1.x error bodies.
V1_ERROR_RESPONSES = (("/write", "post", "400"), ("/write", "post", "default"), ("/query", "get", "default"))


@functools.cache
def v1_answer_contract() -> Contract:
    spec = copy.deepcopy(Contract.load().spec)
    for path, method, key in V1_ERROR_RESPONSES:
        spec["paths"][path][method]["responses"][key]["content"] = {"application/json": {"schema": V1_ERROR_SCHEMA}}
    # (tests/openapi_contract.py may already have dropped it: DROPPED_ARRAY_ONE_OF.)
    spec["components"]["schemas"]["InfluxqlJsonResponse"]["properties"]["results"].pop("oneOf", None)
    return Contract(spec, Contract.load().source)


class V1ContractRecorder(ContractRecorder):
    """ContractRecorder for a 1.x server: requests as the contract says, answers as amended above."""

    def problems(self) -> list[str]:
        strict, answers = Contract.load(), v1_answer_contract()
        found: list[str] = []
        for req, resp in self.exchanges:
            url = urlsplit(req.url or "")
            query = parse_qsl(url.query, keep_blank_values=True)
            body = req.body.encode() if isinstance(req.body, str) else req.body
            found += strict.check_request(req.method or "", url.path, query, dict(req.headers), body)
            headers = {k: v for k, v in resp.headers.items() if k.lower() != "content-encoding"}
            found += answers.check_response(req.method or "", url.path, resp.status_code, headers, resp.content)
        CHECKED["send_hook"] += len(self.exchanges)
        return found


def answer_problems(method: str, path: str, status: int, content_type: str, body: Any) -> list[str]:
    """The amended answer check on its own (for the tests that prove it still rejects things)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return v1_answer_contract().check_response(method, path, status, {"Content-Type": content_type}, raw)


def _write_config(root: Path, http_port: int, rpc_port: int) -> Path:
    config = root / "influxd.conf"
    config.write_text(CONFIG_TEMPLATE.format(root=root.as_posix(), http_port=http_port, rpc_port=rpc_port))
    return config


def _clean_env() -> dict[str, str]:
    # influxd 1.x lets INFLUXDB_* variables override the config file (INFLUXDB_HTTP_BIND_ADDRESS
    # ...): none of the caller's may leak into the test server.
    return {k: v for k, v in os.environ.items() if not k.startswith("INFLUXDB_")}


def _wait_ready(server: InfluxD, deadline: float) -> str | None:
    """None once /ping answers 204; otherwise why not (the process ended or time ran out)."""
    last = "no answer yet"
    while time.monotonic() < deadline:
        code = server.process.poll()
        if code is not None:
            return f"influxd exited with status {code} before answering /ping"
        try:
            status = requests.get(server.url + "/ping", timeout=1).status_code
            if status == 204:
                return None
            last = f"/ping answered {status}"
        except requests.RequestException as exc:
            last = f"/ping failed: {type(exc).__name__}"
        time.sleep(0.05)
    return f"/ping did not answer 204 within {START_DEADLINE_S:.0f} s ({last})"


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_DEADLINE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_DEADLINE_S)


def start(attempts: int = 3) -> InfluxD:
    """Start influxd in a new temporary folder; the ports are free ones, retried on a lost race."""
    binary = _influxd_binary()
    failures: list[str] = []
    for _ in range(attempts):
        root = Path(tempfile.mkdtemp(prefix="influx-connector-influxd-"))
        http_port, rpc_port = _free_port(), _free_port()
        while rpc_port == http_port:
            rpc_port = _free_port()
        config = _write_config(root, http_port, rpc_port)
        with open(root / "influxd.log", "wb") as log:
            process = subprocess.Popen([binary, "-config", str(config)], stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, env=_clean_env(), cwd=root)
        server = InfluxD("127.0.0.1", http_port, rpc_port, root, process)
        problem = _wait_ready(server, time.monotonic() + START_DEADLINE_S)
        if problem is None:
            return server
        tail = server.log_tail()
        _stop(process)
        shutil.rmtree(root, ignore_errors=True)
        failures.append(f"{problem}; the end of its log:\n{tail}")
        if "address already in use" not in tail:
            break  # only a port taken between picking and binding is worth another try
    raise RuntimeError("influxd did not start:\n" + "\n---\n".join(failures))


def stop(server: InfluxD) -> None:
    server.session.close()
    try:
        _stop(server.process)
    finally:
        shutil.rmtree(server.root, ignore_errors=True)


# One server for the whole session. Each test module that imports the fixture gets its own copy
# of the fixture definition (pytest collects fixtures per module), so the copies share the
# server through a reference count: the first starts it, the last to finish stops it.
_lock = threading.Lock()
_shared: dict[str, Any] = {"server": None, "users": 0}


def _acquire() -> InfluxD:
    with _lock:
        if _shared["server"] is None:
            _shared["server"] = start()
        _shared["users"] += 1
        return _shared["server"]


def _release() -> None:
    with _lock:
        _shared["users"] -= 1
        if _shared["users"] == 0 and _shared["server"] is not None:
            server, _shared["server"] = _shared["server"], None
            stop(server)


@pytest.fixture(scope="session")
def influxd() -> Iterator[InfluxD]:
    """A running InfluxDB 1.6 on loopback for the whole session (see the module docstring)."""
    server = _acquire()
    try:
        yield server
    finally:
        _release()
    # A server that died during the session would have failed tests with connection errors;
    # say why here too.
    code = server.process.returncode
    assert code in (0, -signal.SIGTERM, -signal.SIGKILL, None), f"influxd ended with status {code}:\n{server.log_tail()}"
