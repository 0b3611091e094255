"""A second data source, declared only in YAML, runs through the same engine over a real socket."""
from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from influx_connector import api, forms
from influx_connector.errors import APIError, ValidationError
from influx_connector.hookspecs import hookimpl
from influx_connector.plugins import create_host

NOTES = Path(__file__).parent / "fixtures" / "notes" / "connector.yaml"
KEY = "notes-key-42"


class NotesHandler(BaseHTTPRequestHandler):
    notes: list[dict] = []
    seen: list[tuple[str, str, dict]] = []

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _authorized(self) -> bool:
        self.seen.append((self.command, self.path, dict(self.headers)))
        if self.headers.get("X-Api-Key") != KEY:
            self._send(403, {"error": "forbidden", "detail": "bad key"})
            return False
        return True

    def do_GET(self) -> None:
        if not self._authorized():
            return
        url = urlsplit(self.path)
        if url.path == "/v1/notes":
            query = parse_qs(url.query)
            offset = int(query.get("offset", ["0"])[0])
            wanted = [n for n in self.notes if "tag" not in query or query["tag"][0] in n["tags"]]
            page = wanted[offset:offset + 2]
            more = offset + 2 < len(wanted)
            tag = f"&tag={query['tag'][0]}" if "tag" in query else ""
            self._send(200, {"notes": page, **({"next": f"/v1/notes?offset={offset + 2}{tag}"} if more else {})})
        elif url.path.startswith("/v1/notes/"):
            note_id = unquote(url.path.rsplit("/", 1)[1])
            match = [n for n in self.notes if n["id"] == note_id]
            self._send(200, match[0]) if match else self._send(404, {"error": "missing", "detail": f"no note {note_id}"})
        else:
            self._send(404, {"error": "missing", "detail": "no route"})

    def do_POST(self) -> None:
        if not self._authorized():
            return
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        note = {"id": str(len(self.notes) + 1), "text": body["text"], "tags": body["tags"]}
        self.notes.append(note)
        self._send(201, note)


@pytest.fixture
def notes_server() -> Iterator[tuple[int, type]]:
    handler = type("Handler", (NotesHandler,), {"notes": [], "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], handler
    server.shutdown()
    server.server_close()


def test_second_manifest_runs_without_code(notes_server) -> None:
    port, handler = notes_server
    connector = api.load(NOTES)
    assert connector.id == "notes" and list(connector.operations) == ["add_note", "get_note", "list_notes"]
    with api.connect({"api_key": KEY, "host": "127.0.0.1", "port": port}, source=NOTES) as conn:
        for i in range(5):
            assert conn.run("add_note", {"text": f"note {i}", "tags": ["even" if i % 2 == 0 else "odd"]}).status == 201
        assert conn.run("get_note", {"note_id": "3"}).data["text"] == "note 2"
        first = conn.run("list_notes").data
        assert len(first["notes"]) == 2 and first["next"]
        every = conn.run("list_notes", {"all_pages": True})
        assert [n["text"] for n in every.data["notes"]] == [f"note {i}" for i in range(5)]
        assert every.meta["pages"] == 3
        evens = conn.run("list_notes", {"tag": "even", "all_pages": True}).data["notes"]
        assert [n["text"] for n in evens] == ["note 0", "note 2", "note 4"]
        with pytest.raises(APIError) as caught:
            conn.run("get_note", {"note_id": "../x%2F y"})
        # A path value is one percent-encoded segment: it cannot climb out or add segments.
        assert handler.seen[-1][1] == "/v1/notes/..%2Fx%252F%20y"
        assert caught.value.message == "no note ../x%2F y"
        with pytest.raises(APIError) as caught:
            conn.run("get_note", {"note_id": "99"})
        assert (caught.value.status, caught.value.code, caught.value.message) == (404, "missing", "no note 99")
        assert conn.test().ok
    assert all(headers.get("X-Api-Key") == KEY for _, _, headers in handler.seen)


def test_second_manifest_validation_and_forms(notes_server) -> None:
    port, handler = notes_server
    with api.connect({"api_key": KEY, "host": "127.0.0.1", "port": port}, source=NOTES) as conn:
        with pytest.raises(ValidationError) as caught:
            conn.run("add_note", {"text": "", "tags": "not-a-list"})
        assert caught.value.by_field() == {"text": ["must not be empty"], "tags": ["must be a list, not string"]}
    assert handler.seen == []
    form = forms.connection_form(api.load(NOTES))
    assert form["uiSchema"]["api_key"]["ui:widget"] == "password"
    assert form["schema"]["required"] == ["api_key", "host"]


def test_wrong_key_is_reported_with_the_apis_own_error_words(notes_server) -> None:
    port, _ = notes_server
    with api.connect({"api_key": "wrong-key", "host": "127.0.0.1", "port": port}, source=NOTES) as conn:
        with pytest.raises(APIError) as caught:
            conn.run("list_notes")
        assert (caught.value.status, caught.value.code) == (403, "forbidden")
        report = conn.test()
        assert not report.ok and report.steps[0].status == "failed" and "bad key" in report.steps[0].message


class RecordingCodec:
    """A plugin codec that remembers the options of every page it decodes."""

    def __init__(self) -> None:
        self.options: list[dict] = []

    @hookimpl
    def influx_connector_codecs(self):
        def decode(response, **options):
            self.options.append(options)
            return json.loads(response.content)

        return {"recording_json": decode}


def test_every_page_is_decoded_with_the_operations_parameters(notes_server, tmp_path: Path) -> None:
    port, _ = notes_server
    shutil.copytree(NOTES.parent, tmp_path / "notes")
    (tmp_path / "notes" / "operations" / "tagged.yaml").write_text(
        "id: tagged_notes\ntitle: Tagged notes\nparams:\n  tag: {type: string}\n  all_pages: {type: boolean}\n"
        "request: {method: GET, path: /notes, query: {tag: {$param: tag}}}\n"
        "response:\n  codec: recording_json\n  options: {label: {$param: tag}}\n"
        "  paginate: {enabled_by: all_pages, next: /next, items: /notes}\n")
    codec = RecordingCodec()
    host = create_host(extra=(codec,))
    source = tmp_path / "notes" / "connector.yaml"
    with api.connect({"api_key": KEY, "host": "127.0.0.1", "port": port}, source=source, host=host) as conn:
        for i in range(5):
            conn.run("add_note", {"text": f"n{i}", "tags": ["t"]})
        result = conn.run("tagged_notes", {"tag": "t", "all_pages": True})
    assert len(result.data["notes"]) == 5 and result.meta["pages"] == 3
    assert codec.options == [{"label": "t"}] * 3


# --- the command line knows no data source -----------------------------------------------------------


INFLUX_VARIABLES = {"INFLUX_HOST": "http://influx.example:8086", "INFLUX_TOKEN": "influx-token-not-for-notes",
                    "INFLUX_ORG": "some-org", "INFLUX_BUCKET": "some-bucket"}


def test_every_generic_command_runs_on_the_second_manifest_with_influx_variables_set(
        notes_server, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The InfluxDB data source's variables are exported, as a user of both would have them: the
    notes data source reads none of them (its own flags come from its connection fields)."""
    from influx_connector.cli import main
    from influx_connector.cli.main import command_registry
    from influx_connector.cli.registry import BUILT_IN

    port, handler = notes_server
    for name, value in INFLUX_VARIABLES.items():
        monkeypatch.setenv(name, value)
    source = ["--data-source", str(NOTES)]
    conn = [*source, "--host", "127.0.0.1", "--port", str(port), "--api-key", KEY]
    ran: dict[str, str] = {}

    def run(*argv: str) -> str:
        code = main(list(argv))
        out, err = capsys.readouterr()
        assert code == 0, (argv, err)
        assert INFLUX_VARIABLES["INFLUX_TOKEN"] not in out + err and "influx.example" not in out + err
        ran.setdefault(argv[0], out)
        return out

    assert [e["id"] for e in json.loads(run("operations", *source))] == ["add_note", "get_note", "list_notes"]
    assert run("operations", *source, "--format", "table").splitlines()[0].split() == ["ID", "TITLE", "REQUIRED"]
    assert json.loads(run("describe", "add_note", *source))["params"][0]["name"] == "text"
    assert [f["name"] for f in json.loads(run("describe", "--connection", *source))["fields"]] == \
        ["api_key", "host", "port"]
    assert [o["id"] for o in json.loads(run("forms", *source))["operations"]] == ["add_note", "get_note", "list_notes"]
    assert run("validate", str(NOTES.parent)).startswith("OK: notes")
    request = json.loads(run("render", "get_note", *conn, "-p", "note_id=7"))
    assert request["url"] == f"http://127.0.0.1:{port}/v1/notes/7" and request["headers"]["X-Api-Key"] == "****"
    added = json.loads(run("run", "add_note", *conn, "-p", "text=from the command line", "-p", 'tags=["cli"]'))
    assert added["status"] == 201 and added["data"]["tags"] == ["cli"]
    assert json.loads(run("test", *conn))["ok"] is True
    demo = run("demo", *conn)
    assert "✓ Add a note [add_note] HTTP 201" in demo and "3 of 3 operations ran; 0 calls failed" in demo
    assert "✗" not in demo
    reference = run("docs", *source, "--out", "-")
    assert reference.startswith("# Notes data source reference") and "### `list_notes`: List notes" in reference
    # serve runs until stopped: test_host_service starts it on this manifest with these variables.
    generic = {c.name for c in command_registry() if c.plugin == BUILT_IN} - {"serve"}
    assert set(ran) == generic, f"a generic command is not run here: {generic - set(ran)}"
    assert all(headers.get("X-Api-Key") == KEY for _, _, headers in handler.seen)


def test_the_second_manifest_reads_only_the_variables_it_declares(
        notes_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A data source that declares env_prefix NOTES reads NOTES_*, a URL in NOTES_HOST included."""
    from influx_connector.cli import main

    port, _ = notes_server
    shutil.copytree(NOTES.parent, tmp_path / "notes")
    source = tmp_path / "notes" / "connector.yaml"
    source.write_text(source.read_text() + "command_line:\n  env_prefix: NOTES\n  environment: [api_key, host]\n")
    for name, value in INFLUX_VARIABLES.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("NOTES_HOST", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("NOTES_API_KEY", KEY)
    assert main(["run", "list_notes", "--data-source", str(source)]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == 200
    monkeypatch.setenv("NOTES_HOST", f"https://127.0.0.1:{port}")
    assert main(["render", "list_notes", "--data-source", str(source)]) == 2
    assert "NOTES_HOST: this data source speaks http only, not https" in capsys.readouterr().err


class CheckingCodec:
    """A codec that needs something only some parameter values ask for (a package, say)."""

    def __init__(self) -> None:
        self.limits: list[tuple[int | None, str]] = []

    @hookimpl
    def influx_connector_codecs(self):
        from influx_connector.messages import Codec

        def decode(response, style="plain"):
            self.limits.append((response.memory_limit, response.limit_setting))
            return json.loads(response.content)

        def check(style="plain"):
            return {"style": "fancy needs a package that is not installed"} if style == "fancy" else {}

        return {"checked_json": Codec(decode, check=check)}


def test_a_codec_refuses_its_options_before_anything_is_sent(notes_server, tmp_path: Path) -> None:
    port, handler = notes_server
    shutil.copytree(NOTES.parent, tmp_path / "notes")
    (tmp_path / "notes" / "operations" / "styled.yaml").write_text(
        "id: styled_notes\ntitle: Styled notes\nparams:\n  look: {type: string, enum: [plain, fancy]}\n"
        "request: {method: GET, path: /notes}\n"
        "response:\n  codec: checked_json\n  options: {style: {$param: look}}\n")
    codec = CheckingCodec()
    source = tmp_path / "notes" / "connector.yaml"
    with api.connect({"api_key": KEY, "host": "127.0.0.1", "port": port}, source=source,
                     host=create_host(extra=(codec,))) as conn:
        with pytest.raises(ValidationError) as caught:
            conn.run("styled_notes", {"look": "fancy"})
        assert handler.seen == []  # refused before sending
        # Reported on the parameter that feeds the option, not on the codec's own name for it.
        assert [(e.field, e.message) for e in caught.value.errors] == [
            ("look", "fancy needs a package that is not installed")]
        with pytest.raises(ValidationError):
            conn.render("styled_notes", {"look": "fancy"})
        assert conn.run("styled_notes", {"look": "plain"}).data == {"notes": []}
    # The codec is told how much the answer may take in memory, and how a user raises it.
    assert codec.limits == [(256 << 20, "the answer size limit")]
