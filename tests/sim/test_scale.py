"""300 concurrent calls through loopback into a trivial outbound app that answers and joins
one conference: all get in and the simulator keeps answering its Event Socket meanwhile.

How fast it answers is the benchmark's business (bench/, `make bench`); a wall-clock bound
here would only measure how busy the test machine is."""

from __future__ import annotations

import gc
import weakref

from .conftest import Controller, ControllerConn

N_CALLS = 300


def _app(conn: ControllerConn) -> None:
    conn.command("connect")
    conn.command("linger")
    conn.execute("answer")
    conn.execute("conference", "scale@fsconf", lock=False)
    read = 0

    def goodbye() -> bool:  # looks at new frames only: 300 of these poll at once
        nonlocal read
        new, read = conn.frames[read:], len(conn.frames)
        return any(f.content_type == "text/disconnect-notice" for f in new)

    conn.wait(goodbye, 120)
    conn.send("exit")


def test_three_hundred_calls_join_and_the_switch_stays_responsive(make_sim, driver_for) -> None:
    sim = make_sim(Controller(_app))
    d = driver_for(sim)
    d.timeout = 30
    calls = []
    for i in range(N_CALLS):
        calls.append(d.place_call("5000", caller_id_number=f"31{i:06d}"))
        if i % 50 == 49:  # api commands are served between the call set-ups
            assert "is ready" in d.api("status")
    d.wait_for(
        lambda: all(c.member_id is not None for c in calls),
        20,
        lambda: f"{sum(c.member_id is None for c in calls)} calls still outside the room",
    )
    assert d.api("conference scale count") == str(N_CALLS)
    ids = {c.member_id for c in calls}
    assert len(ids) == N_CALLS
    assert d.api("conference scale list count") == str(N_CALLS)
    assert d.api("hupall NORMAL_CLEARING").startswith("+OK")
    d.wait_for(lambda: d.api("show channels as json") == '{"row_count": 0}\n', 20, "cleanup")
    assert d.api("conference list") == "+OK No active conferences.\n"


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def _hang_up_after_answer(conn: ControllerConn) -> None:
    conn.command("connect")
    conn.execute("answer")
    conn.execute("hangup")


def test_the_switch_collects_its_garbage_once_the_last_call_has_ended(
    make_sim, driver_for
) -> None:
    """`fsconf sim` runs no automatic full collection while calls are up (a real switch
    does not pause); cyclic garbage left in the oldest generation goes once it is idle."""
    sim = make_sim(Controller(_hang_up_after_answer), collect_when_idle=True)
    d = driver_for(sim)
    was_enabled = gc.isenabled()
    gc.disable()  # only the simulator's own collection may free the cycle
    try:
        cycle = _Cycle()
        gc.collect()  # survivors of a full collection sit in the oldest generation
        gone = weakref.ref(cycle)
        del cycle
        gc.collect(1)
        assert gone() is not None, "a young collection must not free it"
        d.place_call("5000")
        d.wait_for(lambda: not sim.channels, 10, "the switch to be idle")
        d.wait_for(lambda: gone() is None, 5, "the idle switch to collect")
    finally:
        if was_enabled:
            gc.enable()
