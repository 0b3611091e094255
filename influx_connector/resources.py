"""Where the built-in manifest lives: inside the installed package, or at the top of a checkout."""
from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def manifest_dir() -> Path:
    """The folder holding connector.yaml, operations/ and schemas/.

    A wheel carries them in ``influx_connector/manifest``; a source checkout (or an editable
    install) keeps them at the repository's top level, one folder above the package.
    """
    inside = _PACKAGE / "manifest"
    if (inside / "connector.yaml").is_file():
        return inside
    return _PACKAGE.parent


def schemas_dir() -> Path:
    return manifest_dir() / "schemas"


def connector_file() -> Path:
    return manifest_dir() / "connector.yaml"


def display_path(path: Path) -> str:
    """A short path for messages: relative to the working directory when it is below it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
