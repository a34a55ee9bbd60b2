"""State columns read back as the domain's enums and are stored as the plain values they
always were (an existing database reads the same, and the schema did not change)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from fsconf.domain.roles import Role
from fsconf.domain.states import ConferenceStatus, EndReason, MeetingEnd, SubscriptionState
from fsconf.store.models import Attendance, Conference, Customer, Meeting, Subscription

AT = dt.datetime(2026, 3, 2, 9, 0)


def test_states_are_stored_as_their_values_and_read_as_enums(session: Session) -> None:
    customer = Customer(name="Enums")
    session.add(customer)
    session.flush()
    session.add(Subscription(customer_id=customer.id, activated_on=AT.date()))
    conference = Conference(customer_id=customer.id, number="778001", moderator_pin="1111",
                            participant_pin="2222")  # fmt: skip
    session.add(conference)
    session.flush()
    meeting = Meeting(conference_id=conference.id, started_at=AT, ended_at=AT,
                      end_reason=MeetingEnd.LAST_LEFT, fs_conference_name="fsconf-778001",
                      fs_node="n1")  # fmt: skip
    session.add(meeting)
    session.flush()
    session.add(Attendance(call_uuid="enum-1", conference_id=conference.id,
                           meeting_id=meeting.id, role=Role.MODERATOR, joined_at=AT,
                           left_at=AT, end_reason=EndReason.REJECTED_UNKNOWN_ACCESS_NUMBER))
    session.flush()

    raw = session.execute(text(
        "SELECT s.state, c.status, m.end_reason, a.role, a.end_reason FROM subscriptions s "
        "JOIN conferences c ON c.customer_id = s.customer_id "
        "JOIN meetings m ON m.conference_id = c.id JOIN attendances a ON a.meeting_id = m.id "
        "WHERE c.number = '778001'"
    )).one()  # fmt: skip
    assert tuple(raw) == ("active", "active", "last_left", "moderator",
                          "rejected_unknown_access_number")  # fmt: skip

    session.expire_all()
    row = session.execute(
        select(Subscription.state, Conference.status, Meeting.end_reason, Attendance.role,
               Attendance.end_reason)
        .join(Conference, Conference.customer_id == Subscription.customer_id)
        .join(Meeting, Meeting.conference_id == Conference.id)
        .join(Attendance, Attendance.meeting_id == Meeting.id)
        .where(Conference.number == "778001")
    ).one()  # fmt: skip
    assert row == (SubscriptionState.ACTIVE, ConferenceStatus.ACTIVE, MeetingEnd.LAST_LEFT,
                   Role.MODERATOR, EndReason.REJECTED_UNKNOWN_ACCESS_NUMBER)  # fmt: skip
    assert [type(v) for v in row] == [SubscriptionState, ConferenceStatus, MeetingEnd, Role,
                                      EndReason]  # fmt: skip
