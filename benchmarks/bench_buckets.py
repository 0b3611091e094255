"""The cost of one small call, ``list buckets`` on loopback.

The loopback server (common.LoopbackServer, its ``fast_url`` listener: a bare socket loop, so the
server's own cost is a few tens of microseconds, as InfluxDB's is) answers ``GET /api/v2/buckets``
with a fixed JSON document of three buckets. Per call, medians of 5 interleaved rounds of
``--calls`` calls each:

- the connector: ``conn.run("list_buckets")`` (validate, render, send, decode the JSON);
- a bare ``requests.Session`` with ``trust_env=False``: the same GET, the same query string and
  Authorization header, ``response.json()``;
- influxdb-client: ``buckets_api().find_buckets()`` (its generated API client, JSON into models).

    python3 benchmarks/bench_buckets.py [--calls N] [--rounds R] [--profile]
"""
from __future__ import annotations

import argparse
import sys

from common import ROOT, LoopbackServer, interleave, median, print_profile, report

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ORG = "bench"
TOKEN = "bench-token"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="also profile the connector's calls")
    args = parser.parse_args(argv)

    import requests
    from influxdb_client import InfluxDBClient

    from influx_connector import api

    print(f"# list buckets on loopback: {args.calls} calls a round, {args.rounds} rounds interleaved", flush=True)
    with LoopbackServer() as server:
        url = server.fast_url
        host, port = url.rsplit("/", 1)[1].split(":")
        conn = api.connect({"host": host, "port": int(port), "token": TOKEN, "org": ORG})
        session = requests.Session()
        session.trust_env = False
        headers = {"Authorization": "Token " + TOKEN}
        # The request the connector sends, so the bare call asks for exactly the same thing.
        rendered = conn.render("list_buckets")
        client = InfluxDBClient(url=url, token=TOKEN, org=ORG)
        buckets_api = client.buckets_api()
        calls = args.calls
        seen: dict[str, int] = {}

        def ours() -> None:
            for _ in range(calls):
                result = conn.run("list_buckets")
            seen["connector"] = len(result.data["buckets"])

        def bare() -> None:
            for _ in range(calls):
                data = session.get(rendered.url, headers=headers).json()
            seen["requests"] = len(data["buckets"])

        def peer() -> None:
            for _ in range(calls):
                found = buckets_api.find_buckets()
            seen["peer"] = len(found.buckets)

        times = interleave({"connector": ours, "requests": bare, "peer": peer}, rounds=args.rounds)
        per_call = {name: median(values) / calls * 1e6 for name, values in times.items()}
        report("3", "list buckets per call: vs bare requests.Session", per_call["connector"], per_call["requests"],
               "us", "<=1.1x")
        report("3", "list buckets per call: vs influxdb-client", per_call["connector"], per_call["peer"], "us", "<=1x")
        if args.profile:
            print_profile(ours, 20)
        client.close()
        conn.close()
    if len(set(seen.values())) != 1:
        print(f"the three calls saw different answers: {seen}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
