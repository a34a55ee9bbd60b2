"""A wake-up for the one greenlet that waits on a call's key presses.

A key press reaches its member's loop through this: the reader greenlet rings, the
member loop waits with a timeout (the keypad's inter-digit deadline). gevent's
`Event.wait(timeout)` builds a `Timeout` and a link list on every wait; a bare `Waiter`
with a loop timer does the same job for one waiter, faster (bench/results/README.md).
"""

from __future__ import annotations

from gevent.hub import Waiter, get_hub


class Doorbell:
    """Like a gevent Event that only one greenlet at a time may wait on.

    `ring` may be called from any greenlet or from the hub and never blocks; the bell
    stays rung until `clear`.
    """

    __slots__ = ("_rung", "_waiter")

    def __init__(self) -> None:
        self._rung = False
        self._waiter: Waiter | None = None

    def is_set(self) -> bool:
        return self._rung

    def clear(self) -> None:
        self._rung = False

    def ring(self) -> None:
        self._rung = True
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            # A Waiter is switched to from the hub only; the callback runs at the hub's
            # next turn, as gevent's Event notifies its waiters.
            get_hub().loop.run_callback(waiter.switch, True)

    def wait(self, timeout: float | None) -> bool:
        """Until rung or `timeout` seconds (None: no limit); True if it was rung."""
        if self._rung:
            return True
        if self._waiter is not None:
            raise RuntimeError("a Doorbell has one waiter at a time")
        hub = get_hub()
        waiter = Waiter(hub)
        self._waiter = waiter
        timer = None
        if timeout is not None:
            timer = hub.loop.timer(max(0.0, timeout))
            timer.start(waiter.switch, False)
        try:
            waiter.get()
        finally:
            if timer is not None:
                timer.close()
            if self._waiter is waiter:
                self._waiter = None
        return self._rung
