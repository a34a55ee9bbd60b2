"""Brute-force limits: per conference and per caller ID, within a window, for a while."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from fsconf.store.call_queries import LockoutLimits, lockout_reason, record_pin_failure
from fsconf.store.models import Conference, Customer

LIMITS = LockoutLimits(max_per_conference=4, max_per_caller=3,
                       window=dt.timedelta(minutes=10), block=dt.timedelta(minutes=15))
T0 = dt.datetime(2026, 11, 1, 12, 0, 0)


def _conference(session: Session) -> int:
    customer = Customer(name="Lockout")
    session.add(customer)
    session.flush()
    conf = Conference(customer_id=customer.id, number="424242", moderator_pin="1234",
                      participant_pin="5678")
    session.add(conf)
    session.flush()
    return conf.id


def _fail(session: Session, conf: int | None, caller: str, at: dt.datetime) -> None:
    record_pin_failure(session, kind="pin", call_uuid=f"c-{at.timestamp()}-{caller}",
                       caller_id_number=caller, conference_id=conf, at=at)
    session.flush()


def test_one_caller_is_blocked_after_the_limit_and_free_after_the_block(session: Session) -> None:
    conf = _conference(session)
    for i in range(2):
        _fail(session, conf, "0911111111", T0 + dt.timedelta(minutes=i))
    check = dict(session=session, limits=LIMITS, caller_id_number="0911111111")
    assert lockout_reason(conference_id=None, now=T0 + dt.timedelta(minutes=2), **check) is None
    _fail(session, conf, "0911111111", T0 + dt.timedelta(minutes=2))
    assert lockout_reason(conference_id=None, now=T0 + dt.timedelta(minutes=3), **check) == "caller"
    # The block runs 15 minutes from the failure that crossed the limit.
    assert lockout_reason(conference_id=None, now=T0 + dt.timedelta(minutes=16), **check) \
        == "caller"
    assert lockout_reason(conference_id=None, now=T0 + dt.timedelta(minutes=18), **check) is None


def test_failures_spread_wider_than_the_window_do_not_block(session: Session) -> None:
    conf = _conference(session)
    for i in range(3):
        _fail(session, conf, "0922222222", T0 + dt.timedelta(minutes=11 * i))
    assert lockout_reason(session, limits=LIMITS, caller_id_number="0922222222",
                          conference_id=None, now=T0 + dt.timedelta(minutes=23)) is None


def test_many_callers_against_one_conference_block_that_conference(session: Session) -> None:
    conf = _conference(session)
    for i in range(4):  # four different callers, one failure each
        _fail(session, conf, f"09300000{i:02d}", T0 + dt.timedelta(minutes=i))
    now = T0 + dt.timedelta(minutes=5)
    assert lockout_reason(session, limits=LIMITS, caller_id_number="0999999999",
                          conference_id=conf, now=now) == "conference"
    assert lockout_reason(session, limits=LIMITS, caller_id_number="0999999999",
                          conference_id=None, now=now) is None  # other conferences are fine
    assert lockout_reason(session, limits=LIMITS, caller_id_number="0999999999",
                          conference_id=conf, now=T0 + dt.timedelta(minutes=20)) is None
