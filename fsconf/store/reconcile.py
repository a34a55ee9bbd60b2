"""After a controller restart: make the database agree with what FreeSWITCH still has.

FreeSWITCH owns the media, so callers in a conference stay there while the controller is
away. On start the controller asks FreeSWITCH who is still in which room (json_list) and
hands the answer here:
- calls still present are kept (and the controller takes their keypads back);
- calls that ended while it was down are closed with reason `lost` and the last moment
  the controller knew them alive (its heartbeat; exact to within one heartbeat when it
  crashed, exact when it stopped gracefully) — FreeSWITCH keeps no record of when;
- meetings left with nobody are closed at the same moment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from fsconf.store.models import (
    Attendance,
    Conference,
    ControllerNode,
    EndReason,
    Meeting,
    MeetingEnd,
    utcnow,
)


@dataclass(frozen=True)
class KeptMember:
    attendance_id: int
    call_uuid: str
    meeting_id: int
    conference_id: int
    conference_number: str
    language: str
    fs_conference_name: str
    role: str
    name_file: str | None
    joined_at: dt.datetime | None


@dataclass
class ReconcileReport:
    closed_calls: list[str] = field(default_factory=list)
    closed_meetings: list[int] = field(default_factory=list)
    kept: list[KeptMember] = field(default_factory=list)


def heartbeat(session: Session, node: str, *, started: bool = False) -> None:
    now = utcnow()
    row = session.get(ControllerNode, node, with_for_update=True)
    if row is None:
        session.add(ControllerNode(node=node, started_at=now, last_seen_at=now))
        return
    row.last_seen_at = now
    if started:
        row.started_at, row.stopped_at = now, None


def mark_stopped(session: Session, node: str) -> None:
    row = session.get(ControllerNode, node, with_for_update=True)
    if row is not None:
        row.stopped_at = row.last_seen_at = utcnow()


def last_known_alive(session: Session, node: str) -> dt.datetime | None:
    row = session.get(ControllerNode, node)
    if row is None:
        return None
    return row.stopped_at or row.last_seen_at


def reconcile(
    session: Session,
    *,
    node: str,
    present: Mapping[str, set[str]],
    channel_exists: Callable[[str], bool],
    since: dt.datetime | None,
    now: dt.datetime | None = None,
) -> ReconcileReport:
    """`present`: FreeSWITCH conference name -> call UUIDs in it right now."""
    now = now or utcnow()
    report = ReconcileReport()
    meetings = session.scalars(
        select(Meeting).where(Meeting.fs_node == node, Meeting.ended_at.is_(None))
    ).all()
    for meeting in meetings:
        _reconcile_meeting(session, meeting, present.get(meeting.fs_conference_name, set()),
                           since, now, report, node)
    # Calls that were still in the join flow when the controller went away.
    orphans = session.scalars(
        select(Attendance).where(
            Attendance.meeting_id.is_(None), Attendance.left_at.is_(None),
            Attendance.arrived_at <= now, _held_here(node),
        )
    ).all()
    for row in orphans:
        if not channel_exists(row.call_uuid):
            _close(row, since, now)
            report.closed_calls.append(row.call_uuid)
    return report


def _held_here(node: str) -> Any:
    """Rows whose caller's leg this node holds (NULL: written before the cluster).
    In a cluster other nodes' callers are theirs to close (or, when their node died,
    a surviving controller's: store.cluster)."""
    return or_(Attendance.node == node, Attendance.node.is_(None))


def _reconcile_meeting(
    session: Session, meeting: Meeting, here: set[str], since: dt.datetime | None,
    now: dt.datetime, report: ReconcileReport, node: str,
) -> None:
    conference = session.get(Conference, meeting.conference_id)
    assert conference is not None
    rows = session.scalars(
        select(Attendance).where(Attendance.meeting_id == meeting.id,
                                 Attendance.left_at.is_(None))
    ).all()
    kept = 0
    for row in rows:
        if row.node is not None and row.node != node:
            kept += 1  # bridged in from another node: that node's controller closes it
            continue
        if row.joined_at is not None and row.call_uuid in here:
            kept += 1
            report.kept.append(KeptMember(
                attendance_id=row.id, call_uuid=row.call_uuid, meeting_id=meeting.id,
                conference_id=conference.id, conference_number=conference.number,
                language=conference.language, fs_conference_name=meeting.fs_conference_name,
                role=row.role or "participant", name_file=row.name_recording_path,
                joined_at=row.joined_at,
            ))
        else:
            _close(row, since, now)
            report.closed_calls.append(row.call_uuid)
    if kept == 0:
        ends = [r.left_at for r in rows if r.left_at is not None]
        meeting.ended_at = max([meeting.started_at, *ends])
        meeting.end_reason = meeting.end_reason or MeetingEnd.LOST
        report.closed_meetings.append(meeting.id)


def _close(row: Attendance, since: dt.datetime | None, now: dt.datetime) -> None:
    floor = row.joined_at or row.arrived_at
    row.left_at = max(floor, min(since or now, now))
    row.end_reason = EndReason.LOST
