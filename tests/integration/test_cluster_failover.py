"""Scale-out failover (issue 21, the gaps after the first cut): what a room's next owner
carries on, a restarted owner taking bridged legs back, a stale owner giving its copy up,
fifty first callers racing over three nodes, placement with three nodes.

Nodes, controllers and PostgreSQL as in test_cluster.py (the rig: cluster_rig.py).
"""

from __future__ import annotations

from pathlib import Path

import gevent
from sqlalchemy import select

from fsconf.store.models import Recording

from .cluster_rig import Cluster, Node, only_nodes_alive, voice
from .cluster_rig import configure as _configure
from .cluster_rig import leg_on as _leg_on
from .cluster_rig import wait as _wait
from .conftest import provision


def _kill_node(node: Node) -> None:
    """The whole machine dies: FreeSWITCH (SIGKILL: no BYE) and its controller's link to
    the database."""
    assert node.proxy is not None
    node.proxy.refusing = True
    node.proxy.cut()
    node.sim.kill()


def _recordings(cluster: Cluster, conference_id: int) -> list[Recording]:
    with cluster.db.unit_of_work() as s:
        rows = list(s.scalars(select(Recording).where(Recording.conference_id == conference_id)
                              .order_by(Recording.id)))
        for row in rows:
            s.expunge(row)
        return rows


# -- 1. the owner dies: its raised hands, recording and grace period carry on ------------


def test_after_the_owner_dies_hands_keep_their_order_and_the_recording_goes_on(
    cluster: Cluster,
) -> None:
    p = provision(cluster.db, language="en")
    # Ending with the chair, no grace: a chair re-homed after the participants must find
    # the meeting still going (the new owner waits for a chair who holds a seat).
    _configure(cluster, p, end_with_moderator=True, moderator_grace_seconds=0)
    a = cluster.node("a", "127.0.0.1", own_db_link=True)
    b = cluster.node("b", "127.0.0.2")
    a.dial_in(p, p.participant_pin, "0621000001").wait_member()  # first: A owns the room
    chair = b.dial_in(p, p.moderator_pin, "0621000002")
    chair_leg = _leg_on(a, p, "0621000002")
    carl = b.dial_in(p, p.participant_pin, "0621000003")
    carl_leg = _leg_on(a, p, "0621000003")
    bram = b.dial_in(p, p.participant_pin, "0621000004")
    bram_leg = _leg_on(a, p, "0621000004")

    chair.send_dtmf("*4")  # recorded on A
    chair_leg.wait_prompt("meeting-recorded")
    _wait(a, lambda: a.room(p)["recording"] is True, "A records")  # type: ignore[index]
    carl.send_dtmf("*5")  # carl first, then bram
    carl_leg.wait_prompt("hand-raised")
    bram.send_dtmf("*5")
    bram_leg.wait_prompt("hand-raised")
    b.driver.wait_for(lambda: cluster.attendance("0621000004", p).hand_raised_at is not None,
                      10, "bram's hand on his row")

    _kill_node(a)
    # B's three callers re-home (in whatever order their bridges notice): each hears
    # "one moment", then that the meeting is recorded, before entering B's room.
    for call in (chair, carl, bram):
        call.wait_prompt("one-moment")
        call.wait_prompt("meeting-recorded")
    _wait(b, lambda: len(b.callers(p)) == 3, "B hosts the three", timeout=20)
    lease = cluster.lease(p)
    assert lease is not None and (lease.node, lease.epoch) == (b.name, 2)

    # The recording goes on on B: the stretch A recorded ends interrupted at the takeover.
    _wait(b, lambda: (b.room(p) or {}).get("recording") is True, "B records")
    b.driver.wait_for(lambda: len(_recordings(cluster, p.conference_id)) == 2, 10,
                      "a second recording row")
    first, second = _recordings(cluster, p.conference_id)
    assert first.interrupted and first.ended_at is not None
    assert f"recordings-{a.name}/" in first.path
    assert not second.interrupted and second.ended_at is None
    assert f"recordings-{b.name}/" in second.path
    assert second.started_at >= first.ended_at
    assert second.started_by_attendance_id == cluster.attendance("0621000002", p).id

    # The hands, restored from the rows, in the order they went up on A.
    chair.send_dtmf("*5")
    carl.wait_prompt("you-have-the-floor")
    chair.send_dtmf("*5")
    bram.wait_prompt("you-have-the-floor")
    chair.send_dtmf("*5")
    chair.wait_prompt("no-raised-hands")
    # The chair made it in time: the meeting goes on.
    assert cluster.meeting(p).ended_at is None
    assert carl.hangup_cause is None and bram.hangup_cause is None


def test_a_chair_lost_with_the_owner_ends_the_meeting_after_the_grace_period(
    cluster: Cluster,
) -> None:
    p = provision(cluster.db)
    _configure(cluster, p, end_with_moderator=True, moderator_grace_seconds=1)
    a = cluster.node("a", "127.0.0.1", own_db_link=True)
    b = cluster.node("b", "127.0.0.2")
    a.dial_in(p, p.moderator_pin, "0622000001").wait_member()  # the chair, on A
    bram = b.dial_in(p, p.participant_pin, "0622000002")
    _leg_on(a, p, "0622000002")

    _kill_node(a)
    bram.wait_prompt("one-moment")
    _wait(b, lambda: b.member(p, "0622000002") is not None, "bram re-homed on B", timeout=20)
    # No chair came over: B counts down (once the chair's seat on the dead node is
    # closed as lost) and ends the meeting as A would have.
    bram.wait_prompt("meeting-ended", timeout=20)
    bram.wait_hangup()
    b.driver.wait_for(lambda: cluster.attendance("0622000002", p).left_at is not None, 10,
                      "B closes bram's row")
    assert cluster.attendance("0622000002", p).end_reason == "ended_with_moderator"
    assert cluster.attendance("0622000001", p).end_reason == "lost"
    b.driver.wait_for(lambda: cluster.meeting(p).ended_at is not None, 10, "meeting closed")
    assert cluster.meeting(p).end_reason == "ended_with_moderator"


# -- 2. the owner's controller is killed and restarted: bridged legs get their keys back -


def test_a_restarted_owner_controller_serves_the_keys_of_callers_on_other_nodes(
    cluster: Cluster,
) -> None:
    cluster.lease_seconds = 5.0  # the restart is well within a lease: nobody takes over
    p = provision(cluster.db)
    a = cluster.node("a", "127.0.0.1", process=True)  # its controller: its own process
    b = cluster.node("b", "127.0.0.2")
    chair = a.dial_in(p, p.moderator_pin, "0623000001")
    chair.wait_member()
    bram = b.dial_in(p, p.participant_pin, "0623000002")
    bram_leg = _leg_on(a, p, "0623000002")
    carl = b.dial_pin(p, p.participant_pin, "0623000003")
    carl.wait_prompt("tone")
    carl.speak(voice(cluster))  # his name, recorded on B, played from A's disk
    carl_leg = _leg_on(a, p, "0623000003")
    carl_name = Path(a.settings.freeswitch.recordings_dir, p.conference_number,
                     f"{carl_leg.b_uuid}.wav")
    assert carl_name.exists()
    carl.send_dtmf("*5")
    carl_leg.wait_prompt("hand-raised")
    b.driver.wait_for(lambda: cluster.attendance("0623000003", p).hand_raised_at is not None,
                      10, "carl's hand on his row")

    a.kill_controller()  # FreeSWITCH keeps everyone in the room (FINDINGS 33)
    a.restart()
    # bram's keys cross the bridge to A's leg; the restarted controller serves them.
    bram.send_dtmf("*1")
    _wait(a, lambda: a.member(p, "0623000002")["flags"]["can_speak"] is False,  # type: ignore[index]
          "bram muted on A")
    bram_leg.wait_prompt("/muted")
    bram.send_dtmf("*6")
    bram_leg.wait_prompt("participants-present-before")
    # The hand carl raised before the restart still queues.
    chair.send_dtmf("*5")
    carl_leg.wait_prompt("you-have-the-floor")

    # Leaving is handled: a remote caller's hang-up, and a removal by the chair (*31).
    chair.send_dtmf("*3#")  # the roll call still names carl, from A's copy of his name
    chair.wait_prompt("roll-call")
    assert chair.wait_prompt(f"recordings-{a.name}/") == str(carl_name)
    carl.hangup()
    _wait(a, lambda: a.member(p, "0623000003") is None, "carl's leg gone from A")
    b.driver.wait_for(lambda: cluster.attendance("0623000003", p).left_at is not None, 10,
                      "B closes carl's row")
    assert cluster.attendance("0623000003", p).end_reason == "hung_up"
    chair.send_dtmf("*31")
    bram_leg.wait_prompt("you-were-removed")
    bram.wait_hangup()
    b.driver.wait_for(lambda: cluster.attendance("0623000002", p).left_at is not None, 10,
                      "B closes bram's row")
    row = cluster.attendance("0623000002", p)
    assert (row.end_reason, row.node) == ("kicked", b.name)
    assert not carl_name.exists()  # A's copy went with him
    lease = cluster.lease(p)
    assert lease is not None and (lease.node, lease.epoch) == (a.name, 1)
    assert cluster.meeting(p).ended_at is None and chair.hangup_cause is None


# -- 3. a stale owner gives its copy of the room up -------------------------------------


def test_a_stale_owner_lets_every_caller_go_to_the_new_owner(cluster: Cluster) -> None:
    p = provision(cluster.db)
    a = cluster.node("a", "127.0.0.1", own_db_link=True)
    b = cluster.node("b", "127.0.0.2")
    anna = a.dial_in(p, p.participant_pin, "0624000001")  # first: A owns the room
    anna.wait_member()
    bram = b.dial_in(p, p.participant_pin, "0624000002")
    _leg_on(a, p, "0624000002")

    # A is cut off from the database (its FreeSWITCH and calls go on): its lease runs out
    # and a newcomer on B starts the room again there. Two copies of the meeting.
    assert a.proxy is not None
    a.proxy.refusing = True
    a.proxy.cut()
    b.driver.wait_for(lambda: _expired(cluster, p), 10, "A's lease expired")
    carl = b.dial_in(p, p.participant_pin, "0624000003")
    _wait(b, lambda: b.member(p, "0624000003") is not None, "carl in a room on B")
    lease = cluster.lease(p)
    assert lease is not None and (lease.node, lease.epoch) == (b.name, 2)
    assert a.member(p, "0624000001") is not None  # the stale copy on A

    # A's link comes back: its renewal is refused, it gives its copy up.
    a.proxy.refusing = False
    bram.wait_prompt("one-moment", timeout=15)  # said by B, which follows the lease
    anna.wait_prompt("one-moment")  # said by A as it lets its own caller go
    _wait(b, lambda: len(b.callers(p)) == 3, "everyone on B", timeout=20)
    _wait(a, lambda: a.room(p) is None, "no copy left on A")
    # anna rang A: A keeps her call and her row, bridged to B now.
    row = cluster.attendance("0624000001", p)
    assert row.node == a.name and row.left_at is None
    for caller in ("0624000002", "0624000003"):
        assert cluster.attendance(caller, p).left_at is None
    assert cluster.meeting(p).ended_at is None
    assert (anna.hangup_cause, bram.hangup_cause, carl.hangup_cause) == (None, None, None)
    anna.send_dtmf("*1")  # her keys now act on B's room
    _wait(b, lambda: b.member(p, "0624000001")["flags"]["can_speak"] is False,  # type: ignore[index]
          "anna muted on B")


def test_an_owner_restarted_after_a_takeover_gives_up_the_copy_it_still_hosts(
    cluster: Cluster,
) -> None:
    p = provision(cluster.db)
    a = cluster.node("a", "127.0.0.1", process=True)
    b = cluster.node("b", "127.0.0.2")
    anna = a.dial_in(p, p.participant_pin, "0627000001")  # first: A owns the room
    anna.wait_member()
    bram = b.dial_in(p, p.participant_pin, "0627000002")
    _leg_on(a, p, "0627000002")

    # A's controller dies and stays away longer than a lease; a newcomer on B starts the
    # room there (epoch 2) while A's FreeSWITCH still holds anna and bram's leg.
    a.kill_controller()
    b.driver.wait_for(lambda: _expired(cluster, p), 10, "A's lease expired")
    carl = b.dial_in(p, p.participant_pin, "0627000003")
    _wait(b, lambda: b.member(p, "0627000003") is not None, "carl in a room on B")

    a.restart()  # finds the room's lease on B: its copy goes
    bram.wait_prompt("one-moment", timeout=15)
    _wait(b, lambda: len(b.callers(p)) == 2, "bram re-homed next to carl", timeout=20)
    # anna has no call socket on the restarted controller to be bridged on: told, let go.
    anna.wait_prompt("technical-problem")
    anna.wait_hangup()
    _wait(a, lambda: a.room(p) is None, "no copy left on A")
    b.driver.wait_for(lambda: cluster.attendance("0627000001", p).left_at is not None, 10,
                      "anna's row closed")
    # B closed her row as lost when A's heartbeat stopped; A, finding her still there,
    # opened it again: it closes when she was really let go, after carl came in.
    row = cluster.attendance("0627000001", p)
    assert row.end_reason == "lost"
    assert row.left_at >= cluster.attendance("0627000003", p).joined_at  # type: ignore[operator]
    assert cluster.attendance("0627000002", p).left_at is None
    lease = cluster.lease(p)
    assert lease is not None and (lease.node, lease.epoch) == (b.name, 2)
    assert (bram.hangup_cause, carl.hangup_cause) == (None, None)


def _expired(cluster: Cluster, p) -> bool:  # type: ignore[no-untyped-def]
    from fsconf.store import cluster as rows

    with cluster.db.unit_of_work() as s:
        return rows.current(s, p.conference_id) is None


# -- 4. fifty first callers of one new room on three nodes -------------------------------


def test_fifty_first_callers_on_three_nodes_meet_in_one_room(cluster: Cluster) -> None:
    p = provision(cluster.db, max_participants=60, record_names=False)
    nodes = [cluster.node(n, f"127.0.0.{i + 1}") for i, n in enumerate("abc")]
    callers = [(f"06250{i:05d}", nodes[i % 3]) for i in range(50)]

    def dial(caller: str, node: Node) -> None:
        node.dial_pin(p, p.participant_pin, caller)

    gevent.joinall([gevent.spawn(dial, c, n) for c, n in callers], timeout=60,
                   raise_error=True)
    lease = cluster.lease(p)
    assert lease is not None and lease.epoch == 1
    [owner] = [n for n in nodes if n.name == lease.node]
    owner.driver.wait_for(lambda: len(owner.callers(p)) == 50, 60,
                          lambda: f"50 members on {owner.name}: {len(owner.callers(p))}")
    for n in nodes:
        if n is not owner:
            assert n.room(p) is None  # one room, on its owner
    rows = [cluster.attendance(c, p) for c, _ in callers]
    assert all(r.joined_at is not None and r.left_at is None for r in rows)
    assert {r.node for r in rows} == {n.name for n in nodes}
    assert len({r.meeting_id for r in rows}) == 1


# -- 5. placement over three nodes --------------------------------------------------------


def test_new_rooms_go_to_the_first_callers_node_else_the_least_loaded_live_one(
    cluster: Cluster,
) -> None:
    from fsconf.services.nodes import set_drained

    rooms = [provision(cluster.db) for _ in range(5)]
    a, b, c = (cluster.node(n, f"127.0.0.{i + 1}", max_members=2)
               for i, n in enumerate("abc"))
    a.driver.wait_for(lambda: only_nodes_alive(cluster, {a.name, b.name, c.name}), 10,
                      "only this test's nodes alive")

    def first_caller(node: Node, room_index: int, caller: str) -> None:
        node.dial_in(rooms[room_index], rooms[room_index].participant_pin, caller)

    def owner(room_index: int) -> str:
        lease = cluster.lease(rooms[room_index])
        assert lease is not None
        return lease.node

    def hosted(node: Node, room_index: int, caller: str) -> None:
        _wait(node, lambda: node.member(rooms[room_index], caller) is not None,
              f"room {room_index} on {node.name}")

    # Each room stays where its first caller landed, whatever the others' load.
    first_caller(a, 0, "0626000001")
    hosted(a, 0, "0626000001")
    first_caller(b, 1, "0626000002")
    hosted(b, 1, "0626000002")
    assert (owner(0), owner(1)) == (a.name, b.name)
    a.dial_in(rooms[0], rooms[0].participant_pin, "0626000003")  # A at its limit (2)
    hosted(a, 0, "0626000003")

    # A first caller on A, now at its limit: the least-loaded live node, C (0 < B's 1).
    first_caller(a, 2, "0626000004")
    hosted(c, 2, "0626000004")
    assert owner(2) == c.name
    # C drained: its own first caller's room goes to the least loaded of the others
    # that fit: B (1 member; A is at its limit).
    with cluster.db.unit_of_work() as s:
        set_drained(s, actor="test", node=c.name, drained=True)
    first_caller(c, 3, "0626000005")
    hosted(b, 3, "0626000005")
    assert owner(3) == b.name
    # Now A and B are at their limit and C drained: with no node fitting, the least
    # loaded live undrained node still takes the meeting rather than refusing it.
    first_caller(b, 4, "0626000006")
    hosted(a, 4, "0626000006")
    assert owner(4) == a.name  # A and B tie at 2 members: by name
