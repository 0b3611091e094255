"""The reference host (``influx-connector serve``): what the service adds to the connector.

- per call: ``list_buckets`` through the service (``influx-connector serve`` in a child process;
  ``http.client`` with keep-alive posting to ``/api/run``, waitress, the app, the saved
  data source's open connection) vs ``conn.run`` directly, both against the loopback server's
  fast listener (common.LoopbackServer). Medians of interleaved rounds; the figure is the added
  time per call (target: at most 1 ms);
- streaming: the 1M-row annotated-CSV answer of bench_query as NDJSON through ``/api/stream``
  to a client that reads every byte, vs ``conn.stream`` iterating the same rows (target: at
  least 0.7x its rate), and the peak RSS growth of the service's process while it streams
  (``influx-connector serve`` in a child process; target: at most 50 MiB);
- concurrency: 32 clients, 200 calls each, through one service to the sandbox, each asking for
  its own bucket by name: no errors, and every answer is the one its client asked for.

    python3 benchmarks/bench_host.py [--calls N] [--rounds R] [--rows N] [--clients N] [--per-client N]
"""
from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time
from typing import Any

from common import ROOT, LoopbackServer, interleave, median, print_rounds, report

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ORG = "bench"
TOKEN = "bench-token"


def _values(url: str) -> dict[str, Any]:
    host, port = url.rsplit("/", 1)[1].split(":")
    return {"host": host, "port": int(port), "token": TOKEN, "org": ORG, "timeout": 600}


def _service(values: dict[str, Any]) -> tuple[Any, Any, str]:
    """A running service with one saved data source; returns it, a keyed session, the source id."""
    import requests

    from influx_connector.host import build_app, start

    running = start(build_app(":memory:"))
    session = requests.Session()
    session.trust_env = False
    session.headers["Authorization"] = f"Bearer {running.key}"
    saved = session.post(running.url + "/api/data-sources", json={"name": "bench", "type": "influxdb",
                                                                   "values": values}, timeout=60)
    saved.raise_for_status()
    return running, session, saved.json()["id"]


def per_call(calls: int, rounds: int) -> None:
    """The service in its own process, as a host program calls it."""
    from influx_connector import api

    with LoopbackServer() as server, ServiceProcess() as service:
        values = _values(server.fast_url)
        conn = api.connect(values)
        body = json.dumps({"data_source": service.save(values), "operation": "list_buckets"})
        # The standard library's client, keep-alive: the figure is what the service adds, not
        # what a client library costs (requests alone takes about half a millisecond a call here).
        client = http.client.HTTPConnection("127.0.0.1", int(service.url.rsplit(":", 1)[1]), timeout=60)
        headers = {"Content-Type": "application/json", "Authorization": service.session.headers["Authorization"]}
        seen: dict[str, int] = {}

        def direct() -> None:
            for _ in range(calls):
                result = conn.run("list_buckets")
            seen["direct"] = len(result.data["buckets"])

        def through() -> None:
            for _ in range(calls):
                client.request("POST", "/api/run", body, headers)
                answer = client.getresponse()
                data = answer.read()
                if answer.status != 200:
                    raise AssertionError(f"HTTP {answer.status}: {data[:200]!r}")
            seen["service"] = len(json.loads(data)["data"]["buckets"])

        times = interleave({"direct": direct, "service": through}, rounds=rounds)
        client.close()
        conn.close()
    ours = median(times["service"]) / calls * 1000
    peer = median(times["direct"]) / calls * 1000
    report("11", "list buckets per call: service vs conn.run (added)", ours, peer, "ms", "diff<=1ms")
    if len(set(seen.values())) != 1:
        raise AssertionError(f"the service and the connector disagree: {seen}")


def stream_rate(rows: int, rounds: int) -> None:
    """The service runs in its own process, as it does for a real client: the client's reading
    does not take the service's interpreter lock, and the service's memory is its own."""
    from bench_query import QUERY, connect, make_answer

    payload = make_answer(rows)
    with LoopbackServer(query_payloads={QUERY: payload}) as server, ServiceProcess() as service:
        conn = connect(server.url)
        sid = service.save(_values(server.url))
        body = {"data_source": sid, "operation": "query_data", "params": {"query": QUERY}}
        counted: dict[str, int] = {}

        def direct() -> None:
            with conn.stream("query_data", {"query": QUERY}) as stream:
                counted["direct"] = sum(1 for _ in stream)

        def through() -> None:
            counted["service"] = _read_ndjson(service.session, service.url, body)

        _read_ndjson(service.session, service.url, {**body, "limit": 10})  # warm: modules, connection
        service.reset_peak()
        baseline = service.rss_kib("VmRSS")
        times = interleave({"direct": direct, "service": through}, rounds=rounds)
        growth = (service.rss_kib("VmHWM") - baseline) / 1024
        conn.close()
    if counted["direct"] != rows or counted["service"] != rows:
        raise AssertionError(f"rows seen: {counted}, expected {rows}")
    ours = rows / median(times["service"]) / 1e6
    peer = rows / median(times["direct"]) / 1e6
    report("11", f"{rows:,} rows as NDJSON: service vs conn.stream", ours, peer, "Mrows/s", ">=0.7x")
    print_rounds(times["direct"], times["service"])
    report("11", f"{rows:,} rows as NDJSON: service RSS growth", growth, None, "MiB", "<=50")


class ServiceProcess:
    """``influx-connector serve`` in a child process (in memory), with a keyed session."""

    def __enter__(self) -> ServiceProcess:
        import subprocess

        import requests

        self.process = subprocess.Popen([sys.executable, "-m", "influx_connector", "serve", "--port", "0",
                                         "--db", ":memory:"], stdout=subprocess.PIPE, text=True, cwd=str(ROOT))
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if "?key=" in line:
                self.url, key = line.strip().split("/?key=")
                break
        else:
            raise RuntimeError("influx-connector serve did not start")
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.headers["Authorization"] = f"Bearer {key}"
        return self

    def save(self, values: dict[str, Any]) -> str:
        saved = self.session.post(self.url + "/api/data-sources", json={"name": "bench", "type": "influxdb",
                                                                          "values": values}, timeout=60)
        saved.raise_for_status()
        return str(saved.json()["id"])

    def rss_kib(self, field: str) -> int:
        with open(f"/proc/{self.process.pid}/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise KeyError(field)

    def reset_peak(self) -> None:
        with open(f"/proc/{self.process.pid}/clear_refs", "w") as handle:
            handle.write("5")

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(30)
        if self.process.stdout is not None:
            self.process.stdout.close()


def _read_ndjson(session: Any, url: str, body: dict[str, Any]) -> int:
    """Read the whole NDJSON answer with the standard library's client (the lightest reader, so
    the figure is the service's); returns the row count its last record gives, checked against
    the lines read."""
    host, port = url.rsplit("/", 1)[1].split(":")
    client = http.client.HTTPConnection(host, int(port), timeout=600)
    lines = 0
    tail = b""
    try:
        client.request("POST", "/api/stream", json.dumps(body),
                       {"Content-Type": "application/json", "Authorization": session.headers["Authorization"]})
        answer = client.getresponse()
        if answer.status != 200:
            raise AssertionError(f"HTTP {answer.status}: {answer.read(300)!r}")
        while chunk := answer.read1(1 << 20):
            lines += chunk.count(b"\n")
            tail = (tail + chunk[-4096:])[-4096:]  # not a copy of every chunk
    finally:
        client.close()
    last = json.loads(tail.rstrip(b"\n").rsplit(b"\n", 1)[-1])
    if "end" not in last or last["end"]["rows"] != lines - 1:
        raise AssertionError(f"the stream ended with {last!r} after {lines} lines")
    return int(last["end"]["rows"])


def concurrency(clients: int, per_client: int) -> None:
    import requests

    from influx_connector.sandbox import Sandbox

    with Sandbox(token=TOKEN, org=ORG, bucket="shared") as sandbox:
        running, session, sid = _service(sandbox.connection_settings)
        for index in range(clients):
            made = session.post(running.url + "/api/run", json={"data_source": sid, "operation": "create_bucket",
                                                                 "params": {"name": f"client-{index}"}}, timeout=60)
            made.raise_for_status()
        errors: list[str] = []
        mixed: list[str] = []
        barrier = threading.Barrier(clients)

        def client(index: int) -> None:
            own = requests.Session()
            own.trust_env = False
            own.headers["Authorization"] = session.headers["Authorization"]
            name = f"client-{index}"
            body = {"data_source": sid, "operation": "list_buckets", "params": {"name": name}}
            barrier.wait()
            for _ in range(per_client):
                try:
                    answer = own.post(running.url + "/api/run", json=body, timeout=120)
                except requests.RequestException as exc:
                    errors.append(f"{name}: {exc}")
                    continue
                if answer.status_code != 200:
                    errors.append(f"{name}: HTTP {answer.status_code} {answer.text[:200]}")
                    continue
                names = [b["name"] for b in answer.json()["data"]["buckets"]]
                if names != [name]:
                    mixed.append(f"{name} got {names}")

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        running.stop()
    total = clients * per_client
    report("11", f"{clients} clients x {per_client} calls: errors", len(errors), None, "calls", "<=0")
    report("11", f"{clients} clients x {per_client} calls: mixed-up answers", len(mixed), None, "calls", "<=0")
    report("11", f"{clients} clients x {per_client} calls: throughput", total / elapsed, None, "calls/s")
    if errors or mixed:
        raise AssertionError("; ".join((errors + mixed)[:5]))


def main(argv: list[str] | None = None) -> int:
    import logging

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "all threads busy" is the point here
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--stream-rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--per-client", type=int, default=200)
    args = parser.parse_args(argv)
    print(f"# reference host: {args.calls} calls x {args.rounds} rounds; {args.rows:,} rows streamed; "
          f"{args.clients} clients x {args.per_client} calls", flush=True)
    try:
        per_call(args.calls, args.rounds)
        stream_rate(args.rows, args.stream_rounds)
        concurrency(args.clients, args.per_client)
    except AssertionError as exc:
        print(f"# bench_host: wrong result: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
