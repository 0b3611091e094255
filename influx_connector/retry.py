"""When to try a call again, and how long to wait first.

A retry is only ever made when it cannot change the outcome: the server said it did not do the
work (``on_status``, such as 429 and 503), nothing reached the server (the connection could not
be opened), or the operation is declared ``retry_safe`` in its YAML (sending it twice has the
same effect as once), in which case resets, dropped connections, read timeouts, answers cut
short and ``safe_on_status`` answers are retried too.

Waits honour the server's ``Retry-After`` (seconds or an HTTP date) up to ``max_delay``;
otherwise they grow exponentially with full jitter. ``total`` bounds the whole call, waits
included: a wait that would pass it is not started.

Internal to the engine (not part of what hosts use; see ``influx_connector.__all__``).
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any

#: First backoff step in seconds; attempt n waits up to BASE * 2**(n-1), capped by max_delay.
BASE_DELAY = 0.25


@dataclass(frozen=True)
class RetrySpec:
    """What connector.yaml says under ``connection.retry``: which connection fields hold the limits
    and which statuses are worth another try."""

    attempts_from: str | None = None
    max_delay_from: str | None = None
    total_from: str | None = None
    on_status: tuple[int, ...] = ()
    safe_on_status: tuple[int, ...] = ()


@dataclass(frozen=True)
class RetryPolicy:
    """The limits of one connection: ``retries`` tries after the first, each wait at most
    ``max_delay`` seconds, the whole call at most ``total`` seconds."""

    retries: int = 0
    max_delay: float = 30.0
    total: float = 120.0
    on_status: tuple[int, ...] = ()
    safe_on_status: tuple[int, ...] = ()
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    @classmethod
    def of(cls, spec: RetrySpec | None, values: Mapping[str, Any]) -> RetryPolicy:
        if spec is None:
            return cls()

        def read(name: str | None, default: float) -> float:
            value = values.get(name) if name else None
            return default if value is None else value

        return cls(retries=int(read(spec.attempts_from, 0)), max_delay=float(read(spec.max_delay_from, 30.0)),
                   total=float(read(spec.total_from, 120.0)), on_status=spec.on_status,
                   safe_on_status=spec.safe_on_status)

    def retries_status(self, status: int, retry_safe: bool) -> bool:
        return status in self.on_status or (retry_safe and status in self.safe_on_status)

    def backoff(self, attempt: int) -> float:
        """Full jitter: a random wait between 0 and the exponential step for this attempt."""
        step = min(self.max_delay, BASE_DELAY * 2 ** (attempt - 1))
        return self.rng.uniform(0, step)


def retry_after_seconds(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds a ``Retry-After`` header asks for: a number of seconds or an HTTP date.

    None when the header is absent or unreadable (then backoff decides); a date in the past is 0.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - now()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


@dataclass
class Attempts:
    """The tries of one request so far: how many, and why each retry happened."""

    policy: RetryPolicy
    started: float = field(default_factory=time.monotonic)
    count: int = 0
    retried: list[dict[str, Any]] = field(default_factory=list)
    #: Why no further try was made, when a retry was wanted but not allowed.
    stopped: str | None = None
    #: The call's time limit (a ``Deadline``): no wait starts that would pass it.
    deadline: Any = None

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def next_wait(self, reason: str, retry_after: float | None = None) -> float | None:
        """The wait before the next try, or None when the retries or the time bound are used up.

        ``count`` is the number of tries made so far (the failed one included).
        """
        if self.count > self.policy.retries:
            self.stopped = f"{self.policy.retries} retries used" if self.policy.retries else "retries are off"
            return None
        if retry_after is not None:
            wait = min(retry_after, self.policy.max_delay)
        else:
            wait = self.policy.backoff(self.count)
        asked = f"the server asked to wait {retry_after:g} s" if retry_after is not None else f"a {wait:.1f} s wait"
        if self.elapsed() + wait >= self.policy.total:
            self.stopped = f"{asked}, which would pass the {self.policy.total:g} s time limit"
            return None
        if self.deadline is not None and self.deadline.remaining() <= wait:
            self.stopped = f"{asked}, which would pass the call's {self.deadline.seconds:g} s time limit"
            return None
        self.retried.append({"attempt": self.count, "reason": reason, "wait_s": round(wait, 3)})
        return wait

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def summary(self) -> str:
        text = f"after {self.count} attempt{'s' if self.count != 1 else ''} in {self.elapsed():.1f} s"
        return f"{text}: {self.stopped}" if self.stopped else text
