"""PIN lockouts for the operator: which are in force, and lifting them (audited).

The controller starts them (fsconf.store.call_queries.record_pin_failure); an operator who
has spoken to the customer clears one, and the failures before that no longer count.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from fsconf.services.audit import record
from fsconf.services.errors import ServiceError
from fsconf.store.models import Conference, PinLockout, utcnow

CALLER_MAX = 64


def lockout_state(lockout: PinLockout, now: dt.datetime) -> str:
    if lockout.cleared_at is not None:
        return "cleared"
    return "active" if lockout.until > now else "expired"


def lockout_view(lockout: PinLockout, conference_number: str | None, now: dt.datetime
                 ) -> dict[str, Any]:
    return {
        "id": lockout.id,
        "kind": lockout.kind,
        "caller_id_number": lockout.caller_id_number,
        "conference": conference_number,
        "started_at": lockout.started_at,
        "until": lockout.until,
        "failures": lockout.failures,
        "state": lockout_state(lockout, now),
        "cleared_at": lockout.cleared_at,
        "cleared_by": lockout.cleared_by,
    }


# SQLAlchemy 2.1 types a Select by its columns (never evaluated: 2.0 types it by one tuple).
def _query() -> Select[PinLockout, str]:
    return select(PinLockout, Conference.number).outerjoin(
        Conference, PinLockout.conference_id == Conference.id
    )


def _active(query: Select[PinLockout, str], now: dt.datetime) -> Select[PinLockout, str]:
    return query.where(PinLockout.cleared_at.is_(None), PinLockout.until > now)


def list_lockouts(
    session: Session, *, include_past: bool = False, limit: int = 50,
    now: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Lockouts in force (with `include_past`, also expired and cleared), newest first."""
    if limit < 1:
        raise ServiceError("limit must be at least 1")
    now = now or utcnow()
    query = _query() if include_past else _active(_query(), now)
    query = query.order_by(PinLockout.started_at.desc(), PinLockout.id.desc()).limit(limit)
    return [lockout_view(x, number, now) for x, number in session.execute(query).all()]


def clean_caller(caller: str) -> str:
    caller = caller.strip()
    if not caller or len(caller) > CALLER_MAX or not caller.isprintable():
        raise ServiceError(
            f"caller ID must be printable text of at most {CALLER_MAX} characters"
        )
    return caller


def clear_lockouts(
    session: Session,
    *,
    actor: str,
    ids: tuple[int, ...] = (),
    caller: str | None = None,
    conference: str | None = None,
    now: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """End the lockouts in force that match exactly one selector; each one audited."""
    if sum((bool(ids), caller is not None, conference is not None)) != 1:
        raise ServiceError("name lockout ids, or --caller NUMBER, or --conference NUMBER")
    now = now or utcnow()
    query = _active(_query(), now)
    if ids:
        query = query.where(PinLockout.id.in_(ids))
        what = "lockout " + ", ".join(str(i) for i in ids)
    elif caller is not None:
        caller = clean_caller(caller)
        query = query.where(PinLockout.kind == "caller", PinLockout.caller_id_number == caller)
        what = f"caller {caller}"
    else:
        assert conference is not None
        number = conference.strip()
        if not number.isascii() or not number.isdigit():
            raise ServiceError(f"conference number must be digits, got {conference!r}")
        query = query.where(PinLockout.kind == "conference", Conference.number == number)
        what = f"conference {number}"
    rows = session.execute(query.order_by(PinLockout.id).with_for_update(of=PinLockout)).all()
    if not rows:
        raise ServiceError(f"no lockout in force for {what}")
    if ids:
        missing = sorted(set(ids) - {x.id for x, _ in rows})
        if missing:
            raise ServiceError(
                "not in force (expired, cleared or unknown): "
                + ", ".join(str(i) for i in missing)
            )
    views = []
    for lockout, number in rows:
        lockout.cleared_at, lockout.cleared_by = now, actor
        target = (
            f"conference:{number}" if lockout.kind == "conference"
            else f"caller:{lockout.caller_id_number}"
        )
        record(session, actor, "lockout.clear", target,
               {"lockout_id": lockout.id, "kind": lockout.kind, "until": lockout.until})
        views.append(lockout_view(lockout, number, now))
    session.flush()
    return views
