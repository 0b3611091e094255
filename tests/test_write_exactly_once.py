"""Writes land exactly once, their failures say what landed, and a host can resume from them.

Points without a time are stamped per batch with the client's clock before the batch's first
attempt, so a retry (or a half of a batch split on 413) sends the same points and the server
merges them. Everything goes over real sockets: the sandbox, the real InfluxDB 1.6.7
(tests/influxd.py), and the fault proxy (tests/faults.py) between them and the connector.
"""
from __future__ import annotations

import gzip
import time
from typing import Any

import pytest

from influx_connector import api
from influx_connector.errors import APIError, ConnectorError, NetworkError
from influx_connector.influxdb import remaining
from influx_connector.influxdb.line_protocol_encoder import encode_points
from influx_connector.influxdb.line_protocol_splitter import lacks_time
from influx_connector.sandbox import Sandbox

from .faults import Fault, FaultProxy, proxy  # noqa: F401
from .influxd import InfluxD, influxd  # noqa: F401

T0_NS = 1_700_000_000_000_000_000
WRITE = "/api/v2/write"
V1_WRITE = "/write"


# --- what the encoder leaves for each batch to finish ------------------------------------------------


def test_records_without_a_time_are_left_for_their_batch_to_stamp() -> None:
    records = [{"measurement": "m", "fields": {"v": i}, **({"time": i} if i % 2 else {})} for i in range(6)]
    records[4] = {**records[4], "time": None}
    body, count = encode_points(records, precision="s")
    assert count == 6 and list(body.unfinished) == [0, 2, 4]
    assert bytes(body) == b"m v=0i\nm v=1i 1\nm v=2i\nm v=3i 3\nm v=4i\nm v=5i 5"  # no stamp yet: a batch gives it
    before = time.time_ns() // 10**9
    stamp = int(body.finish())
    assert before <= stamp <= time.time_ns() // 10**9  # the client's clock, in the write's precision
    assert body.facts(b" %d" % stamp) == {"time_given": stamp, "precision": "s"}
    timed, _ = encode_points([{"measurement": "m", "fields": {"v": 1}, "time": 5}])
    assert timed.finish is None and list(timed.unfinished) == []  # nothing to do for timed points


@pytest.mark.parametrize("line, lacks", [
    (b"m v=1", True), (b"m,t=a v=1,w=2i", True), (b"m  v=1  ", True), (b'm s="a b"', True), (b'm s="x 12"', True),
    (b'm s="x\\" 5"', True), (b"my\\ m v=1", True), (b'm s="a\nb"', True), (b'm s="a\r\nb",t=1', True),
    (b"m v=1 5", False), (b"m v=1 -5", False), (b'm s="a b" 12', False), (b"my\\ m v=1 3", False),
    (b'm s="a\nb" 3', False), (b"m\tv=1 5", False),
    # What the server refuses as it is keeps its words: no stamp is added to it.
    (b"cpu", False), (b"my\\ m,t=a", False), (b'm s="open', False), (b"m v=1 abc", False), (b"m v=", False),
    (b"m =1", False), (b"m v=1,", False),
])
def test_which_lines_lack_a_time_is_read_as_the_server_reads_them(line: bytes, lacks: bool) -> None:
    assert lacks_time(line) is lacks


def test_text_keeps_crlf_inside_strings_and_drops_it_at_line_ends() -> None:
    text = 'm s="a\r\nb" 1\r\n# note\r\nm,t=x\ry s="c\rd\r\n"\r\n\r\n'
    body, count = encode_points(text)
    assert count == 2
    assert bytes(body) == b'm s="a\r\nb" 1\n# note\nm,t=x\ry s="c\rd\r\n"'
    assert list(body.unfinished) == [1]
    # Where each point starts in the text as given (what a failed write's resume_from names).
    assert [text[body.origin(i):][:9] for i in range(3)] == ['m s="a\r\nb', "# note\r\nm", ""]


# --- the same bytes on every attempt -----------------------------------------------------------------


def sent_bodies(sandbox: Sandbox, path: str) -> list[bytes]:
    out = []
    for req in sandbox.requests:
        if req.path == path:
            gz = req.headers.get("Content-Encoding", "") == "gzip"
            out.append(gzip.decompress(req.body) if gz else req.body)
    return out


def stored(sandbox: Sandbox, measurement: str, field: str = "v") -> list[tuple[Any, int]]:
    bucket = sandbox.bucket
    assert bucket is not None
    return sorted((p.value, p.time) for p in bucket.points() if p.measurement == measurement and p.field == field)


def untimed(count: int, measurement: str = "m") -> list[dict[str, Any]]:
    # Each record is a series of its own: two time-less points of one series in one request
    # are one point to the server (it gives the request one time), here as without the connector.
    return [{"measurement": measurement, "tags": {"id": str(i)}, "fields": {"v": i}} for i in range(count)]


def as_text(records: list[dict[str, Any]]) -> str:
    return "\n".join(f"{r['measurement']},id={r['tags']['id']} v={r['fields']['v']}i"
                     + (f" {r['time']}" if r.get("time") is not None else "") for r in records)


@pytest.mark.parametrize("shape", ["records", "text"])
@pytest.mark.parametrize("op, path", [("write_data", WRITE), ("write_data_v1", V1_WRITE)])
@pytest.mark.parametrize("fault", [Fault.drop(after_forward=True), Fault.reset(after_forward=True), Fault.stall(5)],
                         ids=["lost answer", "reset after storing", "read timeout"])
@pytest.mark.slow
def test_a_lost_answer_does_not_store_points_without_a_time_twice(sandbox: Sandbox, proxy, shape: str, op: str,
                                                                   path: str, fault: Fault) -> None:
    fp: FaultProxy = proxy(sandbox.url)
    fp.inject(fault, path=path)
    records = untimed(100)
    params = {"db": "sandbox-bucket"} if op == "write_data_v1" else {}
    settings = {**fp.settings(sandbox.connection_settings), "retries": 2, "retry_max_delay": 0.01, "timeout": 1}
    with api.connect(settings) as conn:
        result = conn.run(op, {**params, "data": records if shape == "records" else as_text(records)})
    assert result.data["points"] == 100 and result.meta["attempts"] == 2
    first, again = sent_bodies(sandbox, path)
    assert first == again  # the retry sent the very same points, stamp included
    points = stored(sandbox, "m")
    assert sorted(v for v, _ in points) == list(range(100))  # 100 points, not 200
    assert len({t for _, t in points}) == 1  # one request, one time


def test_each_batch_gives_its_points_one_time_in_the_writes_precision(sandbox: Sandbox, conn) -> None:
    records = untimed(10)
    records[3]["time"] = 1_600_000_000  # a point with a time keeps it
    before = time.time()
    conn.run("write_data", {"data": records, "precision": "s", "batch_size": 4})
    after = time.time()
    bodies = sent_bodies(sandbox, WRITE)
    assert len(bodies) == 3
    stamps = [{line.rsplit(b" ", 1)[1] for line in body.split(b"\n")} for body in bodies]
    assert len(stamps[1]) == 1 and len(stamps[2]) == 1  # one time per batch
    assert stamps[0] - {b"1600000000"} and len(stamps[0] - {b"1600000000"}) == 1
    for stamp in set().union(*stamps) - {b"1600000000"}:
        assert int(before) <= int(stamp) <= after  # the client's clock, in seconds
    times = [t for _, t in stored(sandbox, "m")]
    assert all(t % 10**9 == 0 for t in times) and 1_600_000_000 * 10**9 in times


def test_halves_of_a_batch_too_large_keep_its_stamp(sandbox: Sandbox, proxy) -> None:
    fp: FaultProxy = proxy(sandbox.url)
    fp.too_large(600, path=WRITE, times=1)  # the first batch is refused once as too large, then halved
    records = untimed(40)
    with api.connect(fp.settings(sandbox.connection_settings)) as conn:
        result = conn.run("write_data", {"data": records, "batch_size": 40})
    assert result.meta["sent"]["splits"] == 1 and result.data["points"] == 40
    halves = sent_bodies(sandbox, WRITE)  # the proxy answered the 413 itself: only the halves arrived
    assert [len(half.split(b"\n")) for half in halves] == [20, 20]
    assert len({line.rsplit(b" ", 1)[1] for half in halves for line in half.split(b"\n")}) == 1  # one stamp
    assert len({t for _, t in stored(sandbox, "m")}) == 1


def test_points_with_a_time_and_comments_go_as_written(sandbox: Sandbox, conn) -> None:
    text = "# header\nm,id=a v=1i 5\n\nm,id=b v=2i\n  # indented\nm,id=c s=\"a b\" 7"
    conn.run("write_data", {"data": text})
    (body,) = sent_bodies(sandbox, WRITE)
    lines = body.split(b"\n")
    assert lines[:3] == [b"# header", b"m,id=a v=1i 5", b""] and lines[4:] == [b"  # indented", b'm,id=c s="a b" 7']
    assert lines[3].startswith(b"m,id=b v=2i ") and lines[3].rsplit(b" ", 1)[1].isdigit()


# --- what a failure says --------------------------------------------------------------------------------


def test_a_failure_after_an_earlier_partial_batch_says_what_was_rejected_and_written(sandbox: Sandbox, proxy) -> None:
    fp: FaultProxy = proxy(sandbox.url)
    with api.connect(sandbox.connection_settings) as direct:
        direct.run("write_data", {"data": "m v=1.5 1"})  # v is a float from now on
    lines = [f"m v={i}.5 {10 + i}" for i in range(9)]
    lines[1] = 'm v="text" 11'  # the first batch is written in part: the server refuses this point
    fp.inject(None, Fault.status(400), path=WRITE)  # the second batch is refused
    with api.connect(fp.settings(sandbox.connection_settings)) as conn, pytest.raises(APIError) as caught:
        conn.run("write_data", {"data": "\n".join(lines), "batch_size": 3})
    err = caught.value
    details = err.details
    assert {k: details[k] for k in ("records_total", "records_written", "records_rejected", "records_in_doubt",
                                    "records_not_written", "records_not_sent", "first_unwritten_record")} == {
        "records_total": 9, "records_written": 2, "records_rejected": 1, "records_in_doubt": 0,
        "records_not_written": 6, "records_not_sent": 3, "first_unwritten_record": 3}
    assert details["failed_batch"] == {"first": 3, "end": 6, "outcome": "refused"}
    assert [(b["first"], b["end"], b["status"]) for b in details["batches"]] == [(0, 3, 422)]
    assert "records 0-2 were sent: 2 written, 1 rejected (see rejected_lines)" in str(err)
    assert "the batch of records 3-5 was refused; records 6-8 were not sent; resume with data[" in str(err)
    assert "gave up" not in str(err) and err.attempts == 1  # nothing was retried
    assert sorted(t for _, t in stored(sandbox, "m")) == [1, 10, 12]


def test_a_network_failure_mid_write_says_what_landed_and_what_may_have(sandbox: Sandbox, proxy) -> None:
    fp: FaultProxy = proxy(sandbox.url)
    fp.inject(None, *[Fault.reset(after_forward=True)] * 3, path=WRITE)
    records = [{"measurement": "m", "fields": {"v": i}, "time": T0_NS + i} for i in range(30)]
    settings = {**fp.settings(sandbox.connection_settings), "retries": 2, "retry_max_delay": 0.01}
    with api.connect(settings) as conn, pytest.raises(NetworkError) as caught:
        conn.run("write_data", {"data": records, "batch_size": 10})
    err = caught.value
    assert err.attempts == 3 and "(gave up after 3 attempts in " in str(err)
    assert {k: err.details[k] for k in ("records_written", "records_in_doubt", "records_not_sent",
                                        "first_unwritten_record", "resume_from")} == {
        "records_written": 10, "records_in_doubt": 10, "records_not_sent": 10, "first_unwritten_record": 10,
        "resume_from": 10}
    assert "records 10-19 were sent but no answer came: the server may have stored them" in str(err)
    assert len(stored(sandbox, "m")) == 20  # the second batch was in fact stored


# --- resuming from a failure's report ---------------------------------------------------------------------


def mixed(count: int, measurement: str) -> list[dict[str, Any]]:
    """Half the records with a time, half without (each of those a series of its own)."""
    return [{"measurement": measurement, "tags": {"id": str(i)}, "fields": {"v": i},
             **({"time": T0_NS + i} if i % 2 else {})} for i in range(count)]


@pytest.mark.parametrize("shape", ["records", "text"])
@pytest.mark.parametrize("fault, outcome", [(Fault.status(503, retry_after="0"), "refused"),
                                            (Fault.drop(after_forward=True), "in doubt"),
                                            (Fault.stall(5), "in doubt")],
                         ids=["503 until retries run out", "lost answers after storing", "read timeouts"])
@pytest.mark.slow
def test_resuming_from_the_report_writes_the_rest_once(sandbox: Sandbox, proxy, shape: str, fault: Fault,
                                                       outcome: str) -> None:
    records = mixed(50, "m")
    data: Any = records if shape == "records" else as_text(records)
    fp: FaultProxy = proxy(sandbox.url)
    fp.inject(None, None, *[fault] * 3, path=WRITE)  # the third batch fails on all its attempts
    settings = {**fp.settings(sandbox.connection_settings), "retries": 2, "retry_max_delay": 0.01, "timeout": 1}
    with api.connect(settings) as conn:
        with pytest.raises(ConnectorError) as caught:
            conn.run("write_data", {"data": data, "batch_size": 10})
        details = caught.value.details
        assert (details["first_unwritten_record"], details["failed_batch"]["outcome"]) == (20, outcome)
        if shape == "records":
            assert details["resume_from"] == 20
        else:
            assert data[details["resume_from"]:].startswith("m,id=20 v=20i\n")
        rest = remaining(data, caught.value)
        if outcome == "refused":
            assert rest == data[details["resume_from"]:]
        result = conn.run("write_data", {"data": rest, "batch_size": 10})
    assert result.data["points"] == 30
    assert sorted(v for v, _ in stored(sandbox, "m")) == list(range(50))  # each point once


def test_resuming_on_influxdb_writes_each_point_once(influxd: InfluxD, proxy) -> None:
    db = influxd.create_database(f"resume_{time.time_ns()}")
    try:
        fp: FaultProxy = proxy(influxd.url)
        fp.inject(None, *[Fault.reset(after_forward=True)] * 2, path=V1_WRITE)
        records = mixed(3_000, "r")
        settings = {**fp.settings(influxd.connection_settings), "retries": 1, "retry_max_delay": 0.01}
        with api.connect(settings) as conn:
            with pytest.raises(NetworkError) as caught:
                conn.run("write_data_v1", {"db": db, "data": records, "batch_size": 1_000})
            assert caught.value.details["failed_batch"]["outcome"] == "in doubt"
            conn.run("write_data_v1", {"db": db, "data": remaining(records, caught.value), "batch_size": 1_000})
        (totals,) = influxd.rows('SELECT count("v"), sum("v") FROM "r"', db)
        assert (totals["count"], totals["sum"]) == (3_000, 3_000 * 2_999 // 2)
    finally:
        influxd.drop_database(db)


# --- the sandbox's v1 /write answers as InfluxDB 1.6.7 does ---------------------------------------------

V1_BODIES = [
    "m v=1 1\nm v= 2\nbad\nm v=3 3",  # parse errors and good lines
    "bad\nworse",  # nothing parses
    'm v="text" 4\nm v=5 5',  # a field type conflict
    'm v="text" 6\nbad\nm v=7 7',  # both: the conflict hides the parse error
    "m,t v=8 8\nm v=9 9",
]


def test_the_sandboxs_v1_write_matches_a_live_influxdb(influxd: InfluxD, sandbox: Sandbox) -> None:
    import requests

    db = influxd.create_database(f"v1w_{time.time_ns()}")
    try:
        ours_url = sandbox.url + "/write?db=sandbox-bucket"
        headers = {"Authorization": f"Token {sandbox.token}", "Content-Type": "text/plain; charset=utf-8"}
        for body in V1_BODIES:
            real = influxd.write_raw(db, body)
            ours = requests.post(ours_url, data=body.encode(), headers=headers, timeout=10)
            assert (ours.status_code, ours.json()["message"]) == (real.status_code, real.json()["error"]), body
        real_rows = [(r["time"], r["v"]) for r in influxd.rows('SELECT "v" FROM "m"', db)]
        assert stored_as_pairs(sandbox) == real_rows
    finally:
        influxd.drop_database(db)


def stored_as_pairs(sandbox: Sandbox) -> list[tuple[int, Any]]:
    return sorted((t, v) for v, t in stored(sandbox, "m"))
