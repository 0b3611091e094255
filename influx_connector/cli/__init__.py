"""The ``influx-connector`` command line: list, describe, validate, render, run and test operations.

Everything here goes through the same engine a host app uses (``api.load`` / ``api.connect``), so
what the command line accepts and what a host's form accepts cannot drift apart. The CLI only
adds what a shell needs: reading connection values from flags, the environment and a config
file, turning ``-p key=value`` text into typed values, and printing results.

Secrets: the CLI never prints connection values itself. Requests, results and errors come from
the engine already masked; as a second line of defence every error text is masked again with
the token values the CLI was given.

The command line knows no data source: its connection flags and environment variables are the
data source's ``command_line`` declaration, its demo is the data source's ``demo.yaml``, and
plugins add commands of their own (the InfluxDB data source adds ``sandbox``).

One concern a module: ``parser`` (the arguments), ``invocation`` (one parsed command line),
``config`` (connection values from flags, environment and config file), ``params`` (operation
parameters from text), ``output`` (JSON and tables), ``registry`` (the commands, and the hook
plugins add theirs through), ``commands`` (the built-in ones), ``demo``, ``hints`` (what to do
about an error) and ``main`` (the entry point).
"""
from __future__ import annotations

from .. import api
from ..errors import UsageError
from .config import env_values, split_host_url, url_fields
from .main import main
from .output import is_flat_rows, rows_table, to_json
from .params import convert_value

__all__ = ["UsageError", "api", "convert_value", "env_values", "is_flat_rows", "main", "rows_table",
           "split_host_url", "to_json", "url_fields"]
