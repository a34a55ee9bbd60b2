"""Prepared statements read and write exactly what SQLAlchemy would, and fail the same way."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from fsconf.store import call_queries
from fsconf.store.models import (
    AccessNumber,
    Attendance,
    Conference,
    Customer,
    Meeting,
    PinFailure,
    PinLockout,
    Subscription,
)
from fsconf.store.session import Database

AT = dt.datetime(2026, 11, 27, 9, 15, 0)  # microsecond 0: the text form SQLite keeps differs


def _world(session: Session) -> tuple[Conference, Meeting, list[Attendance]]:
    customer = Customer(name="Prepared")
    session.add(customer)
    session.flush()
    session.add(Subscription(customer_id=customer.id, activated_on=dt.date(2026, 1, 1)))
    session.add(AccessNumber(number="0207770000", customer_id=customer.id))
    conference = Conference(customer_id=customer.id, number="777001", moderator_pin="1111",
                            participant_pin="2222", record_names=False)
    session.add(conference)
    session.flush()
    meeting = Meeting(conference_id=conference.id, started_at=AT, locked=True,
                      fs_conference_name="fsconf-777001", fs_node="n1", peak_size=2)
    session.add(meeting)
    session.flush()
    people = [
        Attendance(call_uuid=f"prep-{i}", conference_id=conference.id, meeting_id=meeting.id,
                   role=role, joined_at=AT + dt.timedelta(seconds=i),
                   caller_id_number=f"061{i}",
                   name_recording_path=f"/rec/{i}.wav" if i else None)
        for i, role in enumerate(["moderator", "participant", "participant"])
    ]
    session.add_all(people)
    for i in range(3):
        session.add(PinFailure(kind="pin", call_uuid=f"f{i}", caller_id_number="0611",
                               conference_id=conference.id,
                               at=AT + dt.timedelta(seconds=i, microseconds=250_000 * i)))
    session.add(PinLockout(kind="conference", conference_id=conference.id, started_at=AT,
                           until=AT + dt.timedelta(minutes=15, microseconds=250_000),
                           failures=3))
    session.flush()
    return conference, meeting, people


def test_selects_give_the_same_rows_and_types_as_sqlalchemy(session: Session) -> None:
    conference, meeting, people = _world(session)
    cases = [
        (call_queries._CONFERENCE_OF_CUSTOMER,
         {"number": "777001", "customer_id": conference.customer_id}),
        (call_queries._CONFERENCE_ANY_CUSTOMER, {"number": "777001"}),
        (call_queries._ACCESS_NUMBER, {"dialled": "0207770000"}),
        (call_queries._OPEN_MEETING, {"conference_id": conference.id}),
        (call_queries._SEAT_CONFERENCE, {"conference_id": conference.id}),
        (call_queries._ACTIVE_LOCKOUTS, {"now": AT + dt.timedelta(minutes=1),
                                    "conference_id": conference.id, "caller": None}),
        (call_queries._KNOWN_CALLER, {"conference_id": conference.id, "caller": "0611",
                                 "since": AT - dt.timedelta(days=1)}),
        (call_queries._SUBSCRIPTION, {"customer_id": conference.customer_id}),
        (call_queries._PRESENT, {"meeting_id": meeting.id}),
        (call_queries._LEAVING, {"attendance_id": people[1].id}),
        (call_queries._STILL_HERE, {"meeting_id": meeting.id}),
        (call_queries._NAME_FILES, {"meeting_id": meeting.id}),
        (call_queries._MEETING_FOR_CLOSE, {"meeting_id": meeting.id}),
    ]
    for prepared, params in cases:
        expected = [tuple(r) for r in session.execute(prepared.statement, params).all()]
        got = [tuple(r) for r in prepared.run(session, params).all()]
        assert sorted(got, key=repr) == sorted(expected, key=repr), prepared.statement
        assert [[type(v) for v in r] for r in sorted(got, key=repr)] == [
            [type(v) for v in r] for r in sorted(expected, key=repr)
        ]
        assert got, prepared.statement  # every case reads something
    row = call_queries._CONFERENCE_OF_CUSTOMER.run(
        session, {"number": "777001", "customer_id": conference.customer_id}).one()
    assert row.number == "777001" and row.record_names is False and row.locked is True
    assert row.participants_present == 2
    assert call_queries._ACTIVE_LOCKOUTS.run(session, cases[5][1]).scalars().all() == ["conference"]
    later = dict(cases[5][1], now=AT + dt.timedelta(minutes=15, microseconds=250_000))
    assert call_queries._ACTIVE_LOCKOUTS.run(session, later).all() == []  # ends to the microsecond


def test_updates_set_only_the_columns_passed(session: Session) -> None:
    _, meeting, people = _world(session)
    left = AT + dt.timedelta(minutes=5, microseconds=123)
    call_queries._UPDATE_ATTENDANCE.run(
        session, {"attendance_id": people[2].id, "left_at": left, "end_reason": "hung_up"})
    call_queries._CLOSE_MEETING.run(session, {"meeting_id": meeting.id, "at": left,
                                         "reason": "last_left"})
    session.expire_all()
    row = session.get(Attendance, people[2].id)
    assert (row.left_at, row.end_reason, row.role, row.joined_at) == (
        left, "hung_up", "participant", AT + dt.timedelta(seconds=2))
    closed = session.get(Meeting, meeting.id)
    assert (closed.ended_at, closed.end_reason, closed.locked) == (left, "last_left", True)
    # Only the closed meeting's own row changed.
    assert session.scalar(select(Attendance.end_reason).where(
        Attendance.id == people[1].id)) is None


def test_a_driver_error_arrives_as_sqlalchemy_raises_it(session: Session) -> None:
    _, _, people = _world(session)
    with pytest.raises(IntegrityError):  # CHECK role IN ('moderator', 'participant')
        call_queries._UPDATE_ATTENDANCE.run(
            session, {"attendance_id": people[0].id, "role": "boss"}
        )


def test_a_dead_connection_is_invalidated_and_the_next_unit_of_work_gets_a_new_one(
    database_url: str, is_postgres: bool
) -> None:
    if not is_postgres:
        pytest.skip("a server-side disconnect needs PostgreSQL")
    db = Database(database_url)
    killer = Database(database_url)
    try:
        with pytest.raises(DBAPIError) as failure, db.unit_of_work() as s:
            pid = s.execute(text("SELECT pg_backend_pid()")).scalar()
            with killer.unit_of_work() as k:
                k.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            call_queries._STILL_HERE.run(s, {"meeting_id": 1})
        assert failure.value.connection_invalidated
        with db.unit_of_work() as s:  # the pool did not hand the dead one out again
            assert call_queries._STILL_HERE.run(s, {"meeting_id": -1}).scalar() == 0
    finally:
        db.dispose()
        killer.dispose()


def test_an_insert_gives_back_the_new_key(session: Session) -> None:
    conference, meeting, _ = _world(session)
    call_queries._CLOSE_MEETING.run(session, {"meeting_id": meeting.id, "at": AT, "reason": "x"})
    key = call_queries._NEW_MEETING.run(session, {
        "conference_id": conference.id, "started_at": AT, "fs_conference_name": "fsconf-x",
        "fs_node": "n2", "peak_size": 1, "locked": False, "muted_all": True,
    }).inserted_key
    row = session.get(Meeting, key)
    assert row is not None and (row.fs_node, row.muted_all, row.locked) == ("n2", True, False)


def test_an_insert_missing_a_defaulted_column_is_refused_before_it_runs(session: Session) -> None:
    before = session.scalar(select(Attendance.id).order_by(Attendance.id.desc()).limit(1))
    with pytest.raises(ValueError, match="arrived_at"):
        call_queries._NEW_ATTENDANCE.run(session, {"call_uuid": "prep-no-time"})
    assert session.scalar(select(Attendance.id).order_by(Attendance.id.desc()).limit(1)) == before


def test_without_returning_the_key_comes_from_lastrowid(
    database_url: str, is_postgres: bool
) -> None:
    if is_postgres:
        pytest.skip("SQLite builds before 3.35 have no RETURNING; PostgreSQL always has it")
    db = Database(database_url)
    db.engine.dialect.insert_returning = False  # as on an old SQLite
    try:
        with db.unit_of_work() as s:
            prepared = call_queries.Prepared(call_queries.insert(Attendance.__table__),
                                        key=Attendance.__table__.c.id)
            key = prepared.run(s, {"call_uuid": "prep-lastrowid", "arrived_at": AT}).inserted_key
            assert s.get(Attendance, key).call_uuid == "prep-lastrowid"
            s.rollback()
    finally:
        db.dispose()
