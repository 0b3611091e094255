"""CSV records with limits of their own, not the process-wide ``csv.field_size_limit``.

``csv.reader`` refuses a cell over ``csv.field_size_limit()`` (128 KiB unless someone changed
it), a setting shared by the whole interpreter: raising it for our sake would change the host
app's CSV parsing too, and a host that raised it would switch our limit off. So ``Records``
reads with ``csv.reader`` as it is, and when a cell is too large for the process's limit reads
that one record itself, in Python, with its own limits:

- ``CELL_LIMIT``: a cell holds at most 64 Mi characters (an InfluxDB string field holds far
  less; this stops a runaway cell);
- ``RECORD_LIMIT``: a record, all its lines and cells, at most 128 Mi characters, so an answer
  read a row at a time is bounded per row.

Both are enforced whatever ``csv.field_size_limit()`` says. The dialect is the one InfluxDB
writes (Go's encoding/csv): ``,`` between cells, ``"`` around a cell that needs it, ``""`` for a
quote inside one, read strictly (``csv.reader(..., strict=True)``): ``"a"b`` is an error.
Lines keep their terminators, as ``io.StringIO(text, newline="")`` gives them.
"""
from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator

CELL_LIMIT = 64 * 1024 * 1024
RECORD_LIMIT = 128 * 1024 * 1024

_FIELD_LIMIT_ERROR = "field larger than field limit"
_UNQUOTED_END = re.compile(r"[,\r\n]")


def too_large(what: str, limit: int) -> str:
    return f"{what} is larger than {limit >> 20} Mi characters, the most one may hold"


class Records:
    """``csv.reader(lines, strict=True)``, with the limits above; ``line_num`` as csv.reader's.

    Raises ``csv.Error`` as csv.reader does, also for a cell or record over the limits.
    """

    __slots__ = ("line_num", "_lines", "_taken", "_size", "_reader", "_check_cells")

    def __init__(self, lines: Iterable[str]):
        self.line_num = 0
        self._lines = iter(lines)
        self._taken: list[str] = []  # the lines of the record being read
        self._size = 0
        self._reader = csv.reader(self._feed(), strict=True)
        # A host may have raised the process's limit above ours: then check cells here.
        self._check_cells = csv.field_size_limit() > CELL_LIMIT

    def __iter__(self) -> Records:
        return self

    def __next__(self) -> list[str]:
        taken = self._taken
        taken.clear()
        self._size = 0
        try:
            cells = next(self._reader)
        except csv.Error as exc:
            if not str(exc).startswith(_FIELD_LIMIT_ERROR):
                raise
            cells = self._read_big(taken)
        finally:
            self.line_num += len(taken)
        if self._check_cells and cells and max(map(len, cells)) > CELL_LIMIT:
            raise csv.Error(too_large("a cell", CELL_LIMIT))
        return cells

    def _feed(self) -> Iterator[str]:
        taken = self._taken
        for line in self._lines:
            taken.append(line)
            self._size += len(line)
            if self._size > RECORD_LIMIT:
                raise csv.Error(too_large("a record", RECORD_LIMIT))
            yield line

    def _more(self) -> str:
        """The next line of a record that goes on past the lines read so far."""
        line = next(self._lines, None)
        if line is None:
            raise csv.Error("unexpected end of data")
        self._taken.append(line)
        self._size += len(line)
        if self._size > RECORD_LIMIT:
            raise csv.Error(too_large("a record", RECORD_LIMIT))
        return line

    def _read_big(self, taken: list[str]) -> list[str]:
        """The record from its start, read here: csv.reader stopped at a cell over its limit."""
        text = "".join(taken)
        if text[:1] in ("\r", "\n"):
            return []
        cells: list[str] = []
        pos = 0
        while True:
            if text.startswith('"', pos):
                parts: list[str] = []
                size = 0
                pos += 1
                while True:
                    quote = text.find('"', pos)
                    if quote < 0:
                        parts.append(text[pos:])
                        size += len(text) - pos
                        if size > CELL_LIMIT:
                            raise csv.Error(too_large("a cell", CELL_LIMIT))
                        text, pos = self._more(), 0
                        continue
                    parts.append(text[pos:quote])
                    size += quote - pos
                    if text.startswith('"', quote + 1):  # "" is a quote inside the cell
                        parts.append('"')
                        size += 1
                        pos = quote + 2
                        continue
                    pos = quote + 1
                    break
                if size > CELL_LIMIT:
                    raise csv.Error(too_large("a cell", CELL_LIMIT))
                cells.append("".join(parts))
                if pos >= len(text) or text[pos] in "\r\n":
                    return cells
                if text[pos] != ",":
                    raise csv.Error("',' expected after '\"'")
                pos += 1
                continue
            found = _UNQUOTED_END.search(text, pos)
            end = found.start() if found else len(text)
            if end - pos > CELL_LIMIT:
                raise csv.Error(too_large("a cell", CELL_LIMIT))
            cells.append(text[pos:end])
            if found is None or found.group() != ",":
                return cells
            pos = end + 1
