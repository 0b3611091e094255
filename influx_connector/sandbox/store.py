"""The sandbox's in-memory state: organizations, buckets and the points written to them.

Points are kept one row per field, the way Flux sees them: a (measurement, tag set, field)
series holds timestamped values of one type. Everything is guarded by one lock; the sandbox is
a development server, so simplicity wins over throughput.
"""
from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

#: Flux column types a field value can have.
FIELD_TYPES = ("double", "long", "unsignedLong", "boolean", "string")


def new_id() -> str:
    """A fresh 16-hex-digit ID, the form InfluxDB uses for every resource."""
    return secrets.token_hex(8)


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class FieldPoint:
    """One field value at one time: the row Flux's ``from()`` yields."""

    measurement: str
    tags: tuple[tuple[str, str], ...]  # sorted by key
    field: str
    type: str  # one of FIELD_TYPES
    value: Any  # float | int | bool | str
    time: int  # nanoseconds since the Unix epoch


@dataclass
class Org:
    id: str
    name: str
    description: str = ""
    created_at: str = field(default_factory=now_rfc3339)


@dataclass
class Bucket:
    id: str
    org_id: str
    name: str
    description: str = ""
    retention_seconds: int = 0
    shard_group_seconds: int = 0
    type: str = "user"
    rp: str = "0"
    created_at: str = field(default_factory=now_rfc3339)
    updated_at: str = field(default_factory=now_rfc3339)
    # (measurement, tags, field) -> {time: FieldPoint}; a later write at the same time wins.
    series: dict[tuple[str, tuple[tuple[str, str], ...], str], dict[int, FieldPoint]] = field(
        default_factory=dict
    )

    def points(self) -> list[FieldPoint]:
        """Every stored field point, ordered by series then time."""
        out: list[FieldPoint] = []
        for key in sorted(self.series):
            rows = self.series[key]
            out.extend(rows[t] for t in sorted(rows))
        return out

    def field_type(self, measurement: str, field_name: str) -> str | None:
        """The type already stored for a field of a measurement, if any (for conflict checks)."""
        for (m, _tags, f), rows in self.series.items():
            if m == measurement and f == field_name and rows:
                return next(iter(rows.values())).type
        return None

    def field_types(self) -> dict[tuple[str, str], str]:
        """The stored type of every (measurement, field), in one pass over the series.

        A write batch checks many fields; asking ``field_type`` for each would rescan every
        series per field.
        """
        types: dict[tuple[str, str], str] = {}
        for (m, _tags, f), rows in self.series.items():
            if rows and (m, f) not in types:
                types[(m, f)] = next(iter(rows.values())).type
        return types


class Store:
    """Orgs and buckets by ID, with the lookups the HTTP handlers need."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.orgs: dict[str, Org] = {}
        self.buckets: dict[str, Bucket] = {}

    def add_org(self, name: str, org_id: str | None = None) -> Org:
        with self.lock:
            org = Org(id=org_id or new_id(), name=name)
            self.orgs[org.id] = org
            return org

    def find_org(self, name_or_id: str) -> Org | None:
        with self.lock:
            if name_or_id in self.orgs:
                return self.orgs[name_or_id]
            return next((o for o in self.orgs.values() if o.name == name_or_id), None)

    def add_bucket(self, org_id: str, name: str, **kwargs: Any) -> Bucket:
        with self.lock:
            bucket = Bucket(id=kwargs.pop("bucket_id", None) or new_id(), org_id=org_id, name=name, **kwargs)
            self.buckets[bucket.id] = bucket
            return bucket

    def find_bucket(self, name_or_id: str, org_id: str | None = None) -> Bucket | None:
        """A bucket by ID, or by name within an org (any org when ``org_id`` is None)."""
        with self.lock:
            bucket = self.buckets.get(name_or_id)
            if bucket is not None and (org_id is None or bucket.org_id == org_id):
                return bucket
            for b in self.buckets.values():
                if b.name == name_or_id and (org_id is None or b.org_id == org_id):
                    return b
            return None

    def delete_bucket(self, bucket_id: str) -> Bucket | None:
        """Remove a bucket and its points; returns it, or None when there was no such bucket."""
        with self.lock:
            return self.buckets.pop(bucket_id, None)

    def write(self, bucket: Bucket, points: list[FieldPoint]) -> None:
        with self.lock:
            for p in points:
                bucket.series.setdefault((p.measurement, p.tags, p.field), {})[p.time] = p
