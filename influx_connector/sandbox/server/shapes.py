"""Orgs and buckets as the API shows them in JSON (the contract's Organization and Bucket)."""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from influx_connector.sandbox.store import Bucket, Org


def org_json(org: Org) -> dict[str, Any]:
    base = f"/api/v2/orgs/{org.id}"
    named = quote(org.name, safe="")
    return {
        "id": org.id,
        "name": org.name,
        "description": org.description,
        "status": "active",
        "createdAt": org.created_at,
        "updatedAt": org.created_at,
        "links": {
            "self": base,
            "members": f"{base}/members",
            "owners": f"{base}/owners",
            "labels": f"{base}/labels",
            "secrets": f"{base}/secrets",
            "buckets": f"/api/v2/buckets?org={named}",
            "tasks": f"/api/v2/tasks?org={named}",
            "dashboards": f"/api/v2/dashboards?org={named}",
        },
    }


def bucket_json(bucket: Bucket) -> dict[str, Any]:
    base = f"/api/v2/buckets/{bucket.id}"
    rules: list[dict[str, Any]] = []
    # The contract marks retentionRules required, so it is always sent; "keep forever" is [].
    if bucket.retention_seconds > 0:
        rules.append(
            {
                "type": "expire",
                "everySeconds": bucket.retention_seconds,
                "shardGroupDurationSeconds": bucket.shard_group_seconds,
            }
        )
    return {
        "id": bucket.id,
        "orgID": bucket.org_id,
        "type": bucket.type,
        "name": bucket.name,
        "description": bucket.description,
        "rp": bucket.rp,
        "schemaType": "implicit",
        "createdAt": bucket.created_at,
        "updatedAt": bucket.updated_at,
        "retentionRules": rules,
        "labels": [],
        "links": {
            "self": base,
            "org": f"/api/v2/orgs/{bucket.org_id}",
            "members": f"{base}/members",
            "owners": f"{base}/owners",
            "labels": f"{base}/labels",
            "write": f"/api/v2/write?org={bucket.org_id}&bucket={bucket.id}",
        },
    }
