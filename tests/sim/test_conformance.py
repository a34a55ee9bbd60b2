"""The simulator's bytes against the FreeSWITCH 1.10.12 transcripts (normalised)."""

from __future__ import annotations

import gevent
import pytest

from fsconf.esl.protocol import FrameParser, parse_event
from tests.data import capture

from .conftest import Controller, ControllerConn


def _names(headers: dict[str, str] | list[str]) -> list[str]:
    return [h for h in headers if not h.startswith("variable_")]


def _recorded_frames(rel: str) -> list:
    return FrameParser().feed(capture(rel))


def test_connect_reply_and_hangup_sequence_match_capture(make_sim, driver_for) -> None:
    conns: list[ControllerConn] = []

    def script(conn: ControllerConn) -> None:
        conns.append(conn)
        conn.command("connect")
        conn.command("myevents")
        conn.command("event plain PLAYBACK_START PLAYBACK_STOP RECORD_START RECORD_STOP")
        conn.execute("answer")
        conn.execute("playback", "ivr/ivr-long.wav", lock=False)

    sim = make_sim(Controller(script), race_seed=None)  # the captured (call5) order
    d = driver_for(sim)
    call = d.place_call("5000", context="fsconf")
    call.wait_prompt("ivr-long", 5)
    call.hangup()
    call.wait_hangup(5)
    conn = conns[0]
    conn.wait(lambda: conn.closed, 5, "close")
    ours = FrameParser().feed(bytes(conn.raw))
    theirs = _recorded_frames("1_ivr_apps/call5_outbound.recv.raw")
    # connect reply: same header names in the same order (variables differ per call)
    assert _names(list(ours[0].headers)) == _names(list(theirs[0].headers))
    assert "Content-Length" not in ours[0].headers
    assert ours[0].headers["Reply-Text"] == "%2BOK%0A"

    # the whole event sequence of "answer, playback, caller hangs up"
    def seq(frames: list) -> list[str]:
        out = []
        for f in frames:
            if f.content_type == "text/event-plain":
                ev = parse_event(f)
                out.append(f"{ev.name}:{ev.get('Application') or ''}")
            else:
                out.append(f.content_type)
        return out

    assert seq(ours) == seq(theirs)
    # header names of each event match the capture (normalising variables away)
    for mine, real in zip(ours, theirs, strict=True):
        if mine.content_type == "text/event-plain":
            assert _names(list(parse_event(mine).headers)) == _names(
                list(parse_event(real).headers)
            ), parse_event(mine).name


def test_inbound_auth_and_api_with_greenswitch(make_sim) -> None:
    greenswitch = pytest.importorskip("greenswitch")  # the `bench` extra
    sim = make_sim()
    esl = greenswitch.InboundESL("127.0.0.1", sim.port, "ClueCon")
    esl.connect()
    assert esl.send("api conference list").data == "+OK No active conferences.\n"
    esl.stop()
    bad = greenswitch.InboundESL("127.0.0.1", sim.port, "nope")
    with pytest.raises(ValueError):
        bad.connect()


def test_greenswitch_outbound_session_app(make_sim, driver_for) -> None:
    OutboundSession = pytest.importorskip("greenswitch.esl").OutboundSession  # `bench` extra

    seen: dict[str, object] = {}

    def script(conn: ControllerConn) -> None:
        session = OutboundSession(("127.0.0.1", 0), conn.sock)
        conn._reader.kill()
        session.connect()
        session.myevents()
        session.linger()
        session.answer()
        ev = session.playback("conference/conf-welcome.wav")
        seen["resp"] = ev.headers.get("Application-Response")
        seen["uuid"] = session.uuid
        session.hangup()
        gevent.sleep(0.2)
        session.stop()

    sim = make_sim(Controller(script))
    call = driver_for(sim).place_call("5000")
    assert call.wait_hangup(5) == "NORMAL_CLEARING"
    assert seen == {"resp": "FILE PLAYED", "uuid": call.b_uuid}


def test_conference_api_replies_match_capture(make_sim, driver_for) -> None:
    def script(conn: ControllerConn) -> None:
        conn.command("connect")
        conn.execute("conference", "test@fsconf", lock=False)

    sim = make_sim(Controller(script))
    d = driver_for(sim)
    calls = [d.place_call("5000") for _ in range(2)]
    for c in calls:
        c.wait_member(5)
    ids = sorted(c.member_id for c in calls)  # type: ignore[type-var]
    assert d.api(f"conference test tmute {ids[0]}") == f"+OK mute {ids[0]}\n"
    assert d.api(f"conference test tmute {ids[0]}") == f"+OK unmute {ids[0]}\n"
    assert d.api("conference test mute all") == f"+OK mute {ids[1]}\n+OK mute {ids[0]}\n"
    assert d.api("conference test get max_members") == "0"
    assert d.api("conference test set max_members 2") == "0"
    assert d.api("conference test get locked") == "get <parameter-name>"
    assert d.api("conference test say hello") == "-ERR (say) Error!\nsay <text>"
    assert (
        d.api("conference test play /nonexistent/file.wav")
        == "-ERR (play) File: /nonexistent/file.wav not found.\n"
    )
    json_body = d.api("conference test json_list")
    assert json_body.startswith('[{\n\t\t"conference_name":\t"test",\n\t\t"member_count":\t2,')
    assert json_body.endswith("\n\t\t\t}]\n\t}]")
    assert d.api("conference test hup all") == f"+OK hup {ids[1]}\n+OK hup {ids[0]}\n"
    d.wait_for(lambda: d.api("conference test list") == "-ERR Conference test not found\n", 5)
    for c in calls:
        c.hangup()
