"""Records -> line protocol, 1M points, against influxdb-client's dict path.

The connector's figure is ``encode_data(records, precision="ns")``, the call its
``line_protocol`` encoder (``encode_line_protocol``) makes. Two informative lines follow: the
body with its point ends (what a batched write needs) from ``encode_points``, and from the
plugin's ``encode_line_protocol`` as it is. The peer's is influxdb-client 1.50's
``WriteApi.write(bucket, org, record=records)`` for a list of dicts, synchronous, with only the
HTTP post replaced by a no-op: ``write`` turns each dict into a ``Point`` (``Point.from_dict``),
serialises it (``to_line_protocol``), encodes it to UTF-8 and joins the lines with ``\\n``, the
body it would post. Both make the whole body from the same records, interleaved for 5 rounds
(medians). The two bodies are then read back with the sandbox's line-protocol parser (the
package's model of the server's) on a sample of lines, which must give the same points (the
peer writes fields sorted and whole floats without ``.0``: the text differs, the points do not).
The benchmarks import the package only, never the test suite: ``.[bench]`` has no pytest.

    python3 benchmarks/bench_encode.py [--records N] [--rounds R] [--profile]

``--profile`` also prints where the connector's time goes (cProfile, one run).
"""
from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable
from typing import Any

from common import ROOT, interleave, median, print_profile, report

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from influx_connector.influxdb import encode_line_protocol  # noqa: E402
from influx_connector.influxdb.line_protocol_encoder import encode_data, encode_points  # noqa: E402

PEER = "influxdb-client==1.50.0"
START_NS = 1_700_000_000_000_000_000


def make_records(count: int, seed: int = 5) -> list[dict[str, Any]]:
    """Metrics as an agent would send them: four measurements, 1-3 tags, 2-4 fields of mixed
    types (floats, some rounded, ints, bools, short strings, a few with quotes or backslashes),
    integer nanosecond times. Tag values come from small pools, as hosts and regions do."""
    rnd = random.Random(seed)
    hosts = [f"host-{i:03d}.example.net" for i in range(200)]
    regions = ["eu-west-1", "us-east-1", "us-west-2", "ap-south-1"]
    devices = ["sda1", "sdb1", "nvme0n1p1", "nvme1n1p2"]
    paths = ["/", "/var", "/home", "/data/db"]
    messages = ["started", "user logged in", "disk almost full", 'said "hello"', "C:\\temp is full", "retrying",
                "connection reset by peer", "ok"]
    kinds = ["boot", "login", "error", "warning"]
    records: list[dict[str, Any]] = []
    append = records.append
    for index in range(count):
        host = hosts[rnd.randrange(200)]
        time = START_NS + index * 10_000_000
        kind = index & 3
        if kind == 0:
            append({"measurement": "cpu", "tags": {"host": host, "region": regions[rnd.randrange(4)]},
                    "fields": {"usage_user": round(rnd.random() * 100, 2), "usage_system": rnd.random() * 20,
                               "cores": rnd.choice((2, 4, 8, 16))}, "time": time})
        elif kind == 1:
            append({"measurement": "mem", "tags": {"host": host},
                    "fields": {"used": rnd.randrange(2**34), "free_percent": rnd.random(),
                               "swapping": rnd.random() < 0.1},
                    "time": time})
        elif kind == 2:
            append({"measurement": "disk", "tags": {"host": host, "device": devices[rnd.randrange(4)],
                                                    "path": paths[rnd.randrange(4)]},
                    "fields": {"used_bytes": rnd.randrange(2**40), "inodes_free": rnd.randrange(10**7),
                               "used_percent": round(rnd.random() * 100, 1)}, "time": time})
        else:
            append({"measurement": "events", "tags": {"host": host, "kind": kinds[rnd.randrange(4)]},
                    "fields": {"message": messages[rnd.randrange(len(messages))], "code": rnd.randrange(600),
                               "latency_ms": rnd.random() * 250, "retried": rnd.random() < 0.05}, "time": time})
    return records


def peer_writer() -> Callable[[list[dict[str, Any]]], bytes]:
    """influxdb-client's synchronous ``write`` for dicts, its HTTP post replaced by a no-op that
    keeps the body it was given."""
    from influxdb_client import InfluxDBClient
    from influxdb_client.client.write_api import SYNCHRONOUS

    client = InfluxDBClient(url="http://127.0.0.1:9", token="bench", org="bench")
    write_api = client.write_api(write_options=SYNCHRONOUS)
    bodies: list[bytes] = []

    def post(_async_req: bool, bucket: str, org: str, body: bytes, precision: Any, **kwargs: Any) -> None:
        bodies.append(body)

    write_api._post_write = post

    def write(records: list[dict[str, Any]]) -> bytes:
        bodies.clear()
        write_api.write("bench", "bench", record=records)  # precision: ns, the default
        (body,) = bodies
        return body

    return write


def parse_line(line: str) -> tuple[Any, ...]:
    """A point as the server reads it, with the sandbox's parser (the package's model of
    InfluxDB's): measurement, sorted tags, typed fields and time."""
    from influx_connector.sandbox.line_protocol_parser import parse_point

    point = parse_point(line, multiplier=1, default_time_ns=0)
    return point.measurement, point.tags, point.fields, point.time


def same_points(ours: bytes, peers: bytes, sample: int) -> tuple[bool, str]:
    """Read both bodies with the sandbox's parser of line protocol, on ``sample`` lines spread
    over the body (the generated strings hold no newline, so a line is a point)."""

    our_lines = ours.decode("utf-8").split("\n")
    peer_lines = peers.decode("utf-8").split("\n")
    if len(our_lines) != len(peer_lines):
        return False, f"{len(our_lines):,} lines against the peer's {len(peer_lines):,}"
    step = max(1, len(our_lines) // sample)
    checked = 0
    for index in range(0, len(our_lines), step):
        mine, theirs = parse_line(our_lines[index]), parse_line(peer_lines[index])
        if mine != theirs:
            return False, f"line {index}: {our_lines[index]!r} reads as {mine!r}, the peer's as {theirs!r}"
        checked += 1
    return True, f"{checked:,} of {len(our_lines):,} lines read back as the same points"


def profile(records: list[dict[str, Any]]) -> None:
    print_profile(lambda: encode_data(records, precision="ns"), 12)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sample", type=int, default=20_000, help="lines read back by the parser model")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    try:
        peer = peer_writer()
    except ImportError:
        print(f"bench_encode: the peer is not installed: python3 -m pip install {PEER}")
        return 1
    count = args.records
    print(f"target 2: {count:,} records -> line protocol (generating...)", flush=True)
    records = make_records(count)

    ours_body, ours_count = encode_data(records, precision="ns")
    peer_body = peer(records)
    equal, how = same_points(ours_body, peer_body, args.sample)
    print(f"  same points: {'yes' if equal else 'NO'} ({how}); bodies {len(ours_body):,} and {len(peer_body):,} bytes")
    if not equal or ours_count != count:
        return 1
    del ours_body, peer_body

    times = interleave({
        "encode_data": lambda: encode_data(records, precision="ns"),
        "encode_points": lambda: encode_points(records, precision="ns"),
        "encode_line_protocol": lambda: encode_line_protocol(records, precision="ns"),
        "influxdb-client": lambda: peer(records),
    }, rounds=args.rounds)
    rate = {name: count / median(values) for name, values in times.items()}
    theirs = rate["influxdb-client"]
    size = f"{count // 1_000_000}M" if count % 1_000_000 == 0 else f"{count:,}"
    report("2", f"records -> line protocol, {size} points (encode_data)", rate["encode_data"], theirs, "points/s",
           ">=4x")
    # Informative: the body with where each point ends, which a batched write needs.
    report("2", "  + point ends: encode_points", rate["encode_points"], theirs, "points/s", "")
    report("2", "  + point ends: encode_line_protocol (the plugin's)", rate["encode_line_protocol"], theirs,
           "points/s", "")
    if args.profile:
        profile(records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
