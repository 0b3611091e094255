"""Rows of an answer handed out one at a time (``Connection.stream``)."""
from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
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

    def batches(self, size: int = 1000) -> Iterator[list[Any]]:
        """The rows a list at a time, for a reader that handles many at once (one call a list,
        not one a row): the lists the data source's stream makes when it offers ``batches()``,
        else ``size`` rows at a time. Read it instead of iterating the rows, not after some."""
        made = getattr(self._inner, "batches", None)
        source = made() if callable(made) else in_lists(self._iter, size)
        while True:
            try:
                batch = next(source)
            except StopIteration:
                return
            except ConnectorError as exc:
                self.close()
                exc.redact(self._redactor)
                raise
            except UNFORESEEN as exc:
                self.close()
                raise undecodable(self._operation, self._codec, exc, self._redactor) from None
            yield batch

    def close(self) -> None:
        closer = getattr(self._inner, "close", None)
        if closer is not None:
            closer()

    def __enter__(self) -> Rows:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def in_lists(rows: Iterator[Any], size: int) -> Iterator[list[Any]]:
    """``rows`` ``size`` at a time; the rows read before a failure come out before it is raised."""
    while True:
        batch: list[Any] = []
        try:
            batch.extend(islice(rows, size))  # extend keeps what it took before a raise
        except Exception:
            if batch:
                yield batch
            raise
        if not batch:
            return
        yield batch
