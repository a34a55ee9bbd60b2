"""The cluster benchmark's `kill -9` for one node of a multi-node simulator process
(`bgapi sim_kill`, only with --bench-trace): the node vanishes like a SIGKILLed
FreeSWITCH, its neighbours in the process live on."""

from __future__ import annotations

from tests.sim.conftest import Controller


def test_sim_kill_drops_only_that_node_without_a_word(make_node, driver_for) -> None:
    held = Controller(lambda conn: conn.command("connect"))  # holds the call, does nothing
    doomed = make_node("127.0.0.1", held, bench_trace=True)
    neighbour = make_node("127.0.0.2", None, bench_trace=True)
    d_doomed, d_neighbour = driver_for(doomed), driver_for(neighbour)
    d_doomed.place_call("0201234567", "0612345001")
    call_socket = held.wait_conn()
    events_before = len(d_doomed.events)

    assert d_doomed.command("bgapi sim_kill").startswith("+OK Job-UUID")
    d_doomed.wait_for(lambda: d_doomed.closed, 5, "the killed node's socket to close")

    # No hang-up event, no disconnect notice, no job result: the process just went away.
    late = [e.name for e in d_doomed.events[events_before:]]
    assert "CHANNEL_HANGUP" not in late and "BACKGROUND_JOB" not in late
    assert not doomed.channels
    call_socket.wait(lambda: call_socket.closed, 5, "EOF on the controller's call socket")
    assert not any(f.content_type == "text/disconnect-notice" for f in call_socket.frames)
    assert doomed.sip.fabric.lookup("127.0.0.1:5090") is None
    # Its neighbour in the same process answers as before, its own profile still bound.
    assert "UP" in d_neighbour.api("status")
    assert neighbour.sip.fabric.lookup("127.0.0.2:5090") is not None
    held.stop()


def test_sim_kill_is_unknown_without_the_bench_knob(make_sim, driver_for) -> None:
    sim = make_sim()
    assert driver_for(sim).api("sim_kill").startswith("-ERR sim_kill Command not found")
    assert driver_for(sim).api("status").startswith("UP")
