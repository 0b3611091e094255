"""Database and retention-policy names for the v1 endpoints, mapped onto the sandbox's buckets.

InfluxDB 2.x serves ``/write`` and ``/query`` through DBRP mappings, and makes a "virtual" one for
every bucket whose name has the shape ``db/rp`` (database ``db``, retention policy ``rp``) or is
a plain ``db`` (database ``db``, its default retention policy ``autogen``). The sandbox keeps no
mapping table; it reads the same mapping straight from the bucket names of an organization:

* ``db`` + ``rp``      -> the bucket ``db/rp``; for ``rp`` = ``autogen`` also the bucket ``db``;
* ``db`` + no ``rp``   -> the bucket ``db``, else ``db/autogen``, else the only ``db/...`` bucket.
"""
from __future__ import annotations

from dataclasses import dataclass

from influx_connector.sandbox.store import Bucket, Store

DEFAULT_RP = "autogen"


class DbrpError(Exception):
    """No bucket for a database, or for a retention policy of a database that exists."""

    def __init__(self, kind: str, name: str):
        super().__init__(f"{kind} not found: {name}")
        self.kind = kind  # "database" or "retention policy"
        self.name = name


@dataclass(frozen=True)
class Dbrp:
    database: str
    retention_policy: str


def split_name(bucket_name: str) -> Dbrp:
    """The database and retention policy a bucket name stands for."""
    database, slash, rp = bucket_name.partition("/")
    return Dbrp(database, rp if slash else DEFAULT_RP)


def database_buckets(store: Store, org_id: str, database: str) -> list[Bucket]:
    """Every bucket of the organization that belongs to ``database``, sorted by name."""
    with store.lock:
        found = [b for b in store.buckets.values() if b.org_id == org_id and split_name(b.name).database == database]
    return sorted(found, key=lambda b: b.name)


def database_names(store: Store, org_id: str) -> list[str]:
    """The databases the organization's user buckets make, sorted (what SHOW DATABASES lists)."""
    with store.lock:
        names = {split_name(b.name).database for b in store.buckets.values() if b.org_id == org_id and b.type == "user"}
    return sorted(names)


def find_bucket(store: Store, org_id: str, database: str, rp: str | None) -> Bucket:
    """The bucket a database and retention policy write to and read from; DbrpError if none."""
    buckets = {b.name: b for b in database_buckets(store, org_id, database)}
    if not buckets:
        raise DbrpError("database", database)
    if rp:
        found = buckets.get(f"{database}/{rp}") or (buckets.get(database) if rp == DEFAULT_RP else None)
        if found is None:
            raise DbrpError("retention policy", rp)
        return found
    found = buckets.get(database) or buckets.get(f"{database}/{DEFAULT_RP}")
    if found is None and len(buckets) == 1:
        found = next(iter(buckets.values()))
    if found is None:
        raise DbrpError("retention policy", DEFAULT_RP)
    return found
