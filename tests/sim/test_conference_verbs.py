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
