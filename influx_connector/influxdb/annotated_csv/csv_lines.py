"""Reading an answer's lines: UTF-8 chunks cut into CSV lines that keep their terminators."""
from __future__ import annotations

import codecs
import io
from collections.abc import Iterable, Iterator
from typing import Any

from influx_connector.errors import DecodeError
from influx_connector.influxdb.csv_records import RECORD_LIMIT, too_large

# An InfluxDB string field can be larger than csv.field_size_limit()'s 128 KiB (the storage
# engine accepts up to 1 MiB): cells are read by csv_records.Records, which allows CELL_LIMIT
# (64 Mi characters) on every path without touching the process-wide csv setting, and a line or
# record at most RECORD_LIMIT (128 Mi), so a stream read a row at a time is bounded per row.


def _line_breaks_as_written(cells: list[str]) -> list[str]:
    """The cells of a record that spans lines, with line breaks as the server was given them.

    InfluxDB writes its CSV with Go's encoding/csv and CRLF line ends (``UseCRLF``): inside a
    quoted cell that writer turns each LF into CRLF and drops every CR (a lone CR and the CR of
    a CRLF alike). So a CRLF in a cell was written as LF, and is read back as one; a CR never
    reaches the client, and any other line break (from another writer) is kept as it is.
    """
    return [cell.replace("\r\n", "\n") if "\r\n" in cell else cell for cell in cells]


_CSV_LINE_ENDS = ("\n", "\r")
# str.splitlines() also breaks at these, but to CSV they are ordinary characters inside a cell.
_OTHER_LINE_ENDS = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


def _not_utf8(exc: UnicodeDecodeError, offset: int = 0) -> DecodeError:
    where = f" at byte {offset + exc.start:,}" if offset >= 0 else ""
    return DecodeError(f"the answer is not UTF-8 text{where}: {bytes(exc.object[exc.start:exc.end])!r} "
                       f"({exc.reason})")


def _utf8(data: bytes | bytearray) -> str:
    try:
        return bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _not_utf8(exc) from None


class _Utf8:
    """An incremental UTF-8 decoder whose errors are DecodeErrors that say at which byte."""

    __slots__ = ("_decoder", "_offset")

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._offset = 0

    def decode(self, chunk: bytes, final: bool = False) -> str:
        start = self._offset - len(self._decoder.getstate()[0])  # where the bytes it decodes now begin
        try:
            text = self._decoder.decode(chunk, final)
        except UnicodeDecodeError as exc:
            raise _not_utf8(exc, start) from None
        self._offset += len(chunk)
        return text


def _csv_lines(lines: Iterable[str | bytes]) -> Iterator[str]:
    """Turn the caller's lines into lines csv.reader can use.

    A line without its terminator (``iter_lines`` strips them) gets ``\\n`` back: csv.reader
    only keeps a newline inside a quoted cell if the line carries it. Pieces split at a
    non-CSV line break are glued back together. A leading UTF-8 BOM is dropped.
    """
    pending: list[str] = []
    first = True
    for line in lines:
        if type(line) is not str:
            line = _utf8(line) if isinstance(line, (bytes, bytearray)) else _not_text(line)
        if first:
            first = False
            if line.startswith("\ufeff"):
                line = line[1:]
        if line.endswith(_CSV_LINE_ENDS):
            if pending:
                pending.append(line)
                line = "".join(pending)
                pending.clear()
            yield line
        elif line.endswith(_OTHER_LINE_ENDS):
            pending.append(line)
        else:
            if pending:
                pending.append(line)
                line = "".join(pending)
                pending.clear()
            yield line + "\n"
    if pending:
        yield "".join(pending)


def _not_text(line: Any) -> str:
    raise DecodeError(f"expected lines of text, got {type(line).__name__}")


def _as_lines(source: str | bytes | Iterable[str]) -> Iterable[str]:
    if isinstance(source, (bytes, bytearray)):
        source = _utf8(source)
    if isinstance(source, str):
        # newline="" splits at \n, \r\n and \r only, and keeps the terminators.
        return io.StringIO(source, newline="")
    return source


def _lines_from_chunks(chunks: Iterable[str | bytes]) -> Iterator[str]:
    decoder = _Utf8()
    pending: list[str] = []  # pieces of a line not complete yet, joined once it is
    size = 0
    for chunk in chunks:
        text = chunk if type(chunk) is str else decoder.decode(chunk)  # type: ignore[arg-type]  # bytes here
        if not text:
            continue
        # Lines up to the last \n are complete; a \r at the very end may be half of a \r\n.
        cut = text.rfind("\n") + 1
        if not cut:
            pending.append(text)
            size += len(text)
            if size > RECORD_LIMIT:
                raise DecodeError(too_large("a line", RECORD_LIMIT))
            continue
        if pending:
            pending.append(text[:cut])
            yield from io.StringIO("".join(pending), newline="")
        else:
            yield from io.StringIO(text[:cut], newline="")
        pending = [text[cut:]]
        size = len(text) - cut
    pending.append(decoder.decode(b"", final=True))
    rest = "".join(pending)
    if rest:
        yield from io.StringIO(rest, newline="")


class _ChunkLines:
    """The iterator :func:`lines_from_chunks` returns.

    It yields lines like any line iterator; the decoders recognise it and, as long as no line
    has been taken from it, read the chunks themselves (the fast path) instead of line by line.
    """

    __slots__ = ("chunks", "_lines")

    def __init__(self, chunks: Iterable[str | bytes]):
        self.chunks = chunks
        self._lines: Iterator[str] | None = None

    def __iter__(self) -> _ChunkLines:
        return self

    def __next__(self) -> str:
        if self._lines is None:
            self._lines = _lines_from_chunks(self.chunks)
        return next(self._lines)

    def _take_chunks(self) -> Iterable[str | bytes] | None:
        """The chunks, for a decoder that reads them all; None once lines were taken."""
        if self._lines is not None:
            return None
        self._lines = iter(())
        return self.chunks


def lines_from_chunks(chunks: Iterable[str | bytes]) -> Iterator[str]:
    r"""Cut a stream of text or UTF-8 byte chunks into lines that keep their terminators.

    Only ``\n``, ``\r\n`` and ``\r`` end a line, as in CSV. Prefer this over
    ``response.iter_lines()``, which also breaks lines at ``\x85``, ``\u2028`` and friends
    (characters that may sit inside a string cell) and invents an empty line when a chunk ends
    between ``\r`` and ``\n``. Use it as
    ``iter_tables(lines_from_chunks(response.iter_content(chunk_size=65536)))``: given such an
    iterator untouched, the decoders read the chunks directly, which is much faster.
    """
    return _ChunkLines(chunks)
