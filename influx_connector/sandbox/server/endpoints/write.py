"""``/api/v2/write``, and storing a write body's points: what the v2 and v1 writes share."""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from influx_connector.sandbox import line_protocol_parser
from influx_connector.sandbox.server import lookup
from influx_connector.sandbox.server.messages import Reply, Request, invalid, not_found, too_large, unprocessable
from influx_connector.sandbox.server.parsing import gunzip
from influx_connector.sandbox.store import Bucket

if TYPE_CHECKING:
    from influx_connector.sandbox.server.sandbox import Sandbox

logger = logging.getLogger(__name__)


def write(sandbox: Sandbox, req: Request) -> Reply:
    precision = req.param("precision") or "ns"
    if precision not in line_protocol_parser.PRECISION_NS:
        raise invalid("invalid precision; valid precision units are ns, us, ms, and s")
    bucket_ref = req.param("bucket")
    if bucket_ref is None:
        raise not_found("bucket not found")
    org = lookup.request_org(sandbox.store, req, on_missing=lambda ref, by_id: not_found(
        "organization not found" if by_id else f'organization name "{ref}" not found'))
    bucket = sandbox.store.find_bucket(bucket_ref, org.id)
    if bucket is None:
        raise not_found(f'bucket "{bucket_ref}" not found')
    return write_points(sandbox, req, bucket, precision=precision)


def _write_body(sandbox: Sandbox, req: Request) -> str:
    limit = sandbox.max_body_bytes
    # Only gzip is decoded, as on the server; any other Content-Encoding is read as plain text.
    if req.header("Content-Encoding").strip().lower() == "gzip":
        data = gunzip(req.body, limit)
    else:
        data = req.body
    if len(data) > limit:
        raise too_large()
    return data.decode("utf-8", errors="replace")


def _store_points(sandbox: Sandbox, bucket: Bucket, points: list[line_protocol_parser.ParsedPoint],
                  now_ns: int) -> tuple[int, str]:
    """Write what the bucket accepts; return how many points were dropped and the last reason.

    Like the storage engine, a point is dropped whole when one of its fields has a type other
    than the one already stored (or written earlier in this batch), or when it is older than
    the bucket's retention period. Everything else is written.
    """
    dropped, reason = 0, ""
    accepted = []
    with sandbox.store.lock:
        known = bucket.field_types()
        oldest = now_ns - bucket.retention_seconds * 1_000_000_000 if bucket.retention_seconds else None
        for point in points:
            problem = _retention_problem(point, oldest) or _type_conflict(point, known)
            if problem:
                dropped, reason = dropped + 1, problem
                continue
            for key, (ftype, _value) in point.fields.items():
                known.setdefault((point.measurement, key), ftype)
            accepted.extend(point.field_points())
        sandbox.store.write(bucket, accepted)
    logger.debug("wrote %d field values to bucket %s, dropped %d points", len(accepted), bucket.name, dropped)
    return dropped, reason


def write_points(sandbox: Sandbox, req: Request, bucket: Bucket, v1: bool = False, **units: Any) -> Reply:
    """Parse the body's line protocol and store it: the part both writes share.

    ``/api/v2/write`` is all or nothing: a line it cannot parse fails the whole body. The v1
    ``/write`` does as InfluxDB 1.6.7 does: it stores the points it could parse and answers
    400 "partial write: <the parse errors> dropped=0"; when the storage also refused points,
    its answer names only that ("partial write: <why> dropped=<how many>").
    """
    text = _write_body(sandbox, req)
    now_ns = time.time_ns()
    points, errors = line_protocol_parser.parse_points(text, default_time_ns=now_ns, **units)
    if errors and not (v1 and points):
        raise invalid("\n".join(errors))
    if not points:
        raise invalid("writing requires points")
    dropped, reason = _store_points(sandbox, bucket, points, now_ns)
    if v1 and (dropped or errors):
        raise invalid(f"partial write: {reason if dropped else chr(10).join(errors)} dropped={dropped}")
    if dropped:
        raise unprocessable(f"failure writing points to database: partial write: {reason} dropped={dropped}")
    return Reply(204)


def _retention_problem(point: line_protocol_parser.ParsedPoint, oldest_ns: int | None) -> str | None:
    if oldest_ns is not None and point.time < oldest_ns:
        return "points beyond retention policy"
    return None


# The server's names for field types in partial-write messages.
_LP_TYPE_NAMES = {"double": "float", "long": "integer", "unsignedLong": "unsigned", "boolean": "boolean",
                  "string": "string"}


def _type_conflict(point: line_protocol_parser.ParsedPoint, known: dict[tuple[str, str], str]) -> str | None:
    for key, (ftype, _value) in point.fields.items():
        existing = known.get((point.measurement, key))
        if existing is not None and existing != ftype:
            return (
                f'field type conflict: input field "{key}" on measurement "{point.measurement}" '
                f"is type {_LP_TYPE_NAMES[ftype]}, already exists as type {_LP_TYPE_NAMES.get(existing, existing)}"
            )
    return None
