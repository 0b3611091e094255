"""Reference docs generated from a data source's YAML, as Markdown and as HTML with the same content.

``build`` makes one document structure from the compiled data source; ``document`` writes that
structure out in each format. ``influx-connector docs`` writes the files and keeps the README's
table of operations (between its markers) in step with the YAML.
"""
from __future__ import annotations

from .build import operations_table, reference
from .document import Document, markdown_table, to_html, to_markdown

__all__ = ["Document", "markdown_table", "operations_table", "reference", "to_html", "to_markdown"]
