"""``POST /api/v2/delete``: removing points by time range and predicate (``sandbox.delete``)."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from influx_connector.sandbox import delete as deletion
from influx_connector.sandbox.server import lookup
from influx_connector.sandbox.server.messages import Reply, Request, invalid, not_found
from influx_connector.sandbox.server.parsing import check_id, parse_rfc3339_ns
from influx_connector.sandbox.store import Bucket, Org

if TYPE_CHECKING:
    from influx_connector.sandbox.server.sandbox import Sandbox

logger = logging.getLogger(__name__)


def delete_data(sandbox: Sandbox, req: Request) -> Reply:
    """``POST /api/v2/delete``: the body is checked first, then the org, then the bucket."""
    try:
        request = deletion.decode_request(req.body, parse_rfc3339_ns)
    except deletion.DeleteError as exc:
        raise invalid(str(exc)) from None
    org = _delete_org(sandbox, req)
    bucket = _delete_bucket(sandbox, req, org)
    with sandbox.store.lock:
        removed = deletion.delete_points(bucket, request)
    logger.debug("deleted %d field values from bucket %s", removed, bucket.name)
    return Reply(204)


def _delete_org(sandbox: Sandbox, req: Request) -> Org:
    """The org of a delete: ``org`` (name or ID) and ``orgID``; when both are given both must
    name it (the contract: "If you pass both orgID and org, they must both be valid")."""
    org_id, org_ref = req.param("orgID"), req.param("org")
    if org_id is None and org_ref is None:
        raise invalid("Please provide either orgID or org")
    by_id = lookup.org_by_id(sandbox.store, org_id) if org_id is not None else None
    by_ref = lookup.org_by_name_or_id(sandbox.store, org_ref) if org_ref is not None else None
    if by_id is not None and by_ref is not None and by_id.id != by_ref.id:
        raise not_found("organization not found")
    org = by_id or by_ref
    assert org is not None  # one of the two was given, and each either resolves or raised
    return org


def _delete_bucket(sandbox: Sandbox, req: Request, org: Org) -> Bucket:
    bucket_id, bucket_ref = req.param("bucketID"), req.param("bucket")
    if bucket_id is not None:  # bucketID takes precedence over bucket
        bucket = sandbox.store.buckets.get(check_id(bucket_id))
        if bucket is None or bucket.org_id != org.id:
            raise not_found("bucket not found")
        return bucket
    if bucket_ref is None:
        raise invalid("Please provide either bucketID or bucket")
    bucket = sandbox.store.find_bucket(bucket_ref, org.id)
    if bucket is None:
        raise not_found(f'bucket "{bucket_ref}" not found')
    return bucket
