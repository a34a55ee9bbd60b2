"""The key-press wake-up: what a member's loop relies on when a key or a hang-up comes."""

from __future__ import annotations

import time

import gevent
import pytest

from fsconf.esl.doorbell import Doorbell


def test_a_ring_from_another_greenlet_wakes_the_waiter_at_once() -> None:
    bell = Doorbell()
    gevent.spawn_later(0.01, bell.ring)
    assert bell.wait(5.0) is True  # False would mean it ran into its timeout


def test_without_a_ring_the_wait_ends_at_its_timeout() -> None:
    bell = Doorbell()
    started = time.monotonic()
    assert bell.wait(0.05) is False
    assert 0.04 <= time.monotonic() - started < 1.0


def test_a_ring_before_the_wait_is_kept_until_cleared() -> None:
    bell = Doorbell()
    bell.ring()
    assert bell.is_set()
    assert bell.wait(0.0) is True  # returns without yielding
    bell.clear()
    assert bell.wait(0.01) is False


def test_a_ring_from_a_hub_callback_wakes_the_waiter() -> None:
    bell = Doorbell()
    gevent.get_hub().loop.run_callback(bell.ring)
    assert bell.wait(5.0) is True


def test_rings_racing_the_timeout_leave_the_bell_usable() -> None:
    bell = Doorbell()
    for _ in range(50):
        bell.clear()
        gevent.spawn_later(0.001, bell.ring)
        bell.wait(0.001)  # either may win
        gevent.sleep(0.002)
        assert bell.is_set()
    bell.clear()
    gevent.spawn_later(0.01, bell.ring)
    assert bell.wait(5.0) is True


def test_a_killed_waiter_does_not_block_the_next_one() -> None:
    bell = Doorbell()
    waiting = gevent.spawn(bell.wait, None)
    gevent.sleep(0)  # the spawned greenlet runs (and starts waiting) before we resume
    waiting.kill()
    gevent.spawn_later(0.01, bell.ring)
    assert bell.wait(5.0) is True


def test_a_second_waiter_is_refused() -> None:
    bell = Doorbell()
    first = gevent.spawn(bell.wait, 5.0)
    gevent.sleep(0)  # the spawned greenlet runs (and starts waiting) before we resume
    with pytest.raises(RuntimeError):
        bell.wait(1.0)
    bell.ring()
    assert first.get(timeout=5.0) is True
