"""Rows of an answer handed out one at a time (``Connection.stream``)."""
from __future__ import annotations

from typing import Any

from ..errors import ConnectorError
from ..secrets import Redactor
from .exchange import UNFORESEEN, undecodable


class Rows:
    """Rows handed out one at a time by ``Connection.stream``.

    ``truncated`` is True once a row beyond the limit has been seen (final when iteration has
    stopped). A connection dropped while reading raises ``DecodeError``, as ``run`` does.
    """

    def __init__(self, inner: Any, operation: str, redactor: Redactor, truncated: bool = False, codec: str = ""):
        self._inner = inner
        self._iter = iter(inner)
        self._operation = operation
        self._redactor = redactor
        self._truncated = truncated
        self._codec = codec

    @property
    def truncated(self) -> bool:
        return self._truncated or bool(getattr(self._inner, "truncated", False))

    def __iter__(self) -> Rows:
        return self

    def __next__(self) -> Any:
        try:
            return next(self._iter)
        except ConnectorError as exc:
            self.close()
            exc.redact(self._redactor)
            raise
        except UNFORESEEN as exc:
            self.close()
            raise undecodable(self._operation, self._codec, exc, self._redactor) from None

    def close(self) -> None:
        closer = getattr(self._inner, "close", None)
        if closer is not None:
            closer()

    def __enter__(self) -> Rows:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
