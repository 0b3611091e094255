"""Decoding InfluxDB 3's JSON Lines query answers (``query_sql``, ``query_influxql_v3``), against
the floor: ``json.loads`` on each line of the same bytes.

The answer is 1M rows of what ``SELECT * FROM cpu`` gives: time (text), two tags, three float
fields and an integer, about 140 bytes a row. Measured, interleaved, medians of 5 rounds:

- speed: the connector's decoder (``query_answers.JsonLines``, fed 256 KiB chunks as the HTTP
  client hands them over) vs ``[json.loads(line) for line in data.splitlines()]`` on the bytes
  already in memory (no chunking, no checks: the least any decoder must do). Target >= 0.8x.
- through the connection: ``Connection.stream("query_sql")`` reading the same bytes from a
  loopback server (common.LoopbackServer, its own process, chunked), against the same floor.
- memory: peak RSS growth of streaming all rows (each dropped after use) from chunks made as
  they are read, each in a fresh interpreter: the decoder's own memory, which must stay flat
  (under 20 MiB whatever the row count), and the same for the list the floor builds, for scale.

    python3 benchmarks/bench_jsonl.py [--rows N] [--rounds R]
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Callable, Iterator
from typing import Any

from common import ROOT, LoopbackServer, interleave, median, report, rss_growth

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CHUNK = 256 * 1024


def make_rows(rows: int, seed: int = 3) -> bytes:
    rnd = random.Random(seed)
    lines = []
    for index in range(rows):
        seconds = 1_700_000_000 + index
        stamp = f"2023-11-14T{(seconds // 3600) % 24:02d}:{(seconds // 60) % 60:02d}:{seconds % 60:02d}"
        lines.append(json.dumps({
            "time": stamp, "host": f"host-{index % 50:03d}", "region": ("eu", "us", "ap")[index % 3],
            "usage_user": rnd.uniform(0, 100), "usage_system": rnd.uniform(0, 100), "load1": rnd.uniform(0, 8),
            "procs": rnd.randrange(1000)}, separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode()


def chunks_of(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), CHUNK):
        yield bytes(view[start:start + CHUNK])


def decode_connector(data: bytes) -> int:
    from influx_connector.influxdb.query_answers import JsonLines

    count = 0
    for _ in JsonLines(chunks_of(data)):
        count += 1
    return count


def decode_floor(data: bytes) -> int:
    loads = json.loads
    return len([loads(line) for line in data.splitlines() if line])


# --- memory, in a fresh interpreter ----------------------------------------------------------------


def _generated_chunks(rows: int) -> Iterator[bytes]:
    """The answer made a chunk at a time, so that only the decoder's memory is measured."""
    block = make_rows(2_000)
    per_block = 2_000
    for _ in range(rows // per_block):
        yield from chunks_of(block)


def mem_stream(rows: int) -> Callable[[], Any]:
    from influx_connector.influxdb.query_answers import JsonLines

    def run() -> int:
        return sum(1 for _ in JsonLines(_generated_chunks(rows)))

    return run


def mem_floor_list(rows: int) -> Callable[[], Any]:
    lines = make_rows(2_000).splitlines()

    def run() -> int:
        loads = json.loads
        kept = [loads(line) for _ in range(rows // 2_000) for line in lines]
        return len(kept)

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-memory", action="store_true", help="skip the memory measurements")
    args = parser.parse_args(argv)

    data = make_rows(args.rows)
    label = f"{args.rows // 1000}k rows"
    print(f"# JSON Lines decoding: {label}, {len(data) / 2**20:.0f} MiB, {args.rounds} rounds interleaved", flush=True)
    counts: dict[str, int] = {}

    def ours() -> None:
        counts["connector"] = decode_connector(data)

    def floor() -> None:
        counts["floor"] = decode_floor(data)

    times = interleave({"connector": ours, "floor": floor}, rounds=args.rounds)
    status = 0
    if not counts["connector"] == counts["floor"] == args.rows:
        print(f"row counts differ: {counts}", file=sys.stderr)
        status = 1
    rate = {name: args.rows / median(values) for name, values in times.items()}
    report("v3", f"JSON Lines rows, {label}: vs json.loads per line", rate["connector"], rate["floor"], "rows/s",
           ">=0.8x")
    with LoopbackServer(query_payloads={"SELECT * FROM cpu": data}) as server:
        from influx_connector import api

        host, port = server.url.rsplit("/", 1)[1].split(":")
        conn = api.connect({"host": host, "port": int(port), "token": "bench-token", "api": "v3", "database": "bench",
                            "timeout": 600})

        def streamed() -> None:
            with conn.stream("query_sql", {"q": "SELECT * FROM cpu"}) as rows:
                counts["stream"] = sum(1 for _ in rows)

        times = interleave({"stream": streamed, "floor": floor}, rounds=args.rounds)
        conn.close()
    if counts["stream"] != args.rows:
        print(f"row counts differ: {counts}", file=sys.stderr)
        status = 1
    rate = {name: args.rows / median(values) for name, values in times.items()}
    report("v3", f"JSON Lines rows, {label}: Connection.stream over HTTP vs the floor", rate["stream"], rate["floor"],
           "rows/s", ">=0.8x")
    if not args.no_memory:
        stream = rss_growth("bench_jsonl:mem_stream", args.rows)
        kept = rss_growth("bench_jsonl:mem_floor_list", args.rows)
        report("v3", f"JSON Lines rows, {label}: streamed, memory growth", stream, None, "MiB", "<20")
        report("v3", "  (the same rows kept in a list: memory growth)", kept, None, "MiB", "")
        small = rss_growth("bench_jsonl:mem_stream", args.rows // 10)
        report("v3", "  (streamed, a tenth of the rows: memory growth)", small, None, "MiB", "")
    return status


if __name__ == "__main__":
    sys.exit(main())
