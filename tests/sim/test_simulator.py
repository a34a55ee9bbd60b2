"""Behaviour of the simulator as seen through its Event Sockets."""

from __future__ import annotations

import socket

import gevent
import gevent.event
import pytest

from fsconf.esl.protocol import GOODBYE_BODY, FrameParser

from .conftest import Controller, ControllerConn


def _inbound(port: int) -> tuple[socket.socket, FrameParser]:
    return socket.create_connection(("127.0.0.1", port), timeout=5), FrameParser()


def _read(sock: socket.socket, parser: FrameParser, n: int = 1) -> list:
    frames: list = []
    while len(frames) < n:
        data = sock.recv(65536)
        if not data:
            break
        frames += parser.feed(data)
    return frames


def test_inbound_wrong_password_gets_err_then_goodbye_and_close(make_sim) -> None:
    sim = make_sim()
    sock, parser = _inbound(sim.port)
    assert sock.recv(100) == b"Content-Type: auth/request\n\n"
    sock.sendall(b"auth wrong\n\n")
    data = b""
    while True:
        chunk = sock.recv(1000)
        if not chunk:
            break
        data += chunk
    assert data == (
        b"Content-Type: command/reply\nReply-Text: -ERR invalid\n\n"
        b"Content-Type: text/disconnect-notice\nContent-Length: 67\n\n" + GOODBYE_BODY
    )


def test_inbound_api_errors_match_freeswitch(make_sim, driver_for) -> None:
    sim = make_sim()
    d = driver_for(sim)
    assert d.api("nosuchcommand foo") == "-ERR nosuchcommand Command not found!\n"
    assert d.api("originate loopback/abc/fsconf &park()") == "-ERR NO_ROUTE_DESTINATION\n"
    assert d.api("uuid_kill 123") == "-ERR No such channel!\n"
    assert d.api("uuid_send_dtmf 123 1") == "-ERR Cannot locate session!\n"
    assert d.api("show channels as json") == '{"row_count": 0}\n'
    assert d.api("conference list") == "+OK No active conferences.\n"
    assert d.api("conference nosuch list") == "-ERR Conference nosuch not found\n"


def test_bgapi_background_job_only_when_subscribed(make_sim) -> None:
    sim = make_sim()
    sock, parser = _inbound(sim.port)
    _read(sock, parser)
    sock.sendall(b"auth ClueCon\n\nbgapi status\nJob-UUID: 1111\n\n")
    frames = _read(sock, parser, 2)
    assert frames[1].headers["Reply-Text"] == "+OK Job-UUID: 1111"
    assert frames[1].headers["Job-UUID"] == "1111"
    sock.sendall(b"event plain BACKGROUND_JOB\n\nbgapi status\n\n")
    frames = _read(sock, parser, 3)
    assert frames[-1].content_type == "text/event-plain"
    assert b"Job-Command: status" in frames[-1].body
    assert b"\nContent-Length: " in frames[-1].body and b"is ready" in frames[-1].body


def test_refused_controller_falls_through_and_call_hangs_up(make_sim, driver_for) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    sim = make_sim(
        global_vars={
            "fsconf_controller": f"127.0.0.1:{dead}",
            "fsconf_controller_backup": f"127.0.0.1:{dead}",
        }
    )
    d = driver_for(sim)
    call = d.place_call("5000")
    assert call.wait_hangup(5) == "NORMAL_CLEARING"


def _ivr(conn: ControllerConn) -> None:
    conn.command("connect")
    conn.command("myevents")
    conn.command("event plain PLAYBACK_START PLAYBACK_STOP RECORD_START RECORD_STOP")


def test_playback_sequence_and_terminators(make_sim, driver_for) -> None:
    done = gevent.event.Event()
    results: dict[str, object] = {}

    def script(conn: ControllerConn) -> None:
        _ivr(conn)
        conn.execute("answer")
        conn.wait_complete("answer")
        conn.events.clear()
        conn.execute("playback", "conference/conf-welcome.wav")
        ev = conn.wait_complete("playback")
        results["full"] = ev.get("Application-Response")
        results["names"] = [e.name for e in conn.events]
        conn.events.clear()
        conn.execute("playback", "conference/nosuch.wav")
        results["missing"] = conn.wait_complete("playback").get("Application-Response")
        results["missing_events"] = [e.name for e in conn.events]
        done.set()

    ctl = Controller(script)
    sim = make_sim(ctl)
    d = driver_for(sim)
    call = d.place_call("5000")
    assert done.wait(10)
    assert results["full"] == "FILE PLAYED"
    assert results["names"] == ["CHANNEL_EXECUTE", "PLAYBACK_START", "PLAYBACK_STOP"]
    assert results["missing"] == "FILE NOT FOUND"
    assert results["missing_events"] == ["CHANNEL_EXECUTE"]
    assert "conf-welcome" in call.wait_prompt("conf-welcome", 5)
    call.hangup()
    call.wait_hangup(5)


def test_pagd_success_and_failure(make_sim, driver_for) -> None:
    out: dict[str, object] = {}
    ready = gevent.event.Event()
    done = gevent.event.Event()

    def script(conn: ControllerConn) -> None:
        _ivr(conn)
        pagd = (
            "4 4 2 2000 # conference/conf-pin.wav conference/conf-bad-pin.wav pin ^\\d{4}$ 2000 ''"
        )
        conn.execute("play_and_get_digits", pagd)
        ready.set()
        ev = conn.wait_complete("play_and_get_digits")
        out["ok"] = (ev.get("variable_pin"), ev.get("variable_read_result"))
        conn.execute("play_and_get_digits", pagd)
        ev = conn.wait_complete("play_and_get_digits", 10)
        out["fail"] = (
            ev.get("variable_pin"),
            ev.get("variable_read_result"),
            ev.get("Application-Response"),
        )
        done.set()

    sim = make_sim(Controller(script))
    call = driver_for(sim).place_call("5000")
    assert ready.wait(5)
    call.wait_prompt("conf-pin", 5)
    call.send_dtmf("1234#")
    assert done.wait(10)
    assert out["ok"] == ("1234", "success")
    assert out["fail"] == (None, "failure", "_none_")
    call.hangup()


def test_unknown_app_hangs_up_with_freeswitch_sequence(make_sim, driver_for) -> None:
    conns: list[ControllerConn] = []

    def script(conn: ControllerConn) -> None:
        conns.append(conn)
        conn.command("connect")
        conn.command("myevents")
        conn.command("linger")
        conn.execute("nosuchapp", lock=False)
        conn.wait(lambda: any(f.content_type == "text/disconnect-notice" for f in conn.frames))
        conn.command("exit")

    sim = make_sim(Controller(script), race_seed=None)  # the captured order
    call = driver_for(sim).place_call("5000")
    assert call.wait_hangup(5) == "DESTINATION_OUT_OF_ORDER"
    conn = conns[0]
    conn.wait(lambda: conn.closed, 5, "socket close after exit")
    names = [e.name for e in conn.events]
    assert names == [
        "CHANNEL_HANGUP",
        "CHANNEL_UNPARK",
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_STATE",
        "CHANNEL_STATE",
        "CHANNEL_HANGUP_COMPLETE",
    ]
    kinds = [f.content_type for f in conn.frames[-3:]]
    assert kinds == ["text/disconnect-notice", "command/reply", "text/disconnect-notice"]
    assert conn.frames[-3].headers["Content-Disposition"] == "linger"
    assert conn.frames[-1].body == GOODBYE_BODY


def test_non_full_socket_gates_commands(make_sim, driver_for) -> None:
    out: list[dict[str, str]] = []

    def script(conn: ControllerConn) -> None:
        conn.command("connect")
        out.append(conn.command("api status"))
        out.append(conn.command("linger"))
        out.append(conn.command("myevents"))
        conn.command("exit")

    sim = make_sim(Controller(script))
    sim.config.contexts["fsconf"][1].conditions[0].actions[0] = (
        "socket",
        sim.global_vars["fsconf_controller"] + " async",
    )
    call = driver_for(sim).place_call("5000")
    call.wait_hangup(5)
    assert [r["Reply-Text"] for r in out] == [
        "-ERR command not found",
        "-ERR command not found",
        "+OK Events Enabled",
    ]


@pytest.mark.parametrize("n_calls", [3])
def test_three_callers_in_a_conference(make_sim, driver_for, n_calls: int) -> None:
    """Done-when: controller puts calls in a room; driver types keys and watches."""
    dtmf_on_socket: list[str] = []

    def script(conn: ControllerConn) -> None:
        _ivr(conn)
        conn.command("event plain CUSTOM conference::maintenance")
        conn.command("linger")
        conn.execute("answer")
        conn.execute("playback", "conference/conf-welcome.wav")
        conn.execute(
            "conference",
            "room1@fsconf+flags{moderator}" if not dtmf_on_socket else "room1@fsconf",
            lock=False,
        )
        dtmf_on_socket.append("joined")
        conn.wait(
            lambda: (
                conn.closed or any(f.content_type == "text/disconnect-notice" for f in conn.frames)
            ),
            30,
        )
        dtmf_on_socket.extend(e.get("DTMF-Digit") or "" for e in conn.events if e.name == "DTMF")
        conn.send("exit")

    sim = make_sim(Controller(script))
    d = driver_for(sim)
    calls = []
    for i in range(n_calls):
        call = d.place_call("5000", caller_id_number=f"3100{i}")
        call.wait_prompt("conf-welcome", 5)
        call.wait_member(5)
        calls.append(call)
    ids = [c.member_id for c in calls]
    assert ids == sorted(ids) and len(set(ids)) == n_calls
    rooms = d.conference_json("room1")
    assert rooms is not None
    members = rooms[0]["members"]
    assert [m["id"] for m in members] == sorted(ids, reverse=True)  # newest first
    assert [m["caller_id_number"] for m in members][-1] == "31000"
    assert members[-1]["flags"]["is_moderator"] is True
    calls[1].send_dtmf("5#")
    d.wait_for(lambda: calls[1].dtmf == ["5", "#"], 5, "DTMF events")
    assert d.api(f"conference room1 mute {ids[1]}") == f"+OK mute {ids[1]}\n"
    assert d.api("conference room1 mute 999") == "-ERR Non-Existant ID 999\n"
    assert d.api("conference room1 volume_out 999 up") == "-ERR Non-Existant ID 999\n"
    for _ in range(6):
        reply = d.api(f"conference room1 volume_out {ids[2]} up")
    assert reply == f"+OK Volume OUT {ids[2]} = 4\n"
    assert d.api("conference room1 lock") == "+OK room1 locked\n"
    assert (
        d.api(f"conference room1 play conference/conf-welcome.wav {ids[2]}")
        == f"+OK (play) Playing file conference/conf-welcome.wav to member {ids[2]}\n"
    )
    calls[2].wait_prompt("conf-welcome", 5)
    line = d.api("conference room1 list").splitlines()
    assert line[1].startswith(f"{ids[1]};loopback/5000-b;{calls[1].b_uuid};;31001;hear;0;0;100")
    assert d.api(f"conference room1 kick {ids[2]}") == f"+OK kicked {ids[2]}\n"
    calls[2].wait_prompt("conf-kicked", 5)
    assert d.api("conference room1 count") == "2"
    actions = [e.get("Action") for e in d.events if e.subclass == "conference::maintenance"]
    for expected in (
        "conference-create",
        "add-member",
        "mute-member",
        "volume-out-member",
        "lock",
        "play-file-member",
        "kick-member",
        "del-member",
    ):
        assert expected in actions
    for call in calls:
        call.hangup()
        call.wait_hangup(5)
    d.wait_for(lambda: d.api("conference list") == "+OK No active conferences.\n", 5)
    assert "conference-destroy" in [e.get("Action") for e in d.events]


def test_a_port_from_free_port_is_kept_from_port_zero_binds_yet_listens_for_us() -> None:
    from gevent.server import StreamServer

    from fsconf.sim.core import free_port

    port = free_port()
    # Still bound here, so a simulator started meanwhile (port 0) cannot be handed it:
    # the kernel's port-0 search skips ports anyone holds; a plain bind shows the hold.
    with socket.socket() as s, pytest.raises(OSError, match="in use"):
        s.bind(("127.0.0.1", port))
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            assert s.getsockname()[1] != port
    accepted = gevent.event.Event()
    server = StreamServer(("127.0.0.1", port), lambda sock, addr: accepted.set())
    server.start()
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        assert accepted.wait(2)
    finally:
        server.stop()
