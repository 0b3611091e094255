"""The types plugins see: the engine's own request, answer and registration types.

Hooks never receive the HTTP library the engine happens to use, nor the connection itself:
the send hook gets an ``HTTPRequest`` and the ``HTTPTransport`` that sends it, codecs an
``HTTPResponse``, resolvers a ``Lookup``. What steers the engine is declared, not guessed:
a codec that can hand out rows one at a time says so in its ``Codec`` registration, and a
server error that kept part of a write says so in the ``ErrorFacts`` a plugin returns.

``hookspecs`` documents which hook takes which of these.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # the HTTP library loads with the transport, not with the plugin host
    import requests

__all__ = ["Codec", "ErrorFacts", "HTTPRequest", "HTTPResponse", "HTTPTransport", "Lookup", "RowStream"]


@dataclass(frozen=True)
class HTTPRequest:
    """A request about to be sent, as the send hook sees it.

    ``headers`` may be changed by a send wrapper (to add a trace header, say) before the send;
    they carry the credentials, so never log them as they are. ``timeout`` is (connect, read)
    seconds, already cut to the time the call has left. ``operation`` names the call.
    """

    method: str
    url: str
    headers: MutableMapping[str, str]
    body: bytes | None = None
    timeout: tuple[float, float] = (10.0, 10.0)
    operation: str = ""

    def __repr__(self) -> str:
        return f"HTTPRequest({self.method} {self.url.split('?', 1)[0]})"


class HTTPResponse:
    """An answer, as codecs and send hooks see it.

    Its body is read through the engine's bounds (size limit, error cap, bounded decompression,
    the call's deadline) whichever way it is read: ``content`` (all of it, once) or
    ``iter_bytes`` (chunks, for a codec that streams). ``success`` says whether the operation
    counts the status as success (worked out once, when the answer arrived). ``close()`` gives
    the connection back.
    """

    #: The most the answer may take in memory once read or unpacked (the connection's answer
    #: limit, in bytes, also when it is streamed), and how a user raises it: for a codec that
    #: must hold a whole answer, or that unpacks a compressed format of its own. None: no limit
    #: was given (an answer made outside a connection).
    memory_limit: int | None = None
    limit_setting: str = "the answer size limit"

    def __init__(self, answer: requests.Response, *, success: bool | None = None):
        self._answer = answer
        self.success = success

    @classmethod
    def of(cls, status: int, headers: Mapping[str, str] | None = None, body: bytes | str = b"",
           reason: str = "") -> HTTPResponse:
        """An answer held in memory (a cache, a recorded answer, a test double)."""
        import requests
        from requests.structures import CaseInsensitiveDict
        from requests.utils import get_encoding_from_headers

        answer = requests.Response()
        answer.status_code = status
        answer.headers = CaseInsensitiveDict(headers or {})
        answer._content = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        answer._content_consumed = True  # type: ignore[attr-defined]
        answer.reason = reason
        answer.encoding = get_encoding_from_headers(answer.headers)
        return cls(answer)

    @property
    def status_code(self) -> int:
        return int(self._answer.status_code)

    @property
    def reason(self) -> str:
        return self._answer.reason or ""

    @property
    def headers(self) -> Mapping[str, str]:
        """Case-insensitive."""
        return self._answer.headers

    @property
    def encoding(self) -> str | None:
        """The charset the answer names (ISO-8859-1 for text without one, as HTTP/1.1 said)."""
        return self._answer.encoding

    @encoding.setter
    def encoding(self, name: str | None) -> None:
        """Read the text as ``name`` instead (an answer known to misname its charset)."""
        self._answer.encoding = name

    @property
    def content(self) -> bytes:
        """The whole body (decompressed), read once and kept."""
        return self._answer.content or b""

    def iter_bytes(self, chunk_size: int = 65536) -> Iterator[bytes]:
        """The body in chunks of at most ``chunk_size`` bytes, as it arrives."""
        return self._answer.iter_content(chunk_size=chunk_size)

    @property
    def truncated(self) -> bool:
        """Whether only the start of the body was read (an error answer cut at its cap)."""
        return bool(getattr(self._answer.raw, "truncated", False))

    @property
    def read_whole(self) -> bool:
        """Whether the body is already in memory."""
        return bool(getattr(self._answer, "_content_consumed", False))

    def close(self) -> None:
        self._answer.close()

    def __repr__(self) -> str:
        return f"<HTTPResponse [{self.status_code}]>"


@runtime_checkable
class HTTPTransport(Protocol):
    """What sends an ``HTTPRequest``: the connection's own, handed to the send hook."""

    def handle(self, request: HTTPRequest) -> HTTPResponse:
        """Send ``request`` once and return the answer (any status); a failure to send raises
        ``influx_connector.errors.TransportError``."""


@runtime_checkable
class Lookup(Protocol):
    """What a resolver may ask the server, through the connection (same session, credentials,
    retries and time limits as operations)."""

    def get_json(self, path: str, query: Mapping[str, Any] | None = None, operation: str = "lookup") -> Any:
        """GET ``path`` (below the connection's base URL) and return the decoded JSON; an error
        answer raises ``APIError``."""


@runtime_checkable
class RowStream(Protocol):
    """Rows handed out one at a time by a streaming codec.

    A stream that makes its rows a list at a time may also offer ``batches()``: an iterator of
    those lists (the same rows, in order, under the same limit), which ``Rows.batches`` hands
    on whole to readers that take many rows at once.
    """

    truncated: bool

    def __iter__(self) -> Iterator[Any]: ...

    def __next__(self) -> Any: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Codec:
    """A response decoder, as ``influx_connector_codecs`` registers it.

    ``decode(response, **options)`` returns the result data. ``stream``, when the codec can
    hand out rows one at a time, is called as ``stream(response, limit=N, **options)`` and
    returns a ``RowStream`` that closes the response when done; ``Connection.stream`` uses it
    (a codec without one is decoded whole and iterated). ``check``, when the codec can tell
    before anything is sent that it cannot decode with some options (it needs a package that
    is not installed, say), is called as ``check(**options)`` and returns what is wrong by
    option name (empty when nothing is); the engine reports each on the parameter that feeds
    the option. A plain function registered instead of a ``Codec`` is its ``decode``.
    """

    decode: Callable[..., Any]
    stream: Callable[..., RowStream] | None = None
    check: Callable[..., Mapping[str, str]] | None = None

    @classmethod
    def of(cls, registered: Codec | Callable[..., Any]) -> Codec:
        return registered if isinstance(registered, Codec) else cls(registered)


@dataclass(frozen=True)
class ErrorFacts:
    """What a plugin reads from a server's error answer (``influx_connector_error_details``).

    ``partial_write``: the server kept part of the body; a write in batches then goes on with
    the next batch and reports every partial one at the end (any other error stops it). The
    refused records of such a batch are counted as ``rejected_lines`` (``{"line", "reason"}``
    each) plus ``dropped``. ``details`` are further facts for ``APIError.details``. All of it
    reaches the host in ``APIError.details`` (``partial_write``, ``rejected_lines`` and
    ``dropped`` under those names, when set).
    """

    partial_write: bool = False
    rejected_lines: tuple[Mapping[str, Any], ...] = ()
    dropped: int | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def as_details(self) -> dict[str, Any]:
        out = dict(self.details)
        if self.rejected_lines:
            out["rejected_lines"] = [dict(line) for line in self.rejected_lines]
        if self.partial_write:
            out["partial_write"] = True
        if self.dropped is not None:
            out["dropped"] = self.dropped
        return out

