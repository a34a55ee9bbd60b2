"""What the join flow asks of the database, one short unit of work at a time.

Every function takes the caller's Session and returns plain values; the call flow never
sees SQL. Seats are claimed under a row lock on the conference (PostgreSQL: SELECT ...
FOR UPDATE; SQLite: the BEGIN IMMEDIATE writer lock), so twenty callers racing for ten
free seats get exactly ten.

Every call runs these, so they are Core statements built once with bound parameters:
building an ORM query per call and loading entities cost several times the SQL itself.
They are also compiled once (fsconf.store.prepared): SQLAlchemy's
per-execution work was ten times what SQLite needed for them.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import (
    Row,
    Select,
    Table,
    and_,
    bindparam,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from fsconf.domain.roles import Role
from fsconf.store import audit_log
from fsconf.store.models import (
    AccessNumber,
    Attendance,
    Conference,
    ConferenceStatus,
    EndReason,
    Meeting,
    MeetingEnd,
    PinFailure,
    PinLockout,
    Recording,
    Subscription,
    SubscriptionState,
    utcnow,
)
from fsconf.store.prepared import Prepared

log = logging.getLogger(__name__)

_numbers = cast(Table, AccessNumber.__table__)
_conferences = cast(Table, Conference.__table__)
_subscriptions = cast(Table, Subscription.__table__)
_meetings = cast(Table, Meeting.__table__)
_attendances = cast(Table, Attendance.__table__)
_lockouts = cast(Table, PinLockout.__table__)
_recordings = cast(Table, Recording.__table__)

_CONFERENCE_COLUMNS = (
    _conferences.c.id, _conferences.c.number, _conferences.c.customer_id,
    _conferences.c.moderator_pin, _conferences.c.participant_pin,
    _conferences.c.max_participants, _conferences.c.language, _conferences.c.status,
    _conferences.c.record_names, _conferences.c.announce_count,
    _conferences.c.participants_join_muted,
    _conferences.c.wait_for_moderator, _conferences.c.end_with_moderator,
    _conferences.c.moderator_grace_seconds, _conferences.c.recording_allowed,
)
_with_subscription = _conferences.outerjoin(
    _subscriptions, _subscriptions.c.customer_id == _conferences.c.customer_id
)
_open_meeting = and_(
    _meetings.c.conference_id == _conferences.c.id, _meetings.c.ended_at.is_(None)
)
# Participants in the open meeting now (0 without one): answers "full" before the name.
_participants_present = (
    select(func.count())
    .where(
        _attendances.c.meeting_id == _meetings.c.id,
        _attendances.c.role == Role.PARTICIPANT.value,
        _attendances.c.joined_at.is_not(None),
        _attendances.c.left_at.is_(None),
    )
    .correlate(_meetings)
    .scalar_subquery()
)


@dataclass(frozen=True)
class AccessScope:
    """What a dialled access number reaches: one customer's conferences, or all (shared)."""

    number: str
    customer_id: int | None


@dataclass(frozen=True)
class ConferenceInfo:
    id: int
    number: str
    customer_id: int
    moderator_pin: str
    participant_pin: str
    max_participants: int
    language: str
    status: str
    record_names: bool
    announce_count: bool
    participants_join_muted: bool
    # Issue 22 (defaults: a conference made before these settings existed).
    wait_for_moderator: bool = False
    end_with_moderator: bool = False
    moderator_grace_seconds: int = 30
    recording_allowed: bool = True


@dataclass(frozen=True)
class LockoutLimits:
    max_per_conference: int
    max_per_caller: int
    window: dt.timedelta
    block: dt.timedelta
    # Callers who were in the conference this recently pass its conference-wide lockout.
    trusted_for: dt.timedelta = dt.timedelta(days=90)


class SeatOutcome(StrEnum):
    JOINED = "joined"
    SUSPENDED = "suspended"
    LOCKED = "locked"
    FULL = "full"


@dataclass(frozen=True)
class Seat:
    outcome: SeatOutcome
    meeting_id: int | None = None
    present_before: int = 0
    muted_all: bool = False
    locked: bool = False
    # A moderator has been in this meeting (mod_conference's wait-mod is cleared by the
    # first one and never set again on a running room).
    chair_arrived: bool = False
    recording: bool = False  # a recording of the meeting is running: tell the newcomer


@dataclass(frozen=True)
class CallStart:
    """What the first unit of work of a call learns: its row, where it dialled, a block."""

    attendance_id: int
    scope: AccessScope | None
    blocked: str | None  # lockout side ('caller') or None
    # The dialled number is one customer's own and that customer has no service now.
    suspended: bool = False


@dataclass(frozen=True)
class ConferenceChoice:
    """A keyed conference number, looked up with everything asked before the PIN.

    `suspended` and `locked` answer early so that nobody records a name only to be
    turned away; `claim_seat` decides again, authoritatively, when the seat is taken.
    """

    conference: ConferenceInfo | None
    blocked: str | None = None  # lockout side ('conference' or 'caller') or None
    suspended: bool = False
    locked: bool = False
    full: bool = False  # no seat for another participant right now


@dataclass(frozen=True)
class Departure:
    meeting_id: int | None
    meeting_closed: bool
    name_files: tuple[str, ...]


_ACCESS_NUMBER = Prepared(
    select(_numbers.c.number, _numbers.c.customer_id).where(
        _numbers.c.number == bindparam("dialled")
    )
)


def resolve_access_number(session: Session, dialled: str) -> AccessScope | None:
    row = _ACCESS_NUMBER.run(session, {"dialled": dialled}).first()
    return AccessScope(row.number, row.customer_id) if row else None


def _conference_lookup(scoped: bool) -> Select[Any]:
    """The keyed conference with its customer's subscription and its open meeting's lock."""
    query = (
        select(
            *_CONFERENCE_COLUMNS, _subscriptions.c.state, _subscriptions.c.cancelled_on,
            _subscriptions.c.activated_on, _meetings.c.locked,
            _participants_present.label("participants_present"),
        )
        .select_from(_with_subscription.outerjoin(_meetings, _open_meeting))
        .where(
            _conferences.c.number == bindparam("number"),
            _conferences.c.status != ConferenceStatus.DELETED,
        )
    )
    if scoped:
        query = query.where(_conferences.c.customer_id == bindparam("customer_id"))
    return query


_CONFERENCE_ANY_CUSTOMER = Prepared(_conference_lookup(scoped=False))
_CONFERENCE_OF_CUSTOMER = Prepared(_conference_lookup(scoped=True))


def _lookup_conference(session: Session, scope: AccessScope, number: str) -> Any | None:
    if scope.customer_id is None:
        return _CONFERENCE_ANY_CUSTOMER.run(session, {"number": number}).first()
    return _CONFERENCE_OF_CUSTOMER.run(
        session, {"number": number, "customer_id": scope.customer_id}
    ).first()


def start_call(
    session: Session,
    *,
    limits: LockoutLimits,
    call_uuid: str,
    dialled: str,
    caller_id_number: str | None,
    caller_id_name: str | None,
    lockout_caller: str | None,
    node: str | None = None,
) -> CallStart:
    """Open the call's row, resolve the dialled access number and check the caller's
    lockout, in one transaction (the first three questions of every call)."""
    attendance_id = open_attendance(
        session, call_uuid=call_uuid, access_number=dialled or None,
        caller_id_number=caller_id_number, caller_id_name=caller_id_name, node=node,
    )
    scope = resolve_access_number(session, dialled)
    blocked = None
    suspended = False
    if scope is not None:
        blocked = lockout_reason(
            session, limits=limits, caller_id_number=lockout_caller, conference_id=None
        )
        if scope.customer_id is not None:
            # A customer's own number: no service is known now, before any question.
            sub = _SUBSCRIPTION.run(session, {"customer_id": scope.customer_id}).first()
            suspended = _suspended(
                sub.state if sub else None, sub.cancelled_on if sub else None, None,
                sub.activated_on if sub else None,
            )
    return CallStart(attendance_id, scope, blocked, suspended)


_SUBSCRIPTION = Prepared(
    select(
        _subscriptions.c.state, _subscriptions.c.cancelled_on, _subscriptions.c.activated_on
    ).where(_subscriptions.c.customer_id == bindparam("customer_id"))
)


def choose_conference(
    session: Session,
    *,
    limits: LockoutLimits,
    scope: AccessScope,
    number: str,
    attendance_id: int,
    lockout_caller: str | None,
    today: dt.date | None = None,
) -> ConferenceChoice:
    """Find the keyed conference; if found, note it on the call's row and answer the
    lockout, suspension and lock questions in the same transaction."""
    row = _lookup_conference(session, scope, number)
    if row is None:
        return ConferenceChoice(None)
    conference = _info(row)
    noted = {"attendance_id": attendance_id, "conference_id": conference.id}
    _UPDATE_ATTENDANCE.run(session, noted)
    blocked = lockout_reason(
        session, limits=limits, caller_id_number=lockout_caller, conference_id=conference.id
    )
    return ConferenceChoice(
        conference,
        blocked=blocked,
        suspended=_suspended(row.state, row.cancelled_on, today, row.activated_on),
        locked=bool(row.locked),
        full=int(row.participants_present or 0) >= conference.max_participants,
    )


def _info(row: Conference | Row[Any]) -> ConferenceInfo:
    """From a Conference or a row of _CONFERENCE_COLUMNS."""
    return ConferenceInfo(
        id=row.id,
        number=row.number,
        customer_id=row.customer_id,
        moderator_pin=row.moderator_pin,
        participant_pin=row.participant_pin,
        max_participants=row.max_participants,
        language=row.language,
        status=row.status,
        record_names=row.record_names,
        announce_count=row.announce_count,
        participants_join_muted=row.participants_join_muted,
        wait_for_moderator=row.wait_for_moderator,
        end_with_moderator=row.end_with_moderator,
        moderator_grace_seconds=row.moderator_grace_seconds,
        recording_allowed=row.recording_allowed,
    )


def role_for_pin(conference: ConferenceInfo, pin: str) -> Role | None:
    """Constant-time comparison: the time taken says nothing about how close a guess was."""
    entered = pin.encode()
    if hmac.compare_digest(entered, conference.moderator_pin.encode()):
        return Role.MODERATOR
    if hmac.compare_digest(entered, conference.participant_pin.encode()):
        return Role.PARTICIPANT
    return None


_NEW_ATTENDANCE = Prepared(insert(_attendances), key=_attendances.c.id)


def open_attendance(
    session: Session,
    *,
    call_uuid: str,
    access_number: str | None,
    caller_id_number: str | None,
    caller_id_name: str | None,
    invited_by_dialout_id: int | None = None,
    conference_id: int | None = None,
    node: str | None = None,
) -> int:
    result = _NEW_ATTENDANCE.run(
        session,
        {
            "call_uuid": call_uuid,
            "access_number": access_number,
            "caller_id_number": caller_id_number,
            "caller_id_name": caller_id_name,
            "invited_by_dialout_id": invited_by_dialout_id,
            "conference_id": conference_id,
            "arrived_at": utcnow(),
            "node": node,
        },
    )
    return int(result.inserted_key)  # type: ignore[arg-type]


def record_pin_failure(
    session: Session,
    *,
    limits: LockoutLimits,
    kind: str,
    call_uuid: str,
    caller_id_number: str | None,
    conference_id: int | None,
    at: dt.datetime | None = None,
) -> list[PinLockout]:
    """Record a wrong conference number or PIN; start a lockout for each side (the
    conference, the caller ID) whose failures this one takes to its limit."""
    at = at or utcnow()
    session.add(
        PinFailure(
            kind=kind, call_uuid=call_uuid, caller_id_number=caller_id_number,
            conference_id=conference_id, at=at,
        )
    )
    session.flush()
    started = []
    if conference_id is not None and limits.max_per_conference > 0:
        # Concurrent failures against one conference queue on its row (PostgreSQL; SQLite
        # has one writer anyway), so one crossing starts one lockout, not two.
        number = session.scalar(
            select(Conference.number).where(Conference.id == conference_id).with_for_update()
        )
        lockout = _lock_out_if_due(
            session, limits.max_per_conference, limits, at, call_uuid,
            kind="conference", conference_id=conference_id, target=f"conference:{number}",
        )
        if lockout is not None:
            started.append(lockout)
    if caller_id_number and limits.max_per_caller > 0:
        # Two calls from one caller ID failing in the same instant on PostgreSQL may both
        # start one; the second row changes nothing (either blocks, `clear` ends both).
        lockout = _lock_out_if_due(
            session, limits.max_per_caller, limits, at, call_uuid,
            kind="caller", caller_id_number=caller_id_number,
            target=f"caller:{caller_id_number}",
        )
        if lockout is not None:
            started.append(lockout)
    return started


LOCKOUT_ACTOR = "fsconf serve"


def _lock_out_if_due(
    session: Session, limit: int, limits: LockoutLimits, at: dt.datetime, call_uuid: str,
    *, kind: str, target: str, conference_id: int | None = None,
    caller_id_number: str | None = None,
) -> PinLockout | None:
    if kind == "conference":
        lockout_side = PinLockout.conference_id == conference_id
        failure_side = PinFailure.conference_id == conference_id
    else:
        lockout_side = PinLockout.caller_id_number == caller_id_number
        failure_side = PinFailure.caller_id_number == caller_id_number
    earlier = session.execute(
        select(PinLockout.started_at, PinLockout.until, PinLockout.cleared_at).where(
            PinLockout.kind == kind, lockout_side, PinLockout.until > at - limits.window
        )
    ).all()
    since = counting_since(
        at, limits.window, [(r.started_at, r.until, r.cleared_at) for r in earlier]
    )
    if since is None:
        return None  # already locked out
    failures = session.scalar(
        select(func.count()).select_from(PinFailure).where(
            failure_side, PinFailure.at > since, PinFailure.at <= at
        )
    ) or 0
    if failures < limit:
        return None
    lockout = PinLockout(
        kind=kind, caller_id_number=caller_id_number if kind == "caller" else None,
        conference_id=conference_id if kind == "conference" else None,
        started_at=at, until=at + limits.block, failures=failures,
    )
    session.add(lockout)
    session.flush()
    audit_log.record(
        session, LOCKOUT_ACTOR, "lockout.start", target,
        {
            "lockout_id": lockout.id, "failures": failures,
            "window_seconds": int(limits.window.total_seconds()), "until": lockout.until,
            "call_uuid": call_uuid,
        },
    )
    log.warning(
        "PIN lockout %s started for %s: %d failures within %ds, until %s UTC (call %s)",
        lockout.id, target, failures, int(limits.window.total_seconds()),
        lockout.until.isoformat(timespec="seconds"), call_uuid,
    )
    return lockout


def counting_since(
    at: dt.datetime,
    window: dt.timedelta,
    earlier: Sequence[tuple[dt.datetime, dt.datetime, dt.datetime | None]],
) -> dt.datetime | None:
    """From when failures count towards a new lockout; None while one is in force.

    `earlier` holds the side's lockouts as (started, until, cleared). Failures that
    started a lockout, or came before an operator cleared one, are spent: each lockout
    is a fresh start, so clearing one does not re-block on the next single mistake.
    """
    since = at - window
    for started, until, cleared in earlier:
        if cleared is None and until > at:
            return None
        since = max(since, cleared or started)
    return since


# Lockouts in force for either side; `= NULL` matches nothing, so a missing side simply
# contributes no rows.
_ACTIVE_LOCKOUTS = Prepared(
    select(_lockouts.c.kind).where(
        _lockouts.c.until > bindparam("now"),
        _lockouts.c.cleared_at.is_(None),
        or_(
            and_(
                _lockouts.c.kind == "conference",
                _lockouts.c.conference_id == bindparam("conference_id"),
            ),
            and_(
                _lockouts.c.kind == "caller",
                _lockouts.c.caller_id_number == bindparam("caller"),
            ),
        ),
    )
)
# A caller ID that got into this conference lately: it keeps PIN entry during a
# conference-wide lockout (asked only while one is in force).
_KNOWN_CALLER = Prepared(
    select(_attendances.c.id)
    .where(
        _attendances.c.conference_id == bindparam("conference_id"),
        _attendances.c.caller_id_number == bindparam("caller"),
        _attendances.c.joined_at >= bindparam("since"),
    )
    .limit(1)
)


def lockout_reason(
    session: Session,
    *,
    limits: LockoutLimits,
    caller_id_number: str | None,
    conference_id: int | None,
    now: dt.datetime | None = None,
) -> str | None:
    """'conference' or 'caller' when a lockout on that side keeps this caller out.

    A caller lockout holds everywhere. A conference lockout holds only for caller IDs
    that have not been in that conference within `limits.trusted_for`: an attacker
    guessing from many numbers shuts out newcomers for a while, not the regulars.
    """
    caller = caller_id_number or None
    if conference_id is None and caller is None:
        return None
    session.flush()
    now = now or utcnow()
    kinds = set(
        _ACTIVE_LOCKOUTS.run(
            session, {"now": now, "conference_id": conference_id, "caller": caller}
        ).scalars().all()
    )
    if "conference" in kinds and not (
        caller is not None
        and limits.trusted_for > dt.timedelta(0)
        and _KNOWN_CALLER.run(
            session,
            {"conference_id": conference_id, "caller": caller, "since": now - limits.trusted_for},
        ).first()
    ):
        return "conference"
    if "caller" in kinds:
        return "caller"
    return None


def _suspended(
    state: str | None, cancelled_on: dt.date | None, today: dt.date | None,
    activated_on: dt.date | None = None,
) -> bool:
    """Suspended (e.g. unpaid) takes effect at once; a cancellation only after the end of
    the month it was made in, matching how it is billed. No subscription, no service, and
    none before the activation date either: billing starts then, so service does too."""
    if state is None or state == SubscriptionState.SUSPENDED:
        return True
    if activated_on is not None and (today or utcnow().date()) < activated_on:
        return True
    if state == SubscriptionState.CANCELLED:
        today = today or utcnow().date()
        cancelled = cancelled_on or today
        return (today.year, today.month) > (cancelled.year, cancelled.month)
    return False


# The conference row is the lock every seat claim for it queues on (PostgreSQL).
_SEAT_CONFERENCE = Prepared(
    select(
        _conferences.c.status, _conferences.c.max_participants,
        _subscriptions.c.state, _subscriptions.c.cancelled_on, _subscriptions.c.activated_on,
    )
    .select_from(_with_subscription)
    .where(_conferences.c.id == bindparam("conference_id"))
    .with_for_update(of=_conferences)
)
# Whether a moderator has been in, and whether a recording runs, ride along with the
# meeting row: the same statement, no extra round trip per join (both are index lookups).
_CHAIR_ARRIVED = exists().where(
    _attendances.c.meeting_id == _meetings.c.id,
    _attendances.c.role == Role.MODERATOR.value,
    _attendances.c.joined_at.is_not(None),
).correlate(_meetings)
_RECORDING_NOW = exists().where(
    _recordings.c.meeting_id == _meetings.c.id, _recordings.c.ended_at.is_(None)
).correlate(_meetings)
_OPEN_MEETING = Prepared(
    select(
        _meetings.c.id, _meetings.c.locked, _meetings.c.muted_all, _meetings.c.peak_size,
        _CHAIR_ARRIVED.label("chair_arrived"), _RECORDING_NOW.label("recording"),
    ).where(_meetings.c.conference_id == bindparam("conference_id"), _meetings.c.ended_at.is_(None))
)
_NEW_MEETING = Prepared(insert(_meetings), key=_meetings.c.id)
_PRESENT = Prepared(
    select(_attendances.c.role, func.count())
    .where(
        _attendances.c.meeting_id == bindparam("meeting_id"),
        _attendances.c.joined_at.is_not(None),
        _attendances.c.left_at.is_(None),
    )
    .group_by(_attendances.c.role)
)
# The SET list follows the parameters each call passes (compiled once per combination).
_UPDATE_ATTENDANCE = Prepared(
    update(_attendances).where(
        _attendances.c.id == bindparam("attendance_id")
    )
)
_PEAK = Prepared(
    update(_meetings).where(_meetings.c.id == bindparam("meeting_id"))
)


def claim_seat(
    session: Session,
    *,
    conference: ConferenceInfo,
    attendance_id: int,
    role: Role,
    fs_conference_name: str,
    fs_node: str,
    may_pass_lock: bool = False,
    name_recording_path: str | None = None,
    now: dt.datetime | None = None,
) -> Seat:
    """Decide whether this caller may enter, and if so take the seat (noting the recorded
    name with it), in one transaction."""
    now = now or utcnow()
    conf = _SEAT_CONFERENCE.run(session, {"conference_id": conference.id}).one()
    if conf.status != ConferenceStatus.ACTIVE or _suspended(
        conf.state, conf.cancelled_on, None, conf.activated_on
    ):
        return Seat(SeatOutcome.SUSPENDED)
    meeting = _OPEN_MEETING.run(session, {"conference_id": conference.id}).first()
    present = _present(session, meeting.id) if meeting else {}
    if role is Role.PARTICIPANT and meeting is not None:
        if meeting.locked and not may_pass_lock:
            return Seat(SeatOutcome.LOCKED, meeting.id, locked=True)
        if present.get(Role.PARTICIPANT, 0) >= conf.max_participants:
            return Seat(SeatOutcome.FULL, meeting.id)
    total_before = sum(present.values())
    chair_arrived = bool(meeting.chair_arrived) if meeting is not None else False
    recording = bool(meeting.recording) if meeting is not None else False
    if meeting is None:
        result = _NEW_MEETING.run(
            session,
            {
                "conference_id": conference.id, "started_at": now,
                "fs_conference_name": fs_conference_name, "fs_node": fs_node,
                "peak_size": 1, "locked": False, "muted_all": False,
            },
        )
        meeting_id = int(result.inserted_key)  # type: ignore[arg-type]
        locked = muted_all = False
    else:
        meeting_id, locked, muted_all = meeting.id, meeting.locked, meeting.muted_all
        if total_before + 1 > meeting.peak_size:
            _PEAK.run(session, {"meeting_id": meeting_id, "peak_size": total_before + 1})
    seated = {
        "attendance_id": attendance_id, "meeting_id": meeting_id,
        "conference_id": conference.id, "role": role, "joined_at": now,
    }
    if name_recording_path:
        seated["name_recording_path"] = name_recording_path
    _UPDATE_ATTENDANCE.run(session, seated)
    return Seat(
        SeatOutcome.JOINED, meeting_id, present_before=total_before,
        muted_all=bool(muted_all), locked=bool(locked),
        chair_arrived=chair_arrived or role is Role.MODERATOR, recording=recording,
    )


def _present(session: Session, meeting_id: int) -> dict[str, int]:
    rows = _PRESENT.run(session, {"meeting_id": meeting_id}).all()
    return {role: count for role, count in rows}


_LEAVING = Prepared(
    select(
        _attendances.c.meeting_id, _attendances.c.left_at, _attendances.c.name_recording_path
    ).where(_attendances.c.id == bindparam("attendance_id")).with_for_update()
)
_MEETING_FOR_CLOSE = Prepared(
    select(_meetings.c.ended_at).where(
        _meetings.c.id == bindparam("meeting_id")
    ).with_for_update()
)
_STILL_HERE = Prepared(
    select(func.count()).where(
        _attendances.c.meeting_id == bindparam("meeting_id"),
        _attendances.c.joined_at.is_not(None),
        _attendances.c.left_at.is_(None),
    )
)
_CLOSE_MEETING = Prepared(
    update(_meetings)
    .where(_meetings.c.id == bindparam("meeting_id"))
    .values(
        ended_at=bindparam("at"),
        end_reason=func.coalesce(_meetings.c.end_reason, bindparam("reason")),
    )
)
_NAME_FILES = Prepared(
    select(_attendances.c.name_recording_path).where(
        _attendances.c.meeting_id == bindparam("meeting_id"),
        _attendances.c.name_recording_path.is_not(None),
    )
)


def finish_attendance(
    session: Session, attendance_id: int, reason: EndReason, at: dt.datetime | None = None,
    member_id: int | None = None,
) -> Departure:
    """Close the call's row (with its mod_conference member id, if it got one); the last
    one out closes the meeting."""
    at = at or utcnow()
    row = _LEAVING.run(session, {"attendance_id": attendance_id}).first()
    if row is None or row.left_at is not None:
        return Departure(None, False, ())
    leaving: dict[str, object] = {
        "attendance_id": attendance_id, "left_at": at, "end_reason": reason
    }
    if member_id:
        leaving["member_id"] = member_id
    _UPDATE_ATTENDANCE.run(session, leaving)
    if row.meeting_id is None:
        return Departure(None, False, _files(row.name_recording_path))
    meeting = _MEETING_FOR_CLOSE.run(session, {"meeting_id": row.meeting_id}).one()
    still_here = _STILL_HERE.run(session, {"meeting_id": row.meeting_id}).scalar()
    if still_here or meeting.ended_at is not None:
        return Departure(row.meeting_id, False, ())
    _CLOSE_MEETING.run(
        session,
        {"meeting_id": row.meeting_id, "at": at, "reason": _meeting_end(reason)},
    )
    # mod_conference stops its recordings when the last member leaves (the record
    # thread runs while `conference->count`; conference_record.c).
    _CLOSE_RECORDINGS.run(session, {"closing": row.meeting_id, "closed_at": at})
    names = _NAME_FILES.run(session, {"meeting_id": row.meeting_id}).scalars().all()
    return Departure(row.meeting_id, True, tuple(n for n in names if n))


_CLOSE_RECORDINGS = Prepared(
    update(_recordings)
    .where(_recordings.c.meeting_id == bindparam("closing"), _recordings.c.ended_at.is_(None))
    .values(ended_at=bindparam("closed_at"))
)


def _files(path: str | None) -> tuple[str, ...]:
    return (path,) if path else ()


def _meeting_end(reason: EndReason) -> MeetingEnd:
    if reason in (
        EndReason.ENDED_BY_MODERATOR, EndReason.ENDED_BY_OPERATOR,
        EndReason.ENDED_WITH_MODERATOR,
    ):
        return MeetingEnd(reason)
    return MeetingEnd.LAST_LEFT


def set_meeting_flags(
    session: Session, meeting_id: int, *, locked: bool | None = None,
    muted_all: bool | None = None, end_reason: str | None = None,
) -> None:
    values: dict[str, object] = {}
    if locked is not None:
        values["locked"] = locked
    if muted_all is not None:
        values["muted_all"] = muted_all
    if end_reason is not None:
        values["end_reason"] = end_reason
    if values:
        session.execute(update(Meeting).where(Meeting.id == meeting_id).values(**values))


def open_meeting_for_conference(session: Session, conference_id: int) -> int | None:
    return session.scalar(
        select(Meeting.id).where(
            Meeting.conference_id == conference_id, Meeting.ended_at.is_(None)
        )
    )


def conference_by_id(session: Session, conference_id: int) -> ConferenceInfo | None:
    conf = session.get(Conference, conference_id)
    return _info(conf) if conf else None
