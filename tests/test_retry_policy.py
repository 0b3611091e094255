"""The pieces of retrying and batching that need no server: Retry-After, backoff, budgets, record ends."""
import gzip
import random
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from influx_connector.batch import BatchPlan, RecordBytes, split_ends
from influx_connector.influxdb.line_protocol_splitter import point_ends
from influx_connector.retry import Attempts, RetryPolicy, retry_after_seconds

NOW = 1_800_000_000.0


@pytest.mark.parametrize("header, seconds", [
    ("3", 3.0), (" 0 ", 0.0), ("1.5", 1.5), ("-4", 0.0), (None, None), ("", None), ("soon", None), ("nan", None),
    (format_datetime(datetime.fromtimestamp(NOW + 42, UTC), usegmt=True), 42.0),
    (format_datetime(datetime.fromtimestamp(NOW - 600, UTC), usegmt=True), 0.0),
])
def test_retry_after_reads_seconds_or_an_http_date(header, seconds):
    assert retry_after_seconds(header, now=lambda: NOW) == seconds


def test_backoff_grows_exponentially_with_full_jitter_and_a_cap():
    policy = RetryPolicy(retries=10, max_delay=2.0, rng=random.Random(7))
    for attempt, step in [(1, 0.25), (2, 0.5), (3, 1.0), (4, 2.0), (8, 2.0)]:
        waits = [policy.backoff(attempt) for _ in range(400)]
        assert min(waits) >= 0 and max(waits) <= step
        assert max(waits) > step * 0.9 and min(waits) < step * 0.1  # spread over the whole range: jitter


def test_attempts_stop_at_the_retry_count_and_say_so():
    tries = Attempts(RetryPolicy(retries=2, rng=random.Random(1)))
    waits = []
    for _ in range(5):
        tries.count += 1
        wait = tries.next_wait("HTTP 503", retry_after=0.0)
        if wait is None:
            break
        waits.append(wait)
    assert waits == [0.0, 0.0] and tries.count == 3
    assert tries.stopped == "2 retries used"
    assert [r["attempt"] for r in tries.retried] == [1, 2]


def test_a_retry_after_is_capped_and_one_past_the_time_limit_is_not_waited_for():
    capped = Attempts(RetryPolicy(retries=3, max_delay=1.5, total=10))
    capped.count = 1
    assert capped.next_wait("HTTP 429", retry_after=120) == 1.5
    bounded = Attempts(RetryPolicy(retries=3, max_delay=60, total=5))
    bounded.count = 1
    assert bounded.next_wait("HTTP 429", retry_after=30) is None
    assert "asked to wait 30 s, which would pass the 5 s time limit" in bounded.summary()


def test_statuses_retried_for_every_operation_or_only_retry_safe_ones():
    policy = RetryPolicy(on_status=(429, 503), safe_on_status=(502, 504))
    assert policy.retries_status(429, retry_safe=False) and policy.retries_status(503, retry_safe=False)
    assert not policy.retries_status(502, retry_safe=False) and policy.retries_status(502, retry_safe=True)
    assert not policy.retries_status(500, retry_safe=True) and not policy.retries_status(404, retry_safe=True)


def test_split_ends_drops_empty_records():
    assert split_ends(b"a\nbb\n\nccc\n", b"\n") == [1, 4, 9]
    assert split_ends(b"", b"\n") == []
    assert split_ends(b"a;;b", b";;") == [1, 4]


def test_a_plan_cuts_records_into_batches_and_compresses_each_above_the_threshold():
    raw = b"\n".join(b"m v=%d %d" % (i, i) for i in range(10))
    plan = BatchPlan.of(raw, 4, gzip_above=20)
    assert plan.ranges() == [(0, 4), (4, 8), (8, 10)]
    pieces = [plan.body(a, b) for a, b in plan.ranges()]
    assert b"\n".join(p[0] for p in pieces) == raw
    assert [p[2] for p in pieces] == [True, True, False]  # the last batch is 15 bytes
    assert all(gzip.decompress(p[1]) == p[0] for p in pieces[:2]) and pieces[2][1] == pieces[2][0]
    assert plan.body(3, 4)[0] == b"m v=3 3"


def test_marked_record_ends_win_over_the_separator():
    body = b'm s="a\nb" 1\nm s="c" 2'
    plan = BatchPlan.of(RecordBytes(body, [11, len(body)]), 1)
    assert [plan.body(a, b)[0] for a, b in plan.ranges()] == [b'm s="a\nb" 1', b'm s="c" 2']


@pytest.mark.parametrize("body, lines", [
    (b"cpu v=1 1\ncpu v=2 2", [b"cpu v=1 1", b"cpu v=2 2"]),
    (b'cpu s="multi\nline" 1\ncpu v=2 2', [b'cpu s="multi\nline" 1', b"cpu v=2 2"]),
    (b'cpu s="esc \\" quote\nstill" 1\nnext v=1', [b'cpu s="esc \\" quote\nstill" 1', b"next v=1"]),
    (b'cpu s="ends in backslash \\\\" 1\nnext v=1', [b'cpu s="ends in backslash \\\\" 1', b"next v=1"]),
    (b'"quoted\\ measurement",t="x" v=1\nnext v=1', [b'"quoted\\ measurement",t="x" v=1', b"next v=1"]),
    (b'cpu a=1,s="x\ny",b="\n" 5\n\n# comment "\nlast v=1', [b'cpu a=1,s="x\ny",b="\n" 5', b'# comment "', b"last v=1"]),
])
def test_point_ends_keep_newlines_inside_string_fields(body, lines):
    ends = point_ends(body)
    plan = BatchPlan.of(RecordBytes(body, ends), 1)
    assert [plan.body(a, b)[0] for a, b in plan.ranges()] == lines
