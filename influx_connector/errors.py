"""Every error the connector raises, in one place.

Each message is written for the person in front of the host app: it names the field, file or
server answer that went wrong and says what to do. No message ever contains a secret: the
transport masks credentials before an error is built, and these classes never format raw
request headers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class ConnectorError(Exception):
    """Base class: catch this to catch everything the connector raises on purpose."""

    #: CLI exit code for this family of errors.
    exit_code = 1
    #: How many times the request was tried before this error was given up on.
    attempts = 1

    def redact(self, redactor: Any) -> ConnectorError:
        """Mask the connection's secrets in this error (for errors raised by plugins' codecs,
        which do not know them); returns the error itself."""
        self.args = tuple(redactor.mask(arg) if isinstance(arg, str) else arg for arg in self.args)
        return self

    def gave_up(self, attempts: int, how: str) -> ConnectorError:
        """Record that this is the outcome of several tries, and say so in the message."""
        self.attempts = attempts
        if self.args:
            self.args = (f"{self.args[0]} ({how})", *self.args[1:])
        return self


class InsecureTLSWarning(UserWarning):
    """A connection was made with TLS certificate verification turned off."""


# --- authoring problems -------------------------------------------------------------------


@dataclass(frozen=True)
class ManifestProblem:
    """One problem in a data source's YAML file, with where it is.

    ``severity`` is ``error`` (the file cannot be used as it is) or ``warning`` (it can, but
    probably does not do what its author meant, such as a parameter nothing uses).
    """

    file: str
    line: int
    column: int
    pointer: str
    message: str
    hint: str | None = None
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        label = "warning: " if self.severity == "warning" else ""
        text = f"{where}: {label}{self.pointer or '/'}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


class ManifestError(ConnectorError):
    """A data source's manifest (connector.yaml, an operation file, demo.yaml) breaks the
    authoring contract. ``problems`` lists every problem found, warnings included."""

    exit_code = 3

    def __init__(self, problems: list[ManifestProblem]):
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        count = len(self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the manifest:\n{lines}")


# --- bad input ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldError:
    """One thing wrong with one input field. ``field`` is a dotted path such as ``data[2].fields``."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ValidationError(ConnectorError):
    """Input was rejected before any request was sent. ``errors`` lists every problem found."""

    exit_code = 2

    def __init__(self, errors: list[FieldError], subject: str = "input"):
        self.errors = list(errors)
        self.subject = subject
        lines = "\n".join(f"  {e}" for e in self.errors)
        super().__init__(f"invalid {subject}:\n{lines}")

    def by_field(self) -> dict[str, list[str]]:
        """Messages grouped by field, ready to show next to each form field."""
        grouped: dict[str, list[str]] = {}
        for err in self.errors:
            grouped.setdefault(err.field, []).append(err.message)
        return grouped


# --- talking to the server ------------------------------------------------------------------


class TransportError(ConnectorError):
    """The request did not get an HTTP answer.

    ``sent`` is False when the connection could not even be opened (nothing reached the
    server), True when the request may have been received (a reset, a read timeout, an answer
    cut short), None when it cannot be told.
    """

    exit_code = 5

    def __init__(self, message: str, sent: bool | None = None, reason: str | None = None):
        super().__init__(message)
        self.sent = sent
        #: A few words on what happened (``Connection reset``, ``read timeout``...), for retry logs.
        self.reason = reason


class NetworkError(TransportError):
    """Connection refused, reset, DNS failure and the like."""


class TLSError(TransportError):
    """The TLS handshake failed (certificate not trusted, wrong host name, ...)."""


class TimeoutError(TransportError):  # noqa: A001 - deliberately shadows the builtin inside this package
    """The server did not answer within the configured timeout."""


class APIError(ConnectorError):
    """The server answered with an error: an HTTP status, or an error table inside a 200 stream.

    ``code`` and ``message`` come from the server's error body when it has one (InfluxDB sends
    ``{"code": "...", "message": "..."}``); ``line`` is the first rejected line of a write.
    """

    exit_code = 4

    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        code: str | None = None,
        line: int | None = None,
        reference: str | None = None,
        body: Any = None,
        operation: str | None = None,
        details: dict[str, Any] | None = None,
        partial_write: bool = False,
    ):
        self.status = status
        self.code = code
        self.message = message
        self.line = line
        self.reference = reference
        self.body = body
        self.operation = operation
        #: Extra facts plugins read from the error (e.g. the rejected lines of a write).
        self.details = dict(details or {})
        #: The server kept part of the body (a plugin said so: ``messages.ErrorFacts``); also
        #: ``details["partial_write"]``, where hosts read it.
        self.partial_write = partial_write
        parts = [f"HTTP {status}" if status else "error in the response stream"]
        if code:
            parts.append(f"[{code}]")
        parts.append(message or "the server gave no explanation")
        text = " ".join(parts)
        if line is not None:
            text += f" (line {line})"
        if reference:
            text += f" (reference {reference})"
        if operation:
            text = f"{operation}: {text}"
        super().__init__(text)

    def redact(self, redactor: Any) -> APIError:
        super().redact(redactor)
        self.message = redactor.mask(self.message) if self.message else self.message
        self.body, self.details = _masked(self.body, redactor), _masked(self.details, redactor)
        return self


class DecodeError(ConnectorError):
    """The server's answer could not be read in the format the operation declares.

    ``cut_off`` is True when the answer ended early (the connection dropped while reading it).
    ``answer`` is the text that could not be read: the engine quotes its start in the message
    once the connection's secrets are masked in it (``redact``), never before, so a codec
    hands over the text rather than quoting it.
    """

    exit_code = 4
    #: How much of the answer the message quotes.
    QUOTED = 200

    def __init__(self, message: str, cut_off: bool = False, answer: str | bytes | None = None):
        super().__init__(message)
        self.cut_off = cut_off
        self._answer = answer

    def redact(self, redactor: Any) -> DecodeError:
        super().redact(redactor)
        answer, self._answer = self._answer, None
        if answer is not None and self.args:
            if isinstance(answer, bytes):
                answer = answer.decode("utf-8", "replace")
            self.args = (f"{self.args[0]}: {redactor.excerpt(answer, self.QUOTED)!r}", *self.args[1:])
        return self


class UsageError(ConnectorError):
    """The command line itself is wrong (a malformed flag value, a missing argument)."""

    exit_code = 2


class OutputError(ConnectorError):
    """The result could not be written where the command line was asked to write it (the
    operation did run: its effect, if any, took place)."""

    exit_code = 6


class NotFoundError(ConnectorError):
    """An operation, codec or data source name that nothing provides."""

    exit_code = 2


class PluginLoadError(ConnectorError, RuntimeError):
    """A plugin failed to load while ``INFLUX_CONNECTOR_STRICT_PLUGINS=1`` asks for load errors to
    be fatal. Names the plugin; the original error is its ``__cause__``. (A ``RuntimeError`` too,
    as strict mode has always raised one for a plugin that raised one.)"""

    exit_code = 3

    def __init__(self, plugin: str, error: BaseException):
        self.plugin = plugin
        super().__init__(f"plugin '{plugin}' failed to load: {type(error).__name__}: {error} "
                         "(INFLUX_CONNECTOR_STRICT_PLUGINS=1 makes this fatal; unset it to skip the plugin)")


def _masked(value: Any, redactor: Any) -> Any:
    """A JSON-like value with secrets masked in every string, keys included."""
    if isinstance(value, str):
        return redactor.mask(value)
    if isinstance(value, dict):
        return {_masked(k, redactor): _masked(v, redactor) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_masked(v, redactor) for v in value)
    return value
