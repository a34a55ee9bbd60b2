"""Cluster state in the database: room leases, nodes, fenced writes.

Time is always the database's (`clock_timestamp()` on PostgreSQL), never a controller's:
two controllers whose clocks disagree still agree on whether a lease has expired.
A lease is claimed in ONE statement (INSERT .. ON CONFLICT DO UPDATE .. WHERE expired):
a new room gets epoch 1, a takeover of an expired lease epoch + 1, a live lease nothing;
PostgreSQL's row lock on the conflicting row makes fifty racing claimers see one winner.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    DateTime,
    Float,
    and_,
    case,
    exists,
    extract,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.expression import FunctionElement

from fsconf.domain.cluster import NodeLoad
from fsconf.domain.roles import Role
from fsconf.domain.states import EndReason
from fsconf.store.models import (
    Attendance,
    Conference,
    ControllerNode,
    Meeting,
    NameRecording,
    Recording,
    RoomLease,
    utcnow,
)


class db_now(FunctionElement[dt.datetime]):  # noqa: N801 (an SQL function)
    """The database's clock as naive UTC (the timestamps' convention), `seconds` ahead."""

    type = DateTime()
    inherit_cache = True


@compiles(db_now, "postgresql")
def _pg_now(element: db_now, compiler: Any, **kw: Any) -> str:
    (offset,) = list(element.clauses)
    return (
        "((clock_timestamp() AT TIME ZONE 'UTC') + make_interval(secs => "
        f"{compiler.process(offset, **kw)}))"
    )


@compiles(db_now, "sqlite")
def _sqlite_now(element: db_now, compiler: Any, **kw: Any) -> str:
    # Clustering is refused on SQLite; this only keeps the statements usable in tests.
    (offset,) = list(element.clauses)
    return (
        "strftime('%Y-%m-%d %H:%M:%f', 'now', "
        f"({compiler.process(offset, **kw)}) || ' seconds')"
    )


def now_plus(seconds: float) -> db_now:
    return db_now(literal(float(seconds), Float()))


@dataclass(frozen=True)
class Lease:
    conference_id: int
    node: str
    epoch: int
    internal_sip: str | None
    claimed_now: bool = False


class Fenced(RuntimeError):
    """A write for a room by a node that no longer holds its lease (or another epoch)."""


# -- nodes -------------------------------------------------------------------------------


def beat(
    session: Session, node: str, internal_sip: str | None, *, started: bool = False,
    esl_address: str | None = None,
) -> None:
    """The node's heartbeat on the database clock, with the address others bridge to."""
    values: dict[str, Any] = {
        "beat_at": now_plus(0), "internal_sip": internal_sip, "last_seen_at": utcnow(),
        "esl_address": esl_address,
    }
    if started:
        values.update(started_at=utcnow(), stopped_at=None)
    done = session.execute(
        update(ControllerNode).where(ControllerNode.node == node).values(**values)
    )
    if done.rowcount == 0:  # type: ignore[attr-defined]
        session.add(ControllerNode(node=node, internal_sip=internal_sip, started_at=utcnow()))
        session.flush()
        session.execute(
            update(ControllerNode).where(ControllerNode.node == node).values(**values)
        )


def set_drained(session: Session, node: str, drained: bool) -> bool:
    done = session.execute(
        update(ControllerNode).where(ControllerNode.node == node).values(drained=drained)
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


def _alive(lease_seconds: float) -> Any:
    """A node is alive while its heartbeat is younger than a lease, and it has not stopped."""
    return and_(
        ControllerNode.beat_at.is_not(None),
        ControllerNode.beat_at > now_plus(-lease_seconds),
        ControllerNode.stopped_at.is_(None),
    )


def _members_per_node() -> Any:
    """Open members of live-leased rooms, per owner node (a node's conference load)."""
    return (
        select(RoomLease.node, func.count(Attendance.id).label("members"))
        .join(Meeting, and_(Meeting.conference_id == RoomLease.conference_id,
                            Meeting.ended_at.is_(None)))
        .join(Attendance, and_(Attendance.meeting_id == Meeting.id,
                               Attendance.joined_at.is_not(None), Attendance.left_at.is_(None)))
        .where(RoomLease.expires_at > now_plus(0))
        .group_by(RoomLease.node)
    )


def node_loads(session: Session, lease_seconds: float) -> list[NodeLoad]:
    load = _members_per_node().subquery()
    rows = session.execute(
        select(
            ControllerNode.node, ControllerNode.drained,
            case((_alive(lease_seconds), True), else_=False).label("alive"),
            func.coalesce(load.c.members, 0),
        ).outerjoin(load, load.c.node == ControllerNode.node)
    ).all()
    return [NodeLoad(r[0], int(r[3]), bool(r[2]), bool(r[1])) for r in rows]


@dataclass(frozen=True)
class NodeRow:
    node: str
    internal_sip: str | None
    heartbeat_age: float | None
    alive: bool
    drained: bool
    rooms: int
    members: int


def list_nodes(session: Session, lease_seconds: float) -> list[NodeRow]:
    load = _members_per_node().subquery()
    rooms = (
        select(RoomLease.node, func.count().label("rooms"))
        .where(RoomLease.expires_at > now_plus(0)).group_by(RoomLease.node).subquery()
    )
    age = extract("epoch", now_plus(0) - ControllerNode.beat_at)
    rows = session.execute(
        select(
            ControllerNode.node, ControllerNode.internal_sip, age,
            case((_alive(lease_seconds), True), else_=False), ControllerNode.drained,
            func.coalesce(rooms.c.rooms, 0), func.coalesce(load.c.members, 0),
        )
        .outerjoin(load, load.c.node == ControllerNode.node)
        .outerjoin(rooms, rooms.c.node == ControllerNode.node)
        .order_by(ControllerNode.node)
    ).all()
    return [
        NodeRow(r[0], r[1], None if r[2] is None else float(r[2]), bool(r[3]), bool(r[4]),
                int(r[5]), int(r[6]))
        for r in rows
    ]


def event_sockets(session: Session, lease_seconds: float) -> dict[str, str]:
    """Live nodes' inbound Event Socket addresses (for `fsconf live`)."""
    rows = session.execute(
        select(ControllerNode.node, ControllerNode.esl_address)
        .where(_alive(lease_seconds), ControllerNode.esl_address.is_not(None))
    ).all()
    return {r[0]: r[1] for r in rows if r[1]}


def owner_of_number(session: Session, number: str) -> str | None:
    """The node holding a live lease on conference `number`'s room."""
    return session.scalar(
        select(RoomLease.node)
        .join(Conference, Conference.id == RoomLease.conference_id)
        .where(Conference.number == number, RoomLease.expires_at > now_plus(0))
    )


# -- leases ------------------------------------------------------------------------------


def _insert(session: Session) -> Any:
    return (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert


def claim(session: Session, conference_id: int, node: str, lease_seconds: float) -> Lease | None:
    """Claim the room for `node` in one statement: new (epoch 1), or taken over after
    expiry (epoch + 1); None when a live lease is someone's (also when it is `node`'s)."""
    insert = _insert(session)
    stmt = insert(RoomLease).values(
        conference_id=conference_id, node=node, epoch=1,
        expires_at=now_plus(lease_seconds), claimed_at=now_plus(0),
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[RoomLease.conference_id],
        set_={
            "node": stmt.excluded.node,
            "epoch": RoomLease.epoch + 1,
            "expires_at": stmt.excluded.expires_at,
            "claimed_at": stmt.excluded.claimed_at,
        },
        where=RoomLease.expires_at <= now_plus(0),
    ).returning(RoomLease.node, RoomLease.epoch)
    row = session.execute(stmt).first()
    if row is None:
        return None
    # A meeting going on follows its room (the owner's restart reconciles it).
    session.execute(
        update(Meeting)
        .where(Meeting.conference_id == conference_id, Meeting.ended_at.is_(None))
        .values(fs_node=node)
    )
    return Lease(conference_id, row.node, row.epoch, _address(session, row.node), True)


def current(session: Session, conference_id: int) -> Lease | None:
    """The live lease of a room, if any."""
    row = session.execute(
        select(RoomLease.node, RoomLease.epoch, ControllerNode.internal_sip)
        .outerjoin(ControllerNode, ControllerNode.node == RoomLease.node)
        .where(RoomLease.conference_id == conference_id, RoomLease.expires_at > now_plus(0))
    ).first()
    return Lease(conference_id, row[0], row[1], row[2]) if row else None


def _address(session: Session, node: str) -> str | None:
    return session.scalar(select(ControllerNode.internal_sip).where(ControllerNode.node == node))


def renew(session: Session, conference_id: int, node: str, epoch: int,
          lease_seconds: float) -> bool:
    """Extend our lease; False when the room was taken over (the epoch moved on)."""
    done = session.execute(
        update(RoomLease)
        .where(RoomLease.conference_id == conference_id, RoomLease.node == node,
               RoomLease.epoch == epoch)
        .values(expires_at=now_plus(lease_seconds))
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


def release(session: Session, conference_id: int, node: str, epoch: int) -> None:
    """Let the room go (its last member left): expire the lease, keep the epoch counting."""
    session.execute(
        update(RoomLease)
        .where(RoomLease.conference_id == conference_id, RoomLease.node == node,
               RoomLease.epoch == epoch)
        .values(expires_at=now_plus(0))
    )


def holds(conference_id: Any, node: str, epoch: int) -> Any:
    """SQL: `node` holds the room's lease at `epoch` (expiry aside: a renewal may be late)."""
    return exists().where(
        RoomLease.conference_id == conference_id, RoomLease.node == node,
        RoomLease.epoch == epoch,
    )


def set_meeting_flags_fenced(
    session: Session, meeting_id: int, conference_id: int, node: str, epoch: int,
    values: dict[str, Any],
) -> None:
    """A room's lock / mute-all, written only by the lease holder at its epoch."""
    done = session.execute(
        update(Meeting).where(Meeting.id == meeting_id, holds(conference_id, node, epoch))
        .values(**values)
    )
    if not done.rowcount:  # type: ignore[attr-defined]
        raise Fenced(f"room of conference {conference_id}: {node} epoch {epoch} is stale")


def meeting_flags(session: Session, meeting_id: int) -> tuple[bool, bool]:
    row = session.execute(
        select(Meeting.locked, Meeting.muted_all).where(Meeting.id == meeting_id)
    ).first()
    return (bool(row[0]), bool(row[1])) if row else (False, False)


def _chair_arrived(meeting_id: Any) -> Any:
    """SQL: a moderator has taken a seat in the meeting (on any node), as the join's
    claim_seat judges it: who arrives before that waits for the chair (issue 22)."""
    chair = aliased(Attendance)
    return exists().where(
        chair.meeting_id == meeting_id, chair.role == Role.MODERATOR,
        chair.joined_at.is_not(None),
    )


def chair_arrived(session: Session, meeting_id: int) -> bool:
    return bool(session.scalar(select(_chair_arrived(meeting_id))))


# -- nodes that died ---------------------------------------------------------------------


def dead_nodes_open_calls(
    session: Session, lease_seconds: float
) -> list[tuple[int, str, dt.datetime]]:
    """(attendance id, call uuid, when it was last known alive) of calls still open whose
    leg is held by a node whose heartbeat expired without a graceful stop."""
    dead = and_(
        ControllerNode.beat_at.is_not(None),
        ControllerNode.beat_at <= now_plus(-lease_seconds),
        ControllerNode.stopped_at.is_(None),
    )
    rows = session.execute(
        select(Attendance.id, Attendance.call_uuid, ControllerNode.last_seen_at,
               Attendance.arrived_at, Attendance.joined_at)
        .join(ControllerNode, ControllerNode.node == Attendance.node)
        .where(Attendance.left_at.is_(None), dead)
    ).all()
    # Never before the call arrived or joined (a heartbeat may be older than both).
    return [(r[0], r[1], max(t for t in (r[2], r[3], r[4]) if t is not None)) for r in rows]


def reclaim_call(session: Session, attendance_id: int, node: str) -> bool:
    """A call of `node` that a survivor closed as lost while the node looked dead (its
    heartbeat stopped: cut off from the database, not crashed) is still up: its row is
    open again while its meeting goes on. False: not closed that way, or meeting over."""
    meeting_open = exists().where(Meeting.id == Attendance.meeting_id, Meeting.ended_at.is_(None))
    done = session.execute(
        update(Attendance)
        .where(Attendance.id == attendance_id, Attendance.node == node,
               Attendance.end_reason == EndReason.LOST, meeting_open)
        .values(left_at=None, end_reason=None)
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


# -- names -------------------------------------------------------------------------------


def save_name(session: Session, attendance_id: int, audio: bytes) -> None:
    session.merge(NameRecording(attendance_id=attendance_id, audio=audio))


def load_name(session: Session, attendance_id: int) -> bytes | None:
    return session.scalar(
        select(NameRecording.audio).where(NameRecording.attendance_id == attendance_id)
    )


# -- admitting a leg another node bridged here ------------------------------------------


@dataclass(frozen=True)
class Admission:
    conference_id: int
    meeting_id: int
    locked: bool
    muted_all: bool
    # Judged by the owner when the leg arrives, not by the answering node's earlier seat:
    # a moderator may have come in meanwhile (wait for the chair, issue 22).
    chair_arrived: bool = True
    # What a room taken over restores (a caller re-homed or moved here): the caller's
    # raised hand, and a recording row still open from the previous owner.
    hand_raised_at: dt.datetime | None = None
    recording: bool = False


def admission(
    session: Session, *, attendance_id: int, number: str, node: str, epoch: int
) -> Admission | None:
    """The seated, still open call `attendance_id` of conference `number`, if `node`
    holds that room's lease at `epoch` (a stale owner admits nobody)."""
    recording = exists().where(
        Recording.meeting_id == Attendance.meeting_id, Recording.ended_at.is_(None)
    )
    row = session.execute(
        select(Attendance.conference_id, Attendance.meeting_id, Meeting.locked,
               Meeting.muted_all, _chair_arrived(Attendance.meeting_id),
               Attendance.hand_raised_at, recording)
        .join(Meeting, Meeting.id == Attendance.meeting_id)
        .join(Conference, Conference.id == Attendance.conference_id)
        .where(
            Attendance.id == attendance_id, Attendance.joined_at.is_not(None),
            Attendance.left_at.is_(None), Meeting.ended_at.is_(None),
            Conference.number == number,
            holds(Attendance.conference_id, node, epoch),
        )
    ).first()
    if row is None:
        return None
    return Admission(int(row[0] or 0), int(row[1] or 0), bool(row[2]), bool(row[3]),
                     chair_arrived=bool(row[4]), hand_raised_at=row[5], recording=bool(row[6]))
