"""Reference docs generated from the YAML: committed ones never drift, and both formats say the same."""
from __future__ import annotations

import html
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from influx_connector import api
from influx_connector.cli import main
from influx_connector.reference import reference, to_html, to_markdown
from influx_connector.reference.document import block_texts

ROOT = Path(__file__).resolve().parent.parent
NOTES = Path(__file__).parent / "fixtures" / "notes" / "connector.yaml"
REGENERATE = "influx-connector docs --out docs --readme README.md"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (api.OPERATIONS_ENV, api.SOURCE_ENV):
        monkeypatch.delenv(var, raising=False)


def test_the_committed_docs_are_what_the_yaml_gives(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(ROOT)
    code = main(["docs", "--check", "--out", "docs", "--readme", "README.md"])
    _, err = capsys.readouterr()
    assert code == 0, f"the committed docs drifted from the YAML:\n{err}\nregenerate them: {REGENERATE}"


def test_check_names_a_drifted_file_and_the_command_that_fixes_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    monkeypatch.chdir(tmp_path)
    readme = tmp_path / "README.md"
    readme.write_text(readme.read_text().replace("| Write data |", "| Write some data |"))
    assert main(["docs", "--check", "--readme", "README.md"]) == 1
    err = capsys.readouterr().err
    assert "README.md is out of date with the YAML of 'influxdb'" in err and "reference.md" not in err
    assert f"regenerate: {REGENERATE}" in err
    assert main(["docs", "--readme", "README.md"]) == 0
    capsys.readouterr()
    assert main(["docs", "--check", "--readme", "README.md"]) == 0
    assert "| Write data |" in readme.read_text()


def test_a_readme_without_the_markers_is_told_where_the_table_goes(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "README.md").write_text("# A readme\n")
    assert main(["docs", "--out", str(tmp_path / "docs"), "--readme", str(tmp_path / "README.md")]) == 2
    assert "has no place for the table of operations" in capsys.readouterr().err


class _Text(HTMLParser):
    """The text of an HTML page's body, without its markup."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = False

    def handle_starttag(self, tag: str, attrs: list) -> None:  # type: ignore[type-arg]
        self.skip = tag in ("style", "title")

    def handle_endtag(self, tag: str) -> None:
        self.skip = False

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def _markdown_words(markdown: str) -> str:
    """Markdown's text without its markup: links keep their text, code spans their content (with
    the table's escaped | undone), other escapes are undone."""
    markdown = re.sub(r"\[(.*?)\]\(<[^>]*>\)", r"\1", markdown)

    def undo(found: re.Match[str]) -> str:
        if found.group("block") is not None:
            return found.group("block")  # a fenced block is taken as it is
        if found.group("code") is not None:
            return found.group("code").replace("\\|", "|")
        return found.group("escaped")

    return re.sub(r"^(?P<fence>`{3,})[^\n]*\n(?P<block>.*?)\n(?P=fence)$"
                  r"|(?P<tick>`+) ?(?P<code>[^\n]*?) ?(?P=tick)(?!`)|\\(?P<escaped>.)",
                  undo, markdown, flags=re.MULTILINE | re.DOTALL)


@pytest.mark.parametrize("source", ["influxdb", str(NOTES)])
def test_markdown_and_html_say_the_same(source: str) -> None:
    """Every text of the document, in order, in both formats (each escapes for itself)."""
    document = reference(api.load(source))
    markdown, page = to_markdown(document), to_html(document)
    parser = _Text()
    parser.feed(page)
    html_words = "".join(parser.parts)
    md_words = _markdown_words(markdown)
    md_at = html_at = 0
    for words in block_texts(document):
        for piece in (w for w in words.split("\n") if w.strip()):
            md_found = md_words.find(piece.replace("\n", " "), md_at)
            html_found = html_words.find(piece, html_at)
            assert md_found >= 0, f"not in the Markdown (in order): {piece!r}"
            assert html_found >= 0, f"not in the HTML (in order): {piece!r}"
            md_at, html_at = md_found, html_found
    assert markdown.count("\n| ") - markdown.count("\n|---") > 0
    assert page.count("<tr>") == sum(1 + len(b.rows) for b in document.blocks if hasattr(b, "rows"))
    assert "<script" not in page
    if source == "influxdb":  # text is escaped, never markup
        assert f"params.{html.escape('<name>')}" in page and "params.\\<name\\>" in markdown


def test_every_operation_parameter_and_example_is_documented() -> None:
    data_source = api.load()
    markdown = to_markdown(reference(data_source))
    for field in data_source.connection.fields:
        assert f"| `{field.name}` |" in markdown
    for op in data_source.operations.values():
        section = markdown.split(f'<a id="{op.id}"></a>', 1)[1].split("\n### ", 1)[0]
        assert f"`operations/{op.id}.yaml`" in section
        for p in op.params:
            assert f"| `{p.name}` |" in section, (op.id, p.name)
            if p.default_from:
                assert f"| `{p.default_from}` |" in section
        assert f"method: {op.request.method}\npath: {op.request.path}" in section
        for example in op.examples:
            assert f"#### Example: {example['name']}" in re.sub(r"\\(.)", r"\1", section), (op.id, example["name"])
        chart = op.result.get("chart")
        assert ("Chart hint for hosts" in section) == bool(chart), op.id
        if chart and "value" in chart:
            assert f"time from `{chart['time']}`, values from `{chart['value']}`" in section
        elif chart:
            assert f"time from `{chart['time']}`, every column of numbers drawn" in section
    write = markdown.split('<a id="write_data"></a>', 1)[1]
    assert "one of `\"ns\"` (Nanoseconds), `\"us\"` (Microseconds)" in write
    assert "| `batch_size` | integer |  | `5000` | at least `1`; at most `1000000` |" in write
    assert "POST /api/v2/write?bucket=sensors&precision=s&org=my-org" in write


def test_an_extension_folder_gets_docs_the_same_way(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    extra = tmp_path / "my-operations"
    extra.mkdir()
    (extra / "ping_server.yaml").write_text(
        "id: ping_server\ntitle: Ping the server\ndescription: Checks that the server answers.\n"
        "params:\n  verbose: {type: boolean, title: Verbose, default: false}\n"
        "request: {method: GET, path: /ping, query: {verbose: {$param: verbose}}}\n"
        "response: {codec: empty, success: [204]}\n"
        "examples:\n  - name: a bare ping\n    params: {}\n    request: {method: GET, path: /ping}\n"
        "    response: {status: 204}\n", encoding="utf-8")
    out = tmp_path / "docs"
    assert main(["docs", "--operations-dir", str(extra), "--out", str(out)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"wrote {out / 'reference.md'}", f"wrote {out / 'reference.html'}"]
    markdown = (out / "reference.md").read_text()
    section = markdown.split('<a id="ping_server"></a>', 1)[1]
    assert "Declared in `my-operations/ping_server.yaml`" in section
    assert "| `verbose` | boolean |  | `false` |" in section
    assert "#### Example: a bare ping" in section and "GET /ping" in section and "HTTP 204" in section
    assert 'id="ping_server"' in (out / "reference.html").read_text()
    assert main(["docs", "--operations-dir", str(extra), "--out", "-"]) == 0
    assert capsys.readouterr().out.startswith("# InfluxDB data source reference")
