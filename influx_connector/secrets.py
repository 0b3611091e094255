"""Keep secrets out of every text the connector produces: errors, logs, reprs, dry-runs."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable
from urllib.parse import quote, quote_plus

MASK = "****"
# Masking a one- or two-character value would garble every message that happens to contain
# those letters, and such a value protects nothing; shorter secrets are refused by the forms'
# minLength anyway.
MIN_SECRET_LENGTH = 4


def _leaves(values: Iterable[object]) -> Iterable[object]:
    """Scalar values, looking inside mappings and lists (a secret field may hold headers)."""
    for value in values:
        if value is None:
            continue
        if isinstance(value, dict):
            yield from _leaves(value.values())
        elif isinstance(value, (list, tuple)):
            yield from _leaves(value)
        else:
            yield value


def _forms(secret: str) -> set[str]:
    """A secret as it appears in the texts the connector makes: as it is, escaped inside JSON
    (a quote, a backslash, a non-ASCII letter), and percent-encoded in a path or query string."""
    return {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
            quote(secret, safe="", errors="surrogatepass"), quote_plus(secret, errors="surrogatepass")}


@dataclass(frozen=True)
class Redactor:
    """Replaces each known secret value with ****."""

    secrets: tuple[str, ...] = ()

    @classmethod
    def of(cls, values: Iterable[object]) -> "Redactor":
        found = {form for v in _leaves(values) if len(str(v)) >= MIN_SECRET_LENGTH for form in _forms(str(v))}
        # Longest first, so a secret that contains another is masked whole.
        return cls(tuple(sorted(found, key=len, reverse=True)))

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def __repr__(self) -> str:
        return f"Redactor({len(self.secrets)} secrets)"
