"""Keep secrets out of every text the connector produces: errors, logs, reprs, dry-runs.

Internal to the engine (not part of what hosts use; see ``influx_connector.__all__``).
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus

MASK = "****"
#: Secrets shorter than this are masked only where they stand alone (no letter or digit on either
#: side): replacing every "ab" inside other words would garble every message, and a short secret
#: still has to disappear where it is shown as a value.
SHORT_SECRET = 4


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

    #: Every form of every secret, longest first (so a secret that contains another is masked
    #: whole); those shorter than SHORT_SECRET are masked as whole words, by ``_short``.
    secrets: tuple[str, ...] = ()
    _short: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, values: Iterable[object]) -> Redactor:
        found = {form for v in _leaves(values) if str(v) for form in _forms(str(v))}
        ordered = tuple(sorted(found, key=lambda form: (-len(form), form)))
        short = [re.escape(form) for form in ordered if len(form) < SHORT_SECRET]
        pattern = re.compile(f"(?<![0-9A-Za-z])(?:{'|'.join(short)})(?![0-9A-Za-z])") if short else None
        return cls(ordered, pattern)

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            if len(secret) < SHORT_SECRET:
                break
            if secret in text:
                text = text.replace(secret, MASK)
        if self._short is not None:
            text = self._short.sub(MASK, text)
        return text

    def excerpt(self, text: str, limit: int) -> str:
        """At most ``limit`` characters from the start of ``text``, masked before it is cut, so a
        secret the cut would split cannot show in part."""
        end, moved = limit, True
        while moved:  # move the cut past any secret it falls inside
            moved = False
            for secret in self.secrets:
                at = text.find(secret, max(0, end - len(secret) + 1), end + len(secret) - 1)
                if at != -1:
                    end, moved = at + len(secret), True
        return self.mask(text[:end])[:limit]

    def __repr__(self) -> str:
        return f"Redactor({len(self.secrets)} secrets)"
