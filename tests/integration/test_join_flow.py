"""The join flow of SPEC.md through the simulator, asserted as a caller would notice it."""

from __future__ import annotations

import gevent
from sqlalchemy import event, select

from fsconf.store.models import Attendance, Meeting
from tests.integration.conftest import Rig, provision


def _attendance(rig: Rig, call_uuid: str) -> Attendance:
    with rig.db.unit_of_work() as s:
        return s.scalars(select(Attendance).where(Attendance.call_uuid == call_uuid)).one()


def _members(rig: Rig, p) -> list[dict]:
    room = rig.conference(p)
    return room["members"] if room else []


def test_moderator_joins_with_moderator_flag(rig: Rig) -> None:
    p = provision(rig.db)
    call = rig.join(p, p.moderator_pin)
    members = _members(rig, p)
    assert len(members) == 1
    assert members[0]["flags"]["is_moderator"] is True
    row = _attendance(rig, call.b_uuid)
    assert row.role == "moderator" and row.joined_at is not None and row.meeting_id
    assert "welcome" in call.heard[0]
    assert any("you-are-first" in h for h in call.heard)


def test_participant_hears_count_and_joins_without_moderator_flag(rig: Rig) -> None:
    p = provision(rig.db)
    rig.join(p, p.moderator_pin)
    second = rig.join(p, p.participant_pin, caller="0687654321")
    assert any("one-participant-present" in h for h in second.heard)
    flags = {m["uuid"]: m["flags"] for m in _members(rig, p)}
    assert flags[second.b_uuid]["is_moderator"] is False
    assert _attendance(rig, second.b_uuid).role == "participant"


def test_last_leaver_closes_the_meeting(rig: Rig) -> None:
    p = provision(rig.db)
    call = rig.join(p, p.moderator_pin)
    call.hangup()
    call.wait_hangup()
    rig.driver.wait_for(lambda: _attendance(rig, call.b_uuid).left_at is not None, 5,
                        "attendance closed")
    row = _attendance(rig, call.b_uuid)
    assert row.end_reason == "hung_up"
    with rig.db.unit_of_work() as s:
        meeting = s.get(Meeting, row.meeting_id)
        assert meeting.ended_at is not None and meeting.peak_size == 1


def _ended(rig: Rig, call, reason: str) -> Attendance:
    call.wait_hangup()
    rig.driver.wait_for(lambda: _attendance(rig, call.b_uuid).end_reason is not None, 5,
                        f"attendance of {call.b_uuid} closed")
    row = _attendance(rig, call.b_uuid)
    assert row.end_reason == reason, row.end_reason
    assert row.left_at is not None
    return row


def test_unknown_access_number_is_told_and_hung_up(rig: Rig) -> None:
    call = rig.call("0999999999")
    call.wait_prompt("unknown-access-number")
    call.wait_prompt("goodbye")
    _ended(rig, call, "rejected_unknown_access_number")


def test_unknown_conference_number_asked_again_then_goodbye_after_three(rig: Rig) -> None:
    p = provision(rig.db)
    call = rig.call(p.access_number, caller="0611111111")
    for _ in range(3):
        call.wait_prompt("enter-conference-number")
        call.send_dtmf("999999#")
        call.wait_prompt("unknown-conference")
    call.wait_prompt("goodbye")
    _ended(rig, call, "rejected_bad_number")
    from fsconf.store.models import PinFailure

    with rig.db.unit_of_work() as s:
        kinds = s.scalars(select(PinFailure.kind).where(PinFailure.call_uuid == call.b_uuid)).all()
    assert kinds == ["conference_number"] * 3


def test_wrong_pin_three_times_hangs_up_and_records_failures(rig: Rig) -> None:
    p = provision(rig.db)
    call = rig.call(p.access_number, caller="0622222222")
    call.wait_prompt("enter-conference-number")
    call.send_dtmf(p.conference_number + "#")
    for _ in range(3):
        call.wait_prompt("enter-pin")
        call.send_dtmf("9999#")
        call.wait_prompt("wrong-pin")
    call.wait_prompt("goodbye")
    _ended(rig, call, "rejected_bad_pin")
    from fsconf.store.models import PinFailure

    with rig.db.unit_of_work() as s:
        rows = s.scalars(select(PinFailure).where(PinFailure.call_uuid == call.b_uuid)).all()
    assert [(r.kind, r.conference_id) for r in rows] == [("pin", p.conference_id)] * 3


def test_second_try_with_right_pin_gets_in(rig: Rig) -> None:
    p = provision(rig.db)
    call = rig.call(p.access_number)
    call.wait_prompt("enter-conference-number")
    call.send_dtmf(p.conference_number + "#")
    call.wait_prompt("enter-pin")
    call.send_dtmf("5555#")
    call.wait_prompt("wrong-pin")
    call.wait_prompt("enter-pin")
    call.send_dtmf(p.participant_pin + "#")
    call.wait_prompt("tone")
    call.send_dtmf("#")
    call.wait_member()
    assert _attendance(rig, call.b_uuid).role == "participant"


def test_customer_access_number_does_not_reach_other_customers_conference(rig: Rig) -> None:
    mine, other = provision(rig.db), provision(rig.db)
    call = rig.call(mine.access_number)
    call.wait_prompt("enter-conference-number")
    call.send_dtmf(other.conference_number + "#")
    call.wait_prompt("unknown-conference")
    call.hangup()
    _ended(rig, call, "hung_up")


def test_shared_access_number_reaches_any_customers_conference(rig: Rig) -> None:
    shared, other = provision(rig.db, shared=True), provision(rig.db)
    call = rig.call(shared.access_number)
    call.wait_prompt("enter-conference-number")
    call.send_dtmf(other.conference_number + "#")
    call.wait_prompt("enter-pin")
    call.send_dtmf(other.moderator_pin + "#")
    call.wait_prompt("tone")
    call.send_dtmf("#")
    call.wait_member()
    assert rig.conference(other) is not None


def _set_subscription(rig: Rig, p, **values: object) -> None:
    from fsconf.store.models import Subscription

    with rig.db.unit_of_work() as s:
        sub = s.scalars(select(Subscription).where(Subscription.customer_id == p.customer_id)).one()
        for key, value in values.items():
            setattr(sub, key, value)


def test_suspended_customers_own_number_says_unavailable_at_once(rig: Rig) -> None:
    p = provision(rig.db)
    _set_subscription(rig, p, state="suspended")
    call = rig.call(p.access_number)
    call.wait_prompt("service-suspended")
    _ended(rig, call, "rejected_suspended")
    assert not any("enter-conference-number" in h or "enter-pin" in h for h in call.heard)
    assert rig.conference(p) is None


def test_suspended_customer_on_a_shared_number_is_told_after_the_pin(rig: Rig) -> None:
    p = provision(rig.db, shared=True)
    _set_subscription(rig, p, state="suspended")
    call = rig.call(p.access_number)
    call.wait_prompt("enter-conference-number")
    call.send_dtmf(p.conference_number + "#")
    call.wait_prompt("enter-pin")
    call.send_dtmf(p.moderator_pin + "#")
    call.wait_prompt("service-suspended")
    _ended(rig, call, "rejected_suspended")
    assert rig.conference(p) is None


def test_no_service_before_the_activation_date(rig: Rig) -> None:
    import datetime as dt

    p = provision(rig.db)
    _set_subscription(rig, p, activated_on=dt.date.today() + dt.timedelta(days=30))
    call = rig.call(p.access_number)
    call.wait_prompt("service-suspended")
    _ended(rig, call, "rejected_suspended")
    shared = provision(rig.db, shared=True)
    _set_subscription(rig, shared, activated_on=dt.date.today() + dt.timedelta(days=1))
    other = rig.call(shared.access_number, caller="0611000041")
    other.wait_prompt("enter-conference-number")
    other.send_dtmf(shared.conference_number + "#")
    other.wait_prompt("enter-pin")
    other.send_dtmf(shared.moderator_pin + "#")
    other.wait_prompt("service-suspended")
    _ended(rig, other, "rejected_suspended")
    assert rig.conference(shared) is None


def test_full_conference_refuses_participant_before_the_name_but_not_moderator(
    rig: Rig,
) -> None:
    p = provision(rig.db, max_participants=1)
    rig.join(p, p.participant_pin, caller="0633333333")
    late = rig.call(p.access_number, caller="0644444444")
    late.wait_prompt("enter-conference-number")
    late.send_dtmf(p.conference_number + "#")
    late.wait_prompt("enter-pin")
    late.send_dtmf(p.participant_pin + "#")
    late.wait_prompt("conference-full")
    _ended(rig, late, "rejected_full")
    assert not any("record-name" in h for h in late.heard)  # no name recorded for nothing
    rig.join(p, p.moderator_pin, caller="0655555555")  # the moderator is not counted
    assert len(rig.conference(p)["members"]) == 2


def test_no_input_at_the_pin_prompt_asks_again_without_calling_it_wrong(rig: Rig) -> None:
    from fsconf.store.models import PinFailure

    p = provision(rig.db)
    call = rig.call(p.access_number, caller="0611000042")
    call.wait_prompt("enter-conference-number")
    call.send_dtmf(p.conference_number + "#")
    call.wait_prompt("enter-pin")
    call.send_dtmf("#")  # nothing typed
    call.wait_prompt("enter-pin")
    call.send_dtmf(p.participant_pin + "#")
    call.wait_prompt("tone")
    call.send_dtmf("#")
    call.wait_member()
    assert not any("wrong-pin" in h for h in call.heard)
    with rig.db.unit_of_work() as s:
        failures = s.scalars(select(PinFailure).where(PinFailure.call_uuid == call.b_uuid)).all()
    assert failures == []


def test_hangup_while_recording_name_leaves_consistent_rows_and_no_file(rig: Rig) -> None:
    import os

    p = provision(rig.db)
    call = rig.call(p.access_number)
    call.wait_prompt("enter-conference-number")
    call.send_dtmf(p.conference_number + "#")
    call.wait_prompt("enter-pin")
    call.send_dtmf(p.moderator_pin + "#")
    call.wait_prompt("tone")
    call.hangup()
    row = _ended(rig, call, "hung_up")
    assert row.meeting_id is None and row.joined_at is None
    folder = os.path.join(rig.settings.freeswitch.recordings_dir, p.conference_number)
    rig.driver.wait_for(lambda: not os.path.exists(folder) or not os.listdir(folder), 5,
                        "name recording removed")


def test_a_name_folder_removed_meanwhile_is_made_again_for_the_next_caller(rig: Rig) -> None:
    import os
    import shutil

    p = provision(rig.db)
    rig.join(p, p.moderator_pin)
    folder = os.path.join(rig.settings.freeswitch.recordings_dir, p.conference_number)
    assert os.path.isdir(folder)
    shutil.rmtree(folder)  # a clean-up job on the recordings share
    # FreeSWITCH hangs up a `record` it cannot open: the folder must be back in time.
    second = rig.join(p, p.participant_pin, caller="0687654321")
    assert any("one-participant-present" in h for h in second.heard)
    assert os.path.isdir(folder)


def test_hangup_at_each_join_step_closes_the_attendance(rig: Rig) -> None:
    p = provision(rig.db)
    steps = ["enter-conference-number", "enter-pin", "record-name"]
    for i, stop_at in enumerate(steps):
        call = rig.call(p.access_number, caller=f"06700000{i:02d}")
        for step in steps:
            call.wait_prompt(step)
            if step == stop_at:
                call.hangup()
                break
            call.send_dtmf((p.conference_number if step == steps[0] else p.moderator_pin) + "#")
        _ended(rig, call, "hung_up")
    assert rig.controller.server.wait_idle(5)


def test_twenty_callers_for_ten_seats_exactly_ten_get_in(rig: Rig) -> None:
    import gevent

    p = provision(rig.db, max_participants=10)
    calls = [rig.call(p.access_number, caller=f"0680000{i:03d}") for i in range(20)]

    def dial(call) -> None:
        call.wait_prompt("enter-conference-number", timeout=30)
        call.send_dtmf(p.conference_number + "#")
        call.wait_prompt("enter-pin", timeout=30)
        call.send_dtmf(p.participant_pin + "#")
        # Once the room is seen full, callers are refused before the name; those still
        # racing for the last seats record one and the seat claim decides.
        rig.driver.wait_for(
            lambda: call.hangup_cause or any("tone" in h for h in call.heard), 30,
            "the name prompt or a refusal",
        )
        if call.hangup_cause is None:
            call.send_dtmf("#")

    gevent.joinall([gevent.spawn(dial, c) for c in calls], raise_error=True)
    rig.driver.wait_for(
        lambda: all(c.member_id or c.hangup_cause for c in calls), 30, "every caller decided"
    )
    joined = [c for c in calls if c.member_id]
    assert len(joined) == 10
    assert len(rig.conference(p)["members"]) == 10

    def rows() -> list[Attendance]:
        with rig.db.unit_of_work() as s:
            query = select(Attendance).where(Attendance.conference_id == p.conference_id)
            return list(s.scalars(query))

    rig.driver.wait_for(
        lambda: sum(1 for r in rows() if r.end_reason is not None) == 10, 10,
        "ten refused callers' rows closed",
    )
    assert sum(1 for r in rows() if r.joined_at is not None) == 10
    assert sum(1 for r in rows() if r.end_reason == "rejected_full") == 10


def test_the_row_keeps_the_member_id_the_caller_had(rig: Rig) -> None:
    p = provision(rig.db)
    call = rig.join(p, p.moderator_pin)
    member_id = call.member_id  # the driver forgets it when the member leaves
    assert member_id
    call.hangup()
    assert _ended(rig, call, "hung_up").member_id == member_id


def test_a_caller_who_joins_and_leaves_costs_four_transactions(rig: Rig) -> None:
    # Each one takes the database's writer lock on SQLite: the call's row, the conference,
    # the seat, the ending. More would show as a lower set-up rate (bench/).
    p = provision(rig.db)
    ours = {gevent.getcurrent(), rig.controller._heartbeat}  # the test's reads, heartbeats
    begins: list[int] = []

    def on_begin(*_: object) -> None:
        if gevent.getcurrent() not in ours:
            begins.append(1)

    event.listen(rig.db.engine, "begin", on_begin)
    try:
        call = rig.join(p, p.participant_pin)
        call.hangup()
        _ended(rig, call, "hung_up")
    finally:
        event.remove(rig.db.engine, "begin", on_begin)
    assert len(begins) == 4
