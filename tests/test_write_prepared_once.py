"""A write in batches is prepared once: each batch is compressed once, and the figures the
result reports are the bytes the server received."""
from __future__ import annotations

import gzip
import threading
from typing import Any

import pytest

from influx_connector import api
from influx_connector.sandbox import Sandbox

from .faults import FaultProxy, proxy  # noqa: F401

BATCH = 100


def records(count: int, timed: bool = True) -> list[dict[str, Any]]:
    out = [{"measurement": "prepared", "tags": {"host": f"host-{i % 7}"},
            "fields": {"value": i * 0.5, "note": "a field long enough to make a batch worth compressing"}}
           for i in range(count)]
    if timed:
        for i, record in enumerate(out):
            record["time"] = 1_700_000_000_000_000_000 + i
    return out


@pytest.fixture
def compressions(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """What gzip compressed of the connector's line protocol, in any thread (batches may be
    compressed ahead on worker threads)."""
    seen: list[bytes] = []
    lock = threading.Lock()
    original = gzip.compress

    def counting(data: bytes, *args: Any, **kwargs: Any) -> bytes:
        if bytes(data[:9]) == b"prepared,":
            with lock:
                seen.append(bytes(data))
        return original(data, *args, **kwargs)

    monkeypatch.setattr(gzip, "compress", counting)
    return seen


def received(sandbox: Sandbox) -> list[bytes]:
    return [r.body for r in sandbox.requests if r.path.startswith("/api/v2/write")]


@pytest.mark.parametrize("timed", [True, False], ids=["with times", "stamped per batch"])
def test_n_batches_cost_n_compressions(sandbox: Sandbox, conn, compressions: list[bytes], timed: bool) -> None:
    result = conn.run("write_data", {"data": records(3 * BATCH, timed), "batch_size": BATCH})
    bodies = received(sandbox)
    assert len(bodies) == 3 and all(len(gzip.decompress(b)) > 4096 for b in bodies)
    # Each batch compressed exactly once, and what was compressed is what the server received.
    assert len(compressions) == 3
    assert sorted(compressions) == sorted(gzip.decompress(b) for b in bodies)
    sent = result.meta["sent"]
    assert sent["sent_bytes"] == sum(len(b) for b in bodies) and sent["compressed"] is True
    assert (sent["batches"], sent["records"], sent["count"]) == (3, 3 * BATCH, 3 * BATCH)
    assert result.data["sent_bytes"] == sent["sent_bytes"] and result.data["points"] == 3 * BATCH


def test_a_halved_batch_compresses_each_half_once(sandbox: Sandbox, proxy, compressions: list[bytes]) -> None:
    """The first batch is refused once as too large: it was compressed once whole, then each half once."""
    fp: FaultProxy = proxy(sandbox.url)
    fp.too_large(1000, path="/api/v2/write", times=1)
    with api.connect(fp.settings(sandbox.connection_settings)) as conn:
        result = conn.run("write_data", {"data": records(2 * BATCH), "batch_size": BATCH})
    bodies = received(sandbox)  # the proxy answered the 413 itself: the halves and the second batch arrived
    assert len(bodies) == 3 and result.meta["sent"]["splits"] == 1
    arrived = [gzip.decompress(b) for b in bodies]
    whole = arrived[0] + b"\n" + arrived[1]  # the first batch, before it was halved
    assert sorted(compressions) == sorted([whole, *arrived])
    assert result.meta["sent"]["sent_bytes"] == sum(len(b) for b in bodies)


def test_a_dry_run_shows_the_first_batch_as_it_would_go(conn) -> None:
    request = conn.render("write_data", {"data": records(3 * BATCH), "batch_size": BATCH})
    assert request.headers["Content-Encoding"] == "gzip"
    first = gzip.decompress(request.body)
    assert first.count(b"\n") == BATCH - 1 and first.startswith(b"prepared,host=host-0 ")
    assert request.summary["sent_bytes"] == len(request.body) and request.summary["batches"] == 3
