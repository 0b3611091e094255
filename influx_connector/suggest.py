"""'Did you mean …?' for misspelt keys, operation names and fields.

Internal to the engine (not part of what hosts use; see ``influx_connector.__all__``).
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, candidates: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """A ready-to-append hint such as " (did you mean 'required'?)", or ""."""
    match = closest(word, candidates)
    return f" (did you mean '{match}'?)" if match else ""
