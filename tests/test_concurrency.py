"""One Connection shared by 32 threads, 1,000 calls each, against one sandbox.

Each thread has its own bucket and its own inputs, and every answer is checked against the
input that asked for it, so an answer delivered to the wrong caller (a response read from a
connection another thread is using, a shared buffer, a cached value keyed too loosely) fails
the test. The calls per second are measured and printed, not asserted.

The connection's pool keeps up to 32 connections per host (transport.POOL_SIZE); with 32
threads none may be thrown away ("Connection pool is full"), and no more than 32 are opened.

The sandbox listens with socketserver's default backlog of 5, so a burst of 32 new connections
at once gets some of them reset (test_a_burst_of_new_connections_is_accepted shows it). The
main test therefore fills the pool one connection at a time before the threads start, and
calls with retries off: any failure at all is reported.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from typing import Any

import pytest

from influx_connector import api
from influx_connector.sandbox import Sandbox
from influx_connector.transport import POOL_SIZE

THREADS = 32
CALLS = 1_000  # per thread, the final query included
T0 = 1_700_000_000  # 2023-11-14T22:13:20Z; every point of the test is at T0 + its call number (seconds)
RANGE_START, RANGE_STOP = "2023-11-14T00:00:00Z", "2023-11-16T00:00:00Z"
KINDS = ("retrieve_bucket", "list_buckets", "generate_ast", "write_data")


class PoolEvents(logging.Handler):
    """Counts urllib3's pool events: connections opened, and connections discarded as surplus."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.opened = 0
        self.full = 0
        self.warnings: list[str] = []
        self._lock_counts = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        text = str(record.msg)
        with self._lock_counts:
            if text.startswith("Starting new HTTP"):
                self.opened += 1
            elif "Connection pool is full" in text:
                self.full += 1
            if record.levelno >= logging.WARNING:
                self.warnings.append(record.getMessage())


def fill_pool(conn: Any, count: int) -> None:
    """Open ``count`` pooled connections one after another: each GET /health is held open
    (its body unread) while the next one is made, then all are read and go back to the pool."""
    request = conn.render("health")
    held = [conn.transport.session.get(request.url, headers=dict(request.headers), stream=True, timeout=10)
            for _ in range(count)]
    for response in held:
        assert response.status_code == 200
        response.content  # noqa: B018 - read to the end, so the connection can be reused
        response.close()


def check(ok: bool, what: str, problems: list[str]) -> None:
    if not ok:
        problems.append(what)


def worker(conn: Any, t: int, bucket: dict[str, Any], start: threading.Barrier, problems: list[str],
           done: Counter) -> None:
    """CALLS - 1 mixed calls on this thread's own bucket and inputs, then a query of all it wrote."""
    written: list[int] = []
    start.wait()
    for i in range(CALLS - 1):
        kind = KINDS[(i + t) % len(KINDS)]  # threads are out of step, so every kind runs at once
        where = f"thread {t} call {i} {kind}"
        try:
            if kind == "retrieve_bucket":
                data = conn.run(kind, {"bucket_id": bucket["id"]}).data
                check((data["id"], data["name"]) == (bucket["id"], bucket["name"]), f"{where}: got {data['name']}",
                      problems)
            elif kind == "list_buckets":
                data = conn.run(kind, {"name": bucket["name"]}).data
                check([(b["id"], b["name"]) for b in data["buckets"]] == [(bucket["id"], bucket["name"])],
                      f"{where}: got {[b['name'] for b in data['buckets']]}", problems)
            elif kind == "generate_ast":
                text = f"thread {t} call {i}"
                data = conn.run(kind, {"query": f'x = "{text}"'}).data
                statement = data["ast"]["files"][0]["body"][0]
                check(statement["init"]["value"] == text and statement["location"]["source"] == f'x = "{text}"',
                      f"{where}: got {statement['init'].get('value')!r}", problems)
            else:
                record = {"measurement": "calls", "tags": {"thread": str(t)}, "fields": {"call": i}, "time": T0 + i}
                result = conn.run(kind, {"bucket": bucket["name"], "precision": "s", "data": [record]})
                check(result.status == 204 and result.data["bucket"] == bucket["name"] and result.data["points"] == 1,
                      f"{where}: got {result.data}", problems)
                written.append(i)
        except Exception as exc:  # noqa: BLE001 - every failure is reported with its call
            problems.append(f"{where}: {type(exc).__name__}: {exc}")
        done[kind] += 1
    where = f"thread {t} final query_data"
    try:
        query = (f'from(bucket: "{bucket["name"]}") |> range(start: {RANGE_START}, stop: {RANGE_STOP}) '
                 '|> filter(fn: (r) => r._measurement == "calls")')
        rows = conn.run("query_data", {"query": query}).data
        check(sorted(row["_value"] for row in rows) == written, f"{where}: {len(rows)} rows, {len(written)} written",
              problems)
        check({row["thread"] for row in rows} <= {str(t)}, f"{where}: rows of other threads", problems)
    except Exception as exc:  # noqa: BLE001
        problems.append(f"{where}: {type(exc).__name__}: {exc}")
    done["query_data"] += 1


@pytest.mark.slow
def test_one_connection_shared_by_32_threads(sandbox: Sandbox, caplog: pytest.LogCaptureFixture,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert POOL_SIZE >= THREADS
    caplog.set_level(logging.WARNING)  # any warning of any logger is kept and shown
    pool_log = logging.getLogger("urllib3.connectionpool")
    events = PoolEvents()
    old_level, old_propagate = pool_log.level, pool_log.propagate
    pool_log.addHandler(events)
    pool_log.setLevel(logging.DEBUG)
    pool_log.propagate = False  # its 64,000 debug records go to the counter only (warnings included)
    try:
        with api.connect({**sandbox.connection_settings, "retries": 0, "timeout": 60}) as conn:
            buckets = [conn.run("create_bucket", {"name": f"thread-{t:02d}"}).data for t in range(THREADS)]
            fill_pool(conn, THREADS)
            opened_before = events.opened
            problems: list[str] = []
            counts: list[Counter] = [Counter() for _ in range(THREADS)]
            start = threading.Barrier(THREADS + 1)
            threads = [threading.Thread(target=worker, args=(conn, t, buckets[t], start, problems, counts[t]),
                                        name=f"caller-{t}") for t in range(THREADS)]
            for thread in threads:
                thread.start()
            start.wait()
            began = time.perf_counter()
            for thread in threads:
                thread.join()
            wall = time.perf_counter() - began
    finally:
        pool_log.removeHandler(events)
        pool_log.setLevel(old_level)
        pool_log.propagate = old_propagate

    calls = sum(sum(c.values()) for c in counts)
    by_kind = sum(counts, Counter())
    with capsys.disabled():
        print(f"\nconcurrency: {THREADS} threads x {CALLS} calls = {calls} calls on one Connection in {wall:.1f} s: "
              f"{calls / wall:.0f} calls/s ({', '.join(f'{k} {n}' for k, n in sorted(by_kind.items()))}); "
              f"{events.opened} connections opened ({events.opened - opened_before} while the threads ran), "
              f"{events.full} discarded as surplus")
    assert not problems, f"{len(problems)} calls went wrong, first ones:\n" + "\n".join(problems[:20])
    assert calls == THREADS * CALLS
    assert all(sum(c.values()) == CALLS for c in counts)
    assert events.full == 0, f"{events.full} connections were discarded: Connection pool is full"
    assert events.warnings == [], events.warnings
    assert events.opened <= THREADS, f"{events.opened} connections were opened for {THREADS} threads"
    warnings = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.WARNING]
    assert not warnings, warnings


@pytest.mark.slow
def test_a_burst_of_new_connections_is_accepted(sandbox: Sandbox) -> None:
    """32 threads start at once on a new Connection, so 32 connections are opened together."""
    failures: list[str] = []
    for attempt in range(10):
        with api.connect({**sandbox.connection_settings, "retries": 0}) as conn:
            start = threading.Barrier(THREADS)

            def call(t: int) -> None:
                start.wait()
                for i in range(10):
                    try:
                        conn.run("generate_ast", {"query": f'x = "{t} {i}"'})
                    except Exception as exc:  # noqa: BLE001
                        failures.append(f"attempt {attempt} thread {t} call {i}: {exc}")

            threads = [threading.Thread(target=call, args=(t,)) for t in range(THREADS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        if failures:
            break
    assert not failures, f"{len(failures)} calls failed, first: {failures[0]}"
