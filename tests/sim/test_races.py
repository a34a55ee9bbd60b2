"""Races FreeSWITCH has (esl-protocol.md 1.6, 9.2; captures 1_ivr_apps/call3 vs call5):
resolved per channel from SimSettings.race_seed, so a controller sees both orders but a
run is repeatable."""

from __future__ import annotations

from .conftest import Controller, ControllerConn


def _hangups(make_sim, driver_for, seed: int | None, n: int, linger: bool = True) -> list:
    """n calls: playback of a long file, the caller hangs up; what each socket saw."""
    conns: list[ControllerConn] = []

    def script(conn: ControllerConn) -> None:
        conns.append(conn)
        conn.command("connect")
        conn.command("myevents")
        conn.command("event plain PLAYBACK_START PLAYBACK_STOP")
        if linger:
            conn.command("linger")
        conn.execute("answer")
        conn.execute("playback", "ivr/ivr-long.wav", lock=False)
        conn.wait(lambda: any(f.content_type == "text/disconnect-notice" for f in conn.frames), 10)
        if linger:
            conn.send("exit")

    sim = make_sim(Controller(script), race_seed=seed)
    d = driver_for(sim)
    seqs = []
    for _ in range(n):
        call = d.place_call("5000")
        call.wait_prompt("ivr-long", 5)
        call.hangup()
        call.wait_hangup(5)
        conn = conns[-1]
        conn.wait(lambda c=conn: c.closed, 5, "socket closed")
        seq = []
        for f in conn.frames:
            if f.content_type == "text/event-plain":
                from fsconf.esl.protocol import parse_event

                seq.append(parse_event(f).name)
            elif f.content_type == "text/disconnect-notice":
                seq.append(
                    "linger-notice"
                    if f.headers.get("Content-Disposition") == "linger"
                    else "goodbye"
                )
        start = seq.index("PLAYBACK_START")
        seqs.append(seq[start + 1 :])
    return seqs


CAPTURED_TAIL = [
    "CHANNEL_HANGUP",
    "PLAYBACK_STOP",
    "CHANNEL_EXECUTE_COMPLETE",
    "CHANNEL_UNPARK",
    "CHANNEL_EXECUTE_COMPLETE",
    "CHANNEL_STATE",
    "CHANNEL_STATE",
    "CHANNEL_HANGUP_COMPLETE",
]


def test_without_seed_the_captured_order(make_sim, driver_for) -> None:
    for seq in _hangups(make_sim, driver_for, None, 3):
        assert seq == [*CAPTURED_TAIL, "linger-notice", "goodbye"]


def test_seeded_races_show_both_orders_and_repeat(make_sim, driver_for) -> None:
    first = _hangups(make_sim, driver_for, 7, 12)
    stop_first = [s.index("PLAYBACK_STOP") < s.index("CHANNEL_HANGUP") for s in first]
    assert any(stop_first) and not all(stop_first)
    notice_last = [s.index("linger-notice") == len(CAPTURED_TAIL) for s in first]
    assert any(notice_last) and not all(notice_last)
    for seq in first:  # linger: nothing is lost, only reordered
        assert sorted(seq) == sorted([*CAPTURED_TAIL, "linger-notice", "goodbye"])
        assert seq[-1] == "goodbye"
    assert _hangups(make_sim, driver_for, 7, 12) == first


def test_without_linger_an_early_goodbye_loses_the_later_events(make_sim, driver_for) -> None:
    seqs = _hangups(make_sim, driver_for, 7, 12, linger=False)
    for seq in seqs:
        assert seq[-1] == "goodbye" and seq.count("goodbye") == 1
    assert any(len(s) < len(CAPTURED_TAIL) + 1 for s in seqs)  # some lost the tail
    assert any(
        s == [*CAPTURED_TAIL, "goodbye"] or s[:-1] == sorted(s[:-1], key=CAPTURED_TAIL.index)
        for s in seqs
    )
