"""Brute-force limits: per caller ID everywhere, per conference for callers it does not
know, each lockout a row that is audited and can be cleared."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from fsconf.store import call_queries
from fsconf.store.call_queries import (
    LockoutLimits,
    counting_since,
    lockout_reason,
    record_pin_failure,
)
from fsconf.store.models import Attendance, AuditEntry, Conference, Customer, PinLockout

LIMITS = LockoutLimits(max_per_conference=4, max_per_caller=3,
                       window=dt.timedelta(minutes=10), block=dt.timedelta(minutes=15),
                       trusted_for=dt.timedelta(days=90))
T0 = dt.datetime(2026, 11, 1, 12, 0, 0)
MIN = dt.timedelta(minutes=1)


def _conference(session: Session, number: str = "424242") -> int:
    customer = Customer(name="Lockout")
    session.add(customer)
    session.flush()
    conf = Conference(customer_id=customer.id, number=number, moderator_pin="1234",
                      participant_pin="5678")
    session.add(conf)
    session.flush()
    return conf.id


def _fail(session: Session, conf: int | None, caller: str, at: dt.datetime) -> None:
    record_pin_failure(session, limits=LIMITS, kind="pin",
                       call_uuid=f"c-{at.timestamp()}-{caller}",
                       caller_id_number=caller, conference_id=conf, at=at)
    session.flush()


def _reason(session: Session, caller: str, conf: int | None, now: dt.datetime) -> str | None:
    return lockout_reason(session, limits=LIMITS, caller_id_number=caller,
                          conference_id=conf, now=now)


def test_one_caller_is_blocked_at_the_limit_and_free_after_the_block(session: Session) -> None:
    conf = _conference(session)
    for i in range(2):
        _fail(session, conf, "0911111111", T0 + i * MIN)
    assert _reason(session, "0911111111", None, T0 + 2 * MIN) is None
    _fail(session, conf, "0911111111", T0 + 2 * MIN)  # the third (max_per_caller) blocks
    assert _reason(session, "0911111111", None, T0 + 3 * MIN) == "caller"
    # The block runs 15 minutes from the failure that reached the limit.
    assert _reason(session, "0911111111", None, T0 + 16 * MIN) == "caller"
    assert _reason(session, "0911111111", None, T0 + 18 * MIN) is None
    assert _reason(session, "0911111112", None, T0 + 3 * MIN) is None  # others are not


def test_failures_spread_wider_than_the_window_do_not_block(session: Session) -> None:
    conf = _conference(session)
    for i in range(3):
        _fail(session, conf, "0922222222", T0 + 11 * i * MIN)
    assert _reason(session, "0922222222", None, T0 + 23 * MIN) is None


def test_many_callers_against_one_conference_shut_out_newcomers_only(session: Session) -> None:
    conf = _conference(session)
    regular = call_queries.open_attendance(session, call_uuid="regular-1", access_number=None,
                                      caller_id_number="0201234567", caller_id_name=None,
                                      conference_id=conf)
    session.get(Attendance, regular).joined_at = T0 - dt.timedelta(days=7)  # last week
    for i in range(4):  # four different caller IDs, one failure each
        _fail(session, conf, f"09300000{i:02d}", T0 + i * MIN)
    now = T0 + 5 * MIN
    assert _reason(session, "0999999999", conf, now) == "conference"
    # The PIN holders who were in this conference lately still get their tries ...
    assert _reason(session, "0201234567", conf, now) is None
    # ... other conferences are untouched, and the block ends.
    assert _reason(session, "0999999999", None, now) is None
    assert _reason(session, "0999999999", conf, T0 + 20 * MIN) is None


def test_every_lockout_is_audited_once(session: Session) -> None:
    conf = _conference(session, "434343")
    for i in range(5):  # the 4th starts the conference lockout; the 5th adds none
        _fail(session, conf, f"09400000{i:02d}", T0 + i * MIN)
    lockouts = session.scalars(select(PinLockout).where(PinLockout.conference_id == conf)).all()
    assert [(x.kind, x.failures, x.until) for x in lockouts] == [
        ("conference", 4, T0 + 3 * MIN + LIMITS.block)
    ]
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "lockout.start",
                                 AuditEntry.target == "conference:434343")
    ).all()
    assert len(entries) == 1 and entries[0].actor == "fsconf serve"
    details = json.loads(entries[0].details or "{}")
    assert details["failures"] == 4 and details["lockout_id"] == lockouts[0].id
    assert "pin" not in {key.lower() for key in details}


def test_a_cleared_lockout_is_a_fresh_start(session: Session) -> None:
    conf = _conference(session)
    for i in range(3):
        _fail(session, conf, "0955555555", T0 + i * MIN)
    lockout = session.scalars(
        select(PinLockout).where(PinLockout.caller_id_number == "0955555555")
    ).one()
    lockout.cleared_at, lockout.cleared_by = T0 + 3 * MIN, "ops"
    session.flush()
    assert _reason(session, "0955555555", None, T0 + 4 * MIN) is None
    _fail(session, conf, "0955555555", T0 + 4 * MIN)  # one more mistake: not blocked again
    assert _reason(session, "0955555555", None, T0 + 5 * MIN) is None


def test_counting_starts_after_the_last_lockout_and_stops_while_one_holds() -> None:
    window = dt.timedelta(minutes=10)
    assert counting_since(T0, window, []) == T0 - window
    running = (T0 - MIN, T0 + 14 * MIN, None)
    assert counting_since(T0, window, [running]) is None
    expired = (T0 - 20 * MIN, T0 - 5 * MIN, None)
    assert counting_since(T0, window, [expired]) == T0 - window
    recent = (T0 - 3 * MIN, T0 + 12 * MIN, T0 - 2 * MIN)  # cleared two minutes ago
    assert counting_since(T0, window, [expired, recent]) == T0 - 2 * MIN
