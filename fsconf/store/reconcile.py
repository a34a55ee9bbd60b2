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

from sqlalchemy import or_, select, update
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
    # Cluster: a leg another node bridged here (`call_uuid` is this node's leg; that
    # node keeps the caller and closes the row), and a hand the caller raised.
    held_elsewhere: bool = False
    hand_raised_at: dt.datetime | None = None


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
    room_legs: Mapping[int, str] | None = None,
) -> ReconcileReport:
    """`present`: FreeSWITCH conference name -> call UUIDs in it right now.
    `room_legs`, given in cluster mode only: attendance id -> this node's leg for a
    caller another node bridged here (the leg's X-Fsconf-Attendance header)."""
    now = now or utcnow()
    report = ReconcileReport()
    legs = room_legs or {}
    meetings = session.scalars(
        select(Meeting).where(Meeting.fs_node == node, Meeting.ended_at.is_(None))
    ).all()
    for meeting in meetings:
        here = present.get(meeting.fs_conference_name, set())
        if room_legs is not None:
            _reopen_swept(session, meeting, here, node)
        _reconcile_meeting(session, meeting, here, since, now, report, node, legs)
    # Cluster: a room this FreeSWITCH still hosts although the meeting went on elsewhere
    # (taken over while this controller was away). Its callers are kept so that the
    # controller can let them go to the owner (conference/takeover.py); nothing in it
    # is closed here: the rows of callers who moved on belong to their calls.
    elsewhere = [name for name, calls in present.items() if calls]
    if room_legs is not None and elsewhere:
        foreign = session.scalars(
            select(Meeting).where(
                Meeting.fs_node != node, Meeting.ended_at.is_(None),
                Meeting.fs_conference_name.in_(elsewhere),
            )
        ).all()
        for meeting in foreign:
            here = present[meeting.fs_conference_name]
            _reopen_swept(session, meeting, here, node)
            _keep_present(session, meeting, here, report, node, legs)
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


def _kept(conference: Conference, meeting: Meeting, row: Attendance, call_uuid: str,
          held_elsewhere: bool) -> KeptMember:
    return KeptMember(
        attendance_id=row.id, call_uuid=call_uuid, meeting_id=meeting.id,
        conference_id=conference.id, conference_number=conference.number,
        language=conference.language, fs_conference_name=meeting.fs_conference_name,
        role=row.role or "participant",
        name_file=None if held_elsewhere else row.name_recording_path,
        joined_at=row.joined_at, held_elsewhere=held_elsewhere,
        hand_raised_at=row.hand_raised_at,
    )


def _open_rows(session: Session, meeting: Meeting) -> list[Attendance]:
    return list(session.scalars(
        select(Attendance).where(Attendance.meeting_id == meeting.id,
                                 Attendance.left_at.is_(None))
    ).all())


def _reconcile_meeting(
    session: Session, meeting: Meeting, here: set[str], since: dt.datetime | None,
    now: dt.datetime, report: ReconcileReport, node: str, legs: Mapping[int, str],
) -> None:
    conference = session.get(Conference, meeting.conference_id)
    assert conference is not None
    rows = _open_rows(session, meeting)
    kept = 0
    for row in rows:
        if row.node is not None and row.node != node:
            # Bridged in from another node: that node's controller closes the row; its
            # leg here, if still in the room, gets its keypad back.
            kept += 1
            leg = legs.get(row.id)
            if row.joined_at is not None and leg is not None and leg in here:
                report.kept.append(_kept(conference, meeting, row, leg, True))
            continue
        if row.joined_at is not None and row.call_uuid in here:
            kept += 1
            report.kept.append(_kept(conference, meeting, row, row.call_uuid, False))
        else:
            _close(row, since, now)
            report.closed_calls.append(row.call_uuid)
    if kept == 0:
        ends = [r.left_at for r in rows if r.left_at is not None]
        meeting.ended_at = max([meeting.started_at, *ends])
        meeting.end_reason = meeting.end_reason or MeetingEnd.LOST
        report.closed_meetings.append(meeting.id)


def _keep_present(
    session: Session, meeting: Meeting, here: set[str], report: ReconcileReport, node: str,
    legs: Mapping[int, str],
) -> None:
    conference = session.get(Conference, meeting.conference_id)
    assert conference is not None
    for row in _open_rows(session, meeting):
        if row.joined_at is None:
            continue
        leg = legs.get(row.id)
        if row.node in (node, None) and row.call_uuid in here:
            report.kept.append(_kept(conference, meeting, row, row.call_uuid, False))
        elif row.node != node and leg is not None and leg in here:
            report.kept.append(_kept(conference, meeting, row, leg, True))


def _reopen_swept(session: Session, meeting: Meeting, here: set[str], node: str) -> None:
    """Cluster: calls of this node that a surviving node closed as lost while this
    controller was away (its heartbeat stopped) but that FreeSWITCH still has in the
    room: the survivor guessed wrong, the rows are open again."""
    if not here:
        return
    session.execute(
        update(Attendance)
        .where(Attendance.meeting_id == meeting.id, Attendance.node == node,
               Attendance.end_reason == EndReason.LOST, Attendance.joined_at.is_not(None),
               Attendance.call_uuid.in_(sorted(here)))
        .values(left_at=None, end_reason=None)
    )
    session.flush()


def _close(row: Attendance, since: dt.datetime | None, now: dt.datetime) -> None:
    floor = row.joined_at or row.arrived_at
    row.left_at = max(floor, min(since or now, now))
    row.end_reason = EndReason.LOST
