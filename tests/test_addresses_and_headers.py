"""Connection values cannot send requests anywhere but where they appear to go.

A host that URL parsers read differently (``127.0.0.1\\evil`` is host 127.0.0.1, port 80 to the
HTTP client), a path that climbs out of its prefix (``..``, ``%2e%2e``), and extra headers that
replace ``Host`` or the auth header are refused with an error naming the field, before anything
is sent. Checked over real sockets: the servers the requests would have reached record nothing.
"""
from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from influx_connector import api, influxdb, resources
from influx_connector.errors import ConnectorError, ValidationError
from influx_connector.sandbox import Sandbox

from .helpers import TOKEN

NOTES = Path(__file__).parent / "fixtures" / "notes" / "connector.yaml"


@contextmanager
def recording_server() -> Iterator[tuple[int, list[tuple[str, dict[str, str]]]]]:
    """A loopback server that answers 200 {} to anything and keeps each request's path and headers."""
    seen: list[tuple[str, dict[str, str]]] = []

    class Recorder(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            seen.append((self.path, dict(self.headers)))
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        do_POST = do_GET

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def port_80_listener() -> Iterator[list[bytes]]:
    """What reaches 127.0.0.1:80, where the HTTP client sends ``127.0.0.1\\evil`` (when this
    process may listen there; otherwise nothing is watched and the list stays empty)."""
    received: list[bytes] = []
    try:
        listener = socket.create_server(("127.0.0.1", 80))
    except OSError:
        yield received
        return
    listener.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    received.append(conn.recv(65536))
                except OSError:
                    received.append(b"<connected>")

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield received
    finally:
        stop.set()
        thread.join()
        listener.close()


def refused(values: dict[str, Any], field: str, source: str | Path = "influxdb", op: str = "health",
            params: dict[str, Any] | None = None) -> ValidationError:
    """Connecting (and, if that passes, running ``op``) raises a ValidationError naming ``field``."""
    with pytest.raises(ValidationError) as caught, api.connect(values, source=source) as conn:
        conn.run(op, params or {})
    assert field in caught.value.by_field(), caught.value.by_field()
    return caught.value


HOSTS = {
    "backslash": "127.0.0.1\\evil", "backslash-path": "127.0.0.1\\evil\\x", "percent": "127.0.0.1%2fevil",
    "percent-at": "evil%40127.0.0.1", "fullwidth-dot": "127.0.0.1\uff0eevil", "semicolon": "127.0.0.1;evil",
    "comma": "127.0.0.1,evil", "tab": "127.0.0.1\tevil", "non-ascii": "b\u00fccher.example",
    "zone": "[fe80::1%25lo]", "empty-label": "127..0.0.1",
}


@pytest.mark.parametrize("variant", list(HOSTS))
def test_a_host_that_parsers_read_differently_is_refused(variant: str) -> None:
    with Sandbox(token=TOKEN) as sb, port_80_listener() as on_port_80:
        values = {**sb.connection_settings, "host": HOSTS[variant], "retries": 0}
        refused(values, "host")
    assert sb.requests == [] and on_port_80 == []


def notes_with_host_pattern(folder: Path, pattern: str | None) -> Path:
    """The second manifest, its host field given ``pattern`` (it declares none)."""
    shutil.copytree(NOTES.parent / "operations", folder / "operations")
    text = NOTES.read_text(encoding="utf-8")
    if pattern is not None:
        declared = "host: {type: string, title: Host, required: true, minLength: 1}"
        assert declared in text
        text = text.replace(declared, declared[:-1] + f", pattern: '{pattern}'}}")
    (folder / "connector.yaml").write_text(text, encoding="utf-8")
    return folder / "connector.yaml"


@pytest.mark.parametrize("declared", ["no pattern", "a loose pattern"])
@pytest.mark.parametrize("variant", ["backslash", "percent", "fullwidth-dot", "tab", "non-ascii", "semicolon"])
def test_the_engine_refuses_such_a_host_whatever_the_manifest_declares(variant: str, declared: str,
                                                                       tmp_path: Path) -> None:
    """A host field with no pattern gets the engine's host rule (so forms refuse what the engine
    does); one with a pattern that lets such hosts through still meets the engine's own reading of
    the URL, as the HTTP client will read it."""
    source = notes_with_host_pattern(tmp_path, None if declared == "no pattern" else "^[^/?#@ ]+$")
    with recording_server() as (port, seen), port_80_listener() as on_port_80:
        refused({"host": HOSTS[variant], "port": port, "api_key": "notes-key-42"}, "host", source, "list_notes")
    assert seen == [] and on_port_80 == []


def test_a_host_field_without_a_pattern_gets_the_host_rule_in_its_form() -> None:
    from influx_connector import forms

    schema = forms.connection_form(api.load(NOTES))["schema"]["properties"]["host"]
    assert schema["pattern"].startswith("^(") and schema["pattern"].endswith("$")
    with recording_server() as (port, seen):
        for host in ("127.0.0.1", "localhost", "[::1]"):
            try:
                with api.connect({"host": host, "port": port, "api_key": "notes-key-42"}, source=NOTES) as conn:
                    conn.run("list_notes")
            except ConnectorError as exc:  # only a network error: this server is not on IPv6
                assert host == "[::1]" and not isinstance(exc, ValidationError), exc
        # The base URL has its own port after the host: the host may not bring one too.
        refused({"host": f"127.0.0.1:{port}", "port": port, "api_key": "notes-key-42"}, "host", NOTES, "list_notes")
    assert len(seen) == 2


@pytest.mark.parametrize("host", ["127.0.0.1/../admin", "127.0.0.1?x=", "127.0.0.1#x", "user@127.0.0.1"])
def test_a_host_that_would_end_the_address_early_is_refused(host: str, tmp_path: Path) -> None:
    source = notes_with_host_pattern(tmp_path, "^.+$")  # a pattern that lets it through: the engine does not
    with recording_server() as (port, seen):
        refused({"host": host, "port": port, "api_key": "notes-key-42"}, "host", source, "list_notes")
    assert seen == []


@pytest.mark.parametrize("base_path", ["/%2e%2e", "/a/%2E%2e", "/%2e", "/a/%2e%2E/b", "/..", "/.", "/a/../b",
                                       "/a/./b", "/a\\..", "/a%2f..", "/a/%2e%2e%2fb"])
def test_a_base_path_that_climbs_out_is_refused(base_path: str) -> None:
    with Sandbox(token=TOKEN) as sb:
        refused({**sb.connection_settings, "base_path": base_path, "retries": 0}, "base_path")
    assert sb.requests == []


@pytest.mark.parametrize("value", ["..", "."])
def test_a_path_value_that_is_a_dot_segment_is_refused(value: str) -> None:
    """``/notes/{note_id}`` with ``..`` would be ``/v1/``: a request one level up."""
    with recording_server() as (port, seen):
        error = refused({"host": "127.0.0.1", "port": port, "api_key": "notes-key-42"}, "note_id", NOTES,
                        "get_note", {"note_id": value})
    assert "up a level" in str(error)
    assert seen == []


def test_dots_inside_a_path_value_are_sent_as_they_are() -> None:
    with recording_server() as (port, seen):
        with api.connect({"host": "127.0.0.1", "port": port, "api_key": "notes-key-42"}, source=NOTES) as conn:
            for value in ("...", "a..", "%2e%2e", ".hidden"):
                conn.run("get_note", {"note_id": value})
    assert [path for path, _ in seen] == ["/v1/notes/...", "/v1/notes/a..", "/v1/notes/%252e%252e",
                                          "/v1/notes/.hidden"]


@pytest.mark.parametrize("headers, field", [
    ({"Host": "evil.example"}, "headers.Host"),
    ({"host": "evil.example:8086"}, "headers.host"),
    ({"Authorization": "Token someone-else"}, "headers.Authorization"),
    ({"AUTHORIZATION": "Basic dTpw"}, "headers.AUTHORIZATION"),
])
def test_extra_headers_may_not_replace_host_or_the_token(headers: dict[str, str], field: str) -> None:
    with Sandbox(token=TOKEN) as sb:
        error = refused({**sb.connection_settings, "headers": headers, "retries": 0}, field)
    assert "would replace" in str(error)
    assert sb.requests == []


def test_the_auth_header_the_manifest_declares_is_protected(tmp_path: Path) -> None:
    """The second manifest authenticates with X-Api-Key: that is the header an extra header may
    not replace (given an extra-headers field, which it is here)."""
    shutil.copytree(NOTES.parent / "operations", tmp_path / "operations")
    text = NOTES.read_text(encoding="utf-8").replace("  base_url:", (
        "    headers: {type: object, title: Headers, secret: true, additionalProperties: {type: string}}\n"
        "  headers_from: headers\n  base_url:"))
    (tmp_path / "connector.yaml").write_text(text, encoding="utf-8")
    with recording_server() as (port, seen):
        values = {"host": "127.0.0.1", "port": port, "api_key": "notes-key-42"}
        refused({**values, "headers": {"x-api-key": "other"}}, "headers.x-api-key", tmp_path / "connector.yaml",
                "list_notes")
        assert seen == []
        with api.connect({**values, "headers": {"X-Trace": "t-1"}}, source=tmp_path / "connector.yaml") as conn:
            conn.run("list_notes")
    assert seen[0][1]["X-Trace"] == "t-1" and seen[0][1]["X-Api-Key"] == "notes-key-42"


def test_a_manifest_may_allow_an_extra_header_to_replace_the_auth_header(tmp_path: Path) -> None:
    text = influxdb.connector_file().read_text(encoding="utf-8")
    assert "  headers_from: headers\n" in text
    (tmp_path / "connector.yaml").write_text(
        text.replace("  headers_from: headers\n", "  headers_from: headers\n  override_headers: [Authorization]\n"),
        encoding="utf-8")
    shutil.copytree(resources.manifest_dir() / "operations", tmp_path / "operations")
    other = "the-proxy-token-7"
    with Sandbox(token=TOKEN, extra_tokens=[other]) as sb:
        values = {**sb.connection_settings, "headers": {"authorization": f"Token {other}"}, "retries": 0}
        with api.connect(values, source=tmp_path / "connector.yaml") as conn:
            conn.run("list_buckets")
            with pytest.raises(ValidationError) as caught:  # Host stays protected
                api.connect({**values, "headers": {"Host": "x"}}, source=tmp_path / "connector.yaml")
            assert "headers.Host" in caught.value.by_field()
    (sent,) = sb.requests
    assert [value for name, value in sent.headers.items() if name.lower() == "authorization"] == [f"Token {other}"]
