"""Every hook the engine calls, each documented where it is declared.

A plugin is a module or object with functions marked ``@hookimpl`` and named like the specs
below. Plugins are found through the ``influx_connector`` entry-point group; the engine's own
codecs are registered the same way (``influx_connector.builtin``), and the InfluxDB data source
itself is such a plugin (``influx_connector.influxdb``).

Implementations may take fewer arguments than a spec lists (pluggy's opt-in arguments), so
adding an argument to a spec later breaks no plugin.

Data: ``influx_connector_datasources`` and ``influx_connector_operation_dirs`` (YAML files).
Requests and answers: codecs, encoders, rules, resolvers, error details and the send hook. They
see the engine's own types (``influx_connector.messages``), never the HTTP library's objects or
the connection itself; what steers the engine (a codec's ability to stream, a write kept in
part) is a declared field of those types.
The command line: ``influx_connector_register_commands`` and ``influx_connector_demo_server``.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pluggy

from .messages import Codec, ErrorFacts, HTTPRequest, HTTPResponse, HTTPTransport, Lookup

PROJECT = "influx_connector"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def influx_connector_datasources() -> list[Any]:
    """Return paths of ``connector.yaml`` files this plugin provides.

    Each file is a data source; its operations are the YAML files in the ``operations/``
    folder beside it. Results of all plugins are combined.
    """


@hookspec
def influx_connector_codecs() -> Mapping[str, Codec | Callable[..., Any]]:
    """Return response decoders by name, as used in an operation's ``response.codec``.

    Each is a ``messages.Codec``: ``decode(response, **options)`` gets the answer as a
    ``messages.HTTPResponse`` (``content`` for the whole body, ``iter_bytes`` for chunks when
    the operation streams; either way read within the engine's bounds) and the operation's
    rendered ``response.options`` (which may quote the body encoder's figures with
    ``{$body: key}``). It returns the result data or raises
    ``influx_connector.errors.DecodeError`` / ``APIError``.

    A codec that can hand out rows one at a time declares ``Codec(decode, stream=...)``:
    ``stream(response, limit=N, **options)`` returns a ``messages.RowStream`` (an iterator of
    rows with a ``truncated`` flag and ``close()``) that closes the response when done;
    ``Connection.stream`` uses it, and decodes other codecs' answers whole. A codec that can
    tell before the request is sent that it cannot decode with some options declares
    ``check``: ``check(**options)`` returns what is wrong by option name, and the engine
    refuses the call with a ``ValidationError`` on the parameters that feed those options.
    A codec that must hold a whole answer, or that unpacks one, keeps within
    ``HTTPResponse.memory_limit``. A plain function registered instead of a ``Codec`` is its
    ``decode``.
    """


@hookspec
def influx_connector_encoders() -> Mapping[str, Callable[..., Any]]:
    """Return request-body encoders by name, as used in ``request.body.encode``.

    An encoder is called as ``encode(value, field=<param name>, **options)`` and returns
    ``(body_bytes, summary)``, where summary is a mapping of figures (``count``, ...) that the
    response options can quote with ``{$body: key}``. Bad input raises
    ``influx_connector.errors.ValidationError`` naming the field; nothing has been sent then.

    For a body sent in batches the encoder may return ``influx_connector.batch.RecordBytes``:
    bytes that also say where each record ends (``ends``), which records are completed per
    batch (``unfinished``, with ``finish()`` called once per batch before its first attempt,
    whose bytes end each of them; every retry and split half of the batch then sends the same
    bytes), what a batch's suffix means for a report (``facts``), and where a record starts in
    the value given (``origin``, for ``resume_from``). InfluxDB's encoder stamps points without
    a time this way.
    """


@hookspec
def influx_connector_rules() -> Mapping[str, Callable[..., Any]]:
    """Return pure value rules by name, as used by ``{$rule: name, value: ..., option: ...}``.

    A rule is called as ``rule(value, **options)`` and must not do I/O: renders stay pure.
    """


@hookspec
def influx_connector_resolvers() -> Mapping[str, Callable[[Any, Lookup], Any]]:
    """Return resolvers by name, as used by ``{$resolve: name, value: ...}``.

    A resolver is called as ``resolve(value, lookup)`` and returns the value to render. It may
    ask the server through ``lookup.get_json(path, query, operation=...)`` (a
    ``messages.Lookup``: the connection's session, credentials, retries and time limits, and
    nothing else of the connection). A dry-run does not call resolvers; it renders the value as
    given. A connection calls a resolver once per name and value.
    """


@hookspec
def influx_connector_error_details(status: int, code: Any, message: Any, body: Any,
                                   operation: str) -> ErrorFacts | Mapping[str, Any] | None:
    """Return what a server's error answer says beyond its status, or None.

    Called for every error answer with its ``status``, the ``code`` and ``message`` read from
    its body (masked), the ``body`` itself (decoded JSON, masked) and the ``operation``. Return
    a ``messages.ErrorFacts`` (or a plain mapping, taken as its ``details``); the facts of all
    plugins are merged into ``APIError.details``. InfluxDB's plugin lists the rejected lines of a
    write here.

    ``ErrorFacts.partial_write`` tells the engine that the server kept part of the body: a
    write sent in batches then goes on with the next batch and reports every partial one at the
    end; any other error stops it. The engine counts a partial batch's refused records as the
    ``rejected_lines`` (``{"line", "reason"}`` each, gathered across batches, each given the
    0-based ``record`` it quotes when it can be matched) plus ``dropped``. The error a failed
    batched write raises then carries, besides these, the write's account (``records_total``,
    ``records_written``, ``records_rejected``, ``records_in_doubt``, ``records_not_written``,
    ``records_not_sent``, ``records_sent``, ``first_unwritten_record``, ``resume_from``,
    ``failed_batch``, ``batches``: see ``influx_connector.batch_report``); a plugin's own
    ``details`` should not use those names.
    """


@hookspec
def influx_connector_operation_dirs(connector_id: str) -> list[Any]:
    """Return extra folders of operation YAML files for the data source ``connector_id``."""


@hookspec(firstresult=True)
def influx_connector_send(request: HTTPRequest, transport: HTTPTransport, operation: str) -> HTTPResponse:
    """Send a request and return the answer. The first answer wins.

    ``request`` is a ``messages.HTTPRequest`` (method, URL, headers, body bytes, (connect, read)
    timeout); ``transport`` is the connection's own ``messages.HTTPTransport``, whose
    ``handle(request)`` sends it and returns a ``messages.HTTPResponse`` whose body is read
    within the engine's bounds. The engine's implementation calls it and is tried last. Wrap it
    to add middleware without forking::

        @hookimpl(wrapper=True)
        def influx_connector_send(request, operation):
            request.headers["X-Trace"] = new_trace_id()   # before
            response = yield                               # the send itself
            record(operation, response.status_code)        # after
            return response

    An implementation that answers by itself (a cache, a test double) returns
    ``HTTPResponse.of(status, headers, body)``. A failure to send raises a
    ``influx_connector.errors.TransportError``. Never log ``request.headers`` as they are: they
    carry the credentials.

    Compatibility: this hook used to get a ``requests.PreparedRequest`` with the ``session`` and
    its ``settings`` and return a ``requests.Response``. A wrapper that reads or sets
    ``request.method``, ``url``, ``headers`` or ``body`` and reads ``response.status_code``,
    ``headers`` or ``content`` works unchanged; one that used ``session`` calls
    ``transport.handle(request)`` instead.
    """


@hookspec
def influx_connector_register_commands(commands: Any) -> None:
    """Add commands to the ``influx-connector`` command line, as datasette's ``register_commands``
    adds them to its own.

    ``commands`` is an ``influx_connector.cli.registry.CommandRegistry``; call its ``add`` once per
    command::

        @hookimpl
        def influx_connector_register_commands(commands):
            commands.add("serve-mock", run_mock, help="serve a mock of the API",
                         arguments=lambda parser: parser.add_argument("--port", type=int, default=0))

    ``run(invocation)`` returns the exit code. The ``influx_connector.cli.invocation.Invocation``
    it gets holds the parsed arguments (``args``), the common options (``option(name)``), the
    data source (``data_source()``), its connection values and connection (``connection_values()``,
    ``connect()``) and the ``--format`` asked for (``output_format``). ``uses`` is ``nothing``,
    ``data source`` or ``connection`` (the command then takes the data source's connection flags);
    ``formats`` lists the ``--format`` values it prints, and a command without any refuses
    ``--format``. Raise ``influx_connector.errors.UsageError`` for a wrong argument (exit 2), or any
    other ``ConnectorError``. A name that is already taken keeps its first command; a plugin whose
    hook raises is logged and skipped.
    """


@hookspec(firstresult=True)
def influx_connector_demo_server(data_source: str, out: Any, values: Any) -> Any:
    """Return a context manager that starts a server for the demo of ``data_source`` (an id), or
    None for a data source this plugin does not serve. The first answer wins.

    ``values`` holds the connection settings the command line was given without a server (a
    mapping, often empty), so the plugin can start the kind of server they ask for.

    The ``demo`` command asks for one when no connection is given. Entering the context manager
    starts the server and gives the connection values that reach it; leaving it stops the server.
    It may write a line to ``out`` (a text stream) saying what it started. The InfluxDB plugin
    starts the sandbox.
    """
