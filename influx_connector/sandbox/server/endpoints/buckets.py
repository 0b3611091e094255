"""``/api/v2/buckets``: listing, creating, reading, renaming and deleting buckets."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from influx_connector.sandbox.server import lookup
from influx_connector.sandbox.server.messages import Problem, Reply, Request, invalid, json_reply, unprocessable
from influx_connector.sandbox.server.paging import Paging, page_links
from influx_connector.sandbox.server.parsing import HOUR, check_id, json_object, typed
from influx_connector.sandbox.server.shapes import bucket_json
from influx_connector.sandbox.store import Bucket, now_rfc3339

if TYPE_CHECKING:
    from influx_connector.sandbox.server.sandbox import Sandbox

logger = logging.getLogger(__name__)

DAY = 86_400


def default_shard_group_seconds(retention_seconds: int) -> int:
    """The shard-group duration InfluxDB picks for a retention period."""
    if retention_seconds == 0:
        return 7 * DAY
    if retention_seconds <= 2 * DAY:
        return HOUR
    if retention_seconds <= 180 * DAY:
        return DAY
    return 7 * DAY


def list_buckets(sandbox: Sandbox, req: Request) -> Reply:
    paging = Paging.from_request(req)
    filters = {k: v for k in ("org", "orgID", "name", "id") if (v := req.param(k)) is not None}
    buckets = _filtered_buckets(sandbox, filters)
    if paging.after:
        buckets = [b for b in buckets if (b.id < paging.after if paging.descending else b.id > paging.after)]
    if paging.descending:
        buckets.reverse()
    page = buckets[paging.offset : paging.offset + paging.limit]
    more = len(buckets) > paging.offset + paging.limit
    links = page_links("/api/v2/buckets", paging, filters, [b.id for b in page], more)
    return json_reply(200, {"links": links, "buckets": [bucket_json(b) for b in page]})


def _filtered_buckets(sandbox: Sandbox, filters: dict[str, str]) -> list[Bucket]:
    """Buckets matching the list filters, sorted by ID so offsets and ``after`` page stably."""
    org_ids: set[str] | None = None
    if "orgID" in filters:
        org_ids = {lookup.org_by_id(sandbox.store, filters["orgID"]).id}
    if "org" in filters:
        org = lookup.org_by_name_or_id(sandbox.store, filters["org"])
        org_ids = {org.id} if org_ids is None else org_ids & {org.id}
    if "id" in filters:
        check_id(filters["id"])
    with sandbox.store.lock:
        buckets = sorted(sandbox.store.buckets.values(), key=lambda b: b.id)
    return [
        b
        for b in buckets
        if (org_ids is None or b.org_id in org_ids)
        and filters.get("name", b.name) == b.name
        and filters.get("id", b.id) == b.id
    ]


def create_bucket(sandbox: Sandbox, req: Request) -> Reply:
    data = json_object(req.body)
    org_id = typed(data, "orgID", str)
    name = typed(data, "name", str)
    if not org_id:
        raise invalid("organization id must be provided")
    check_id(org_id)
    _check_bucket_name(name)
    description = typed(data, "description", str, "")
    rp = typed(data, "rp", str, "0") or "0"
    schema_type = typed(data, "schemaType", str, "implicit")
    if schema_type not in ("implicit", "explicit"):
        raise invalid(f'failed to decode request body: unknown schema type "{schema_type}"')
    if schema_type == "explicit":
        raise invalid("explicit bucket schemas are not supported by InfluxDB OSS")
    retention, shard = _retention(typed(data, "retentionRules", list, []))
    with sandbox.store.lock:
        org = lookup.org_by_id(sandbox.store, org_id)
        if lookup.bucket_named(sandbox.store, org.id, name) is not None:
            raise Problem(422, "conflict", f"bucket with name {name} already exists")
        bucket = sandbox.store.add_bucket(
            org.id, name, description=description, rp=rp, retention_seconds=retention, shard_group_seconds=shard
        )
    logger.debug("created bucket %s (%s) in org %s", bucket.name, bucket.id, org.id)
    return json_reply(201, bucket_json(bucket))


def get_bucket(sandbox: Sandbox, req: Request, bucket_id: str) -> Reply:
    return json_reply(200, bucket_json(lookup.bucket_by_id(sandbox.store, bucket_id)))


def patch_bucket(sandbox: Sandbox, req: Request, bucket_id: str) -> Reply:
    check_id(bucket_id)
    data = json_object(req.body)
    name = typed(data, "name", str)
    description = typed(data, "description", str)
    rules = typed(data, "retentionRules", list)
    if name is not None:
        _check_bucket_name(name)
    retention = _retention(rules) if rules is not None else None
    with sandbox.store.lock:
        bucket = lookup.bucket_by_id(sandbox.store, bucket_id)
        if name is not None and name != bucket.name:
            if bucket.type == "system":
                raise invalid("system buckets cannot be renamed")
            if lookup.bucket_named(sandbox.store, bucket.org_id, name) is not None:
                raise Problem(422, "conflict", "bucket name is not unique")
            bucket.name = name
        if description is not None:
            bucket.description = description
        if retention is not None:
            bucket.retention_seconds, bucket.shard_group_seconds = retention
        bucket.updated_at = now_rfc3339()
    return json_reply(200, bucket_json(bucket))


def delete_bucket(sandbox: Sandbox, req: Request, bucket_id: str) -> Reply:
    with sandbox.store.lock:
        bucket = lookup.bucket_by_id(sandbox.store, bucket_id)
        if bucket.type == "system":
            raise invalid("system buckets cannot be deleted")
        sandbox.store.delete_bucket(bucket.id)
    logger.debug("deleted bucket %s (%s)", bucket.name, bucket.id)
    return Reply(204)


def _check_bucket_name(name: str | None) -> None:
    if not name:
        raise invalid("bucket name is required")
    if name.startswith("_"):
        raise invalid(f"bucket name {name} is invalid. Buckets may not start with underscore")
    if '"' in name or "'" in name:
        raise invalid(f"bucket name {name} is invalid. Bucket names may not include quotation marks")


def _retention(rules: list[Any]) -> tuple[int, int]:
    """(retention seconds, shard-group seconds) from ``retentionRules``; no rule keeps forever."""
    if not rules:
        return 0, default_shard_group_seconds(0)
    rule = rules[0]  # OSS buckets have a single expire rule
    if not isinstance(rule, dict):
        raise invalid("failed to decode request body: retentionRules must hold objects")
    if typed(rule, "type", str, "expire") != "expire":
        raise invalid('retention rule type must be "expire"')
    every = typed(rule, "everySeconds", int)
    if every is None:
        raise invalid("failed to decode request body: everySeconds is required")
    if every < 0:
        raise unprocessable("expiration seconds must be greater than or equal to 0")
    if 0 < every < HOUR:
        raise unprocessable("expiration seconds must be greater than or equal to one hour")
    shard = typed(rule, "shardGroupDurationSeconds", int, 0)
    if shard < 0:
        raise unprocessable("shard-group duration seconds must be greater than or equal to 0")
    return every, shard or default_shard_group_seconds(every)
