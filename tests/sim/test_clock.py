"""Simulated time a test can drive: a ManualClock moves only when the test says so."""

from __future__ import annotations

import subprocess
import sys

import gevent
import pytest
from gevent.event import Event as GEvent

from fsconf.esl.protocol import Event
from fsconf.sim.clock import ManualClock, ScaledClock


def test_sleep_ends_only_when_the_clock_reaches_it() -> None:
    clock = ManualClock()
    woke: list[float] = []
    sleeper = gevent.spawn(lambda: (clock.sleep(3.0), woke.append(clock.monotonic())))
    clock.advance(2.5)
    assert woke == []
    clock.advance(0.5)
    sleeper.join(timeout=5)
    assert woke == [3.0]


def test_wait_reports_timeout_or_the_event() -> None:
    clock = ManualClock()
    never, soon = GEvent(), GEvent()
    timed_out = gevent.spawn(clock.wait, never, 1.0)
    signalled = gevent.spawn(clock.wait, soon, 10.0)
    clock.advance(0.5)
    soon.set()
    clock.advance(0.5)
    assert timed_out.get(timeout=5) is False
    assert signalled.get(timeout=5) is True
    assert clock.monotonic() == 1.0


def test_timers_fire_in_deadline_order_within_one_advance() -> None:
    clock = ManualClock()
    order: list[str] = []
    clock.call_later(2.0, order.append, "late")
    clock.call_later(1.0, order.append, "early")
    clock.advance(5.0)
    gevent.sleep(0)
    assert order == ["early", "late"]
    assert clock.time() - clock.monotonic() == pytest.approx(1_700_000_000.0)


def test_scaled_clock_runs_speed_times_faster_than_the_wall() -> None:
    clock = ScaledClock(50.0)
    assert clock.wall(5.0) == pytest.approx(0.1)
    assert clock.wall(-1.0) == 0.0
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="speed must be a positive number"):
            ScaledClock(bad)


def test_a_prompt_lasts_exactly_as_long_as_the_test_moves_time(make_sim, driver_for) -> None:
    clock = ManualClock()
    d = driver_for(make_sim(clock=clock))
    reply = d.api("originate loopback/1/fsconf_test &playback(silence_stream://3000)")
    assert reply.startswith("+OK "), reply
    a_leg = reply[4:].strip()

    def seen(name: str) -> list[Event]:
        return [e for e in d.events if e.name == name and e.uuid == a_leg]

    d.wait_for(lambda: bool(seen("PLAYBACK_START")), 5, "the prompt to start")
    clock.advance(2.9)
    d.api("status")  # a round trip: anything fired before it has reached us
    assert seen("PLAYBACK_STOP") == []
    clock.advance(0.1)
    d.wait_for(lambda: bool(seen("PLAYBACK_STOP")), 5, "the prompt to end")
    stop = seen("PLAYBACK_STOP")[0]
    assert stop.get("Playback-Status") == "done"
    assert stop.get("variable_playback_ms") == "3000"  # to the millisecond


@pytest.mark.parametrize("speed", ["0", "-2", "nan"])
def test_fsconf_sim_refuses_a_speed_that_is_not_positive(speed: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "fsconf.sim", "--speed", speed, "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"fsconf sim: --speed must be a positive number, got {float(speed)}"
    ]
