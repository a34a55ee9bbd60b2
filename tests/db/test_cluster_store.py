"""Room leases, fencing, placement and dead nodes, on the database under test.

Clustering runs on PostgreSQL only (refused on SQLite); the statements compile on both,
so these run on both, except where PostgreSQL's clock functions are the point.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator

import gevent
import pytest
from sqlalchemy import update

from fsconf.config import SecuritySettings
from fsconf.domain.roles import Role
from fsconf.store import cluster
from fsconf.store.callstore import CallStore, RoomFenced
from fsconf.store.clusterstore import ClusterStore
from fsconf.store.models import Attendance, ControllerNode, Meeting, Recording, utcnow
from fsconf.store.session import Database
from tests.integration.conftest import provision


@pytest.fixture
def calls(db: Database) -> CallStore:
    return CallStore(db, SecuritySettings())


@pytest.fixture
def tag() -> str:
    # "0" first: these nodes sort before any other test's (placement ties go by name).
    return f"0{secrets.token_hex(3)}"


@pytest.fixture
def nodes(calls: CallStore, tag: str) -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    with calls.db.unit_of_work() as s:  # out of later tests' placements
        for name in made:
            cluster.set_drained(s, name, True)


def _store(calls: CallStore, node: str, lease: float = 10.0, max_members: int = 0) -> ClusterStore:
    return ClusterStore(calls, node, f"10.0.0.{len(node)}:5090", lease, max_members)


def test_fifty_racing_first_callers_on_three_nodes_get_one_owner(
    calls: CallStore, tag: str
) -> None:
    p = provision(calls.db)
    stores = [_store(calls, f"{tag}-n{i % 3}") for i in range(50)]
    leases = [g.get() for g in gevent.joinall(
        [gevent.spawn(s.owner, p.conference_id) for s in stores], raise_error=True
    )]
    owners = {(lease.node, lease.epoch) for lease in leases}
    assert len(owners) == 1 and next(iter(owners))[1] == 1
    assert sum(lease.claimed_now for lease in leases) == 1


def test_fifty_racing_claims_in_one_statement_have_one_winner(calls: CallStore, tag: str) -> None:
    p = provision(calls.db)
    stores = [_store(calls, f"{tag}-n{i}") for i in range(50)]
    results = [g.get() for g in gevent.joinall(
        [gevent.spawn(s.claim, p.conference_id) for s in stores], raise_error=True
    )]
    winners = [r for r in results if r is not None]
    assert len(winners) == 1 and winners[0].epoch == 1
    assert stores[0].current(p.conference_id) == cluster.Lease(
        p.conference_id, winners[0].node, 1, None
    )


def test_an_expired_lease_is_taken_over_with_the_next_epoch_and_the_old_owner_is_fenced(
    calls: CallStore, tag: str
) -> None:
    p = provision(calls.db)
    old = _store(calls, f"{tag}-old", lease=0)  # expires at once (the database's clock)
    new = _store(calls, f"{tag}-new")
    assert old.claim(p.conference_id).epoch == 1  # type: ignore[union-attr]
    assert new.current(p.conference_id) is None
    taken = new.claim(p.conference_id)
    assert taken is not None and (taken.node, taken.epoch) == (new.node, 2)
    assert new.claim(p.conference_id) is None  # a live lease is nobody's to take

    assert old.renew(p.conference_id, 1) is False
    assert new.renew(p.conference_id, 2) is True
    with calls.db.unit_of_work() as s:
        meeting = Meeting(conference_id=p.conference_id, fs_conference_name="x", fs_node="x")
        s.add(meeting)
        s.flush()
        meeting_id = meeting.id
    with pytest.raises(cluster.Fenced):
        old.set_flags(meeting_id, p.conference_id, 1, locked=True)
    new.set_flags(meeting_id, p.conference_id, 2, locked=True, muted_all=True)
    assert new.meeting_flags(meeting_id) == (True, True)

    # Released, the room's epoch goes on counting (a stale epoch never comes back).
    new.release(p.conference_id, 2)
    assert new.current(p.conference_id) is None
    again = old.claim(p.conference_id)
    assert again is not None and again.epoch == 3
    with calls.db.unit_of_work() as s:
        assert s.get(Meeting, meeting_id).fs_node == old.node  # type: ignore[union-attr]
        s.execute(update(Meeting).where(Meeting.id == meeting_id).values(ended_at=utcnow()))


def test_a_drained_node_places_new_rooms_on_another_live_node(
    calls: CallStore, tag: str, nodes: list[str]
) -> None:
    p = provision(calls.db)
    drained, other = f"{tag}-a", f"{tag}-b"
    nodes += [drained, other]
    for name in nodes:
        _store(calls, name).beat(started=True)
    with calls.db.unit_of_work() as s:
        assert cluster.set_drained(s, drained, True)
    lease = _store(calls, drained).owner(p.conference_id)
    assert lease.node == other and lease.internal_sip == _store(calls, other).internal_sip


def test_a_node_over_its_load_limit_places_new_rooms_on_the_least_loaded(
    calls: CallStore, tag: str, nodes: list[str]
) -> None:
    busy_conf, new_conf = provision(calls.db), provision(calls.db)
    busy, idle = f"{tag}-a", f"{tag}-b"
    nodes += [busy, idle]
    for name in nodes:
        _store(calls, name).beat(started=True)
    assert _store(calls, busy).owner(busy_conf.conference_id).node == busy
    with calls.db.unit_of_work() as s:
        meeting = Meeting(conference_id=busy_conf.conference_id, fs_conference_name="x",
                          fs_node=busy)
        s.add(meeting)
        s.flush()
        for i in range(2):
            s.add(Attendance(call_uuid=f"{tag}-{i}", conference_id=busy_conf.conference_id,
                             meeting_id=meeting.id, role=Role.PARTICIPANT, joined_at=utcnow()))
    assert _store(calls, busy, max_members=3).owner(new_conf.conference_id).node == busy
    third = provision(calls.db)
    assert _store(calls, busy, max_members=2).owner(third.conference_id).node == idle


def test_node_list_shows_addresses_heartbeat_rooms_members_and_drain(
    calls: CallStore, tag: str, nodes: list[str], database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("heartbeat ages use PostgreSQL's clock (clustering is PostgreSQL only)")
    p = provision(calls.db)
    name = f"{tag}-list"
    nodes.append(name)
    store = _store(calls, name)
    store.beat(started=True)
    store.owner(p.conference_id)
    row = next(r for r in store.nodes() if r.node == name)
    assert row.alive and not row.drained and row.rooms == 1 and row.members == 0
    assert row.internal_sip == store.internal_sip
    assert row.heartbeat_age is not None and 0 <= row.heartbeat_age < 5


def test_calls_held_by_a_dead_node_are_closed_as_lost_by_a_survivor(
    calls: CallStore, tag: str, nodes: list[str]
) -> None:
    dead, stopped, alive = f"{tag}-dead", f"{tag}-stopped", f"{tag}-alive"
    nodes += [dead, stopped, alive]
    for name in nodes:
        _store(calls, name).beat(started=True)
    long_ago = utcnow() - dt.timedelta(hours=1)
    with calls.db.unit_of_work() as s:
        s.execute(update(ControllerNode).where(ControllerNode.node.in_([dead, stopped]))
                  .values(beat_at=long_ago, last_seen_at=long_ago))
        s.execute(update(ControllerNode).where(ControllerNode.node == stopped)
                  .values(stopped_at=long_ago))
        for name in nodes:
            s.add(Attendance(call_uuid=f"{name}-call", node=name, arrived_at=long_ago))
    closed = _store(calls, alive).close_dead_nodes_calls()
    assert f"{dead}-call" in closed
    assert not {f"{stopped}-call", f"{alive}-call"} & set(closed)
    with calls.db.unit_of_work() as s:
        rows = {r.call_uuid: r for r in s.query(Attendance).filter(
            Attendance.call_uuid.in_([f"{n}-call" for n in nodes]))}
        assert rows[f"{dead}-call"].end_reason == "lost"
        assert rows[f"{dead}-call"].left_at == long_ago
        assert rows[f"{alive}-call"].left_at is None
        for row in rows.values():  # leave nothing open for other tests
            row.left_at = row.left_at or utcnow()


def test_a_recorded_name_travels_through_the_database(calls: CallStore, tag: str) -> None:
    attendance_id = calls.start_call(call_uuid=f"{tag}-name", dialled="", caller_id_number=None,
                                     caller_id_name=None, lockout_caller=None).attendance_id
    store = _store(calls, f"{tag}-x")
    assert store.load_name(attendance_id) is None
    store.save_name(attendance_id, b"RIFF....WAVE")
    assert store.load_name(attendance_id) == b"RIFF....WAVE"


def test_admission_tells_the_owner_whether_a_chair_has_been_seated(
    calls: CallStore, tag: str
) -> None:
    """Wait for the chair across nodes: the owner judges it when a bridged leg arrives."""
    p = provision(calls.db)
    owner = _store(calls, f"{tag}-own")
    lease = owner.claim(p.conference_id)
    assert lease is not None
    now = utcnow()

    def seat(suffix: str, role: Role, joined: bool) -> int:
        with calls.db.unit_of_work() as s:
            row = Attendance(call_uuid=f"{tag}-{suffix}", node=f"{tag}-b", arrived_at=now,
                             conference_id=p.conference_id, meeting_id=meeting_id,
                             role=role, joined_at=now if joined else None)
            s.add(row)
            s.flush()
            return row.id

    with calls.db.unit_of_work() as s:
        meeting = Meeting(conference_id=p.conference_id, fs_conference_name="x", fs_node=owner.node)
        s.add(meeting)
        s.flush()
        meeting_id = meeting.id
    guest = seat("guest", Role.PARTICIPANT, joined=True)
    seat("chair-at-pin", Role.MODERATOR, joined=False)  # not seated yet: not arrived
    admitted = owner.admission(guest, p.conference_number, lease.epoch)
    assert admitted is not None and admitted.chair_arrived is False
    assert owner.chair_arrived(meeting_id) is False

    seat("chair", Role.MODERATOR, joined=True)  # seated on any node
    admitted = owner.admission(guest, p.conference_number, lease.epoch)
    assert admitted is not None and admitted.chair_arrived is True
    assert owner.chair_arrived(meeting_id) is True
    with calls.db.unit_of_work() as s:  # leave nothing open for other tests
        s.execute(update(Attendance).where(Attendance.meeting_id == meeting_id)
                  .values(left_at=utcnow()))
        s.execute(update(Meeting).where(Meeting.id == meeting_id).values(ended_at=utcnow()))
    owner.release(p.conference_id, lease.epoch)


def test_a_room_taken_over_brings_the_callers_hand_and_carries_the_recording_on(
    calls: CallStore, tag: str
) -> None:
    """What the new owner learns when a caller comes over, and the recording's rows:
    the old stretch ends interrupted, a new one goes on, started by the same person;
    a stale owner can do neither."""
    p = provision(calls.db)
    old, new = f"{tag}-old", f"{tag}-new"
    assert _store(calls, old, lease=0).claim(p.conference_id) is not None
    taken = _store(calls, new).claim(p.conference_id)
    assert taken is not None and taken.epoch == 2
    raised = utcnow() - dt.timedelta(seconds=30)
    with calls.db.unit_of_work() as s:
        meeting = Meeting(conference_id=p.conference_id, fs_conference_name="x", fs_node=new)
        s.add(meeting)
        s.flush()
        meeting_id = meeting.id
        chair = Attendance(call_uuid=f"{tag}-chair", node=old, conference_id=p.conference_id,
                           meeting_id=meeting_id, role=Role.MODERATOR, joined_at=raised)
        guest = Attendance(call_uuid=f"{tag}-guest", node=old, conference_id=p.conference_id,
                           meeting_id=meeting_id, role=Role.PARTICIPANT, joined_at=raised,
                           hand_raised_at=raised)
        s.add_all([chair, guest])
        s.flush()
        chair_id, guest_id = chair.id, guest.id
        s.add(Recording(conference_id=p.conference_id, meeting_id=meeting_id,
                        path="/old/node/meeting.wav", started_at=raised,
                        started_by_attendance_id=chair_id))
    admitted = _store(calls, new).admission(guest_id, p.conference_number, 2)
    assert admitted is not None
    assert (admitted.hand_raised_at, admitted.recording) == (raised, True)
    assert CallStore(calls.db, SecuritySettings(), node=new).seated_moderators(meeting_id) == {
        chair_id
    }

    with pytest.raises(RoomFenced):
        CallStore(calls.db, SecuritySettings(), node=old).resume_recording(
            conference_id=p.conference_id, meeting_id=meeting_id, path="/stale.wav", epoch=1)
    CallStore(calls.db, SecuritySettings(), node=new).resume_recording(
        conference_id=p.conference_id, meeting_id=meeting_id, path="/new/node/meeting.wav",
        epoch=2)
    with calls.db.unit_of_work() as s:
        rows = s.query(Recording).filter(Recording.meeting_id == meeting_id).order_by(
            Recording.id).all()
        assert [(r.path, r.interrupted, r.ended_at is None) for r in rows] == [
            ("/old/node/meeting.wav", True, False), ("/new/node/meeting.wav", False, True),
        ]
        assert rows[1].started_by_attendance_id == chair_id
        assert rows[0].ended_at == rows[1].started_at  # the takeover's moment
        rows[1].ended_at = utcnow()  # leave nothing open for other tests
        s.execute(update(Attendance).where(Attendance.meeting_id == meeting_id)
                  .values(left_at=utcnow()))
        s.execute(update(Meeting).where(Meeting.id == meeting_id).values(ended_at=utcnow()))
