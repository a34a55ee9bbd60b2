"""The join flow of SPEC.md through the simulator, asserted as a caller would notice it."""

from __future__ import annotations

from sqlalchemy import select

from fsconf.db.models import Attendance, Meeting
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
