"""The join flow's units of work: each answers several questions in one transaction."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from fsconf.domain.roles import Role
from fsconf.store import call_queries
from fsconf.store.call_queries import AccessScope, LockoutLimits, SeatOutcome
from fsconf.store.models import (
    AccessNumber,
    Attendance,
    Conference,
    Customer,
    EndReason,
    Meeting,
    Subscription,
    SubscriptionState,
    utcnow,
)

LIMITS = LockoutLimits(max_per_conference=4, max_per_caller=3,
                       window=dt.timedelta(minutes=10), block=dt.timedelta(minutes=15))


def _customer(session: Session, number: str = "0201110000") -> Customer:
    customer = Customer(name="Units")
    session.add(customer)
    session.flush()
    session.add(Subscription(customer_id=customer.id, activated_on=dt.date(2026, 1, 1)))
    session.add(AccessNumber(number=number, customer_id=customer.id))
    session.add(Conference(customer_id=customer.id, number="515151", moderator_pin="1234",
                           participant_pin="5678"))
    session.flush()
    return customer


def _start(session: Session, uuid: str, dialled: str = "0201110000",
           caller: str | None = "0612000000") -> call_queries.CallStart:
    return call_queries.start_call(
        session, limits=LIMITS, call_uuid=uuid, dialled=dialled, caller_id_number=caller,
        caller_id_name="Ann", lockout_caller=caller,
    )


def _choose(session: Session, scope: AccessScope, attendance_id: int, number: str = "515151",
            caller: str | None = "0612000000") -> call_queries.ConferenceChoice:
    return call_queries.choose_conference(session, limits=LIMITS, scope=scope, number=number,
                                     attendance_id=attendance_id, lockout_caller=caller)


def test_start_call_opens_the_row_and_resolves_the_number(session: Session) -> None:
    customer = _customer(session)
    start = _start(session, "u-start-1")
    row = session.get(Attendance, start.attendance_id)
    assert row is not None and row.call_uuid == "u-start-1"
    assert (row.access_number, row.caller_id_number, row.caller_id_name) == (
        "0201110000", "0612000000", "Ann")
    assert start.scope == AccessScope("0201110000", customer.id)
    assert start.blocked is None


def test_start_call_on_an_unknown_number_still_keeps_a_row(session: Session) -> None:
    _customer(session)
    start = _start(session, "u-start-2", dialled="0209999999")
    assert start.scope is None
    assert session.get(Attendance, start.attendance_id) is not None


def test_start_call_reports_a_blocked_caller(session: Session) -> None:
    _customer(session)
    now = utcnow()
    for i in range(LIMITS.max_per_caller):
        call_queries.record_pin_failure(session, limits=LIMITS, kind="pin", call_uuid=f"old-{i}",
                                   caller_id_number="0613000000", conference_id=None,
                                   at=now - dt.timedelta(seconds=10 - i))
    session.flush()
    assert _start(session, "u-start-3", caller="0613000000").blocked == "caller"
    assert _start(session, "u-start-4", caller="0614000000").blocked is None


def test_choose_conference_notes_it_and_answers_the_early_checks(session: Session) -> None:
    _customer(session)
    start = _start(session, "u-choose-1")
    assert start.scope is not None
    choice = _choose(session, start.scope, start.attendance_id)
    assert choice.conference is not None and choice.conference.number == "515151"
    assert (choice.blocked, choice.suspended, choice.locked) == (None, False, False)
    assert session.get(Attendance, start.attendance_id).conference_id == choice.conference.id


def test_choose_conference_unknown_number_changes_nothing(session: Session) -> None:
    _customer(session)
    start = _start(session, "u-choose-2")
    assert start.scope is not None
    assert _choose(session, start.scope, start.attendance_id, number="999999").conference is None
    assert session.get(Attendance, start.attendance_id).conference_id is None


def test_choose_conference_sees_suspension_lock_and_lockout(session: Session) -> None:
    customer = _customer(session)
    conf = session.scalars(select(Conference).where(Conference.number == "515151")).one()
    start = _start(session, "u-choose-3")
    assert start.scope is not None
    session.add(Meeting(conference_id=conf.id, fs_conference_name="fsconf-515151",
                        fs_node="n1", locked=True))
    sub = session.scalars(select(Subscription).where(Subscription.customer_id == customer.id)).one()
    sub.state = SubscriptionState.SUSPENDED.value
    now = utcnow()
    for i in range(LIMITS.max_per_conference):
        call_queries.record_pin_failure(session, limits=LIMITS, kind="pin", call_uuid=f"c-{i}",
                                   caller_id_number=f"07000000{i}", conference_id=conf.id,
                                   at=now - dt.timedelta(seconds=10 - i))
    session.flush()
    choice = _choose(session, start.scope, start.attendance_id)
    assert (choice.blocked, choice.suspended, choice.locked) == ("conference", True, True)


def test_seat_claim_keeps_the_recorded_name_with_the_seat(session: Session) -> None:
    _customer(session)
    start = _start(session, "u-seat-1")
    assert start.scope is not None
    choice = _choose(session, start.scope, start.attendance_id)
    assert choice.conference is not None
    seat = call_queries.claim_seat(session, conference=choice.conference,
                              attendance_id=start.attendance_id, role=Role.PARTICIPANT,
                              fs_conference_name="fsconf-515151", fs_node="n1",
                              name_recording_path="/rec/515151/u-seat-1.wav")
    assert seat.outcome is SeatOutcome.JOINED and seat.present_before == 0
    row = session.get(Attendance, start.attendance_id)
    assert row.name_recording_path == "/rec/515151/u-seat-1.wav"
    assert row.meeting_id == seat.meeting_id and row.role == "participant"
    departure = call_queries.finish_attendance(
        session, start.attendance_id, EndReason.HUNG_UP, member_id=7
    )
    assert departure.meeting_closed and departure.name_files == ("/rec/515151/u-seat-1.wav",)
    session.expire_all()
    row = session.get(Attendance, start.attendance_id)
    assert (row.member_id, row.end_reason) == (7, "hung_up")


def test_a_cancelled_customer_keeps_service_to_the_end_of_that_month(session: Session) -> None:
    customer = _customer(session)
    start = _start(session, "u-cancel-1")
    assert start.scope is not None
    sub = session.scalars(select(Subscription).where(Subscription.customer_id == customer.id)).one()
    sub.state, sub.cancelled_on = SubscriptionState.CANCELLED.value, dt.date(2026, 11, 10)
    session.flush()

    def suspended_on(day: dt.date) -> bool:
        return call_queries.choose_conference(
            session, limits=LIMITS, scope=start.scope, number="515151",
            attendance_id=start.attendance_id, lockout_caller=None, today=day,
        ).suspended

    assert suspended_on(dt.date(2026, 11, 30)) is False
    assert suspended_on(dt.date(2026, 12, 1)) is True


def test_no_service_before_the_activation_date(session: Session) -> None:
    customer = _customer(session)
    start = _start(session, "u-activate-1")
    assert start.scope is not None and start.suspended is False
    sub = session.scalars(select(Subscription).where(Subscription.customer_id == customer.id)).one()
    sub.activated_on = dt.date(2030, 1, 1)
    session.flush()
    assert _start(session, "u-activate-2").suspended is True  # the customer's own number

    def suspended_on(day: dt.date) -> bool:
        return call_queries.choose_conference(
            session, limits=LIMITS, scope=start.scope, number="515151",
            attendance_id=start.attendance_id, lockout_caller=None, today=day,
        ).suspended

    assert suspended_on(dt.date(2029, 12, 31)) is True
    assert suspended_on(dt.date(2030, 1, 1)) is False


def test_choose_conference_says_full_when_every_participant_seat_is_taken(
    session: Session,
) -> None:
    _customer(session)
    conf = session.scalars(select(Conference).where(Conference.number == "515151")).one()
    conf.max_participants = 1
    first = _start(session, "u-full-1")
    assert first.scope is not None
    choice = _choose(session, first.scope, first.attendance_id)
    assert choice.conference is not None and choice.full is False
    call_queries.claim_seat(
        session, conference=choice.conference, attendance_id=first.attendance_id,
        role=Role.PARTICIPANT, fs_conference_name="fsconf-515151", fs_node="n1",
    )
    second = _start(session, "u-full-2")
    assert _choose(session, first.scope, second.attendance_id).full is True
