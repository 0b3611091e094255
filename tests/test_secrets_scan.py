"""The token and the extra header values never show up in anything the connector produces.

Every operation is driven, with distinctive secrets, through successes against the sandbox and
through failures: a wrong token (401), missing resources (404), bad requests (400/422/500),
validation errors, a refused connection, a read timeout and a TLS handshake against a plain-http
port. Everything a host app or a user can see is collected and scanned:

* every log record of every logger at DEBUG (urllib3's included): message, args, exception text;
* exceptions: str, repr, args, ``__dict__``, details, body, the formatted traceback and the
  exceptions chained to it, and for bad input the local variables of the connector's frames it
  passed through (what ``pytest --showlocals`` and error trackers show); warnings;
* ``repr``/``str`` of Connection, Request, Result, TestReport and errors; ``Request.to_dict()``
  and ``.curl()``;
* the command line's stdout and stderr (``run``, ``render``, ``render --curl``, ``test``,
  ``demo``, ``describe``, ``operations``, with ``--verbose``; token by flag, by ``INFLUX_TOKEN``
  and by ``--config``), and a ``python -m influx_connector`` subprocess.

A secret counts as found in its plain form, percent-encoded (both quote styles), JSON- and
repr-escaped, and base64 (standard and URL-safe, at every byte alignment, so it is found inside a
longer encoded string such as a Basic credential). ``test_the_scanner_finds_planted_secrets``
shows the scan can fail.
"""
from __future__ import annotations

import base64
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from influx_connector import api, cli
from influx_connector.connection import Connection
from influx_connector.errors import ConnectorError, ValidationError
from influx_connector.sandbox import Sandbox

from .conftest import CHECKED
from .openapi_contract import contract_for

CONNECTOR = api.load()
ORG = "scan-org"
BUCKET = "scan-bucket"
# Distinctive, and with '/', '+', '=' and '~' so that the encoded forms differ from the plain one.
TOKEN = "scan-T0k3n/pl+us=eq~Zx9Q7wV"
WRONG_TOKEN = "wrong-T0k3n/zz+yy=Pp3Rr6"
HEADER_NAME = "Zap-Trace-Span"  # a header the contract allows on every request
HEADER_VALUE = "hdr-S3cr3t/Val+ue=Kq4Lm8"
SECRETS = (TOKEN, WRONG_TOKEN, HEADER_VALUE)
REPO = Path(__file__).resolve().parent.parent
PACKAGE = Path(api.__file__).resolve().parent


# --- the scanner -----------------------------------------------------------------------------------


def _base64_needles(secret: str) -> dict[str, str]:
    """The part of the base64 text that encodes only the secret, at each of the three alignments."""
    raw = secret.encode("utf-8")
    out = {}
    for k in range(3):
        for name, encode in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
            text = encode(b"\0" * k + raw).decode("ascii")
            start = 4 if k else 0  # the first group mixes in the prefix bytes
            end = 4 * ((k + len(raw)) // 3)  # a last partial group depends on what follows
            needle = text[start:end]
            if len(needle) >= 12:
                out[f"{name}@{k}"] = needle
    return out


def needles(secret: str) -> dict[str, str]:
    forms = {"plain": secret, "percent-encoded": quote(secret, safe=""), "form-encoded": quote_plus(secret),
             "url-quoted": quote(secret), "json-escaped": json.dumps(secret)[1:-1],
             "repr-escaped": repr(secret)[1:-1], **_base64_needles(secret)}
    return forms


@dataclass
class Scan:
    """Texts collected from everything observable, and where each came from."""

    secrets: tuple[str, ...] = SECRETS
    texts: list[tuple[str, str]] = field(default_factory=list)
    sources: set[str] = field(default_factory=set)

    def text(self, where: str, value: Any) -> None:
        self.sources.add(where.split(":", 1)[0])
        if isinstance(value, bytes):
            self.texts.append((where, value.decode("latin-1")))
        elif isinstance(value, str):
            self.texts.append((where, value))
        else:
            self.texts.append((where, repr(value)))
            try:
                self.texts.append((where, str(value)))
            except Exception as exc:  # noqa: BLE001 - a str() that fails is itself worth seeing
                self.texts.append((where, f"str() failed: {exc!r}"))
            self.walk(where, value)

    def walk(self, where: str, value: Any, depth: int = 0) -> None:
        """Each string inside a structure, as itself (repr escapes what a reader would not)."""
        if depth > 8:
            return
        if isinstance(value, (str, bytes)):
            self.text(where, value)
        elif isinstance(value, Mapping):
            for key, item in value.items():
                self.walk(where, key, depth + 1)
                self.walk(where, item, depth + 1)
        elif isinstance(value, (list, tuple, set, frozenset)):
            for item in value:
                self.walk(where, item, depth + 1)

    def exception(self, where: str, exc: BaseException, with_locals: bool = False) -> None:
        self.text(f"{where}: str", str(exc))
        self.text(f"{where}: repr", repr(exc))
        self.walk(f"{where}: args", exc.args)
        for key, value in vars(exc).items():
            self.text(f"{where}: .{key}", value)
        self.text(f"{where}: traceback", "".join(traceback.format_exception(exc)))
        if with_locals:
            self.frame_locals(where, exc)
        seen: BaseException | None = exc.__cause__ or exc.__context__
        while seen is not None:  # the exceptions chained behind it, shown or not
            self.text(f"{where}: chained", f"{seen!s} {seen!r}")
            seen = seen.__cause__ or seen.__context__

    def frame_locals(self, where: str, exc: BaseException) -> None:
        """What pytest --showlocals and error trackers show of an error: the local variables of
        each frame it passed through, here those of the connector's own code."""
        tb = exc.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            if Path(frame.f_code.co_filename).resolve().is_relative_to(PACKAGE):
                shown = {name: _safe_repr(value) for name, value in frame.f_locals.items()}
                self.text(f"{where}: locals of {frame.f_code.co_name}", json.dumps(shown))
                self.sources.add(f"{where.split(':', 1)[0]} locals")
            tb = tb.tb_next

    def records(self, where: str, records: list[logging.LogRecord]) -> None:
        formatter = logging.Formatter("%(levelname)s %(name)s %(message)s")
        for record in records:
            label = f"{where}: log {record.name}"
            self.text(label, formatter.format(record))
            self.text(label, str(record.msg))
            self.walk(label, record.args if isinstance(record.args, (tuple, Mapping)) else (record.args,))
            self.text(label, repr(record.args))
            if record.exc_info and record.exc_info[1] is not None:
                self.exception(label, record.exc_info[1])

    def found(self) -> list[str]:
        hits = []
        for secret in self.secrets:
            for form, needle in needles(secret).items():
                for where, text in self.texts:
                    if needle in text:
                        at = text.index(needle)
                        excerpt = (text[max(0, at - 60):at] + "<SECRET>" + text[at + len(needle):at + len(needle) + 60])
                        hits.append(f"{where}: {form} form: ...{excerpt!r}...")
        return hits

    def assert_clean(self) -> None:
        hits = self.found()
        assert not hits, f"secrets found in {len(hits)} place(s):\n" + "\n".join(sorted(set(hits))[:40])


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception as exc:  # noqa: BLE001 - a repr that fails shows nothing, as in a traceback printer
        return f"<repr failed: {type(exc).__name__}>"


# --- servers that fail in particular ways ----------------------------------------------------------


@contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port nothing listens on: connections are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    yield port


@contextmanager
def silent_server() -> Iterator[int]:
    """A loopback port that accepts connections (in the kernel's backlog) and never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(256)
        yield s.getsockname()[1]


# --- driving every operation ------------------------------------------------------------------------


def success_params(sb: Sandbox, made: dict[str, str]) -> dict[str, Callable[[], dict[str, Any]]]:
    """Parameters that succeed on the sandbox, per operation (called in operation order)."""
    flux = f'from(bucket: "{BUCKET}") |> range(start: -1h)'
    return {
        "write_data": lambda: {"bucket": BUCKET,
                               "data": [{"measurement": "m", "tags": {"h": "a"}, "fields": {"v": 1.5}}]},
        "query_data": lambda: {"query": flux, "params": {"x": "y"}},
        "generate_ast": lambda: {"query": flux},
        "query_suggestions": lambda: {},
        "query_suggestions_name": lambda: {"name": "range"},
        "analyze_query": lambda: {"query": flux},
        "list_buckets": lambda: {"name": BUCKET, "all_pages": True},
        "create_bucket": lambda: {"name": "scan-made", "description": "d", "retention_seconds": 3600},
        "retrieve_bucket": lambda: {"bucket_id": made["id"]},
        "update_bucket": lambda: {"bucket_id": made["id"], "description": "changed"},
        "delete_bucket": lambda: {"bucket_id": made["id"]},
        "delete_data": lambda: {"bucket": BUCKET, "start": "2020-01-01T00:00:00Z", "stop": "2020-01-02T00:00:00Z",
                                "predicate": '_measurement="gone"'},
        "list_organizations": lambda: {},
        "health": lambda: {},
        "write_data_v1": lambda: {"db": BUCKET, "data": "m,h=b v=2"},
        "query_influxql": lambda: {"db": BUCKET, "q": 'SELECT * FROM "m"'},
    }


#: Parameters InfluxDB 3's operations succeed with on the sandbox (database "scan" made first).
V3_SUCCESS: dict[str, Callable[[], dict[str, Any]]] = {
    "query_sql": lambda: {"q": "SELECT 1 AS one", "params": {"x": "y"}},
    "query_influxql_v3": lambda: {"q": "SHOW MEASUREMENTS"},
    "write_lp": lambda: {"data": [{"measurement": "m", "tags": {"h": "a"}, "fields": {"v": 1.5}}]},
    "list_databases": lambda: {"show_deleted": True},
    "create_database": lambda: {"db": "scan-made", "retention_period": "1d"},
    "delete_database": lambda: {"db": "scan-made"},
    "create_table": lambda: {"table": "t", "tags": ["h"], "fields": [{"name": "v", "type": "float64"}]},
    "delete_table": lambda: {"table": "t"},
    "health_v3": lambda: {},
    "ping": lambda: {},
}


def error_params(sb: Sandbox) -> list[tuple[str, dict[str, Any]]]:
    """Parameters the sandbox answers with an error status (404, 400, 422, 500, an error in a 200)."""
    missing = "0123456789abcdef"
    return [
        ("retrieve_bucket", {"bucket_id": missing}), ("update_bucket", {"bucket_id": missing, "name": "x"}),
        ("delete_bucket", {"bucket_id": missing}),
        ("query_data", {"query": 'from(bucket: "nope") |> range(start: -1h)'}),
        ("query_data", {"query": "from(bucket: "}),
        ("write_data", {"bucket": BUCKET, "data": "cpu value="}), ("write_data", {"bucket": "nope", "data": "m v=1"}),
        ("write_data_v1", {"db": "nope", "data": "m v=1"}),
        ("query_influxql", {"db": "nope", "q": 'SELECT * FROM "m"'}),
        ("delete_data", {"bucket": "nope", "start": "2020-01-01T00:00:00Z", "stop": "2020-01-02T00:00:00Z"}),
        ("create_bucket", {"name": BUCKET}), ("create_bucket", {"name": "x", "org": "no-such-org"}),
        ("query_suggestions_name", {"name": "noSuchFunction"}),
        ("generate_ast", {"query": "from(bucket: "}), ("list_buckets", {"org": "no-such-org"}),
    ]


def drive(scan: Scan, conn: Connection, op_id: str, params: Mapping[str, Any], label: str,
          result_data: bool = True) -> Any:
    """Render (dry run) and run one operation, collecting every text either produces.

    ``result_data=False`` leaves out the decoded answer (but not the call's facts): where a
    test types a secret into a parameter, the server's answer may hold it as data."""
    where = f"{label} {op_id}"
    try:
        request = conn.render(op_id, params)
    except Exception as exc:  # noqa: BLE001 - whatever is raised is scanned
        scan.exception(f"{where} render", exc, with_locals=isinstance(exc, ValidationError))
    else:
        scan.text(f"{where} request", request)
        scan.text(f"{where} request.to_dict", request.to_dict())
        scan.text(f"{where} request.to_dict json", json.dumps(request.to_dict(), default=str))
        scan.text(f"{where} request.curl", request.curl())
        scan.text(f"{where} request.masked_headers", request.masked_headers())
        scan.text(f"{where} request.body_text", request.body_text() or "")
    try:
        result = conn.run(op_id, params)
    except Exception as exc:  # noqa: BLE001
        scan.exception(f"{where} run", exc, with_locals=isinstance(exc, ValidationError))
        return exc
    if result_data:
        scan.text(f"{where} result", result)
        scan.text(f"{where} result.to_dict", json.dumps(result.to_dict(), default=str))
    else:
        scan.text(f"{where} result.meta", json.dumps(dict(result.meta), default=str))
    return result


def drive_connection(scan: Scan, conn: Connection, label: str,
                     params: Mapping[str, Callable[[], dict[str, Any]]] | None = None) -> dict[str, Any]:
    """Its connection test (which finds out the server's API), then every operation the
    connection then lists, through it."""
    report = conn.test()
    outcomes = {}
    for op in conn.operations():
        make = (params or {}).get(op.id)
        values = make() if make else dict(op.examples[0]["params"])
        outcomes[op.id] = drive(scan, conn, op.id, values, label)
    scan.text(f"{label} test report", report)
    scan.text(f"{label} test report.to_dict", json.dumps(report.to_dict()))
    scan.text(f"{label} connection", conn)
    scan.text(f"{label} connection str", str(conn))
    scan.text(f"{label} redactor", conn.redactor)
    return outcomes


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(token=TOKEN, org=ORG, bucket=BUCKET) as sb:
        yield sb
    assert_contract_kept_but_401(sb)


def assert_contract_kept_but_401(sb: Sandbox) -> None:
    """Every request, and every answer but one kind, against the contract. The contract leaves
    401 out of a few operations (GET /api/v2/query/suggestions/{name} declares only 200 and
    500), though a server answers a wrong token with 401 there as everywhere."""
    problems: list[str] = []
    for req in sb.requests:
        problems += contract_for(req.path, sb.api == "v3").check_request(
            req.method, req.path, list(req.query), req.headers, req.body, body_complete=not req.truncated)
    for resp in sb.responses:
        found = contract_for(resp.path, sb.api == "v3").check_response(resp.method, resp.path, resp.status, resp.headers, resp.body)
        problems += [p for p in found if not (resp.status == 401 and "status 401 is not declared" in p)]
    CHECKED["requests"] += len(sb.requests)
    CHECKED["responses"] += len(sb.responses)
    assert not problems, "the contract was broken:\n" + "\n".join(problems)


def settings(sb: Sandbox, **more: Any) -> dict[str, Any]:
    return {**sb.connection_settings, "headers": {HEADER_NAME: HEADER_VALUE}, "retries": 0, **more}


# --- the scans -----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_no_secret_in_anything_the_api_produces(sandbox: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # the root logger: every library's records, urllib3's included
    scan = Scan()
    made: dict[str, str] = {}
    ok_params = success_params(sandbox, made)

    with api.connect(settings(sandbox)) as conn:
        # Successes: every operation the server's API has, in order (create makes the bucket
        # the next three use); the test finds out the API first.
        assert conn.test().ok
        for op in conn.operations():
            make = ok_params.get(op.id)
            outcome = drive(scan, conn, op.id, make() if make else dict(op.examples[0]["params"]), "success")
            if op.id in ok_params:
                assert not isinstance(outcome, Exception), f"{op.id} should succeed: {outcome}"
            if op.id == "create_bucket":
                made["id"] = outcome.data["id"]
        report = conn.test()
        assert report.ok
        scan.text("success test report", json.dumps(report.to_dict()))
        scan.text("success connection", conn)
        # Error answers: 404, 400, 422, 500 and an error inside a 200.
        statuses = set()
        for op_id, params in error_params(sandbox):
            outcome = drive(scan, conn, op_id, params, "api-error")
            assert isinstance(outcome, ConnectorError), f"{op_id} {params} should fail"
            statuses.add(getattr(outcome, "status", None))
        assert {400, 404, 422, 500} <= statuses, statuses
        # Validation errors, for every operation.
        for op in CONNECTOR.operations.values():
            outcome = drive(scan, conn, op.id, {**op.examples[0]["params"], "limt": 1}, "invalid")
            assert isinstance(outcome, ConnectorError)
        # Bad input found while rendering (by the line-protocol encoder), after validation passed.
        for data in ([{"measurement": "m", "fields": {}}], [{"measurement": "m", "fields": {"v": 1}, "time": "later"}]):
            outcome = drive(scan, conn, "write_data", {"bucket": BUCKET, "data": data}, "invalid")
            assert isinstance(outcome, ValidationError) and "data[0]" in str(outcome)
        assert "invalid write_data render locals" in scan.sources, "no frame's locals were scanned"

    # 401: a wrong token (a secret too), every operation; health is public and succeeds.
    with api.connect(settings(sandbox, token=WRONG_TOKEN)) as conn:
        outcomes = drive_connection(scan, conn, "wrong-token", ok_params)
        assert getattr(outcomes["list_buckets"], "status", None) == 401
    # Connection refused (with one retry, so the retry log line is scanned too).
    with closed_port() as port, api.connect(settings(sandbox, port=port, retries=1, retry_max_delay=0.01)) as conn:
        outcomes = drive_connection(scan, conn, "refused")
        assert type(outcomes["health"]).__name__ == "NetworkError"
    # A server that never answers: read timeouts.
    with silent_server() as port, api.connect(settings(sandbox, port=port, timeout=0.3)) as conn:
        outcomes = drive_connection(scan, conn, "timeout")
        assert type(outcomes["health"]).__name__ == "TimeoutError"
    # TLS against a plain-http port; and again with verification off, which warns.
    with api.connect(settings(sandbox, protocol="https")) as conn:
        outcomes = drive_connection(scan, conn, "tls")
        assert type(outcomes["health"]).__name__ == "TLSError"
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        with api.connect(settings(sandbox, protocol="https", verify_tls=False)) as conn:
            drive(scan, conn, "list_buckets", {}, "tls-unverified")
    assert said, "no warning about turning verification off"
    for warning in said:
        scan.text("tls-unverified warning", str(warning.message))

    # InfluxDB 3: its operations, answered and refused (a wrong token).
    with Sandbox(token=TOKEN, org=ORG, bucket=None, api="v3") as sb3:
        with api.connect(settings(sb3, database="scan")) as conn:
            conn.run("create_database", {"db": "scan"})
            outcomes = drive_connection(scan, conn, "v3-success", V3_SUCCESS)
            assert not [op for op in V3_SUCCESS if isinstance(outcomes[op], Exception)], outcomes
        with api.connect(settings(sb3, token=WRONG_TOKEN, database="scan")) as conn:
            outcomes = drive_connection(scan, conn, "v3-wrong-token", V3_SUCCESS)
            assert getattr(outcomes["query_sql"], "status", None) == 401
    assert_contract_kept_but_401(sb3)

    # Connection values refused while the secrets are in them.
    for label, values in {
        "bad port": settings(sandbox, port="eighty"),
        "bad header value": settings(sandbox, headers={HEADER_NAME: HEADER_VALUE + "\r\nX-Evil: 1"}),
        "bad header name": settings(sandbox, headers={"Bad Name": HEADER_VALUE}),
        "header value not text": settings(sandbox, headers={HEADER_NAME: [HEADER_VALUE]}),
        "unknown field": {**settings(sandbox), "tokn": TOKEN},
        "host is a URL": settings(sandbox, host=f"https://user:{TOKEN}@example.com"),
    }.items():
        try:
            api.connect(values)
        except ConnectorError as exc:
            scan.exception(f"connect {label}", exc)
        else:
            pytest.fail(f"connect accepted {label}")

    scan.records("api", caplog.records)
    assert any(r.name.startswith("urllib3") for r in caplog.records), "urllib3's debug records were not captured"
    assert {"success", "api-error", "invalid", "wrong-token", "refused", "timeout", "tls", "tls-unverified"} <= {
        s.split(" ")[0] for s in scan.sources}
    scan.assert_clean()


# --- the command line -------------------------------------------------------------------------------------


@dataclass
class Cli:
    scan: Scan
    capsys: pytest.CaptureFixture[str]
    monkeypatch: pytest.MonkeyPatch
    codes: dict[str, int] = field(default_factory=dict)

    def __call__(self, label: str, argv: list[str], env: Mapping[str, str] | None = None) -> int:
        with self.monkeypatch.context() as mp:
            for var in ("INFLUX_HOST", "INFLUX_TOKEN", "INFLUX_ORG", "INFLUX_BUCKET"):
                mp.delenv(var, raising=False)
            for var, value in (env or {}).items():
                mp.setenv(var, value)
            code = cli.main(argv)
        out, err = self.capsys.readouterr()
        self.scan.text(f"cli {label}: stdout", out)
        self.scan.text(f"cli {label}: stderr", err)
        self.codes[label] = code
        return code


def test_no_secret_in_command_line_output(sandbox: Sandbox, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    scan = Scan()
    run = Cli(scan, capsys, monkeypatch)
    flags = ["--host", sandbox.url, "--token", TOKEN, "--org", ORG, "--header", f"{HEADER_NAME}: {HEADER_VALUE}"]
    env = {"INFLUX_HOST": sandbox.url, "INFLUX_TOKEN": TOKEN, "INFLUX_ORG": ORG}
    config = tmp_path / "conn.yaml"
    config.write_text(json.dumps({"host": "127.0.0.1", "port": int(sandbox.url.rsplit(":", 1)[1]), "token": TOKEN,
                                  "org": ORG, "retries": 0, "headers": {HEADER_NAME: HEADER_VALUE}}), encoding="utf-8")
    flux = f"query=from(bucket: \"{BUCKET}\") |> range(start: -1h)"

    assert run("run flags", ["run", "list_buckets", *flags, "--verbose"]) == 0
    assert run("run flags before", ["--verbose", *flags, "run", "health"]) == 0
    assert run("run env", ["run", "query_data", "-p", flux, "-v"], env) == 0
    assert run("run table", ["run", "list_buckets", "--format", "table", "-v"], env) == 0
    assert run("run config", ["run", "write_data", "--config", str(config), "-p", f"bucket={BUCKET}",
                              "--data", "m v=1", "-v"]) == 0
    assert run("render", ["render", "write_data", *flags, "-p", f"bucket={BUCKET}", "--data", "m v=1", "-v"]) == 0
    assert run("render curl", ["render", "list_buckets", *flags, "--curl", "-v"]) == 0
    assert run("test", ["test", *flags, "-v"]) == 0
    assert run("test table", ["test", "--format", "table"], env) == 0
    assert run("demo", ["demo", "-v"], env) in (0, 1)
    assert run("operations", ["operations"], env) == 0
    assert run("describe", ["describe", "--connection"], env) == 0
    # Failures.
    assert run("wrong token", ["run", "list_buckets", "--host", sandbox.url, "--token", WRONG_TOKEN, "-v"]) == 4
    assert run("wrong token test", ["test", "--host", sandbox.url, "--token", WRONG_TOKEN, "-v"]) == 1
    assert run("not found", ["run", "retrieve_bucket", "-p", "bucket_id=0123456789abcdef", "-v"], env) == 4
    assert run("bad request", ["run", "write_data", "-p", f"bucket={BUCKET}", "--data", "cpu value=", "-v"], env) == 4
    assert run("invalid param", ["run", "list_buckets", "-p", "limt=5", "-v"], env) == 2
    assert run("invalid conversion", ["run", "list_buckets", "-p", "limit=many", "-v"], env) == 2
    assert run("invalid connection", ["run", "health", *flags, "--port", "0", "-v"]) == 2
    assert run("credentials in host URL", ["run", "health", "--host", f"http://user:{TOKEN}@127.0.0.1:1"], env) == 2
    assert run("malformed header", ["run", "health", *flags, "--header", f"{HEADER_NAME} {HEADER_VALUE}"]) == 2
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text(f"token: {TOKEN}\nhost: [unclosed\n", encoding="utf-8")
    assert run("bad config", ["run", "health", "--config", str(bad_yaml)]) == 2
    with closed_port() as port:
        config.write_text(json.dumps({"host": "127.0.0.1", "port": port, "token": TOKEN, "retries": 1,
                                      "retry_max_delay": 0.01, "headers": {HEADER_NAME: HEADER_VALUE}}),
                          encoding="utf-8")
        assert run("refused", ["run", "health", "--config", str(config), "-v"]) == 5
        assert run("refused test", ["test", "--config", str(config), "-v"]) == 1
    with silent_server() as port:
        config.write_text(json.dumps({"host": "127.0.0.1", "port": port, "token": TOKEN, "retries": 0,
                                      "timeout": 0.3}), encoding="utf-8")
        assert run("timeout", ["run", "list_buckets", "--config", str(config), "-v"]) == 5
    config.write_text(json.dumps({"host": "127.0.0.1", "port": int(sandbox.url.rsplit(":", 1)[1]), "token": TOKEN,
                                  "protocol": "https", "retries": 0}), encoding="utf-8")
    assert run("tls", ["run", "health", "--config", str(config), "-v"]) == 5
    assert run("tls insecure", ["run", "health", "--config", str(config), "--insecure", "-v"]) == 5

    scan.records("cli", caplog.records)
    scan.assert_clean()


def test_no_secret_in_a_subprocess_run(sandbox: Sandbox) -> None:
    """``python -m influx_connector`` as a user runs it: failures with --verbose."""
    scan = Scan()
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFLUX_")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    with closed_port() as port:
        runs = {
            "refused": (["run", "list_buckets", "--verbose", "--header", f"{HEADER_NAME}: {HEADER_VALUE}"],
                        {"INFLUX_HOST": f"http://127.0.0.1:{port}", "INFLUX_TOKEN": TOKEN}, 5),
            "wrong token": (["run", "list_buckets", "--verbose", "--token", WRONG_TOKEN, "--host", sandbox.url], {}, 4),
            "test wrong token": (["test", "--verbose"], {"INFLUX_HOST": sandbox.url, "INFLUX_TOKEN": WRONG_TOKEN}, 1),
        }
        for label, (argv, more, code) in runs.items():
            done = subprocess.run([sys.executable, "-m", "influx_connector", *argv], env={**env, **more},
                                  capture_output=True, timeout=120, cwd=REPO)
            scan.text(f"subprocess {label}: stdout", done.stdout)
            scan.text(f"subprocess {label}: stderr", done.stderr)
            assert done.returncode == code, (label, done.stderr[-2000:])
    scan.assert_clean()


# --- secrets that are harder to mask -------------------------------------------------------------------------


def _echo_scan(sandbox: Sandbox, token: str, placements: list[tuple[str, dict[str, Any]]],
               caplog: pytest.LogCaptureFixture) -> Scan:
    """Secrets typed into parameters by mistake: what the connector itself produces is masked."""
    caplog.set_level(logging.DEBUG)
    scan = Scan(secrets=(token,))
    with api.connect({**sandbox.connection_settings, "token": token, "retries": 0}) as conn:
        for op_id, params in placements:
            drive(scan, conn, op_id, params, "echo", result_data=False)
    # urllib3 logs the URL it requests as it is, and the sandbox (the server side) logs what it
    # received; the connector cannot mask either, so only its own records are scanned here.
    scan.records("echo", [r for r in caplog.records if not r.name.startswith(("urllib3", "influx_connector.sandbox"))])
    return scan


def test_a_secret_typed_into_a_query_string_is_masked_in_its_encoded_form(caplog: pytest.LogCaptureFixture) -> None:
    with Sandbox(token=TOKEN, org=ORG, bucket=BUCKET) as sb:
        scan = _echo_scan(sb, TOKEN, [("list_buckets", {"name": TOKEN}),
                                      ("query_influxql", {"db": BUCKET, "q": TOKEN})], caplog)
    scan.assert_clean()


QUOTED_TOKEN = 'quo"te-T0k3n\\back-Zx9Q7wV'


def test_a_secret_with_quotes_is_masked_inside_json(caplog: pytest.LogCaptureFixture) -> None:
    with Sandbox(token=QUOTED_TOKEN, org=ORG, bucket=BUCKET) as sb:
        scan = _echo_scan(sb, QUOTED_TOKEN, [
            ("generate_ast", {"query": f"// {QUOTED_TOKEN}\nx = 1"}),  # in a JSON body
            ("write_data", {"bucket": QUOTED_TOKEN, "data": "m v=1"}),  # a 404 whose JSON body echoes it
        ], caplog)
    assert any("not found" in t for _, t in scan.texts), "the server's echo was not seen"
    scan.assert_clean()


def test_a_plain_secret_echoed_by_the_server_is_masked(caplog: pytest.LogCaptureFixture) -> None:
    """The working case of the two above: a secret in a JSON body and in the server's error message."""
    with Sandbox(token=TOKEN, org=ORG, bucket=BUCKET) as sb:
        scan = _echo_scan(sb, TOKEN, [
            ("generate_ast", {"query": f'x = "{TOKEN}"'}),
            ("query_data", {"query": f'from(bucket: "{TOKEN}") |> range(start: -1h)'}),
        ], caplog)
    assert any("could not find bucket" in t for _, t in scan.texts), "the server's echo was not seen"
    scan.assert_clean()


BAD_TOKENS = {"CRLF": "tok-S3cret\r\nX-Evil: 1", "LF": "tok-S3cret\nmore"}


@pytest.mark.parametrize("variant", list(BAD_TOKENS) + ["header-leading-space"])
def test_a_secret_a_header_cannot_carry_does_not_leak(variant: str, caplog: pytest.LogCaptureFixture,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    with Sandbox(token=TOKEN, org=ORG, bucket=BUCKET) as sb:
        if variant == "header-leading-space":
            secret = " " + HEADER_VALUE
            values = {**sb.connection_settings, "retries": 0, "headers": {HEADER_NAME: secret}}
            argv = ["run", "health", "--host", sb.url, "--token", TOKEN, "--header", f"{HEADER_NAME}:{secret}"]
        else:
            secret = BAD_TOKENS[variant]
            values = {**sb.connection_settings, "retries": 0, "token": secret}
            argv = ["run", "list_buckets", "--host", sb.url, "--token", secret, "-v"]
        scan = Scan(secrets=(secret.strip(),))
        try:
            with api.connect(values) as conn:
                drive(scan, conn, "list_buckets", {}, "bad-token")
        except ConnectorError as exc:
            scan.exception("connect", exc)
        cli.main(argv)
        out, err = capsys.readouterr()
        scan.text("cli: stdout", out)
        scan.text("cli: stderr", err)
    scan.records("bad-token", caplog.records)
    scan.assert_clean()


# --- the scanner itself ------------------------------------------------------------------------------------------


def test_the_scanner_finds_planted_secrets(caplog: pytest.LogCaptureFixture) -> None:
    """Each kind of source and each encoded form is found when the secret is planted there."""
    caplog.set_level(logging.DEBUG)
    logging.getLogger("planted.library").debug("connecting with %s", f"Token {TOKEN}")
    planted = {
        "log record": lambda s: s.records("planted", caplog.records),
        "exception attribute": lambda s: s.exception("planted",
                                                     _with_attr(ValueError("no"), {"headers": {"A": TOKEN}})),
        "chained exception": lambda s: s.exception("planted", _chained(RuntimeError("outer"), KeyError(TOKEN))),
        "nested structure": lambda s: s.text("planted", {"meta": [{"url": f"http://h/?t={TOKEN}"}]}),
        "percent-encoded": lambda s: s.text("planted", f"GET /api?name={quote_plus(TOKEN)}"),
        "json-escaped": lambda s: s.text("planted", json.dumps({"q": QUOTED_TOKEN})),
        "basic credential": lambda s: s.text("planted", "Basic " + base64.b64encode(f"user:{TOKEN}".encode()).decode()),
        "base64 at offset 1": lambda s: s.text("planted", base64.b64encode(b"x" + TOKEN.encode()).decode()),
        "base64 at offset 2": lambda s: s.text("planted", base64.urlsafe_b64encode(b"xy" + TOKEN.encode()).decode()),
        "repr of bytes": lambda s: s.text("planted", repr(TOKEN.encode())),
    }
    for name, plant in planted.items():
        scan = Scan(secrets=(TOKEN, QUOTED_TOKEN))
        scan.text("clean", "nothing to see here")
        assert not scan.found()
        plant(scan)
        assert scan.found(), f"the scanner missed a secret planted in: {name}"
        with pytest.raises(AssertionError):
            scan.assert_clean()


def _with_attr(exc: Exception, attrs: Mapping[str, Any]) -> Exception:
    for key, value in attrs.items():
        setattr(exc, key, value)
    return exc


def _chained(outer: Exception, inner: Exception) -> Exception:
    try:
        try:
            raise inner
        except KeyError:
            raise outer from None
    except RuntimeError as exc:
        return exc


# --- short secrets, cut answers, reprs ------------------------------------------------------------------------


SHORT_TOKEN = "Q7z"  # three characters: a token the forms allow (minLength 1)


def test_a_short_secret_is_masked_too(caplog: pytest.LogCaptureFixture) -> None:
    with Sandbox(token=SHORT_TOKEN, org=ORG, bucket=BUCKET) as sb:
        scan = _echo_scan(sb, SHORT_TOKEN, [("list_buckets", {"name": SHORT_TOKEN}),
                                            ("query_influxql", {"db": BUCKET, "q": f"SELECT {SHORT_TOKEN}"})], caplog)
    assert any("Q7z" not in t and "****" in t for _, t in scan.texts), "nothing was masked"
    scan.assert_clean()


@contextmanager
def canned_server(status: int, content_type: str, body: bytes) -> Iterator[int]:
    """A loopback HTTP server that gives every request the same answer."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Canned(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Canned)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _pieces(secret: str, shortest: int = 6) -> list[str]:
    """The first and last parts of a secret, as a cut could leave them."""
    return [secret[:n] for n in range(shortest, len(secret))] + [secret[-n:] for n in range(shortest, len(secret))]


@pytest.mark.parametrize("kind", ["not JSON", "error status", "InfluxQL not JSON"])
@pytest.mark.slow
def test_an_answer_quoted_in_an_error_is_masked_before_it_is_cut(kind: str) -> None:
    """The server echoes the token in an answer the connector cannot read; wherever the quote
    of the answer is cut, no part of the token is left in the error."""
    scan = Scan()
    for lead in range(150, 320, 7):  # the token starts before, across and after each cut
        body = ("x" * lead + TOKEN + "y" * 400).encode()
        status, op_id, params = {"not JSON": (200, "list_buckets", {}),
                                 "error status": (500, "list_buckets", {}),
                                 "InfluxQL not JSON": (200, "query_influxql", {"db": "d", "q": "SHOW DATABASES"})}[kind]
        with canned_server(status, "text/plain", body) as port:
            with api.connect({"host": "127.0.0.1", "port": port, "token": TOKEN, "retries": 0}) as conn:
                with pytest.raises(ConnectorError) as caught:
                    conn.run(op_id, params)
        scan.exception(f"{kind} at {lead}", caught.value)
        text = str(caught.value)
        assert "xxxxx" in text, f"the answer was not quoted: {text}"
        leaked = [piece for piece in _pieces(TOKEN) if piece in text]
        assert not leaked, f"part of the token is in the error at {lead}: {leaked}: {text}"
    scan.assert_clean()


def test_render_contexts_show_no_secret() -> None:
    from influx_connector.render import RenderContext
    from influx_connector.template import Context

    scan = Scan()
    with api.connect({"host": "127.0.0.1", "token": TOKEN, "headers": {HEADER_NAME: HEADER_VALUE}}) as conn:
        contexts = [value for value in vars(conn).values() if isinstance(value, tuple)
                    and value and isinstance(value[0], RenderContext)]
        assert contexts, "no render context found on the connection"
        for context in contexts[0]:
            scan.text("render context", repr(context))
            scan.text("render context str", str(context))
            scan.text("template context", repr(Context(params={"q": 1}, conn=context.conn)))
    scan.assert_clean()
