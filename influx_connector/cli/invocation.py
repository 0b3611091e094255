"""One parsed command line: its options, the data source it names and the connection it makes.

A command (built in, or added by a plugin) is handed an ``Invocation``. What it may use:
``args`` (the parsed arguments), ``option``/``options``/``given`` (the common options, from
before or after the command name), ``output_format``, ``data_source()``,
``connection_values()``, ``connect()`` and ``remember_secrets()``.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import api
from ..errors import ConnectorError, InsecureTLSWarning
from ..model import DataSource
from ..plugins import default_host
from ..secrets import Redactor
from .parser import _TOP, FIELD
from .registry import Command

if TYPE_CHECKING:
    from ..connection import Connection

log = logging.getLogger(__name__)


@dataclass
class Selection:
    """The data source the command line runs with, loaded before the parser is built (its flags
    come from it), or the reason it could not be loaded, raised when a command needs it."""

    loaded: DataSource | None = None
    error: ConnectorError | None = None

    @classmethod
    def load(cls, source: str | None, operation_dirs: list[str]) -> Selection:
        try:
            return cls(loaded=api.load(source, operation_dirs))
        except ConnectorError as exc:
            return cls(error=exc)

    def get(self) -> DataSource:
        if self.loaded is None:
            assert self.error is not None
            raise self.error
        return self.loaded


@dataclass
class Invocation:
    """One parsed command line, with common options merged from before and after the command."""

    ns: argparse.Namespace
    command: Command
    selection: Selection = field(default_factory=Selection)
    redactor: Redactor = field(default_factory=Redactor)

    @property
    def args(self) -> argparse.Namespace:
        return self.ns

    def option(self, name: str, default: Any = None) -> Any:
        """A common option: the value after the command wins over the one before it."""
        values = vars(self.ns)
        if name in values:
            return values[name]
        return values.get(_TOP + name, default)

    def options(self, name: str) -> list[Any]:
        """A repeatable common option: occurrences before and after the command, in order."""
        values = vars(self.ns)
        return [*(values.get(_TOP + name) or []), *(values.get(name) or [])]

    def given(self, name: str) -> bool:
        values = vars(self.ns)
        return name in values or _TOP + name in values

    @property
    def output_format(self) -> str | None:
        """The --format asked for, None when none was: each command then prints its own default."""
        return self.option("format")

    def data_source(self) -> DataSource:
        return self.selection.get()

    def remember_secrets(self, data_source: DataSource, values: Mapping[str, Any]) -> None:
        """Mask the connection's secret values in anything this command prints from now on."""
        self.redactor = Redactor.of([*self.redactor.secrets, *data_source.connection.secret_values(values)])

    def given_secrets(self) -> Redactor:
        """The secret values given on the line or in the environment, known before anything runs."""
        data_source = self.selection.loaded
        if data_source is None:
            return Redactor()
        spec = data_source.command_line
        values = [self.option(FIELD + name) for name in data_source.connection.secret_fields]
        values += [os.environ.get(spec.variable(name) or "") for name in data_source.connection.secret_fields]
        return Redactor.of([v for v in values if isinstance(v, str) and v])

    def connection_values(self) -> dict[str, Any]:
        from .config import connection_values

        data_source = self.data_source()
        values = connection_values(self, os.environ, data_source)
        self.remember_secrets(data_source, values)
        log.debug("connection fields given: %s", ", ".join(sorted(values)) or "none")
        return values

    def connect(self, values: Mapping[str, Any] | None = None) -> Connection:
        data_source = self.data_source()
        values = self.connection_values() if values is None else values
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always", InsecureTLSWarning)
            from ..connection import Connection

            conn = Connection(data_source, values, default_host())
        for warning in said:  # the connection's own warnings, as one line each
            print(f"warning: {warning.message}", file=sys.stderr)
        return conn
