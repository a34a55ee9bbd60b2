"""The rows issue 22's meeting features write during a call: recordings, raised hands,
how long a participant waited for the moderator. Each function is one unit of work's
statement; `CallStore` runs them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fsconf.store.models import Attendance, Recording, utcnow


def start_recording(
    session: Session, *, conference_id: int, meeting_id: int, path: str,
    attendance_id: int | None, at: dt.datetime | None = None,
) -> int:
    row = Recording(
        conference_id=conference_id, meeting_id=meeting_id, path=path,
        started_at=at or utcnow(), started_by_attendance_id=attendance_id,
    )
    session.add(row)
    session.flush()
    return row.id


def stop_recordings(session: Session, meeting_id: int, at: dt.datetime | None = None) -> int:
    """Close every running recording of the meeting (`recording stop all`)."""
    result = session.execute(
        update(Recording)
        .where(Recording.meeting_id == meeting_id, Recording.ended_at.is_(None))
        .values(ended_at=at or utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)


def running_recording(session: Session, meeting_id: int) -> str | None:
    return session.scalar(
        select(Recording.path).where(
            Recording.meeting_id == meeting_id, Recording.ended_at.is_(None)
        ).limit(1)
    )


def set_hand(session: Session, attendance_id: int, raised_at: dt.datetime | None) -> None:
    session.execute(
        update(Attendance).where(Attendance.id == attendance_id).values(hand_raised_at=raised_at)
    )


def set_waited(session: Session, attendance_id: int, seconds: int) -> None:
    """Only the first answer counts: released, or left while still waiting."""
    session.execute(
        update(Attendance)
        .where(Attendance.id == attendance_id, Attendance.waited_seconds.is_(None))
        .values(waited_seconds=max(0, int(seconds)))
    )
