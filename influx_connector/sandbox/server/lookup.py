"""Finding the org or bucket a request names, with the server's 404 (or 400) when there is none."""
from __future__ import annotations

from collections.abc import Callable

from influx_connector.sandbox.server.messages import Problem, Request, invalid, not_found
from influx_connector.sandbox.server.parsing import check_id
from influx_connector.sandbox.store import Bucket, Org, Store


def org_by_name_or_id(store: Store, name_or_id: str) -> Org:
    org = store.find_org(name_or_id)
    if org is None:
        raise not_found(f'organization name "{name_or_id}" not found')
    return org


def org_by_id(store: Store, org_id: str) -> Org:
    org = store.orgs.get(check_id(org_id))
    if org is None:
        raise not_found("organization not found")
    return org


def request_org(store: Store, req: Request, on_missing: Callable[[str, bool], Problem]) -> Org:
    """The org a write or query names; ``orgID`` wins over ``org`` when both are given."""
    org_id, org_ref = req.param("orgID"), req.param("org")
    if org_id is None and org_ref is None:
        raise invalid("Please provide either orgID or org")
    org = store.orgs.get(check_id(org_id)) if org_id is not None else store.find_org(org_ref or "")
    if org is None:
        raise on_missing(org_id or org_ref or "", org_id is not None)
    return org


def bucket_by_id(store: Store, bucket_id: str) -> Bucket:
    bucket = store.buckets.get(check_id(bucket_id))
    if bucket is None:
        raise not_found("bucket not found")
    return bucket


def bucket_named(store: Store, org_id: str, name: str) -> Bucket | None:
    with store.lock:
        return next((b for b in store.buckets.values() if b.org_id == org_id and b.name == name), None)
