"""Issue 22 through the simulator: *6 count, *5 hands and floor, *4 recording and its
announcement, wait for the chair, end with the chair (and its grace period).

Each test asserts what a caller notices (prompts heard, hang-ups), what FreeSWITCH
reports (json_list: wait_mod, recording, can_speak) and the rows operators read.
"""

from __future__ import annotations

import os

from sqlalchemy import select, update

from fsconf.store.models import Attendance, Conference, Meeting, Recording
from tests.integration.conftest import Rig, provision


def configure(rig: Rig, p, **values: object) -> None:
    with rig.db.unit_of_work() as s:
        s.execute(update(Conference).where(Conference.id == p.conference_id).values(**values))


def member(rig: Rig, p, call) -> dict:
    room = rig.conference(p)
    assert room is not None
    return next(m for m in room["members"] if m.get("uuid") == call.b_uuid)


def attendance(rig: Rig, call) -> Attendance:
    with rig.db.unit_of_work() as s:
        return s.scalars(select(Attendance).where(Attendance.call_uuid == call.b_uuid)).one()


def eventually(rig: Rig, predicate, what: str, timeout: float = 5.0) -> None:
    rig.driver.wait_for(predicate, timeout, what)


def join_waiting(rig: Rig, p, caller: str):
    """A participant who arrives before the moderator: told, then held in the room."""
    call = rig.call(p.access_number, caller=caller)
    call.wait_prompt("enter-conference-number")
    call.send_dtmf(p.conference_number + "#")
    call.wait_prompt("enter-pin")
    call.send_dtmf(p.participant_pin + "#")
    call.wait_prompt("tone")
    call.send_dtmf("#")
    call.wait_prompt("waiting-for-moderator")
    call.wait_member()
    return call


# --- *6 ---------------------------------------------------------------------------------


def test_star6_without_a_moderator_says_one_participant_and_no_moderator(rig: Rig) -> None:
    p = provision(rig.db)
    part = rig.join(p, p.participant_pin)
    part.send_dtmf("*6")
    part.wait_prompt("one-participant-present")
    part.wait_prompt("moderator-not-present")


def test_star6_counts_participants_in_words_and_the_moderator_apart(rig: Rig) -> None:
    p = provision(rig.db, language="en")
    mod = rig.join(p, p.moderator_pin)
    for n in range(3):
        rig.join(p, p.participant_pin, caller=f"061100010{n}")
    mod.send_dtmf("*6")
    mod.wait_prompt("participants-present-before")
    mod.wait_prompt("digits/3.wav")
    mod.wait_prompt("participants-present-after")
    mod.wait_prompt("/moderator-present")


# --- *5 ---------------------------------------------------------------------------------


def test_hands_get_the_floor_in_order_while_mute_all_is_on(rig: Rig) -> None:
    p = provision(rig.db)
    mod = rig.join(p, p.moderator_pin)
    anna = rig.join(p, p.participant_pin, caller="0611000201")
    bram = rig.join(p, p.participant_pin, caller="0611000202")
    mod.send_dtmf("*11")
    mod.wait_prompt("all-muted")
    eventually(rig, lambda: not member(rig, p, anna)["flags"]["can_speak"], "anna muted")
    bram.send_dtmf("*5")
    bram.wait_prompt("hand-raised")
    mod.wait_prompt("/raised-hand.wav")  # the moderator hears who raised it
    anna.send_dtmf("*5")
    anna.wait_prompt("hand-raised")
    mod.wait_prompt("/raised-hand.wav")
    first, second = attendance(rig, bram), attendance(rig, anna)
    assert first.hand_raised_at is not None and second.hand_raised_at is not None
    assert first.hand_raised_at <= second.hand_raised_at

    mod.send_dtmf("*5")  # Bram raised first
    bram.wait_prompt("you-have-the-floor")
    mod.wait_prompt("floor-given")
    eventually(rig, lambda: member(rig, p, bram)["flags"]["can_speak"], "bram unmuted")
    assert member(rig, p, anna)["flags"]["can_speak"] is False
    assert attendance(rig, bram).hand_raised_at is None

    mod.send_dtmf("*5")
    anna.wait_prompt("you-have-the-floor")
    eventually(rig, lambda: member(rig, p, anna)["flags"]["can_speak"], "anna unmuted")
    mod.send_dtmf("*5")
    mod.wait_prompt("no-raised-hands")


def test_participant_lowers_a_raised_hand(rig: Rig) -> None:
    p = provision(rig.db)
    mod = rig.join(p, p.moderator_pin)
    part = rig.join(p, p.participant_pin, caller="0611000211")
    part.send_dtmf("*5")
    part.wait_prompt("hand-raised")
    part.send_dtmf("*5")
    part.wait_prompt("hand-lowered")
    eventually(rig, lambda: attendance(rig, part).hand_raised_at is None, "hand lowered in db")
    mod.send_dtmf("*5")
    mod.wait_prompt("no-raised-hands")


# --- *4 ---------------------------------------------------------------------------------


def test_star4_records_announces_to_everyone_and_to_a_late_joiner(rig: Rig) -> None:
    p = provision(rig.db)
    mod = rig.join(p, p.moderator_pin)
    part = rig.join(p, p.participant_pin, caller="0611000301")
    mod.send_dtmf("*4")
    mod.wait_prompt("meeting-recorded")
    part.wait_prompt("meeting-recorded")
    eventually(rig, lambda: rig.conference(p)["recording"] is True, "recording in json_list")

    late = rig.call(p.access_number, caller="0611000302")
    late.wait_prompt("enter-conference-number")
    late.send_dtmf(p.conference_number + "#")
    late.wait_prompt("enter-pin")
    late.send_dtmf(p.participant_pin + "#")
    late.wait_prompt("tone")
    late.send_dtmf("#")
    late.wait_prompt("meeting-recorded")  # before entering: they may still hang up
    late.wait_member()

    mod.send_dtmf("*4")
    mod.wait_prompt("recording-stopped")
    late.wait_prompt("recording-stopped")
    eventually(rig, lambda: rig.conference(p)["recording"] is False, "recording stopped")
    chair = attendance(rig, mod).id
    with rig.db.unit_of_work() as s:
        rec = s.scalars(select(Recording).where(Recording.conference_id == p.conference_id)).one()
        assert rec.ended_at is not None
        assert rec.path.startswith(rig.settings.freeswitch.recordings_dir)
        assert rec.started_by_attendance_id == chair
        path = rec.path
    eventually(rig, lambda: os.path.exists(path), "the recorded file")


def test_star4_is_for_the_moderator_and_refused_where_not_allowed(rig: Rig) -> None:
    p = provision(rig.db)
    configure(rig, p, recording_allowed=False)
    mod = rig.join(p, p.moderator_pin)
    part = rig.join(p, p.participant_pin, caller="0611000311")
    part.send_dtmf("*4")
    part.wait_prompt("moderator-only")
    mod.send_dtmf("*4")
    mod.wait_prompt("recording-not-allowed")
    assert rig.conference(p)["recording"] is False


def test_a_meeting_that_ends_while_recording_closes_its_recording(rig: Rig) -> None:
    p = provision(rig.db)
    mod = rig.join(p, p.moderator_pin)
    mod.send_dtmf("*4")
    mod.wait_prompt("meeting-recorded")
    mod.hangup()
    mod.wait_hangup()

    def closed() -> bool:
        with rig.db.unit_of_work() as s:
            rec = s.scalars(
                select(Recording).where(Recording.conference_id == p.conference_id)
            ).one()
            return rec.ended_at is not None

    eventually(rig, closed, "the recording closed with the meeting")


# --- wait for the chair --------------------------------------------------------------------


def test_waiting_callers_are_held_then_let_in_when_the_chair_arrives(rig: Rig) -> None:
    p = provision(rig.db)
    configure(rig, p, wait_for_moderator=True)
    anna = join_waiting(rig, p, "0611000401")
    bram = join_waiting(rig, p, "0611000402")
    room = rig.conference(p)
    assert room["wait_mod"] is True  # mod_conference's own flag, from anna's join
    assert member(rig, p, anna)["flags"]["can_speak"] is False
    assert member(rig, p, bram)["flags"]["can_speak"] is False
    anna.send_dtmf("*1")
    anna.wait_prompt("still-waiting")
    assert member(rig, p, anna)["flags"]["can_speak"] is False

    mod = rig.join(p, p.moderator_pin)
    anna.wait_prompt("moderator-arrived")
    bram.wait_prompt("moderator-arrived")
    eventually(rig, lambda: rig.conference(p)["wait_mod"] is False, "wait_mod cleared")
    eventually(rig, lambda: member(rig, p, anna)["flags"]["can_speak"], "anna heard")
    eventually(rig, lambda: member(rig, p, bram)["flags"]["can_speak"], "bram heard")
    eventually(rig, lambda: attendance(rig, anna).waited_seconds is not None, "waited row")
    assert not any("waiting-for-moderator" in h for h in mod.heard)

    late = rig.join(p, p.participant_pin, caller="0611000403")  # the chair is here: no wait
    assert not any("waiting-for-moderator" in h for h in late.heard)


def test_a_waiting_caller_who_hangs_up_has_their_wait_recorded(rig: Rig) -> None:
    p = provision(rig.db)
    configure(rig, p, wait_for_moderator=True)
    anna = join_waiting(rig, p, "0611000411")
    anna.hangup()
    anna.wait_hangup()
    # the wait and the row's end are two writes: wait for both
    eventually(rig, lambda: attendance(rig, anna).end_reason == "hung_up", "row closed")
    eventually(rig, lambda: attendance(rig, anna).waited_seconds is not None, "waited row")


# --- end with the chair -----------------------------------------------------------------------


def test_meeting_ends_with_the_moderator_after_the_grace_period(rig: Rig) -> None:
    p = provision(rig.db)
    configure(rig, p, end_with_moderator=True, moderator_grace_seconds=0)
    mod = rig.join(p, p.moderator_pin)
    anna = rig.join(p, p.participant_pin, caller="0611000501")
    bram = rig.join(p, p.participant_pin, caller="0611000502")
    mod.hangup()
    anna.wait_prompt("meeting-ended")
    bram.wait_prompt("meeting-ended")
    anna.wait_hangup()
    bram.wait_hangup()
    eventually(rig, lambda: attendance(rig, anna).end_reason == "ended_with_moderator", "row")
    assert attendance(rig, mod).end_reason == "hung_up"

    def meeting_closed() -> bool:
        with rig.db.unit_of_work() as s:
            meeting = s.get(Meeting, attendance(rig, anna).meeting_id)
            return meeting.end_reason == "ended_with_moderator" and meeting.ended_at is not None

    eventually(rig, meeting_closed, "meeting ended_with_moderator")


def test_a_moderator_back_within_the_grace_period_keeps_the_meeting(rig: Rig) -> None:
    p = provision(rig.db)
    configure(rig, p, end_with_moderator=True, moderator_grace_seconds=60)
    mod = rig.join(p, p.moderator_pin)
    anna = rig.join(p, p.participant_pin, caller="0611000511")
    room = rig.controller.ctx.rooms.get(f"fsconf-{p.conference_number}")
    assert room is not None
    mod.hangup()
    mod.wait_hangup()
    eventually(rig, lambda: room.end_timer is not None, "the grace period to start")
    back = rig.join(p, p.moderator_pin, caller="0612345678")
    eventually(rig, lambda: room.end_timer is None, "the grace period called off")
    assert not room.ending
    assert member(rig, p, anna)["flags"]["can_speak"] is True
    assert member(rig, p, back)["flags"]["is_moderator"] is True
    assert not any("meeting-ended" in h for h in anna.heard)


def test_without_the_setting_the_meeting_outlives_its_moderator(rig: Rig) -> None:
    p = provision(rig.db)
    mod = rig.join(p, p.moderator_pin)
    anna = rig.join(p, p.participant_pin, caller="0611000521")
    room = rig.controller.ctx.rooms.get(f"fsconf-{p.conference_number}")
    mod.hangup()
    mod.wait_hangup()
    eventually(rig, lambda: len(rig.conference(p)["members"]) == 1, "moderator gone")
    assert room is not None and room.end_timer is None and not room.ending
    assert member(rig, p, anna)["flags"]["can_speak"] is True


def test_live_view_lists_raised_hands_longest_first_and_the_recording(rig: Rig) -> None:
    from fsconf.conference import live

    p = provision(rig.db)
    mod = rig.join(p, p.moderator_pin)
    anna = rig.join(p, p.participant_pin, caller="0611000601")
    bram = rig.join(p, p.participant_pin, caller="0611000602")
    bram.send_dtmf("*5")
    bram.wait_prompt("hand-raised")
    anna.send_dtmf("*5")
    anna.wait_prompt("hand-raised")
    mod.send_dtmf("*4")
    mod.wait_prompt("meeting-recorded")
    with rig.db.unit_of_work() as s:
        [meeting] = live.live_meetings(s, rig.driver.api, conference_number=p.conference_number)
    assert meeting.raised_hands == [bram.member_id, anna.member_id]
    assert meeting.recording is True and meeting.waiting_for_moderator is False
    assert len(meeting.members) == 3  # the recording node is no member
