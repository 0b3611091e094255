"""``run --output FILE``: a result's data written to a file exactly, and a summary printed instead.

Bytes are written as they came, text as UTF-8, anything else (rows, objects) as JSON. The target
is checked before the operation runs, so a mistyped folder costs no request; the data goes to a
temporary file beside the target that then replaces it, so a failed write leaves no half file
and an existing file is never written through (a symbolic link or a hard link to another file is
replaced, not followed). A symbolic link at the target is refused outright: writing would
silently break the link, and following it would write somewhere the command line does not name.

``--output -`` writes the data to standard output, for a pipe; never to a terminal, where bytes
would scramble it.
"""
from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ..binary import is_bytes
from ..errors import OutputError, UsageError
from .output import to_json

#: The ``--output`` value that means standard output.
STDOUT = "-"


@dataclass(frozen=True)
class Target:
    """Where a result goes: a file path, or standard output (``path`` None)."""

    path: Path | None

    @property
    def name(self) -> str:
        return "standard output" if self.path is None else str(self.path)


def target(value: str) -> Target:
    """The checked ``--output`` value; a ``UsageError`` (before anything is sent) naming the
    path and what is wrong with it."""
    if value == STDOUT:
        if sys.stdout.isatty():
            raise UsageError("--output -: standard output is a terminal; give a file name, or pipe the output "
                             "(bytes would scramble the terminal)")
        return Target(None)
    if not value:
        raise UsageError("--output: give a file name (or - for standard output)")
    path = Path(value)
    if path.is_symlink():
        raise UsageError(f"--output {path}: is a symbolic link; name a regular file (the link is not followed "
                         "or replaced)")
    if path.is_dir():
        raise UsageError(f"--output {path}: is a folder; name a file in it")
    if path.exists() and not path.is_file():
        raise UsageError(f"--output {path}: is not a regular file")
    folder = path.parent
    if not folder.is_dir():
        raise UsageError(f"--output {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"--output {path}: the folder {folder} is not writable")
    return Target(path)


def encoded(data: Any) -> tuple[bytes, str]:
    """The bytes to write for ``data`` and what they are: ``bytes``, ``text`` or ``json``."""
    if is_bytes(data):
        return bytes(data), "bytes"
    if isinstance(data, str):
        return data.encode("utf-8"), "text"
    return (to_json(data) + "\n").encode("utf-8"), "json"


def write(where: Target, data: Any) -> tuple[int, str]:
    """Write ``data`` (see ``encoded``); the number of bytes written and their kind."""
    raw, kind = encoded(data)
    if where.path is None:
        out: BinaryIO = sys.stdout.buffer
        out.write(raw)
        out.flush()
        return len(raw), kind
    _replace(where.path, raw)
    return len(raw), kind


def _replace(path: Path, raw: bytes) -> None:
    folder = path.parent
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise OutputError(f"--output {path}: could not create a file in {folder}: {exc.strerror}") from None
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(raw)
            out.flush()
            os.fsync(out.fileno())
            # mkstemp makes the file 0600; a new file gets the permissions any other would.
            os.fchmod(out.fileno(), 0o666 & ~_umask())
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise OutputError(f"--output {path}: could not write the result: {exc.strerror or exc}; "
                          "the operation did run") from None


def _umask() -> int:
    mask = os.umask(0o22)
    os.umask(mask)
    return mask


def summary(where: Target, size: int, kind: str, content_type: str | None) -> dict[str, Any]:
    """What was written, for the command line to print instead of the data."""
    described: dict[str, Any] = {"path": where.name if where.path is None else str(where.path), "size": size,
                                 "kind": kind}
    if content_type:
        described["content_type"] = content_type
    return described


def summary_line(described: dict[str, Any]) -> str:
    what = f"{described['size']:,} bytes" if described["kind"] == "bytes" else \
        f"{described['size']:,} bytes of {described['kind']}"
    media = f" ({described['content_type']})" if described.get("content_type") else ""
    return f"wrote {what}{media} to {described['path']}"
