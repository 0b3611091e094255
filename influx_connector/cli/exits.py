"""Exit codes and the help text that lists them: what a script calling the command line relies on."""
from __future__ import annotations

PROG = "influx-connector"

EXIT_OK = 0
EXIT_TEST_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70  # EX_SOFTWARE from sysexits.h: a bug, not a user mistake
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = """\
exit codes:
  0   success
  1   'test': the connection test failed (the report says which step)
  2   usage error, invalid parameters or connection values, unknown operation
  3   the connector manifest has problems
  4   the server answered with an error, or its answer could not be decoded
  5   the server could not be reached (network, TLS, timeout)
  70  internal error (a bug: please report it)

connection values: flags > environment (INFLUX_HOST, INFLUX_TOKEN, INFLUX_ORG,
INFLUX_BUCKET) > --config file. Values given nowhere keep the data source's defaults.
"""

