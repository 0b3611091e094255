"""Connector behaviour only the sandbox can show: the bytes on the wire, the server's state, its test switches.

The operations themselves are covered end to end, on the sandbox and on a real server, by
``test_end_to_end.py``. The ``sandbox`` fixture checks every request and response here against
the official contract.
"""
from __future__ import annotations

import gzip

import pytest

from influx_connector.errors import APIError
from influx_connector.sandbox import Sandbox

from .conftest import BUCKET, ORG

RECORDS = [
    {"measurement": "air", "tags": {"room": "living room"}, "fields": {"temp": 21.5, "count": 3, "ok": True,
                                                                        "note": 'say "hi"'}, "time": 1_700_000_000},
    {"measurement": "air", "tags": {"room": "kitchen"}, "fields": {"temp": 19.0, "count": 4, "ok": False,
                                                                    "note": "a,b=c"}, "time": 1_700_000_060},
]
QUERY = 'from(bucket: "sandbox-bucket") |> range(start: 0) |> filter(fn: (r) => r._measurement == "air")'


def stored(sandbox: Sandbox, bucket: str = BUCKET) -> list:
    return sandbox.store.find_bucket(bucket).points()


def test_write_records_then_query_them_back(conn, sandbox) -> None:
    result = conn.run("write_data", {"data": RECORDS, "precision": "s"})
    assert result.status == 204
    assert result.data["points"] == 2 and result.data["bucket"] == BUCKET
    points = stored(sandbox)
    assert len(points) == 8  # two points of four fields each
    note = next(p for p in points if p.field == "note" and dict(p.tags)["room"] == "living room")
    assert note.value == 'say "hi"' and note.time == 1_700_000_000 * 10**9
    count = next(p for p in points if p.field == "count" and dict(p.tags)["room"] == "kitchen")
    assert (count.type, count.value) == ("long", 4)

    rows = conn.run("query_data", {"query": QUERY}).data
    # The answer came gzip-compressed, as a real server sends it to a client that accepts gzip.
    assert sandbox.responses[-1].headers.get("Content-Encoding") == "gzip"
    temps = {r["room"]: r["_value"] for r in rows if r["_field"] == "temp"}
    assert temps == {"living room": 21.5, "kitchen": 19.0}
    ok = {r["room"]: r["_value"] for r in rows if r["_field"] == "ok"}
    assert ok == {"living room": True, "kitchen": False}
    assert all(r["result"] == "_result" for r in rows)
    assert {r["_time"] for r in rows} == {"2023-11-14T22:13:20Z", "2023-11-14T22:14:20Z"}


def test_query_with_now_and_params(conn) -> None:
    conn.run("write_data", {"data": "cpu v=1 1000000000\ncpu v=5 3000000000\n"})
    query = 'from(bucket: params.b) |> range(start: -1s) |> filter(fn: (r) => r._measurement == "cpu")'
    rows = conn.run("query_data", {"query": query, "params": {"b": BUCKET}, "now": "1970-01-01T00:00:03.5Z"}).data
    assert [r["_value"] for r in rows] == [5.0]


def test_query_midstream_error_raises_with_message(conn, sandbox) -> None:
    conn.run("write_data", {"data": "cpu v=1 1"})
    sandbox.midstream_error = "panic: runtime error in the middle"
    with pytest.raises(APIError) as caught:
        conn.run("query_data", {"query": 'from(bucket: "sandbox-bucket") |> range(start: 0)'})
    assert caught.value.status == 200
    assert "panic: runtime error in the middle" in str(caught.value)


def test_query_unsupported_flux_is_an_api_error(conn) -> None:
    with pytest.raises(APIError) as caught:
        conn.run("query_data", {"query": 'from(bucket: "sandbox-bucket") |> range(start: 0) |> pivot()'})
    assert caught.value.status == 400 and "pivot" in caught.value.message


def test_write_line_protocol_text_and_gzip_above_threshold(conn, sandbox) -> None:
    lines = "\n".join(f"m,host=h{i % 7} v={i}i {i}" for i in range(2000))
    result = conn.run("write_data", {"data": lines, "org": ORG, "bucket": BUCKET})
    assert result.data["compressed"] is True and result.data["points"] == 2000
    assert result.data["sent_bytes"] < result.data["bytes"]
    last = sandbox.requests[-1]
    assert last.headers.get("Content-Encoding") == "gzip"
    assert gzip.decompress(last.body).decode() == lines
    assert len(stored(sandbox)) == 2000


def test_write_by_org_id_sends_org_and_org_id(conn, sandbox) -> None:
    conn.run("write_data", {"data": "cpu v=1", "org": sandbox.org.id})
    query = dict(sandbox.requests[-1].query)
    assert query["orgID"] == sandbox.org.id and query["org"] == sandbox.org.id


def test_create_and_update_with_raw_json_body(conn, sandbox) -> None:
    body = f'{{"orgID": "{sandbox.org.id}", "name": "raw", "retentionRules": []}}'
    created = conn.run("create_bucket", {"body": body}).data
    assert created["name"] == "raw"
    updated = conn.run("update_bucket", {"bucket_id": created["id"], "body": {"description": "from an object"}}).data
    assert updated["description"] == "from an object"
    with pytest.raises(APIError) as caught:
        conn.run("create_bucket", {"body": body})
    assert (caught.value.status, caught.value.code) == (422, "conflict")


def test_create_bucket_with_unknown_org_name(conn, sandbox) -> None:
    before = len(sandbox.requests)
    with pytest.raises(APIError) as caught:
        conn.run("create_bucket", {"name": "x", "org": "no-such-org"})
    assert caught.value.status == 404 and "no-such-org" in str(caught.value)
    assert all(r.path != "/api/v2/buckets" or r.method != "POST" for r in sandbox.requests[before:])


def test_list_buckets_filters_and_all_pages(conn, sandbox) -> None:
    for i in range(45):
        sandbox.store.add_bucket(sandbox.org.id, f"b{i:02d}")
    page = conn.run("list_buckets", {"limit": 10})
    assert len(page.data["buckets"]) == 10 and page.data["links"].get("next")
    everything = conn.run("list_buckets", {"limit": 10, "all_pages": True})
    names = [b["name"] for b in everything.data["buckets"]]
    user_names = {n for n in names if not n.startswith("_")}
    assert user_names == {f"b{i:02d}" for i in range(45)} | {BUCKET}
    assert len(names) == len(set(names)) == len(sandbox.store.buckets)
    assert everything.meta["pages"] == -(-len(names) // 10)
    one = conn.run("list_buckets", {"name": "b07"}).data["buckets"]
    assert [b["name"] for b in one] == ["b07"]
    by_id = conn.run("list_buckets", {"id": one[0]["id"]}).data["buckets"]
    assert [b["name"] for b in by_id] == ["b07"]
    after = conn.run("list_buckets", {"after": one[0]["id"], "limit": 100}).data["buckets"]
    assert all(b["id"] > one[0]["id"] for b in after)


def test_list_buckets_by_org_id_uses_org_id(conn, sandbox) -> None:
    conn.run("list_buckets", {"org": sandbox.org.id})
    assert dict(sandbox.requests[-1].query).get("orgID") == sandbox.org.id


def test_rejected_lines_are_listed_and_nothing_is_written(conn, sandbox) -> None:
    with pytest.raises(APIError) as caught:
        conn.run("write_data", {"data": "cpu v=1 1\ncpu value=\nmem,host=a used=\n"})
    rejected = caught.value.details["rejected_lines"]
    assert [r["line"] for r in rejected] == ["cpu value=", "mem,host=a used="]
    assert [r["record"] for r in rejected] == [1, 2]  # data's points, counted from 0
    assert all(r["reason"] for r in rejected)
    assert stored(sandbox) == []


def test_a_rejected_line_is_quoted_as_given_though_the_batch_stamped_it(conn, sandbox) -> None:
    # "m v=1x" lacks a time, so its batch gave it the client's clock, which the server quotes back.
    with pytest.raises(APIError) as caught:
        conn.run("write_data", {"data": "m v=1\nm v=1x"})
    (rejected,) = caught.value.details["rejected_lines"]
    assert rejected == {"line": "m v=1x", "reason": "invalid number", "record": 1}
    assert stored(sandbox) == []


def test_partial_write_reports_the_dropped_points(conn, sandbox) -> None:
    conn.run("write_data", {"data": "m v=1 1"})
    with pytest.raises(APIError) as caught:
        conn.run("write_data", {"data": 'm v="text" 2\nm v=3 3\nm v=4i 4'})
    err = caught.value
    assert (err.status, err.code) == (422, "unprocessable entity")
    assert {k: err.details[k] for k in ("dropped", "partial_write", "records_total", "records_written",
                                        "records_rejected", "records_not_sent")} == {
        "dropped": 2, "partial_write": True, "records_total": 3, "records_written": 1, "records_rejected": 2,
        "records_not_sent": 0}
    assert sorted(p.time for p in stored(sandbox)) == [1, 3]


def test_an_error_mid_write_says_which_records_landed(conn, sandbox) -> None:
    lines = [f"m v={i} {i}" for i in range(6)]
    lines[3] = "m v= 3"  # the second batch of two holds a line the server rejects whole
    with pytest.raises(APIError) as caught:
        conn.run("write_data", {"data": "\n".join(lines), "batch_size": 2})
    error = caught.value
    assert {k: error.details[k] for k in ("records_total", "records_written", "records_in_doubt",
                                          "records_not_written", "records_not_sent", "first_unwritten_record",
                                          "resume_from")} == {
        "records_total": 6, "records_written": 2, "records_in_doubt": 0, "records_not_written": 4,
        "records_not_sent": 2, "first_unwritten_record": 2, "resume_from": len("\n".join(lines[:2])) + 1}
    assert error.details["failed_batch"] == {"first": 2, "end": 4, "outcome": "refused"}
    assert error.details["rejected_lines"] == [{"line": "m v= 3", "reason": "missing field value", "record": 3}]
    assert ("records 0-1 were written; the batch of records 2-3 was refused; records 4-5 were not sent; "
            "resume with data[16:]") in str(error)
    assert "\n".join(lines)[16:].startswith("m v=2 2")
    assert sorted(p.time for p in stored(sandbox)) == [0, 1]  # later batches were not sent


def test_partial_writes_in_several_batches_are_reported_together(conn, sandbox) -> None:
    conn.run("write_data", {"data": "m v=1 1"})  # v is a float from now on
    lines = [f"m v={i}.5 {10 + i}" for i in range(6)]
    lines[1] = 'm v="text" 11'
    lines[4] = "m v=4i 14"
    with pytest.raises(APIError) as caught:
        conn.run("write_data", {"data": "\n".join(lines), "batch_size": 2})
    error = caught.value
    assert (error.status, error.details["partial_write"]) == (422, True)
    assert [(b["first"], b["end"]) for b in error.details["batches"]] == [(0, 2), (4, 6)]
    assert error.details["records_sent"] == 6
    assert (error.details["records_written"], error.details["records_rejected"]) == (4, 2)
    assert str(error).startswith("write_data: HTTP 422")
    assert "2 batches were written only in part: 2 records rejected, 4 of 6 written" in str(error)
    assert sorted(p.time for p in stored(sandbox)) == [1, 10, 12, 13, 15]


def _ten_points(conn) -> str:
    conn.run("write_data", {"data": "\n".join(f"m v={i} {i}" for i in range(10))})
    return 'from(bucket: "sandbox-bucket") |> range(start: 0) |> filter(fn: (r) => r._measurement == "m")'


def test_a_row_limit_marks_the_result_truncated_never_a_silent_cut(conn) -> None:
    query = _ten_points(conn)
    cut = conn.run("query_data", {"query": query, "limit": 4})
    assert [r["_value"] for r in cut.data] == [0.0, 1.0, 2.0, 3.0]
    assert cut.data.truncated is True and cut.meta["truncated"] is True
    whole = conn.run("query_data", {"query": query, "limit": 10})
    assert len(whole.data) == 10 and whole.data.truncated is False and "truncated" not in whole.meta


def test_stream_hands_out_rows_one_at_a_time_and_says_when_it_stopped_early(conn, sandbox) -> None:
    query = _ten_points(conn)
    with conn.stream("query_data", {"query": query}, limit=3) as rows:
        assert next(rows)["_value"] == 0.0
        assert [r["_value"] for r in rows] == [1.0, 2.0]
    assert rows.truncated is True
    everything = conn.stream("query_data", {"query": query})
    assert [r["_value"] for r in everything] == [float(i) for i in range(10)] and everything.truncated is False
    # The limit parameter of the operation applies too, and a codec that cannot stream is iterated whole.
    assert len(list(conn.stream("query_data", {"query": query, "limit": 2}))) == 2
    (page,) = list(conn.stream("list_buckets"))
    assert "buckets" in page


def test_stream_reports_errors_and_bad_limits_like_run(conn) -> None:
    from influx_connector.errors import ValidationError

    with pytest.raises(APIError) as caught:
        list(conn.stream("query_data", {"query": 'from(bucket: "nope") |> range(start: 0)'}))
    assert caught.value.status == 404
    with pytest.raises(ValidationError) as bad:
        conn.stream("query_data", {"query": "x"}, limit=-1)
    assert list(bad.value.by_field()) == ["limit"]
