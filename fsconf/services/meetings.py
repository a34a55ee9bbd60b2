"""Meeting history for operators: which meetings a conference had, who attended each
(caller ID, name, role, joined/left, how each call ended), the invitations (``*8``) made
in it, and CSV exports of attendance and usage for one customer and month.

Everything comes from the rows the controller already writes (Meeting, Attendance,
DialOutAttempt); nothing here changes them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fsconf.domain.billing import Month, Prices, dialout_minutes
from fsconf.services.conference_admin import get_conference
from fsconf.services.customers import get_customer
from fsconf.services.errors import ServiceError
from fsconf.services.invoicing import decimal_text, spreadsheet_safe
from fsconf.services.usage import usage_report
from fsconf.store.models import Attendance, Conference, DialOutAttempt, Meeting, utcnow

LIMIT_MAX = 10_000


def leg_seconds(
    joined_at: dt.datetime | None,
    left_at: dt.datetime | None,
    meeting_end: dt.datetime | None,
    now: dt.datetime,
) -> int:
    """Seconds a leg spent in its meeting; one still present counts up to the meeting's
    end or now (the same rule as the usage report)."""
    if joined_at is None:
        return 0
    until = left_at or meeting_end or now
    return max(0, int((until - joined_at).total_seconds()))


def list_meetings(
    session: Session,
    *,
    conference_number: str | None = None,
    customer_id: int | None = None,
    month: Month | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Newest first, with how many calls joined and how many invitations were made."""
    if not 1 <= limit <= LIMIT_MAX:
        raise ServiceError(f"limit must be between 1 and {LIMIT_MAX}, got {limit}")
    query: Any = select(Meeting, Conference.number, Conference.customer_id).join(
        Conference, Conference.id == Meeting.conference_id
    )
    if conference_number is not None:
        query = query.where(Meeting.conference_id == get_conference(session, conference_number).id)
    if customer_id is not None:
        get_customer(session, customer_id)
        query = query.where(Conference.customer_id == customer_id)
    if month is not None:
        query = query.where(Meeting.started_at >= month.start(), Meeting.started_at < month.end())
    query = query.order_by(Meeting.started_at.desc(), Meeting.id.desc()).limit(limit)
    rows = session.execute(query).all()
    ids = [m.id for m, _, _ in rows]
    joined = _counts(
        session,
        select(Attendance.meeting_id, func.count())
        .where(Attendance.meeting_id.in_(ids), Attendance.joined_at.is_not(None))
        .group_by(Attendance.meeting_id),
    )
    invited = _counts(
        session,
        select(DialOutAttempt.meeting_id, func.count())
        .where(DialOutAttempt.meeting_id.in_(ids))
        .group_by(DialOutAttempt.meeting_id),
    )
    return [
        {
            **_meeting_view(m, number, cust),
            "calls_joined": joined.get(m.id, 0),
            "invitations": invited.get(m.id, 0),
        }
        for m, number, cust in rows
    ]


def _counts(session: Session, query: Any) -> dict[int, int]:
    return {key: count for key, count in session.execute(query).all()}


def _meeting_view(meeting: Meeting, number: str, customer_id: int) -> dict[str, Any]:
    return {
        "id": meeting.id,
        "conference_number": number,
        "customer_id": customer_id,
        "started_at": meeting.started_at,
        "ended_at": meeting.ended_at,
        "end_reason": meeting.end_reason,
        "peak_size": meeting.peak_size,
    }


def show_meeting(
    session: Session, meeting_id: int, *, now: dt.datetime | None = None
) -> dict[str, Any]:
    """One meeting: its calls in the order they arrived, and its invitations."""
    now = now or utcnow()
    row = session.execute(
        select(Meeting, Conference.number, Conference.customer_id)
        .join(Conference, Conference.id == Meeting.conference_id)
        .where(Meeting.id == meeting_id)
    ).first()
    if row is None:
        raise ServiceError(f"no meeting with id {meeting_id}")
    meeting, number, customer_id = row
    view = _meeting_view(meeting, number, customer_id)
    view["attendees"] = attendees(session, meeting, now)
    view["invitations"] = invitations(session, meeting.id)
    return view


def attendees(session: Session, meeting: Meeting, now: dt.datetime) -> list[dict[str, Any]]:
    # Who invited whom: the dial-out a callee's leg came from names its number.
    invited_numbers = dict(
        session.execute(
            select(DialOutAttempt.id, DialOutAttempt.number).where(
                DialOutAttempt.meeting_id == meeting.id
            )
        ).all()
    )
    legs = session.scalars(
        select(Attendance)
        .where(Attendance.meeting_id == meeting.id)
        .order_by(Attendance.arrived_at, Attendance.id)
    )
    return [
        {
            "call_uuid": a.call_uuid,
            "caller_id_number": a.caller_id_number,
            "caller_id_name": a.caller_id_name,
            "role": a.role,
            "invited": a.invited_by_dialout_id is not None,
            "invited_number": invited_numbers.get(a.invited_by_dialout_id)
            if a.invited_by_dialout_id is not None
            else None,
            "arrived_at": a.arrived_at,
            "joined_at": a.joined_at,
            "left_at": a.left_at,
            "seconds": leg_seconds(a.joined_at, a.left_at, meeting.ended_at, now),
            "end_reason": a.end_reason if a.left_at or a.end_reason else "in_meeting",
        }
        for a in legs
    ]


def invitations(session: Session, meeting_id: int) -> list[dict[str, Any]]:
    # The moderator who pressed *8, by the caller ID of their leg.
    rows = session.execute(
        select(DialOutAttempt, Attendance.caller_id_number)
        .outerjoin(Attendance, Attendance.call_uuid == DialOutAttempt.requested_by_call_uuid)
        .where(DialOutAttempt.meeting_id == meeting_id)
        .order_by(DialOutAttempt.requested_at, DialOutAttempt.id)
    ).all()
    return [
        {
            "id": d.id,
            "number": d.number,
            "requested_by": by,
            "requested_at": d.requested_at,
            "answered_at": d.answered_at,
            "ended_at": d.ended_at,
            "result": d.result,
            "billed_seconds": d.duration_seconds,
            "billed_minutes": dialout_minutes([d.duration_seconds]),
        }
        for d, by in rows
    ]


ATTENDANCE_COLUMNS = (
    "meeting_id",
    "conference_number",
    "meeting_started_at",
    "meeting_ended_at",
    "meeting_end_reason",
    "kind",
    "caller_id_number",
    "caller_id_name",
    "role",
    "invited_number",
    "joined_at",
    "left_at",
    "seconds",
    "end_reason",
)


def export_attendance_csv(
    session: Session, *, customer_id: int, month: Month, now: dt.datetime | None = None
) -> str:
    """Every call and every invitation of the meetings a customer's conferences started
    in the month: one row each (``kind`` is ``call`` or ``invitation``). Times ISO 8601
    UTC, durations in whole seconds."""
    now = now or utcnow()
    get_customer(session, customer_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(ATTENDANCE_COLUMNS)
    meetings = session.execute(
        select(Meeting, Conference.number)
        .join(Conference, Conference.id == Meeting.conference_id)
        .where(
            Conference.customer_id == customer_id,
            Meeting.started_at >= month.start(),
            Meeting.started_at < month.end(),
        )
        .order_by(Meeting.started_at, Meeting.id)
    ).all()
    for meeting, number in meetings:
        head = (
            meeting.id,
            number,
            _iso(meeting.started_at),
            _iso(meeting.ended_at),
            meeting.end_reason or "",
        )
        for a in attendees(session, meeting, now):
            writer.writerow(
                (
                    *head,
                    "call",
                    _text(a["caller_id_number"]),
                    _text(a["caller_id_name"]),
                    a["role"] or "",
                    a["invited_number"] or "",
                    _iso(a["joined_at"]),
                    _iso(a["left_at"]),
                    a["seconds"],
                    a["end_reason"] or "",
                )
            )
        for d in invitations(session, meeting.id):
            writer.writerow(
                (
                    *head,
                    "invitation",
                    _text(d["requested_by"]),
                    "",
                    "",
                    d["number"],
                    _iso(d["answered_at"]),
                    _iso(d["ended_at"]),
                    d["billed_seconds"],
                    d["result"],
                )
            )
    return buffer.getvalue()


USAGE_COLUMNS = (
    "customer_id",
    "month",
    "conference_number",
    "meetings",
    "participant_minutes",
    "peak_size",
    "dialout_attempts",
    "dialout_minutes",
    "dialout_unit_price",
    "dialout_amount",
    "currency",
)


def export_usage_csv(
    session: Session,
    *,
    customer_id: int,
    month: Month,
    prices: Prices,
    now: dt.datetime | None = None,
) -> str:
    """The usage report of one customer and month, one row per conference (every
    conference, idle ones as zeros), with the dial-out charge as the invoice computes
    it; money written like `invoice export` (``12.10``, ex VAT)."""
    get_customer(session, customer_id)
    by_number = {
        r["conference_number"]: r
        for r in usage_report(session, month=month, customer_id=customer_id, now=now)
    }
    numbers = session.scalars(
        select(Conference.number).where(Conference.customer_id == customer_id).order_by(
            Conference.number
        )
    ).all()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(USAGE_COLUMNS)
    for number in numbers:
        r = by_number.get(number, {})
        minutes = r.get("dialout_minutes", 0)
        writer.writerow(
            (
                customer_id,
                str(month),
                number,
                r.get("meetings", 0),
                r.get("participant_minutes", 0),
                r.get("peak_size", 0),
                r.get("dialout_attempts", 0),
                minutes,
                decimal_text(prices.dialout_cents_per_minute),
                decimal_text(minutes * prices.dialout_cents_per_minute),
                prices.currency,
            )
        )
    return buffer.getvalue()


def _iso(value: dt.datetime | None) -> str:
    return value.replace(microsecond=0).isoformat() if value is not None else ""


def _text(value: str | None) -> str:
    # Caller-supplied text: a spreadsheet must not run it as a formula.
    return spreadsheet_safe(value) if value else ""
