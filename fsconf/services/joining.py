"""What the join flow asks of the database, one short unit of work at a time.

Every function takes the caller's Session and returns plain values; the call flow never
sees SQL. Seats are claimed under a row lock on the conference (PostgreSQL: SELECT ...
FOR UPDATE; SQLite: the BEGIN IMMEDIATE writer lock), so twenty callers racing for ten
free seats get exactly ten.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from fsconf.db.models import (
    AccessNumber,
    Attendance,
    Conference,
    ConferenceStatus,
    EndReason,
    Meeting,
    PinFailure,
    Subscription,
    SubscriptionState,
    utcnow,
)
from fsconf.roles import Role


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


@dataclass(frozen=True)
class LockoutLimits:
    max_per_conference: int
    max_per_caller: int
    window: dt.timedelta
    block: dt.timedelta


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


@dataclass(frozen=True)
class CallStart:
    """What the first unit of work of a call learns: its row, where it dialled, a block."""

    attendance_id: int
    scope: AccessScope | None
    blocked: str | None  # lockout side ('caller') or None


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


@dataclass(frozen=True)
class Departure:
    meeting_id: int | None
    meeting_closed: bool
    name_files: tuple[str, ...]


def resolve_access_number(session: Session, dialled: str) -> AccessScope | None:
    row = session.execute(
        select(AccessNumber.number, AccessNumber.customer_id).where(AccessNumber.number == dialled)
    ).first()
    return AccessScope(row.number, row.customer_id) if row else None


def find_conference(session: Session, scope: AccessScope, number: str) -> ConferenceInfo | None:
    """The conference behind a keyed number, if this access number may reach it."""
    query = select(Conference).where(
        Conference.number == number, Conference.status != ConferenceStatus.DELETED.value
    )
    if scope.customer_id is not None:
        query = query.where(Conference.customer_id == scope.customer_id)
    conf = session.scalars(query).first()
    return _info(conf) if conf else None


def start_call(
    session: Session,
    *,
    limits: LockoutLimits,
    call_uuid: str,
    dialled: str,
    caller_id_number: str | None,
    caller_id_name: str | None,
    lockout_caller: str | None,
) -> CallStart:
    """Open the call's row, resolve the dialled access number and check the caller's
    lockout, in one transaction (the first three questions of every call)."""
    attendance_id = open_attendance(
        session, call_uuid=call_uuid, access_number=dialled or None,
        caller_id_number=caller_id_number, caller_id_name=caller_id_name,
    )
    scope = resolve_access_number(session, dialled)
    blocked = None
    if scope is not None:
        blocked = lockout_reason(
            session, limits=limits, caller_id_number=lockout_caller, conference_id=None
        )
    return CallStart(attendance_id, scope, blocked)


def choose_conference(
    session: Session,
    *,
    limits: LockoutLimits,
    scope: AccessScope,
    number: str,
    attendance_id: int,
    lockout_caller: str | None,
) -> ConferenceChoice:
    """Find the keyed conference; if found, note it on the call's row and answer the
    lockout, suspension and lock questions in the same transaction."""
    conference = find_conference(session, scope, number)
    if conference is None:
        return ConferenceChoice(None)
    set_attendance_details(session, attendance_id, conference_id=conference.id)
    blocked = lockout_reason(
        session, limits=limits, caller_id_number=lockout_caller, conference_id=conference.id
    )
    flags = open_meeting_flags(session, conference.id)
    return ConferenceChoice(
        conference,
        blocked=blocked,
        suspended=customer_suspended(session, conference.customer_id),
        locked=bool(flags and flags[0]),
    )


def _info(conf: Conference) -> ConferenceInfo:
    return ConferenceInfo(
        id=conf.id,
        number=conf.number,
        customer_id=conf.customer_id,
        moderator_pin=conf.moderator_pin,
        participant_pin=conf.participant_pin,
        max_participants=conf.max_participants,
        language=conf.language,
        status=conf.status,
        record_names=conf.record_names,
        announce_count=conf.announce_count,
        participants_join_muted=conf.participants_join_muted,
    )


def role_for_pin(conference: ConferenceInfo, pin: str) -> Role | None:
    """Constant-time comparison: the time taken says nothing about how close a guess was."""
    entered = pin.encode()
    if hmac.compare_digest(entered, conference.moderator_pin.encode()):
        return Role.MODERATOR
    if hmac.compare_digest(entered, conference.participant_pin.encode()):
        return Role.PARTICIPANT
    return None


def open_attendance(
    session: Session,
    *,
    call_uuid: str,
    access_number: str | None,
    caller_id_number: str | None,
    caller_id_name: str | None,
    invited_by_dialout_id: int | None = None,
    conference_id: int | None = None,
) -> int:
    row = Attendance(
        call_uuid=call_uuid,
        access_number=access_number,
        caller_id_number=caller_id_number,
        caller_id_name=caller_id_name,
        invited_by_dialout_id=invited_by_dialout_id,
        conference_id=conference_id,
    )
    session.add(row)
    session.flush()
    return row.id


def record_pin_failure(
    session: Session,
    *,
    kind: str,
    call_uuid: str,
    caller_id_number: str | None,
    conference_id: int | None,
    at: dt.datetime | None = None,
) -> None:
    session.add(
        PinFailure(
            kind=kind,
            call_uuid=call_uuid,
            caller_id_number=caller_id_number,
            conference_id=conference_id,
            at=at or utcnow(),
        )
    )


def lockout_reason(
    session: Session,
    *,
    limits: LockoutLimits,
    caller_id_number: str | None,
    conference_id: int | None,
    now: dt.datetime | None = None,
) -> str | None:
    """'conference' or 'caller' when that side exceeded its failures, else None.

    A block lasts `limits.block` after the failure that crossed the limit: we look back
    window + block and require `limit` failures inside one window ending within the block.
    """
    now = now or utcnow()
    since = now - limits.window - limits.block
    if conference_id is not None and _over_limit(
        session, PinFailure.conference_id == conference_id, limits.max_per_conference, since,
        now, limits,
    ):
        return "conference"
    if caller_id_number and _over_limit(
        session, PinFailure.caller_id_number == caller_id_number, limits.max_per_caller, since,
        now, limits,
    ):
        return "caller"
    return None


def _over_limit(session, condition, limit, since, now, limits) -> bool:  # type: ignore[no-untyped-def]
    times = session.scalars(
        select(PinFailure.at)
        .where(condition, PinFailure.at >= since, PinFailure.at <= now)
        .order_by(PinFailure.at)
    ).all()
    if limit <= 0 or len(times) < limit:
        return False
    # Slide a window of `limit` consecutive failures; blocked if one fits inside `window`
    # and its last failure is recent enough that the block has not expired.
    for i in range(limit - 1, len(times)):
        if times[i] - times[i - limit + 1] <= limits.window and now - times[i] < limits.block:
            return True
    return False


def customer_suspended(
    session: Session, customer_id: int, today: dt.date | None = None
) -> bool:
    """True when callers must hear "service unavailable".

    Suspended (e.g. unpaid) takes effect at once; a cancellation only after the end of
    the month it was made in, matching how it is billed.
    """
    row = session.execute(
        select(Subscription.state, Subscription.cancelled_on).where(
            Subscription.customer_id == customer_id
        )
    ).first()
    if row is None:
        return True  # no subscription, no service
    if row.state == SubscriptionState.SUSPENDED.value:
        return True
    if row.state == SubscriptionState.CANCELLED.value:
        today = today or utcnow().date()
        cancelled = row.cancelled_on or today
        return (today.year, today.month) > (cancelled.year, cancelled.month)
    return False


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
    conf = session.scalars(
        select(Conference).where(Conference.id == conference.id).with_for_update()
    ).one()
    if conf.status != ConferenceStatus.ACTIVE.value or customer_suspended(
        session, conf.customer_id
    ):
        return Seat(SeatOutcome.SUSPENDED)
    meeting = session.scalars(
        select(Meeting).where(Meeting.conference_id == conf.id, Meeting.ended_at.is_(None))
    ).first()
    present = _present(session, meeting.id) if meeting else {}
    if role is Role.PARTICIPANT and meeting is not None:
        if meeting.locked and not may_pass_lock:
            return Seat(SeatOutcome.LOCKED, meeting.id, locked=True)
        if present.get(Role.PARTICIPANT.value, 0) >= conf.max_participants:
            return Seat(SeatOutcome.FULL, meeting.id)
    if meeting is None:
        meeting = Meeting(
            conference_id=conf.id, started_at=now, fs_conference_name=fs_conference_name,
            fs_node=fs_node, peak_size=0,
        )
        session.add(meeting)
        session.flush()
    session.execute(
        update(Attendance)
        .where(Attendance.id == attendance_id)
        .values(
            meeting_id=meeting.id, conference_id=conf.id, role=role.value, joined_at=now,
            **({"name_recording_path": name_recording_path} if name_recording_path else {}),
        )
    )
    total_before = sum(present.values())
    meeting.peak_size = max(meeting.peak_size, total_before + 1)
    return Seat(
        SeatOutcome.JOINED, meeting.id, present_before=total_before,
        muted_all=meeting.muted_all, locked=meeting.locked,
    )


def _present(session: Session, meeting_id: int) -> dict[str, int]:
    rows = session.execute(
        select(Attendance.role, func.count())
        .where(
            Attendance.meeting_id == meeting_id,
            Attendance.joined_at.is_not(None),
            Attendance.left_at.is_(None),
        )
        .group_by(Attendance.role)
    ).all()
    return {role: count for role, count in rows}


def set_attendance_details(
    session: Session,
    attendance_id: int,
    *,
    conference_id: int | None = None,
    role: Role | None = None,
    name_recording_path: str | None = None,
    member_id: int | None = None,
) -> None:
    values: dict[str, object] = {}
    if conference_id is not None:
        values["conference_id"] = conference_id
    if role is not None:
        values["role"] = role.value
    if name_recording_path is not None:
        values["name_recording_path"] = name_recording_path
    if member_id is not None:
        values["member_id"] = member_id
    if values:
        session.execute(update(Attendance).where(Attendance.id == attendance_id).values(**values))


def finish_attendance(
    session: Session, attendance_id: int, reason: EndReason, at: dt.datetime | None = None
) -> Departure:
    """Close the call's row; the last one out closes the meeting."""
    at = at or utcnow()
    row = session.get(Attendance, attendance_id, with_for_update=True)
    if row is None or row.left_at is not None:
        return Departure(None, False, ())
    row.left_at = at
    row.end_reason = reason.value
    if row.meeting_id is None:
        return Departure(None, False, _files(row.name_recording_path))
    meeting = session.scalars(
        select(Meeting).where(Meeting.id == row.meeting_id).with_for_update()
    ).one()
    session.flush()
    still_here = session.scalar(
        select(func.count()).where(
            Attendance.meeting_id == meeting.id,
            Attendance.joined_at.is_not(None),
            Attendance.left_at.is_(None),
        )
    )
    if still_here or meeting.ended_at is not None:
        return Departure(meeting.id, False, ())
    meeting.ended_at = at
    meeting.end_reason = meeting.end_reason or _meeting_end(reason)
    names = session.scalars(
        select(Attendance.name_recording_path).where(
            Attendance.meeting_id == meeting.id, Attendance.name_recording_path.is_not(None)
        )
    ).all()
    return Departure(meeting.id, True, tuple(n for n in names if n))


def _files(path: str | None) -> tuple[str, ...]:
    return (path,) if path else ()


def _meeting_end(reason: EndReason) -> str:
    if reason in (EndReason.ENDED_BY_MODERATOR, EndReason.ENDED_BY_OPERATOR):
        return reason.value
    return "last_left"


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


def open_meeting_flags(session: Session, conference_id: int) -> tuple[bool, bool] | None:
    row = session.execute(
        select(Meeting.locked, Meeting.muted_all).where(
            Meeting.conference_id == conference_id, Meeting.ended_at.is_(None)
        )
    ).first()
    return (row.locked, row.muted_all) if row else None


def conference_by_id(session: Session, conference_id: int) -> ConferenceInfo | None:
    conf = session.get(Conference, conference_id)
    return _info(conf) if conf else None
