"""``/api/v2/orgs``: listing organizations and reading one."""
from __future__ import annotations

from typing import TYPE_CHECKING

from influx_connector.sandbox.server import lookup
from influx_connector.sandbox.server.messages import Reply, Request, json_reply, not_found
from influx_connector.sandbox.server.paging import Paging
from influx_connector.sandbox.server.parsing import check_id
from influx_connector.sandbox.server.shapes import org_json

if TYPE_CHECKING:
    from influx_connector.sandbox.server.sandbox import Sandbox


def list_orgs(sandbox: Sandbox, req: Request) -> Reply:
    paging = Paging.from_request(req)
    with sandbox.store.lock:
        orgs = sorted(sandbox.store.orgs.values(), key=lambda o: o.id, reverse=paging.descending)
    if (org_id := req.param("orgID")) is not None:
        check_id(org_id)
        orgs = [o for o in orgs if o.id == org_id]
        if not orgs:
            raise not_found("organization not found")
    if (name := req.param("org")) is not None:
        # The contract says a name; an ID is accepted too, like everywhere else ``org`` appears.
        orgs = [o for o in orgs if name in (o.name, o.id)]
        if not orgs:
            raise not_found(f'organization name "{name}" not found')
    page = orgs[paging.offset : paging.offset + paging.limit]
    return json_reply(200, {"links": {"self": "/api/v2/orgs"}, "orgs": [org_json(o) for o in page]})


def get_org(sandbox: Sandbox, req: Request, org_id: str) -> Reply:
    return json_reply(200, org_json(lookup.org_by_id(sandbox.store, org_id)))
