"""Where the files shipped from the repository's top live: inside the installed package, or at
the top of a checkout.

Internal to the engine (not part of what hosts use; see ``influx_connector.__all__``).
"""
from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def manifest_dir() -> Path:
    """The folder holding the authoring schemas (``schemas/``) and the manifest files shipped
    with the package.

    A wheel carries them in ``influx_connector/manifest``; a source checkout (or an editable
    install) keeps them at the repository's top level, one folder above the package.
    """
    inside = _PACKAGE / "manifest"
    if (inside / "schemas").is_dir():
        return inside
    return _PACKAGE.parent


def schemas_dir() -> Path:
    return manifest_dir() / "schemas"


def display_path(path: Path) -> str:
    """A short path for messages: relative to the working directory when it is below it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
