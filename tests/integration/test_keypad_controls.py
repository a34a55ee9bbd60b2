"""Every keypad control of SPEC.md, per role, through the simulator.

Each test asserts what FreeSWITCH reports afterwards (json_list: flags, volume, lock,
membership) and what the member heard.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from fsconf.config import Settings
from fsconf.sim import CalleeBehaviour
from fsconf.store.models import Attendance, DialOutAttempt, Meeting
from fsconf.store.session import Database
from tests.integration.conftest import Rig, make_rig, provision


def member(rig: Rig, p, call) -> dict:
    room = rig.conference(p)
    assert room is not None
    return next(m for m in room["members"] if m["uuid"] == call.b_uuid)


def attendance(rig: Rig, call) -> Attendance:
    with rig.db.unit_of_work() as s:
        return s.scalars(select(Attendance).where(Attendance.call_uuid == call.b_uuid)).one()


def eventually(rig: Rig, predicate, what: str, timeout: float = 5.0) -> None:
    rig.driver.wait_for(predicate, timeout, what)


def assert_state_agrees(rig: Rig, p) -> None:
    """The controller's own view (memory and database) matches FreeSWITCH's json_list."""
    fs = rig.conference(p)
    room = rig.controller.ctx.rooms.get(f"fsconf-{p.conference_number}")
    assert fs is not None and room is not None
    for m in fs["members"]:
        mine = room.members[m["id"]]
        assert mine.muted == (not m["flags"]["can_speak"]), m
        assert mine.volume_out == m["volume_out"], m
        assert mine.role.value == ("moderator" if m["flags"]["is_moderator"] else "participant")
    with rig.db.unit_of_work() as s:
        meeting = s.get(Meeting, room.meeting_id)
        assert meeting.locked == fs["locked"] == room.locked
        assert meeting.muted_all == room.muted_all


def test_hash_plays_help_for_the_callers_role(rig: Rig) -> None:
    p = provision(rig.db)
    mod = rig.join(p, p.moderator_pin)
    part = rig.join(p, p.participant_pin, caller="0611000001")
    part.send_dtmf("#")
    part.wait_prompt("help-participant")
    mod.send_dtmf("#")
    mod.wait_prompt("help-participant")
    mod.wait_prompt("help-moderator")
    assert not any("help-moderator" in h for h in part.heard)


def test_star1_mutes_and_unmutes_yourself(rig: Rig) -> None:
    p = provision(rig.db)
    call = rig.join(p, p.participant_pin)
    call.send_dtmf("*1")
    call.wait_prompt("/muted.wav")
    assert member(rig, p, call)["flags"]["can_speak"] is False
    call.send_dtmf("*1")
    call.wait_prompt("/unmuted.wav")
    assert member(rig, p, call)["flags"]["can_speak"] is True
    assert_state_agrees(rig, p)


def test_moderator_star1_waits_for_the_inter_digit_timeout(rig: Rig) -> None:
    p = provision(rig.db)
    mod = rig.join(p, p.moderator_pin)
    mod.send_dtmf("*1")  # could become *10 / *11: runs after the 0.3 s timeout
    mod.wait_prompt("/muted.wav")
    assert member(rig, p, mod)["flags"]["can_speak"] is False
    mod.send_dtmf("*1#")  # '#' makes it run at once
    mod.wait_prompt("/unmuted.wav")
    assert member(rig, p, mod)["flags"]["can_speak"] is True


def test_star2_turns_off_join_announcements_for_yourself_only(rig: Rig) -> None:
    p = provision(rig.db)
    quiet = rig.join(p, p.moderator_pin)
    loud = rig.join(p, p.participant_pin, caller="0611000002")
    quiet.wait_prompt("has-joined")  # announcements are on by default
    quiet.send_dtmf("*2#")
    quiet.wait_prompt("announcements-off")
    heard_before = len(quiet.heard)
    rig.join(p, p.participant_pin, caller="0611000003")
    loud.wait_prompt("has-joined")
    assert not any("has-joined" in h for h in quiet.heard[heard_before:])


def test_star3_roll_call_marks_the_moderator_and_is_private(rig: Rig) -> None:
    p = provision(rig.db)
    mod = rig.join(p, p.moderator_pin)
    part = rig.join(p, p.participant_pin, caller="0611000004")
    part.send_dtmf("*3")
    part.wait_prompt("roll-call")
    part.wait_prompt("moderator-marker")
    assert not any("roll-call" in h for h in mod.heard)


def test_star7_and_star9_change_your_listening_volume_within_range(rig: Rig) -> None:
    p = provision(rig.db)
    call = rig.join(p, p.participant_pin)
    call.send_dtmf("*9")
    call.wait_prompt("volume-up")
    assert member(rig, p, call)["volume_out"] == 1
    for _ in range(6):
        call.send_dtmf("*7")
    call.wait_prompt("volume-min")
    assert member(rig, p, call)["volume_out"] == -4
    assert_state_agrees(rig, p)


def test_participant_keying_a_moderator_control_hears_moderator_only(rig: Rig) -> None:
    p = provision(rig.db)
    rig.join(p, p.moderator_pin)
    part = rig.join(p, p.participant_pin, caller="0611000005")
    part.send_dtmf("*8")
    part.wait_prompt("moderator-only")
    part.send_dtmf("*0")  # unused key (*5 is the raised hand since issue 22)
    part.wait_prompt("invalid-option")


def test_star21_locks_out_new_participants_and_star20_unlocks(rig: Rig) -> None:
    p = provision(rig.db)
    mod = rig.join(p, p.moderator_pin)
    mod.send_dtmf("*21")
    mod.wait_prompt("conference-now-locked")
    assert rig.conference(p)["locked"] is True
    assert_state_agrees(rig, p)
    late = rig.call(p.access_number, caller="0611000006")
    late.wait_prompt("enter-conference-number")
    late.send_dtmf(p.conference_number + "#")
    late.wait_prompt("enter-pin")
    late.send_dtmf(p.participant_pin + "#")
    late.wait_prompt("conference-locked")
    late.wait_hangup()
    mod.send_dtmf("*20")
    mod.wait_prompt("conference-now-unlocked")
    assert rig.conference(p)["locked"] is False
    rig.join(p, p.participant_pin, caller="0611000007")


def test_star11_mutes_all_participants_and_late_joiners_join_muted(rig: Rig) -> None:
    p = provision(rig.db)
    mod = rig.join(p, p.moderator_pin)
    early = rig.join(p, p.participant_pin, caller="0611000008")
    mod.send_dtmf("*11")
    mod.wait_prompt("all-muted")
    assert member(rig, p, early)["flags"]["can_speak"] is False
    assert member(rig, p, mod)["flags"]["can_speak"] is True
    late = rig.join(p, p.participant_pin, caller="0611000009")
    assert member(rig, p, late)["flags"]["can_speak"] is False
    assert_state_agrees(rig, p)
    mod.send_dtmf("*10")
    mod.wait_prompt("all-unmuted")
    assert member(rig, p, early)["flags"]["can_speak"] is True
    assert member(rig, p, late)["flags"]["can_speak"] is True


def test_star31_removes_the_last_participant_never_the_moderator(rig: Rig) -> None:
    p = provision(rig.db)
    first = rig.join(p, p.participant_pin, caller="0611000010")
    second = rig.join(p, p.participant_pin, caller="0611000011")
    mod = rig.join(p, p.moderator_pin)  # the moderator is the last joiner
    mod.send_dtmf("*31")
    mod.wait_prompt("participant-removed")
    second.wait_prompt("you-were-removed")
    second.wait_hangup()
    eventually(rig, lambda: attendance(rig, second).end_reason == "kicked", "kick recorded")
    uuids = {m["uuid"] for m in rig.conference(p)["members"]}
    assert uuids == {first.b_uuid, mod.b_uuid}
    mod.send_dtmf("*31")
    first.wait_hangup()
    mod.send_dtmf("*31")
    mod.wait_prompt("nobody-to-remove")
    assert [m["uuid"] for m in rig.conference(p)["members"]] == [mod.b_uuid]


def test_star30_ends_the_meeting_for_everyone(rig: Rig) -> None:
    p = provision(rig.db)
    mod = rig.join(p, p.moderator_pin)
    parts = [rig.join(p, p.participant_pin, caller=f"06110001{i:02d}") for i in range(2)]
    mod.send_dtmf("*30")
    for call in [mod, *parts]:
        call.wait_prompt("meeting-ended")
        call.wait_hangup()
    eventually(rig, lambda: rig.conference(p) is None, "conference gone")
    eventually(
        rig, lambda: all(attendance(rig, c).end_reason == "ended_by_moderator"
                         for c in [mod, *parts]), "rows closed")
    with rig.db.unit_of_work() as s:
        meeting = s.get(Meeting, attendance(rig, mod).meeting_id)
        assert meeting.ended_at is not None and meeting.end_reason == "ended_by_moderator"
        assert meeting.peak_size == 3


# -- *8 invitations ---------------------------------------------------------------------------

GOOD_MOBILE, BUSY_MOBILE, SILENT_MOBILE = "0612340001", "0612340002", "0612340003"


@pytest.fixture
def dial_rig(settings: Settings, db: Database) -> Iterator[Rig]:
    callees = {
        # Presses 1 on hearing "press 1 to join", as a person does: a press timed from the
        # answer can miss the prompt when the controller is slow to start it.
        GOOD_MOBILE: CalleeBehaviour(action="answer", answer_after_s=1.0, digits="1",
                                     digits_after_prompt="invite-press-one", digits_delay_s=0.2),
        BUSY_MOBILE: CalleeBehaviour(action="busy"),
        SILENT_MOBILE: CalleeBehaviour(action="no_answer", ring_s=5.0),
    }
    yield from make_rig(settings, db, callees=callees)


def attempts(rig: Rig, conference_id: int) -> list[DialOutAttempt]:
    with rig.db.unit_of_work() as s:
        query = select(DialOutAttempt).where(DialOutAttempt.conference_id == conference_id)
        return list(s.scalars(query.order_by(DialOutAttempt.id)))


def test_star8_invites_a_callee_who_accepts_and_joins(dial_rig: Rig) -> None:
    rig = dial_rig
    p = provision(rig.db)
    mod = rig.join(p, p.moderator_pin)
    mod.send_dtmf(f"*8{GOOD_MOBILE}#")
    mod.wait_prompt("invite-calling")
    mod.wait_prompt("invite-joined", timeout=15)
    room = rig.conference(p)
    assert len(room["members"]) == 2
    assert attempts(rig, p.conference_id)[-1].result == "answered"


def test_star8_to_a_premium_number_is_refused_and_recorded(dial_rig: Rig) -> None:
    rig = dial_rig
    p = provision(rig.db)
    mod = rig.join(p, p.moderator_pin)
    mod.send_dtmf("*809001234567#")
    mod.wait_prompt("invite-refused")
    assert attempts(rig, p.conference_id)[-1].result == "refused_denied_pattern"
    assert len(rig.conference(p)["members"]) == 1


@pytest.mark.parametrize(("number", "result"), [(BUSY_MOBILE, "busy"),
                                                (SILENT_MOBILE, "no_answer")])
def test_star8_busy_or_unanswered_is_reported_to_the_moderator(
    dial_rig: Rig, number: str, result: str
) -> None:
    rig = dial_rig
    p = provision(rig.db)
    mod = rig.join(p, p.moderator_pin)
    mod.send_dtmf(f"*8{number}#")
    mod.wait_prompt("invite-calling")
    mod.wait_prompt("invite-not-answered", timeout=15)
    eventually(rig, lambda: attempts(rig, p.conference_id)[-1].result == result, "result saved")


def test_invitee_may_pass_a_lock(dial_rig: Rig) -> None:
    rig = dial_rig
    p = provision(rig.db)
    mod = rig.join(p, p.moderator_pin)
    mod.send_dtmf("*21")
    mod.wait_prompt("conference-now-locked")
    mod.send_dtmf(f"*8{GOOD_MOBILE}#")
    mod.wait_prompt("invite-joined", timeout=15)
    assert len(rig.conference(p)["members"]) == 2 and rig.conference(p)["locked"] is True


def test_invitee_never_passes_the_maximum(dial_rig: Rig) -> None:
    rig = dial_rig
    p = provision(rig.db, max_participants=1)
    mod = rig.join(p, p.moderator_pin)
    rig.join(p, p.participant_pin, caller="0611000020")
    mod.send_dtmf(f"*8{GOOD_MOBILE}#")
    mod.wait_prompt("conference-full", timeout=15)
    assert len(rig.conference(p)["members"]) == 2
    eventually(rig, lambda: attempts(rig, p.conference_id)[-1].result == "full", "result saved")


def test_moderator_who_drops_out_gets_back_into_the_meeting_they_locked(rig: Rig) -> None:
    p = provision(rig.db)
    mod = rig.join(p, p.moderator_pin, caller="0611000031")
    rig.join(p, p.participant_pin, caller="0611000032")
    mod.send_dtmf("*21")
    mod.wait_prompt("conference-now-locked")
    mod.hangup()
    mod.wait_hangup()
    rig.driver.wait_for(lambda: len(rig.conference(p)["members"]) == 1, 5, "moderator gone")
    back = rig.join(p, p.moderator_pin, caller="0611000031")  # SPEC: the chair gets back in
    assert not any("conference-locked" in h for h in back.heard)
    room = rig.conference(p)
    assert room["locked"] is True and len(room["members"]) == 2
    assert member(rig, p, back)["flags"]["is_moderator"] is True


def test_participant_of_a_locked_meeting_is_refused_right_after_the_pin(rig: Rig) -> None:
    p = provision(rig.db)
    mod = rig.join(p, p.moderator_pin, caller="0611000033")
    mod.send_dtmf("*21")
    mod.wait_prompt("conference-now-locked")
    late = rig.call(p.access_number, caller="0611000034")
    late.wait_prompt("enter-conference-number")
    late.send_dtmf(p.conference_number + "#")
    late.wait_prompt("enter-pin")
    late.send_dtmf(p.participant_pin + "#")
    late.wait_prompt("conference-locked")
    late.wait_hangup()
    assert not any("record-name" in h for h in late.heard)  # no name recorded for nothing
    assert len(rig.conference(p)["members"]) == 1
