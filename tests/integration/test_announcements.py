"""Who hears a new caller announced: every other member, except those who pressed *2.

mod_conference has no room-wide play that spares a member (a `conference <room> play
<file>` reaches every member who can hear, the new caller included: see
docs/join-announcements.md), so the announcement is one play per listener. These tests
pin what each member hears, so a cheaper mechanism cannot quietly change it.
"""

from __future__ import annotations

from tests.integration.conftest import Rig, provision


def _announced(heard: list[str], newcomer_uuid: str) -> list[str]:
    """The announcement entries among `heard`: the newcomer's name (or the stand-in for
    an unnamed caller) and "has joined"."""
    return [
        h for h in heard
        if newcomer_uuid in h or "unnamed-caller" in h or "has-joined" in h
    ]


def test_a_join_is_announced_to_the_others_but_not_to_who_opted_out_nor_the_newcomer(
    rig: Rig,
) -> None:
    p = provision(rig.db)
    quiet = rig.join(p, p.moderator_pin)
    loud = rig.join(p, p.participant_pin, caller="0611000002")
    also_loud = rig.join(p, p.participant_pin, caller="0611000005")
    quiet.send_dtmf("*2#")
    quiet.wait_prompt("announcements-off")
    before = {id(c): len(c.heard) for c in (quiet, loud, also_loud)}

    newcomer = rig.join(p, p.participant_pin, caller="0611000003")
    # The newcomer's own key press is answered on its socket after its announcement
    # commands (one pipelined write), so once it is heard every play has been issued.
    newcomer.send_dtmf("*9")
    newcomer.wait_prompt("volume-up")

    for listener in (loud, also_loud):
        listener.wait_prompt("has-joined")
        got = _announced(listener.heard[before[id(listener)]:], newcomer.b_uuid)
        assert len(got) == 2 and got[1].endswith("has-joined.wav"), got
        assert newcomer.b_uuid in got[0] or "unnamed-caller" in got[0]
    assert _announced(quiet.heard[before[id(quiet)]:], newcomer.b_uuid) == []
    assert _announced(newcomer.heard, newcomer.b_uuid) == []
