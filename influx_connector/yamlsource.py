"""Read YAML while remembering where every node came from.

Authoring errors are only useful when they point at a line: each loaded document carries a map
from JSON pointer to (line, column), both 1-based, so a schema error deep in an operation file
can say ``operations/write_data.yaml:14:7``.

Internal to the engine (not part of what hosts use; see ``influx_connector.__all__``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import ManifestError, ManifestProblem

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def escape_pointer_token(token: object) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer(parts: Any) -> str:
    """A JSON pointer (RFC 6901) from a sequence of keys and indexes."""
    return "".join("/" + escape_pointer_token(p) for p in parts)


@dataclass(frozen=True)
class Located:
    """A parsed YAML document and the position of each of its nodes."""

    file: str
    data: Any
    positions: dict[str, tuple[int, int]]

    def where(self, ptr: str) -> tuple[int, int]:
        """Position of the node at ``ptr``, or of its nearest ancestor that has one."""
        while True:
            if ptr in self.positions:
                return self.positions[ptr]
            if not ptr:
                return (1, 1)
            ptr = ptr.rsplit("/", 1)[0]

    def key_position(self, ptr: str) -> tuple[int, int]:
        """Where the *key* of a mapping entry sits (better than its value for 'unknown key')."""
        return self.positions.get(ptr + "#key", self.where(ptr))

    def problem(self, ptr: str, message: str, hint: str | None = None, at_key: bool = False,
                severity: str = "error") -> ManifestProblem:
        line, col = self.key_position(ptr) if at_key else self.where(ptr)
        return ManifestProblem(self.file, line, col, ptr, message, hint, severity)


def _walk(node: yaml.Node, path: list[Any], out: dict[str, tuple[int, int]]) -> None:
    out[pointer(path)] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            here = path + [key]
            out[pointer(here) + "#key"] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _walk(value_node, here, out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, path + [index], out)


def load_text(text: str, file: str) -> Located:
    """Parse one YAML document; a syntax error becomes a ManifestError with its position."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise ManifestError([ManifestProblem(file, line, col, "", f"not valid YAML: {exc.problem or exc}")]) from None
    finally:
        loader.dispose()
    positions: dict[str, tuple[int, int]] = {}
    if node is not None:
        _walk(node, [], positions)
    return Located(file, data, positions)


def load_file(path: Path, display: str | None = None) -> Located:
    return load_text(path.read_text(encoding="utf-8"), display or str(path))
