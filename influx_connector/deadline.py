"""A time limit for one whole call: every request, retry wait, page and byte of the answer.

A read timeout bounds each wait for data, not a call: a server that sends one byte every
second keeps a call with a ten-second timeout going for as long as it likes. A ``Deadline``
bounds the call itself. Waits are cut to the time left; and because a blocking read may not
return while bytes keep trickling in, the sockets a call uses are handed to one watchdog thread
that shuts them down when the time is up, which ends any read in progress at once.

Shutting a socket down is all the watchdog does; the thread that was reading sees the read end
and raises the deadline's error. A socket is watched for the call that used it last, so a
connection that went back to the pool and now serves another call is never shut down for the
first one's deadline.

Internal to the engine (not part of what hosts use; see ``influx_connector.__all__``).
"""
from __future__ import annotations

import contextvars
import logging
import socket
import threading
import time
import weakref
from typing import Any

from .errors import TimeoutError

log = logging.getLogger(__name__)

#: The deadline of the call this thread is sending for (set by the transport around a send).
current: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar("influx_connector_deadline",
                                                                            default=None)


class Deadline:
    """``seconds`` from now. ``setting`` says how a user raises it, for the error message."""

    __slots__ = ("seconds", "at", "setting", "fired", "closed", "_socks", "__weakref__")

    def __init__(self, seconds: float, setting: str = "the call's deadline"):
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.setting = setting
        self.fired = False
        self.closed = False
        self._socks: list[weakref.ref[socket.socket]] = []

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def expired(self) -> bool:
        return not self.closed and (self.fired or time.monotonic() >= self.at)

    def error(self, doing: str) -> TimeoutError:
        return TimeoutError(f"the call ran out of its {self.seconds:g} s time limit while {doing}; "
                            f"if the server needs longer, raise {self.setting}", sent=True, reason="deadline")

    def check(self, doing: str) -> None:
        """Raise the deadline's error when the time is up (nothing once the deadline is closed)."""
        if self.expired():
            raise self.error(doing)

    def watch(self, sock: Any) -> None:
        """Shut ``sock`` down when the time is up, unless another call has taken it over by then."""
        if self.closed or sock is None:
            return
        with _lock:
            _owners[sock] = self
            self._socks.append(weakref.ref(sock))
        _watchdog.add(self)

    def close(self) -> None:
        """The call is over (or no longer bounded, as a stream handed to its reader): stop watching."""
        if not self.closed:
            self.closed = True
            _watchdog.discard(self)

    def _fire(self) -> None:
        with _lock:
            if self.closed:
                return
            self.fired = True
            socks = [s for s in (ref() for ref in self._socks) if s is not None and _owners.get(s) is self]
        for sock in socks:
            try:
                # The plain socket's shutdown, also for a TLS socket: ssl.SSLSocket's own would
                # drop its TLS state under the feet of the thread that is reading.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass
        log.debug("a call passed its %g s time limit: %d connection(s) shut down", self.seconds, len(socks))


_lock = threading.Lock()
_owners: weakref.WeakKeyDictionary[Any, Deadline] = weakref.WeakKeyDictionary()


class _Watchdog:
    """One daemon thread for the whole process, asleep until the nearest watched deadline."""

    def __init__(self) -> None:
        self._active: set[Deadline] = set()
        self._wake = threading.Condition(threading.Lock())
        self._next = float("inf")
        self._thread: threading.Thread | None = None

    def add(self, deadline: Deadline) -> None:
        with self._wake:
            if deadline in self._active:
                return
            self._active.add(deadline)
            if self._thread is None or not self._thread.is_alive():  # first use, or after a fork
                self._thread = threading.Thread(target=self._run, name="influx-connector-deadlines", daemon=True)
                self._thread.start()
            if deadline.at < self._next:
                self._wake.notify()

    def discard(self, deadline: Deadline) -> None:
        with self._wake:
            self._active.discard(deadline)

    def _run(self) -> None:
        while True:
            with self._wake:
                now = time.monotonic()
                due = [d for d in self._active if d.at <= now]
                self._active.difference_update(due)
                self._next = min((d.at for d in self._active), default=float("inf"))
                if not due:
                    self._wake.wait(None if self._next == float("inf") else self._next - now)
                    continue
            for deadline in due:
                deadline._fire()


_watchdog = _Watchdog()
