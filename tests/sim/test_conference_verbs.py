"""Every member verb of the `conference` API answers a missing or unknown target the same
way (one body, mod_conference's usage line per verb)."""

from __future__ import annotations

import pytest

TARGET = "<[member_id|all]|last|non_moderator>"
USAGE = {
    "mute": f"mute {TARGET} [<quiet>]",
    "unmute": f"unmute {TARGET} [<quiet>]",
    "tmute": f"tmute {TARGET} [<quiet>]",
    "deaf": f"deaf {TARGET}",
    "undeaf": f"undeaf {TARGET}",
    "kick": f"kick {TARGET} [<optional sound file>]",
    "hup": f"hup {TARGET}",
    "volume_in": f"volume_in {TARGET} [<newval>]",
    "volume_out": f"volume_out {TARGET} [<newval>]",
    "energy": f"energy {TARGET} [<newval>]",
    "get-uuid": "get-uuid <member_id>",
}


@pytest.fixture
def room(make_sim, driver_for):
    sim = make_sim()
    d = driver_for(sim)
    reply = d.api("originate loopback/1/fsconf_test &conference(verbs@fsconf)")
    assert reply.startswith("+OK "), reply
    a_leg = reply[4:].strip()

    def joined() -> str | None:
        for e in d.events:
            if e.get("Action") == "add-member" and e.uuid == a_leg:
                return e.get("Member-ID")
        return None

    d.wait_for(lambda: joined() is not None, 5, "the a-leg to join the room")
    yield d, a_leg, joined()
    d.api(f"uuid_kill {a_leg}")


@pytest.mark.parametrize("verb", sorted(USAGE))
def test_member_verb_without_target_answers_its_usage(room, verb: str) -> None:
    d, _, _ = room
    assert d.api(f"conference verbs {verb}") == USAGE[verb]


@pytest.mark.parametrize("verb", sorted(USAGE))
def test_member_verb_on_unknown_member_says_so(room, verb: str) -> None:
    d, _, _ = room
    assert d.api(f"conference verbs {verb} 99") == "-ERR Non-Existant ID 99\n"


def test_get_uuid_names_the_members_channel(room) -> None:
    d, a_leg, member_id = room
    assert d.api(f"conference verbs get-uuid {member_id}") == a_leg
    assert d.api("conference verbs frobnicate 1") == (
        "-ERR Conference command 'frobnicate' not found.\n"
    )


# --- issue 22: recording and wait-mod, as conference_api.c / conference_record.c do them --


def test_recording_start_check_stop_replies_events_and_file(room, tmp_path) -> None:
    d, _, _ = room
    path = str(tmp_path / "rec" / "meeting.wav")  # the folder is made, as FreeSWITCH does
    assert d.api("conference verbs recording check") == (
        "-ERR Conference is not being recorded.\n"
    )
    assert d.api(f"conference verbs recording start {path}") == f"+OK Record file {path}\n"
    assert d.api(f"conference verbs recording start {path}") == (
        f"-ERR file [{path}] is already being used for recording.\n"
    )
    assert d.api("conference verbs recording check") == f"+OK Record file {path}\n"
    room_json = d.conference_json("verbs")[0]
    assert room_json["recording"] is True
    nodes = [m for m in room_json["members"] if m["type"] == "recording_node"]
    assert [n["record_path"] for n in nodes] == [path]
    assert room_json["member_count"] == 1  # the recording node is no caller
    assert d.api("conference verbs recording stop") == (
        f"Stopped recording file {path}\n+OK Stopped recording 1 file\n"
    )
    d.wait_for(
        lambda: any(e.get("Action") == "stop-recording" and e.get("Path") == path
                    for e in d.events),
        5, "the record thread's stop-recording",
    )
    starts = [e for e in d.events if e.get("Action") == "start-recording"]
    assert starts and starts[0].get("Path") == path and starts[0].uuid is None
    stops = [e.get("Path") for e in d.events if e.get("Action") == "stop-recording"]
    assert stops[0] == "all"  # from the API, before the thread's own
    assert d.conference_json("verbs")[0]["recording"] is False
    assert (tmp_path / "rec" / "meeting.wav").exists()
    assert d.api("conference verbs recording stop /nope.wav") == (
        "-ERR non-existant recording '/nope.wav'\n+OK Stopped recording 0 files\n"
    )


def test_wait_mod_is_set_by_the_creating_join_and_cleared_by_the_first_moderator(
    make_sim, driver_for
) -> None:
    sim = make_sim()
    d = driver_for(sim)
    first = d.api("originate loopback/1/fsconf_test &conference(held@fsconf+flags{mute|wait-mod})")
    assert first.startswith("+OK ")
    d.wait_for(lambda: d.conference_json("held") is not None, 5, "the room")
    assert d.conference_json("held")[0]["wait_mod"] is True
    assert d.api("conference held get wait_mod") == "true"
    chair = d.api("originate loopback/1/fsconf_test &conference(held@fsconf+flags{moderator})")
    assert chair.startswith("+OK ")
    d.wait_for(
        lambda: len(d.conference_json("held")[0]["members"]) == 2, 5, "the moderator"
    )
    assert d.conference_json("held")[0]["wait_mod"] is False
    # an empty api answer reaches a client as mod_event_socket says it: "-ERR no reply"
    assert d.api("conference held get wait_mod") == "-ERR no reply\n"
    for leg in (first, chair):
        d.api(f"uuid_kill {leg[4:].strip()}")
