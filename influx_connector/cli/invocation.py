"""One parsed command line: its options, the data source it names and the connection it makes."""
from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

from .. import api
from ..errors import InsecureTLSWarning
from ..model import Connector
from ..plugins import default_host
from ..secrets import Redactor
from .parser import _TOP

if TYPE_CHECKING:
    from ..connection import Connection

log = logging.getLogger(__name__)


@dataclass
class Invocation:
    """One parsed command line, with common options merged from before and after the subcommand."""

    ns: argparse.Namespace
    redactor: Redactor = field(default_factory=Redactor)

    def option(self, name: str, default: Any = None) -> Any:
        """A common option: the value after the subcommand wins over the one before it."""
        values = vars(self.ns)
        if name in values:
            return values[name]
        return values.get(_TOP + name, default)

    def options(self, name: str) -> list[Any]:
        """A repeatable common option: occurrences before and after the subcommand, in order."""
        values = vars(self.ns)
        return [*(values.get(_TOP + name) or []), *(values.get(name) or [])]

    def given(self, name: str) -> bool:
        values = vars(self.ns)
        return name in values or _TOP + name in values

    @property
    def output_format(self) -> str:
        return self.option("format", "json")

    def connector(self) -> Connector:
        return api.load(self.option("source"), self.options("operations_dir"))

    def remember_secrets(self, connector: Connector, values: Mapping[str, Any]) -> None:
        """Mask the connection's secret values in anything this command prints from now on."""
        self.redactor = Redactor.of(
            [*self.redactor.secrets, *connector.connection.secret_values(values)])

    def connect(self) -> Connection:
        connector = self.connector()
        from .config import connection_values

        values = connection_values(self, os.environ)
        self.remember_secrets(connector, values)
        log.debug("connection fields given: %s", ", ".join(sorted(values)) or "none")
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always", InsecureTLSWarning)
            from ..connection import Connection

            conn = Connection(connector, values, default_host())
        for warning in said:  # the connection's own warnings, as one line each
            print(f"warning: {warning.message}", file=sys.stderr)
        return conn

