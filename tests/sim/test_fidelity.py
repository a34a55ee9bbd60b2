"""mod_conference and media details checked against the 1.10.12 captures
(F_.../2_conference_api, D_kick_then_wait) and esl-protocol.md 9.1/9.2."""

from __future__ import annotations

import gevent
import pytest

from .conftest import Controller, ControllerConn


class Room:
    """N calls whose outbound app joins `room` (first one moderator) and keeps listening."""

    def __init__(self, make_sim, driver_for, n: int, room: str = "r1@fsconf", **kw) -> None:
        self.conns: list[ControllerConn] = []

        def script(conn: ControllerConn) -> None:
            first = not self.conns
            self.conns.append(conn)
            conn.command("connect")
            conn.command("myevents")
            conn.command("event plain PLAYBACK_START PLAYBACK_STOP CUSTOM conference::maintenance")
            conn.command("linger")
            conn.execute("answer")
            conn.execute("conference", room + ("+flags{moderator}" if first else ""), lock=False)
            conn.wait(
                lambda: any(f.content_type == "text/disconnect-notice" for f in conn.frames), 60
            )
            conn.send("exit")

        self.sim = make_sim(Controller(script), **kw)
        self.d = driver_for(self.sim)
        self.calls = []
        for i in range(n):
            call = self.d.place_call("5000", caller_id_number=f"100{i}")
            call.wait_member(5)
            self.calls.append(call)
        self.ids = [c.member_id for c in self.calls]
        self.name = room.split("@")[0]

    def api(self, cmd: str) -> str:
        return self.d.api(f"conference {self.name} {cmd}")

    def conn_of(self, call) -> ControllerConn:
        for conn in self.conns:
            if any(e.uuid == call.b_uuid for e in conn.events):
                return conn
        raise AssertionError("no socket for call")

    def close(self) -> None:
        self.d.api("hupall")


def _kick_sequence(conn: ControllerConn) -> list[tuple[str, str]]:
    out = []
    for e in conn.events:
        if e.name in ("PLAYBACK_START", "PLAYBACK_STOP"):
            out.append((e.name, e.get("Playback-File-Path") or ""))
        elif e.name == "CHANNEL_EXECUTE_COMPLETE" and e.get("Application") == "conference":
            out.append((e.name, "conference"))
        elif e.name == "CHANNEL_HANGUP":
            out.append((e.name, ""))
    return out


def test_kick_with_sound_plays_it_before_the_app_returns_and_keeps_the_call(
    make_sim, driver_for
) -> None:
    room = Room(make_sim, driver_for, 2)
    target = room.calls[1]
    assert room.api(f"kick {room.ids[1]} conference/conf-welcome.wav") == (
        f"+OK kicked {room.ids[1]}\n"
    )
    conn = room.conn_of(target)
    conn.wait(
        lambda: ("CHANNEL_EXECUTE_COMPLETE", "conference") in _kick_sequence(conn), 5, "return"
    )
    seq = _kick_sequence(conn)
    end = seq.index(("CHANNEL_EXECUTE_COMPLETE", "conference"))
    played = [p for n, p in seq[:end] if n == "PLAYBACK_STOP"]
    assert played and played[-1].endswith("conference/conf-welcome.wav")
    assert not any("conf-kicked" in p for _, p in seq)
    # The channel goes on to the socket's next application: the call was kept.
    conn.execute("set", "after_kick=1")
    assert conn.wait_complete("set").get("variable_after_kick") == "1"
    assert room.d.api(f"uuid_exists {target.b_uuid}") == "true"
    assert ("CHANNEL_HANGUP", "") not in _kick_sequence(conn)
    room.close()


def test_kick_all_with_sound_plays_it_to_each_member(make_sim, driver_for) -> None:
    room = Room(make_sim, driver_for, 3)
    expected = "".join(f"+OK kicked {i}\n" for i in sorted(room.ids, reverse=True))
    assert room.api("kick all conference/conf-welcome.wav") == expected
    for call in room.calls:
        conn = room.conn_of(call)
        conn.wait(lambda c=conn: ("CHANNEL_EXECUTE_COMPLETE", "conference") in _kick_sequence(c), 5)
        seq = _kick_sequence(conn)
        end = seq.index(("CHANNEL_EXECUTE_COMPLETE", "conference"))
        assert any(p.endswith("conf-welcome.wav") for n, p in seq[:end] if n == "PLAYBACK_STOP")
    assert room.api("list") == "-ERR Conference r1 not found\n"
    room.close()


@pytest.mark.parametrize(
    "profile,expect",
    [("fsconf", "conference/conf-kicked.wav"), ("nokick", None), ("prefixed", "conf-kicked.wav")],
)
def test_profile_kicked_sound_without_argument(make_sim, driver_for, profile, expect) -> None:
    room = Room(make_sim, driver_for, 1, room=f"r2@{profile}")
    call = room.calls[0]
    assert room.api(f"kick {room.ids[0]}") == f"+OK kicked {room.ids[0]}\n"
    conn = room.conn_of(call)
    conn.wait(lambda: ("CHANNEL_EXECUTE_COMPLETE", "conference") in _kick_sequence(conn), 5)
    seq = _kick_sequence(conn)
    end = seq.index(("CHANNEL_EXECUTE_COMPLETE", "conference"))
    played = [p for n, p in seq[:end] if n == "PLAYBACK_START"]
    if expect is None:
        assert played == []
    else:
        assert played[-1].endswith(expect)
        if profile == "prefixed":  # relative to the profile's sound-prefix
            assert played[-1].endswith("/en/us/callie/conference/conf-kicked.wav")
    room.close()


def test_mute_non_moderator_and_volume_limits_match_capture(make_sim, driver_for) -> None:
    room = Room(make_sim, driver_for, 3)
    mod, p1, p2 = room.ids
    assert room.api("mute non_moderator") == (
        f"+OK mute {p2}\n+OK mute {p1}\nSkipping moderator (member id {mod}).\n"
    )
    assert room.api("unmute non_moderator") == (
        f"+OK unmute {p2}\n+OK unmute {p1}\nSkipping moderator (member id {mod}).\n"
    )
    ups = [room.api(f"volume_out {p1} up") for _ in range(6)]
    assert ups == [f"+OK Volume OUT {p1} = {v}\n" for v in (1, 2, 3, 4, 4, 4)]
    downs = [room.api(f"volume_out {p1} down") for _ in range(10)]
    assert downs == [f"+OK Volume OUT {p1} = {v}\n" for v in (3, 2, 1, 0, -1, -2, -3, -4, -4, -4)]
    assert room.api(f"volume_out {p1}") == f"+OK Volume OUT {p1} = -4\n"
    assert room.api(f"volume_out {p1} 7") == f"+OK Volume OUT {p1} = 4\n"
    # One more on another member: once its event is here, every earlier one is too.
    assert room.api(f"volume_out {p2} 1") == f"+OK Volume OUT {p2} = 1\n"
    room.d.wait_for(
        lambda: any(e.get("Action") == "volume-out-member" and e.get("Member-ID") == str(p2)
                    for e in room.d.events), 5, "the last volume event")
    events = [
        e
        for e in room.d.events
        if e.get("Action") == "volume-out-member" and e.get("Member-ID") == str(p1)
    ]
    assert len(events) == 17  # every call with a value fires, also at the limit; not a query
    assert room.api(f"energy {p1}") == f"Energy {p1} = 100\n"
    room.close()


def test_play_to_one_member_reaches_only_its_own_socket(make_sim, driver_for) -> None:
    room = Room(make_sim, driver_for, 2)
    target, other = room.calls[1], room.calls[0]
    f = "conference/conf-welcome.wav"
    assert room.api(f"play {f} {room.ids[1]}") == (
        f"+OK (play) Playing file {f} to member {room.ids[1]}\n"
    )
    conn = room.conn_of(target)

    def actions(c: ControllerConn) -> list[str]:
        return [e.get("Action") or "" for e in c.events if e.subclass == "conference::maintenance"]

    conn.wait(lambda: "play-file-member-done" in actions(conn), 5, "play-file-member-done")
    mine = [e for e in conn.events if e.get("Action", "").startswith("play-file-member")]
    assert [e.get("Action") for e in mine] == ["play-file-member", "play-file-member-done"]
    assert all(e.uuid == target.b_uuid for e in mine)
    assert mine[0].get("File") == f
    assert not any(a.startswith("play-file") for a in actions(room.conn_of(other)))
    assert room.api(f"play {f} 999").startswith("-ERR Member: ")
    room.close()


def test_file_string_playback(make_sim, driver_for) -> None:
    out: dict[str, object] = {}
    done = gevent.event.Event()

    def script(conn: ControllerConn) -> None:
        conn.command("connect")
        conn.command("myevents")
        conn.command("event plain PLAYBACK_START PLAYBACK_STOP")
        conn.execute("answer")
        url = "file_string://conference/conf-pin.wav!conference/nosuch.wav!digits/1.wav"
        conn.execute("playback", url)
        ev = conn.wait_complete("playback")
        out["resp"] = ev.get("Application-Response")
        out["ms"] = ev.get("variable_playback_ms")
        out["path"] = [
            e.get("Playback-File-Path") for e in conn.events if e.name == "PLAYBACK_START"
        ]
        conn.execute("playback", "file_string://conference/nosuch.wav")
        out["missing"] = conn.wait_complete("playback").get("Application-Response")
        done.set()

    sim = make_sim(Controller(script))
    call = driver_for(sim).place_call("5000")
    assert done.wait(10)
    assert out["resp"] == "FILE PLAYED"
    assert out["ms"] == "1300"  # 1000 + 300 ms, the missing part skipped
    assert out["path"] == [
        "file_string://conference/conf-pin.wav!conference/nosuch.wav!digits/1.wav"
    ]
    assert out["missing"] == "FILE NOT FOUND"
    call.hangup()


def test_a_locked_room_refuses_inbound_legs_unless_they_waive_enforce_security(
    make_sim, driver_for
) -> None:
    """conference_function: `enforce_security` is the leg being inbound, overridden by
    switch_true(conference_enforce_security); a locked room refuses only when it holds."""
    waive = {"1001": "false", "1002": "no", "1003": "true"}

    def script(conn: ControllerConn) -> None:
        info = conn.command("connect")
        conn.command("myevents")
        conn.command("linger")
        conn.execute("answer")
        value = waive.get(info.get("Caller-Caller-ID-Number", ""))
        if value is not None:
            conn.execute("set", f"conference_enforce_security={value}")
        conn.execute("conference", "locked@fsconf", lock=False)
        conn.wait(lambda: any(f.content_type == "text/disconnect-notice" for f in conn.frames), 60)
        conn.send("exit")

    sim = make_sim(Controller(script))
    d = driver_for(sim)
    d.place_call("5000", caller_id_number="1000").wait_member(5)
    assert d.api("conference locked lock").startswith("+OK")
    for caller in ("1001", "1002"):
        d.place_call("5000", caller_id_number=caller).wait_member(5)
    for caller in ("1003", "1004"):  # "true", and no variable: refused
        refused = d.place_call("5000", caller_id_number=caller)
        d.wait_for(lambda c=refused: any("locked" in h for h in c.heard), 5, "locked sound")
        assert refused.member_id is None
    d.api("hupall")
