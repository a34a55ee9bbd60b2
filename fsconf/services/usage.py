"""Usage per conference and calendar month, from Meeting, Attendance and DialOutAttempt.

- meetings: meetings that *started* in the month;
- participant_minutes: every call leg that joined a meeting in the month (moderators,
  participants and invited callees alike), from ``joined_at`` to ``left_at`` (a leg still
  in a meeting counts up to its meeting's end, or up to now while the meeting runs);
  the seconds of all legs are summed and then rounded up to whole minutes;
- peak_size: the largest ``Meeting.peak_size`` of the meetings that started in the month;
- dialout_attempts / dialout_minutes: ``*8`` attempts requested in the month, minutes
  rounded up per attempt exactly as on the invoice (see fsconf.domain.billing).

Months are UTC calendar months. Conferences without any activity are left out, unless
one conference and one month were asked for (then a row of zeros is the answer).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fsconf.domain.billing import Month, dialout_minutes
from fsconf.services.conference_admin import get_conference
from fsconf.services.customers import get_customer
from fsconf.services.errors import ServiceError
from fsconf.store.models import Attendance, Conference, DialOutAttempt, Meeting, utcnow


def _bounded(query: Any, column: Any, month: Month | None) -> Any:
    if month is None:
        return query
    return query.where(column >= month.start()).where(column < month.end())


def usage_report(
    session: Session,
    *,
    month: Month | None = None,
    conference_number: str | None = None,
    customer_id: int | None = None,
    now: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    now = now or utcnow()
    if month is not None and month > Month.of(now.date()):
        raise ServiceError(f"month {month} is in the future")
    conferences = select(Conference.id, Conference.number, Conference.customer_id)
    if conference_number is not None:
        conf = get_conference(session, conference_number)
        conferences = conferences.where(Conference.id == conf.id)
    if customer_id is not None:
        get_customer(session, customer_id)
        conferences = conferences.where(Conference.customer_id == customer_id)
    confs = {cid: (number, cust) for cid, number, cust in session.execute(conferences)}
    if not confs:
        return []
    ids = list(confs)

    rows: dict[tuple[int, Month], dict[str, Any]] = {}

    def row(conference_id: int, at: dt.datetime) -> dict[str, Any]:
        key = (conference_id, Month.of(at))
        if key not in rows:
            number, cust = confs[conference_id]
            rows[key] = {
                "conference_number": number,
                "customer_id": cust,
                "month": str(key[1]),
                "meetings": 0,
                "participant_seconds": 0,
                "peak_size": 0,
                "dialout_attempts": 0,
                "_dialout_seconds": [],
            }
        return rows[key]

    meetings = _bounded(
        select(Meeting.conference_id, Meeting.started_at, Meeting.peak_size).where(
            Meeting.conference_id.in_(ids)
        ),
        Meeting.started_at,
        month,
    )
    for conference_id, started_at, peak in session.execute(meetings):
        r = row(conference_id, started_at)
        r["meetings"] += 1
        r["peak_size"] = max(r["peak_size"], peak or 0)

    legs = _bounded(
        select(Attendance.conference_id, Attendance.joined_at, Attendance.left_at, Meeting.ended_at)
        .outerjoin(Meeting, Attendance.meeting_id == Meeting.id)
        .where(Attendance.conference_id.in_(ids))
        .where(Attendance.joined_at.is_not(None)),
        Attendance.joined_at,
        month,
    )
    for conference_id, joined_at, left_at, meeting_end in session.execute(legs):
        until = left_at or meeting_end or now
        seconds = max(0, int((until - joined_at).total_seconds()))
        row(conference_id, joined_at)["participant_seconds"] += seconds

    dialouts = _bounded(
        select(
            DialOutAttempt.conference_id,
            DialOutAttempt.requested_at,
            DialOutAttempt.duration_seconds,
        ).where(DialOutAttempt.conference_id.in_(ids)),
        DialOutAttempt.requested_at,
        month,
    )
    for conference_id, requested_at, seconds in session.execute(dialouts):
        r = row(conference_id, requested_at)
        r["dialout_attempts"] += 1
        r["_dialout_seconds"].append(seconds or 0)

    if not rows and conference_number is not None and month is not None:
        row(ids[0], month.start())

    out = []
    for key in sorted(rows, key=lambda k: (k[1], confs[k[0]][0])):
        r = rows[key]
        out.append(
            {
                "conference_number": r["conference_number"],
                "customer_id": r["customer_id"],
                "month": r["month"],
                "meetings": r["meetings"],
                "participant_minutes": -(-r["participant_seconds"] // 60),
                "peak_size": r["peak_size"],
                "dialout_attempts": r["dialout_attempts"],
                "dialout_minutes": dialout_minutes(r["_dialout_seconds"]),
            }
        )
    return out
