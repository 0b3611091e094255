"""Writing 1M points end to end, in batches of 5000, gzip-compressed.

The loopback server (common.LoopbackServer) is the sink: it accepts ``POST /api/v2/write``,
gunzips each body, counts its lines and answers 204. Both writers get the same dict records
(``{"measurement", "tags", "fields", "time"}``, integer nanosecond times), and after every run
the sink must have counted exactly one line per record. The same is measured again with the
records' ``time`` left out: the connector then stamps each batch's points with the client's
clock before sending it (so a retry cannot store them twice); influxdb-client sends them
without a time, for the server to stamp.

- the connector: ``conn.run("write_data", {"data": records, "batch_size": 5000}, progress=...)``,
  which returns once the last batch is answered (its progress callback counts the batches);
- influxdb-client: ``write_api(write_options=WriteOptions(batch_size=5000, flush_interval=100))``
  on a client with ``enable_gzip=True``, ``write(record=records)``; its batches go out on a
  background thread, so its time runs until the sink has counted every line (polled every 5 ms),
  then ``close()`` (outside the timing).

    python3 benchmarks/bench_write.py [--records N] [--rounds R] [--profile]
"""
from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from typing import Any

from common import ROOT, LoopbackServer, median, print_profile, print_rounds, report, timed

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ORG = "bench"
BUCKET = "bench"
TOKEN = "bench-token"
BATCH = 5000


def make_records(count: int, seed: int = 5) -> list[dict[str, Any]]:
    """CPU and memory metrics of 50 hosts in 4 regions, 2-3 fields, integer nanosecond times."""
    rnd = random.Random(seed)
    hosts = [f"host-{i:03d}" for i in range(50)]
    regions = ["eu-west-1", "us-east-1", "us-west-2", "ap-south-1"]
    start = 1_700_000_000_000_000_000
    records = []
    for index in range(count):
        host = hosts[index % 50]
        if index & 1:
            fields: dict[str, Any] = {"usage_user": round(rnd.random() * 100, 3), "usage_system": rnd.random() * 20,
                                      "cores": 8}
            measurement = "cpu"
        else:
            fields = {"used_percent": rnd.random() * 100, "free": rnd.randrange(1 << 30)}
            measurement = "mem"
        records.append({"measurement": measurement, "tags": {"host": host, "region": regions[index % 4]},
                        "fields": fields, "time": start + index * 1_000_000})
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="also profile the connector's write")
    args = parser.parse_args(argv)
    print(f"# write {args.records // 1000}k points, batches of {BATCH}, gzip, {args.rounds} rounds interleaved",
          flush=True)
    status = 0
    for label in ("", " without a time"):
        # One set of records alive at a time: the second measure must not pay for the first's memory.
        records = make_records(args.records)
        if label:
            for record in records:
                del record["time"]
        status = measure(records, label, args) or status
        del records
        gc.collect()
    return status


def measure(records: list[dict[str, Any]], label: str, args: argparse.Namespace) -> int:
    from influxdb_client import InfluxDBClient, WriteOptions

    from influx_connector import api

    total = len(records)
    status = 0
    with LoopbackServer() as server:
        host, port = server.url.rsplit("/", 1)[1].split(":")
        conn = api.connect({"host": host, "port": int(port), "token": TOKEN, "org": ORG, "bucket": BUCKET,
                            "timeout": 120})
        client = InfluxDBClient(url=server.url, token=TOKEN, org=ORG, enable_gzip=True, timeout=120_000)
        arrived: dict[str, int] = {}
        batches: list[Any] = []

        def ours() -> None:
            server.reset()
            batches.clear()
            conn.run("write_data", {"data": records, "batch_size": BATCH}, progress=batches.append)
            arrived["connector"] = server.stats()["lines"]

        def peer() -> None:
            server.reset()
            write_api = client.write_api(write_options=WriteOptions(batch_size=BATCH, flush_interval=100))
            write_api.write(bucket=BUCKET, org=ORG, record=records)
            deadline = time.monotonic() + 600
            while server.stats()["lines"] < total and time.monotonic() < deadline:
                time.sleep(0.005)
            arrived["peer"] = server.stats()["lines"]
            peer.pending.append(write_api)  # type: ignore[attr-defined]

        peer.pending = []  # type: ignore[attr-defined]

        def close_peer_apis() -> None:
            while peer.pending:  # type: ignore[attr-defined]
                peer.pending.pop().close()  # type: ignore[attr-defined]

        cases = {"connector": ours, "peer": peer}
        times: dict[str, list[float]] = {"connector": [], "peer": []}
        for index in range(args.rounds + 1):  # round 0 warms up
            for name in (["connector", "peer"] if index % 2 else ["peer", "connector"]):  # alternate
                elapsed = timed(cases[name])
                close_peer_apis()
                if index:
                    times[name].append(elapsed)
                if arrived.get(name) != total:
                    print(f"{name}: the sink counted {arrived.get(name)} lines, not {total}", file=sys.stderr)
                    status = 1
        rate = {name: total / median(values) for name, values in times.items()}
        report("4", f"write {total // 1000}k points{label}, batches of {BATCH}, gzip", rate["connector"],
               rate["peer"], "points/s", ">=4x")
        print_rounds(times["peer"], times["connector"])
        expected_batches = -(-total // BATCH)
        progress_ok = len(batches) == expected_batches and batches[-1]["records"] == total
        report("4", f"  progress callbacks ({'one per batch' if progress_ok else 'WRONG'})", len(batches), None,
               "calls", "")
        if not progress_ok:
            status = 1
        if args.profile:
            print_profile(ours, 20)
        client.close()
        conn.close()
    return status


if __name__ == "__main__":
    sys.exit(main())
