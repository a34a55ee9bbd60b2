"""Meetings in progress: FreeSWITCH's view (json_list) joined with the database's.

FreeSWITCH knows who is in the room right now (member ids, mute state); the database
knows who they are (role, when they joined). Operator actions change both: the lock and
"ended by operator" go into the meeting row so the controller acts on them too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from fsconf.conference.commands import ConferenceApi, all_rooms
from fsconf.domain.rooms import number_in, room_name
from fsconf.domain.states import MeetingEnd
from fsconf.services.audit import record
from fsconf.services.conference_admin import get_conference
from fsconf.services.errors import ServiceError
from fsconf.store.models import Attendance, Conference, Meeting

ApiSender = Callable[[str], str]


@dataclass(frozen=True)
class LiveMember:
    member_id: int
    call_uuid: str
    role: str
    caller_id_number: str
    caller_id_name: str
    joined_at: dt.datetime | None
    muted: bool
    hand_raised_at: dt.datetime | None = None


@dataclass
class LiveMeeting:
    conference_number: str
    fs_name: str
    meeting_id: int | None
    started_at: dt.datetime | None
    locked: bool
    members: list[LiveMember] = field(default_factory=list)
    in_freeswitch: bool = True
    # Issue 22: FreeSWITCH's own word on recording and waiting for the moderator, and
    # the raised hands (member ids), longest raised first: the floor goes in this order.
    recording: bool = False
    waiting_for_moderator: bool = False
    raised_hands: list[int] = field(default_factory=list)


def _rooms(api: ApiSender) -> dict[str, dict]:
    try:
        rooms = all_rooms(api)
    except ValueError as exc:
        raise ServiceError(f"FreeSWITCH's conference list is unreadable: {exc}") from None
    return {room.get("conference_name", ""): room for room in rooms}


def live_meetings(
    session: Session, api: ApiSender, *, conference_number: str | None = None
) -> list[LiveMeeting]:
    """Every meeting in progress, or only the one of `conference_number` (an unknown
    conference is an error, an idle one an empty list)."""
    if conference_number is not None:
        conference_number = get_conference(session, conference_number).number
    rooms = _rooms(api)
    if conference_number is not None:
        rooms = {k: v for k, v in rooms.items() if k == room_name(conference_number)}
    query = (
        select(Meeting, Conference.number)
        .join(Conference, Conference.id == Meeting.conference_id)
        .where(Meeting.ended_at.is_(None))
        .order_by(Meeting.started_at)
    )
    if conference_number is not None:
        query = query.where(Conference.number == conference_number)
    rows = session.execute(query).all()
    meetings: list[LiveMeeting] = []
    for meeting, number in rows:
        name = room_name(number)
        room = rooms.pop(name, None)
        meetings.append(_meeting(session, number, name, meeting, room))
    for name, room in rooms.items():  # rooms FreeSWITCH has but the database does not know
        number = number_in(name)
        meetings.append(_meeting(session, number, name, None, room))
    return meetings


def _meeting(
    session: Session, number: str, name: str, meeting: Meeting | None, room: dict | None
) -> LiveMeeting:
    by_uuid: dict[str, Attendance] = {}
    if meeting is not None:
        attendances = session.scalars(
            select(Attendance).where(
                Attendance.meeting_id == meeting.id, Attendance.left_at.is_(None)
            )
        )
        by_uuid = {a.call_uuid: a for a in attendances}
    live = LiveMeeting(
        conference_number=number,
        fs_name=name,
        meeting_id=meeting.id if meeting else None,
        started_at=meeting.started_at if meeting else None,
        locked=bool(room.get("locked")) if room else bool(meeting and meeting.locked),
        in_freeswitch=room is not None,
        recording=bool(room.get("recording")) if room else False,
        waiting_for_moderator=bool(room.get("wait_mod")) if room else False,
    )
    for m in (room or {}).get("members", []):
        if m.get("type") != "caller":
            continue
        row = by_uuid.get(m.get("uuid", ""))
        flags = m.get("flags", {})
        live.members.append(
            LiveMember(
                member_id=int(m.get("id", 0)),
                call_uuid=m.get("uuid", ""),
                role=row.role if row and row.role else (
                    "moderator" if flags.get("is_moderator") else "participant"
                ),
                caller_id_number=m.get("caller_id_number", ""),
                caller_id_name=m.get("caller_id_name", ""),
                joined_at=row.joined_at if row else None,
                muted=not flags.get("can_speak", True),
                hand_raised_at=row.hand_raised_at if row else None,
            )
        )
    live.members.sort(key=lambda x: x.member_id)
    raised = [m for m in live.members if m.hand_raised_at is not None]
    raised.sort(key=lambda m: m.hand_raised_at or dt.datetime.min)
    live.raised_hands = [m.member_id for m in raised]
    return live


# -- operator actions --------------------------------------------------------------------------


def _open_meeting(session: Session, number: str) -> Meeting:
    if not number.isascii() or not number.isdigit():
        raise ServiceError(f"conference number must be digits, got {number!r}")
    meeting = session.scalars(
        select(Meeting)
        .join(Conference, Conference.id == Meeting.conference_id)
        .where(Conference.number == number, Meeting.ended_at.is_(None))
    ).first()
    if meeting is None:
        raise ServiceError(f"no meeting in progress for conference {number}")
    return meeting


def _expect_ok(reply: str, what: str) -> str:
    if not reply.startswith("+OK"):
        raise ServiceError(f"FreeSWITCH refused {what}: {reply.strip()[:120]}")
    return reply


def operator_action(
    session: Session, api: ApiSender, *, actor: str, action: str, number: str,
    member: str | None = None, end_sound: str = "fsconf/meeting-ended.wav",
) -> str:
    """mute|unmute|kick a member (or all for mute/unmute), lock|unlock|end a meeting."""
    meeting = _open_meeting(session, number)
    room = ConferenceApi(api, room_name(number))
    if action in ("mute", "unmute", "kick"):
        if member is None:
            raise ServiceError(f"{action} needs a member id (see `fsconf live`)")
        if member.isdigit() and int(member) > 0:
            target: int | str = int(member)
        elif member == "all" and action != "kick":
            target = "all"
        elif member == "all":
            raise ServiceError("kick takes one member id; to end the meeting for everyone use"
                               f" `fsconf live end {number}`")
        else:
            allowed = "a member id" if action == "kick" else "a member id or 'all'"
            raise ServiceError(f"member must be {allowed}, got {member!r}")
        verbs: dict[str, Callable[[int | str], str]] = {
            "mute": room.mute, "unmute": room.unmute, "kick": room.kick}
        reply = _expect_ok(verbs[action](target), f"{action} {member}")
    elif member is not None:
        # Audited as given, so a stray word must not pass as if it meant something.
        raise ServiceError(f"{action} applies to the whole meeting; it takes no member")
    elif action in ("lock", "unlock"):
        done = room.lock() if action == "lock" else room.unlock()
        if not done:
            raise ServiceError(f"FreeSWITCH refused to {action} conference {number}")
        reply = f"+OK {number} {action}ed"
        meeting.locked = action == "lock"
    elif action == "end":
        # Recorded first: the controller reads it to know why its members were kicked.
        meeting.end_reason = MeetingEnd.ENDED_BY_OPERATOR
        session.flush()
        session.commit()
        reply = _expect_ok(room.kick("all", end_sound), "end")
    else:
        raise ServiceError(f"unknown live action {action!r}")
    record(session, actor, f"live.{action}", f"conference:{number}",
           {"member": member} if member else None)
    return reply.strip()
