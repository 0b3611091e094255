"""``/api/v2/query/suggestions``: the Flux functions a query editor may offer."""
from __future__ import annotations

from typing import TYPE_CHECKING

from influx_connector.sandbox import suggestions
from influx_connector.sandbox.server.messages import Problem, Reply, Request, json_reply

if TYPE_CHECKING:
    from influx_connector.sandbox.server.sandbox import Sandbox


def list_suggestions(sandbox: Sandbox, req: Request) -> Reply:
    return json_reply(200, {"funcs": suggestions.all_suggestions()})


def get_suggestion(sandbox: Sandbox, req: Request, name: str) -> Reply:
    found = suggestions.suggestion(name)
    if found is None:
        # The real server answers 500 (not 404) for an unknown function name.
        raise Problem(500, "internal error", f'function "{name}" not found')
    return json_reply(200, found)
