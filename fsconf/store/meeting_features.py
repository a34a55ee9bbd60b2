"""The rows issue 22's meeting features write during a call: recordings, raised hands,
how long a participant waited for the moderator. Each function is one unit of work's
statement; `CallStore` runs them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fsconf.domain.roles import Role
from fsconf.store.cluster import Fenced, holds
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


def resume_recording(
    session: Session, *, conference_id: int, meeting_id: int, path: str, node: str,
    epoch: int, at: dt.datetime | None = None,
) -> int:
    """Cluster: the room's new owner records on where the previous owner stopped. The
    open stretch (its file is on the old node's disk, cut short there) ends now, marked
    interrupted; a new row for `path` carries on, started by whoever started the first.
    Only the lease holder at `epoch` may do it (raises Fenced otherwise)."""
    at = at or utcnow()
    if not session.scalar(select(holds(conference_id, node, epoch))):
        raise Fenced(f"room of conference {conference_id}: {node} epoch {epoch} is stale")
    starter = session.scalar(
        select(Recording.started_by_attendance_id)
        .where(Recording.meeting_id == meeting_id)
        .order_by(Recording.started_at.desc(), Recording.id.desc()).limit(1)
    )
    interrupt_recordings(session, meeting_id, at)
    return start_recording(session, conference_id=conference_id, meeting_id=meeting_id,
                           path=path, attendance_id=starter, at=at)


def interrupt_recordings(session: Session, meeting_id: int, at: dt.datetime | None = None) -> int:
    """Close the meeting's open recordings as cut short (their node died or lost the room)."""
    result = session.execute(
        update(Recording)
        .where(Recording.meeting_id == meeting_id, Recording.ended_at.is_(None))
        .values(ended_at=at or utcnow(), interrupted=True)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def seated_moderators(session: Session, meeting_id: int) -> set[int]:
    """Attendance ids of the meeting's moderators still in it, on any node (a chair being
    re-homed after a takeover is one of them until their bridge lands or they hang up)."""
    return set(session.scalars(
        select(Attendance.id).where(
            Attendance.meeting_id == meeting_id, Attendance.role == Role.MODERATOR,
            Attendance.joined_at.is_not(None), Attendance.left_at.is_(None),
        )
    ))


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
