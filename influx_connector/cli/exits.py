"""Exit codes and the help text that lists them: what a script calling the command line relies on."""
from __future__ import annotations

PROG = "influx-connector"

EXIT_OK = 0
EXIT_TEST_FAILED = 1
EXIT_USAGE = 2
EXIT_MANIFEST = 3
EXIT_INTERNAL = 70  # EX_SOFTWARE from sysexits.h: a bug, not a user mistake
EXIT_INTERRUPTED = 130
#: What a process killed by SIGPIPE reports: the reader of the output went away (``| head -1``).
EXIT_CLOSED_OUTPUT = 141

EXIT_CODES_HELP = """\
exit codes:
  0   success
  1   'test': the connection test failed (the report says which step); 'demo': a step failed
  2   usage error, invalid parameters or connection values, unknown operation or data source
  3   the data source's manifest has problems, or a plugin failed in strict mode
  4   the server answered with an error, or its answer could not be decoded
  5   the server could not be reached (network, TLS, timeout)
  6   'run --output': the result could not be written to the file (the operation did run)
  70  internal error (a bug: please report it)
  130 interrupted
  141 the output was closed before everything was printed (piped into head, say)
"""
