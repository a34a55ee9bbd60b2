"""The simulator's time: a scaled wall clock by default, a hand-driven one for tests.

Every simulated duration (prompt lengths, ring times, timeouts, linger) goes through a
Clock in simulated seconds; the parts never convert to wall time themselves.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable
from typing import Protocol

import gevent
from gevent.event import Event as GEvent


class Clock(Protocol):
    def monotonic(self) -> float:
        """Simulated seconds since an arbitrary origin (never goes back)."""
        ...

    def time(self) -> float:
        """Epoch seconds: what event timestamps and channel times show."""
        ...

    def sleep(self, seconds: float) -> None: ...

    def wait(self, event: GEvent, seconds: float | None) -> bool:
        """Wait for `event` at most `seconds` (None: without limit); True if it is set."""
        ...

    def call_later(self, seconds: float, fn: Callable[..., object], *args: object) -> None:
        """Run fn(*args) in a greenlet of its own once `seconds` have passed."""
        ...


class ScaledClock:
    """Wall time sped up `speed` times (SimSettings.speed): what `fsconf sim` runs on."""

    def __init__(self, speed: float = 1.0) -> None:
        if not 0 < speed < float("inf"):  # also refuses NaN
            raise ValueError(f"clock speed must be a positive number, got {speed}")
        self.speed = speed
        # The real clock itself, not a wrapper: event firing stamps every event with it.
        self.time: Callable[[], float] = time.time

    def wall(self, seconds: float) -> float:
        return max(0.0, seconds) / self.speed

    def monotonic(self) -> float:
        return time.monotonic() * self.speed

    def sleep(self, seconds: float) -> None:
        gevent.sleep(self.wall(seconds))

    def wait(self, event: GEvent, seconds: float | None) -> bool:
        return bool(event.wait(None if seconds is None else self.wall(seconds)))

    def call_later(self, seconds: float, fn: Callable[..., object], *args: object) -> None:
        gevent.spawn_later(self.wall(seconds), fn, *args)


class ManualClock:
    """Time that moves only when a test calls advance(): a prompt of 3 s ends exactly when
    the test has advanced 3 s, however busy the machine is."""

    def __init__(self, epoch: float = 1_700_000_000.0) -> None:
        self._now = 0.0
        self._epoch = epoch
        self._timers: list[tuple[float, int, Callable[[], object]]] = []
        self._order = itertools.count()

    def monotonic(self) -> float:
        return self._now

    def time(self) -> float:
        return self._epoch + self._now

    def _at(self, seconds: float, callback: Callable[[], object]) -> None:
        deadline = self._now + max(0.0, seconds)
        heapq.heappush(self._timers, (deadline, next(self._order), callback))

    def sleep(self, seconds: float) -> None:
        done = GEvent()
        self._at(seconds, done.set)
        done.wait()

    def wait(self, event: GEvent, seconds: float | None) -> bool:
        if seconds is None:
            return bool(event.wait())
        if event.is_set():
            return True
        expired = GEvent()
        self._at(seconds, expired.set)
        gevent.wait([event, expired], count=1)
        return event.is_set()

    def call_later(self, seconds: float, fn: Callable[..., object], *args: object) -> None:
        self._at(seconds, lambda: gevent.spawn(fn, *args))

    def pending(self) -> int:
        """Timers not yet due (including those of waits that already ended)."""
        return len(self._timers)

    def advance(self, seconds: float) -> None:
        """Move time forward, firing every timer due on the way in deadline order and
        letting the greenlets it wakes run (and set new timers) before the next one."""
        target = self._now + max(0.0, seconds)
        gevent.sleep(0)
        while self._timers and self._timers[0][0] <= target:
            deadline, _, callback = heapq.heappop(self._timers)
            self._now = max(self._now, deadline)
            callback()
            gevent.sleep(0)
            gevent.sleep(0)
        self._now = target
        gevent.sleep(0)
