"""A small document model, written out as Markdown or as HTML.

The reference is built once as blocks (headings, paragraphs, tables, code, lists) of inline text
(plain text, code and links), and each format is written from that same structure: neither is
converted from the other, so both say the same, and each escapes text for itself.
"""
from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Code:
    """Inline code: a name, a value, a path."""

    text: str


@dataclass(frozen=True)
class Link:
    text: str
    url: str


Inline = str | Code | Link
Text = tuple[Inline, ...]


def text(*parts: Inline | None) -> Text:
    """Inline text from parts; None parts are left out."""
    return tuple(p for p in parts if p is not None and p != "")


def plain(parts: Text) -> str:
    """The words of inline text, without markup."""
    return "".join(p if isinstance(p, str) else p.text for p in parts)


@dataclass(frozen=True)
class Heading:
    level: int
    title: Text
    anchor: str


@dataclass(frozen=True)
class Paragraph:
    body: Text


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[Text, ...], ...]


@dataclass(frozen=True)
class CodeBlock:
    body: str
    language: str = ""


@dataclass(frozen=True)
class BulletList:
    items: tuple[Text, ...]


Block = Heading | Paragraph | Table | CodeBlock | BulletList


@dataclass(frozen=True)
class Document:
    title: str
    blocks: tuple[Block, ...]


def anchor(words: str) -> str:
    """An anchor for a heading: lower case, letters, digits and dashes."""
    return re.sub(r"[^a-z0-9]+", "-", words.lower()).strip("-")


class _Writer:
    """One output format: a method per kind of block (named after it), and how inline text is written."""

    def block(self, block: Block) -> str:
        return getattr(self, type(block).__name__.lower())(block)

    def blocks(self, doc: Document) -> list[str]:
        return [self.block(block) for block in doc.blocks]


# --- Markdown ---------------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def _md_escape(words: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", words).replace("\n", " ")


def _md_fence(body: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    return "`" * max(3, longest + 1)


class _Markdown(_Writer):
    def inline(self, parts: Text, in_table: bool = False) -> str:
        out = []
        for part in parts:
            if isinstance(part, Code):
                body = part.text.replace("\n", " ")
                if in_table:
                    body = body.replace("|", "\\|")  # GitHub reads a | in a table cell as a column break
                fence = "``" if "`" in body else "`"
                pad = " " if fence == "``" or body.startswith("`") else ""
                out.append(f"{fence}{pad}{body}{pad}{fence}")
            elif isinstance(part, Link):
                out.append(f"[{_md_escape(part.text)}](<{part.url}>)")
            else:
                out.append(_md_escape(part))
        return "".join(out)

    def heading(self, block: Heading) -> str:
        return f'{"#" * block.level} {self.inline(block.title)} <a id="{block.anchor}"></a>'

    def paragraph(self, block: Paragraph) -> str:
        return self.inline(block.body)

    def table(self, block: Table) -> str:
        lines = ["| " + " | ".join(self.inline((h,), True) for h in block.headers) + " |",
                 "|" + "---|" * len(block.headers)]
        lines += ["| " + " | ".join(self.inline(cell, True) for cell in row) + " |" for row in block.rows]
        return "\n".join(lines)

    def codeblock(self, block: CodeBlock) -> str:
        fence = _md_fence(block.body)
        return f"{fence}{block.language}\n{block.body.rstrip()}\n{fence}"

    def bulletlist(self, block: BulletList) -> str:
        return "\n".join(f"- {self.inline(item)}" for item in block.items)


def to_markdown(doc: Document) -> str:
    return "\n\n".join(_Markdown().blocks(doc)) + "\n"


def markdown_table(table: Table) -> str:
    """One table alone, as Markdown (for a generated part of another Markdown file)."""
    return to_markdown(Document("", (table,)))


# --- HTML -------------------------------------------------------------------------------------------

_STYLE = """\
body { font-family: system-ui, sans-serif; line-height: 1.5; max-width: 72rem; margin: 2rem auto; padding: 0 1rem; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; vertical-align: top; }
code, pre { font-family: ui-monospace, monospace; background: #f5f5f5; }
pre { padding: .6rem; overflow-x: auto; }"""


class _Html(_Writer):
    def inline(self, parts: Text) -> str:
        out = []
        for part in parts:
            if isinstance(part, Code):
                out.append(f"<code>{html.escape(part.text)}</code>")
            elif isinstance(part, Link):
                out.append(f'<a href="{html.escape(part.url, quote=True)}">{html.escape(part.text)}</a>')
            else:
                out.append(html.escape(part))
        return "".join(out)

    def heading(self, block: Heading) -> str:
        return f'<h{block.level} id="{block.anchor}">{self.inline(block.title)}</h{block.level}>'

    def paragraph(self, block: Paragraph) -> str:
        return f"<p>{self.inline(block.body)}</p>"

    def table(self, block: Table) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in block.headers)
        rows = "\n".join("<tr>" + "".join(f"<td>{self.inline(c)}</td>" for c in row) + "</tr>" for row in block.rows)
        return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>"

    def codeblock(self, block: CodeBlock) -> str:
        language = f' class="language-{block.language}"' if block.language else ""
        return f"<pre><code{language}>{html.escape(block.body.rstrip())}</code></pre>"

    def bulletlist(self, block: BulletList) -> str:
        items = "\n".join(f"<li>{self.inline(item)}</li>" for item in block.items)
        return f"<ul>\n{items}\n</ul>"


def to_html(doc: Document) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(doc.title)}</title>\n<style>\n{_STYLE}\n</style>\n</head>\n<body>\n"
            + "\n".join(_Html().blocks(doc)) + "\n</body>\n</html>\n")


def block_texts(doc: Document) -> Iterable[str]:
    """The words of every block, in order: what both formats must show."""
    for block in doc.blocks:
        if isinstance(block, (Heading,)):
            yield plain(block.title)
        elif isinstance(block, Paragraph):
            yield plain(block.body)
        elif isinstance(block, Table):
            yield from block.headers
            for row in block.rows:
                yield from (plain(cell) for cell in row)
        elif isinstance(block, CodeBlock):
            yield block.body.rstrip()
        elif isinstance(block, BulletList):
            yield from (plain(item) for item in block.items)
