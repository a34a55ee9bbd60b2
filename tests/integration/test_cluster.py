"""Scale-out (issue 21): several simulated FreeSWITCH nodes, one controller each, one
PostgreSQL (the rig: cluster_rig.py). A room lives on one owner node; callers who ring
another node are bridged there over the internal SIP profile with signed X-Fsconf
headers. Clustering on SQLite is refused by design, so these tests skip there.
"""

from __future__ import annotations

from pathlib import Path

import gevent
import pytest
from sqlalchemy import select

from fsconf.store.callstore import RoomFenced
from fsconf.store.models import Recording
from fsconf.testing.driver import CallDriver

from .cluster_rig import LEASE, Cluster, Node, only_nodes_alive, voice
from .cluster_rig import configure as _configure
from .cluster_rig import leg_on as _leg_on
from .cluster_rig import wait as _wait
from .conftest import provision

# -- (a) callers arriving on A and B meet in one mod_conference on the owner ------------


def test_callers_on_two_nodes_meet_in_one_room_on_the_owner(cluster: Cluster) -> None:
    p = provision(cluster.db)
    a = cluster.node("a", "127.0.0.1")
    b = cluster.node("b", "127.0.0.2")
    chair = a.dial_in(p, p.moderator_pin, "0611000001")
    chair.wait_member()
    lease = cluster.lease(p)
    assert lease is not None and (lease.node, lease.epoch) == (a.name, 1)

    guest = b.dial_in(p, p.participant_pin, "0611000002")
    guest.wait_prompt("one-participant-present")  # the head count is played on B
    _wait(a, lambda: a.member(p, "0611000002") is not None, "B's caller in A's room")
    assert len(a.members(p)) == 2
    assert b.room(p) is None  # B hosts nothing: one room, on its owner
    # The arrival is announced to the room on A. This caller pressed # without saying
    # anything, so "unnamed caller" (a spoken name: the test after this one).
    chair.wait_prompt("unnamed-caller")
    chair.wait_prompt("has-joined")
    # B keeps the caller's own leg and attendance row.
    row = cluster.attendance("0611000002", p)
    assert row.node == b.name and row.joined_at is not None and row.left_at is None
    assert cluster.attendance("0611000001", p).node == a.name

    # Keys cross the bridge and the owner's controller serves them: *1 mutes on A.
    guest.send_dtmf("*1")
    _wait(a, lambda: a.member(p, "0611000002")["flags"]["can_speak"] is False, "muted on A")  # type: ignore[index]

    guest.hangup()
    _wait(a, lambda: a.member(p, "0611000002") is None, "the leg on A ends with B's caller")
    b.driver.wait_for(lambda: cluster.attendance("0611000002", p).left_at is not None, 10,
                      "B closes its caller's row")
    assert cluster.attendance("0611000002", p).end_reason == "hung_up"


def test_a_name_recorded_on_b_is_announced_and_in_the_roll_call_on_the_owner(
    cluster: Cluster,
) -> None:
    p = provision(cluster.db)
    a = cluster.node("a", "127.0.0.1")
    b = cluster.node("b", "127.0.0.2")
    chair = a.dial_in(p, p.moderator_pin, "0618000001")
    chair.wait_member()

    # The caller on B says their name at the tone; `record` on B ends by silence.
    guest = b.dial_pin(p, p.participant_pin, "0618000002")
    guest.wait_prompt("tone")
    guest.speak(voice(cluster))
    _wait(a, lambda: a.member(p, "0618000002") is not None, "B's caller in A's room")
    on_b = cluster.attendance("0618000002", p)
    assert on_b.node == b.name and on_b.name_recording_path is not None
    recorded = Path(on_b.name_recording_path).read_bytes()  # B's disk
    assert len(recorded) > 44 + 8000  # over half a second of audio, not an empty WAV

    # A announces the name B recorded: a file on A's own disk, the same audio.
    announced = chair.wait_prompt(f"recordings-{a.name}/")
    chair.wait_prompt("has-joined")
    assert Path(announced).read_bytes() == recorded

    # The roll call on A (*3, at once with #) names the chair, then B's caller by name.
    chair.send_dtmf("*3#")
    chair.wait_prompt("roll-call")
    assert chair.wait_prompt(f"recordings-{a.name}/") == announced

    guest.hangup()
    _wait(a, lambda: a.member(p, "0618000002") is None, "the leg on A ends")
    _wait(a, lambda: not Path(announced).exists(), "A removes its copy of the name")


def test_a_moderator_on_b_ends_the_meeting_on_the_owner(cluster: Cluster) -> None:
    p = provision(cluster.db)
    a = cluster.node("a", "127.0.0.1")
    b = cluster.node("b", "127.0.0.2")
    a.dial_in(p, p.participant_pin, "0612000001").wait_member()
    chair = b.dial_in(p, p.moderator_pin, "0612000002")
    guest = b.dial_in(p, p.participant_pin, "0612000003")  # a participant on B too
    leg = _leg_on(a, p, "0612000003")
    _wait(a, lambda: len(a.members(p)) == 3, "B's callers in A's room")
    chair.send_dtmf("*30")
    leg.wait_prompt("meeting-ended")  # B's participant hears it through the bridge
    _wait(a, lambda: a.room(p) is None, "the meeting ended on A")
    chair.wait_hangup()
    guest.wait_hangup()
    for caller in ("0612000002", "0612000003"):
        b.driver.wait_for(lambda c=caller: cluster.attendance(c, p).left_at is not None,
                          10, "B closes its callers' rows")
        row = cluster.attendance(caller, p)
        assert (row.end_reason, row.node) == ("ended_by_moderator", b.name)
    assert cluster.meeting(p).ended_at is not None


# -- issue 22's features for a room whose callers are on several nodes -------------------


def test_a_participant_on_b_waits_for_the_chair_who_arrives_on_b(cluster: Cluster) -> None:
    p = provision(cluster.db)
    _configure(cluster, p, wait_for_moderator=True)
    a = cluster.node("a", "127.0.0.1")
    b = cluster.node("b", "127.0.0.2")
    anna = a.dial_in(p, p.participant_pin, "0618000001")  # first: A owns the room
    anna.wait_prompt("waiting-for-moderator")
    anna.wait_member()
    bram = b.dial_in(p, p.participant_pin, "0618000002")
    leg = _leg_on(a, p, "0618000002")
    leg.wait_prompt("waiting-for-moderator")  # held like a local caller, by the owner
    assert a.member(p, "0618000002")["flags"]["can_speak"] is False  # type: ignore[index]
    assert a.room(p)["wait_mod"] is True  # type: ignore[index]
    bram.send_dtmf("*1")  # keys cross the bridge; the owner says the meeting has not begun
    leg.wait_prompt("still-waiting")

    b.dial_in(p, p.moderator_pin, "0618000003")  # the chair, bridged from B as well
    leg.wait_prompt("moderator-arrived")
    anna.wait_prompt("moderator-arrived")
    _wait(a, lambda: a.room(p)["wait_mod"] is False, "wait_mod cleared on A")  # type: ignore[index]
    _wait(a, lambda: a.member(p, "0618000002")["flags"]["can_speak"], "bram heard")  # type: ignore[index]
    # The wait lands on the row B keeps for its caller.
    b.driver.wait_for(lambda: cluster.attendance("0618000002", p).waited_seconds is not None,
                      10, "bram's wait recorded")
    assert cluster.attendance("0618000002", p).node == b.name
    assert bram.hangup_cause is None


def test_the_meeting_ends_with_its_chair_for_callers_on_other_nodes(cluster: Cluster) -> None:
    p = provision(cluster.db)
    _configure(cluster, p, end_with_moderator=True, moderator_grace_seconds=0)
    a = cluster.node("a", "127.0.0.1")
    b = cluster.node("b", "127.0.0.2")
    chair = a.dial_in(p, p.moderator_pin, "0619000001")
    chair.wait_member()
    bram = b.dial_in(p, p.participant_pin, "0619000002")
    leg = _leg_on(a, p, "0619000002")
    chair.hangup()
    leg.wait_prompt("meeting-ended")  # heard through the bridge before it ends
    bram.wait_hangup()
    b.driver.wait_for(lambda: cluster.attendance("0619000002", p).left_at is not None, 10,
                      "B closes its caller's row")
    row = cluster.attendance("0619000002", p)
    assert (row.end_reason, row.node) == ("ended_with_moderator", b.name)
    b.driver.wait_for(lambda: cluster.meeting(p).ended_at is not None, 10, "meeting closed")
    assert cluster.meeting(p).end_reason == "ended_with_moderator"


def test_recording_hands_and_count_for_callers_on_two_nodes(cluster: Cluster) -> None:
    p = provision(cluster.db, language="en")
    a = cluster.node("a", "127.0.0.1")
    b = cluster.node("b", "127.0.0.2")
    anna = a.dial_in(p, p.participant_pin, "0620000001")  # first: A owns the room
    anna.wait_member()
    chair = b.dial_in(p, p.moderator_pin, "0620000002")
    chair_leg = _leg_on(a, p, "0620000002")
    bram = b.dial_in(p, p.participant_pin, "0620000003")
    bram_leg = _leg_on(a, p, "0620000003")

    # *4 from the moderator on B records on the owner; everyone hears it.
    chair.send_dtmf("*4")
    chair_leg.wait_prompt("meeting-recorded")
    anna.wait_prompt("meeting-recorded")
    bram_leg.wait_prompt("meeting-recorded")
    _wait(a, lambda: a.room(p)["recording"] is True, "A records the room")  # type: ignore[index]
    # A late joiner on B hears the notice on B, before the bridge (they may hang up).
    carl = b.dial_in(p, p.participant_pin, "0620000004")
    carl.wait_prompt("meeting-recorded")
    _leg_on(a, p, "0620000004")
    with cluster.db.unit_of_work() as s:
        rec = s.scalars(select(Recording).where(Recording.conference_id == p.conference_id)).one()
        assert rec.started_by_attendance_id == cluster.attendance("0620000002", p).id

    # *5 hands across nodes, floor given in order while mute-all is on.
    chair.send_dtmf("*11")
    _wait(a, lambda: a.member(p, "0620000003")["flags"]["can_speak"] is False, "muted all")  # type: ignore[index]
    bram.send_dtmf("*5")  # on B, first
    bram_leg.wait_prompt("hand-raised")
    chair_leg.wait_prompt("/raised-hand.wav")
    anna.send_dtmf("*5")  # on A, second
    anna.wait_prompt("hand-raised")
    chair_leg.wait_prompt("/raised-hand.wav")
    chair.send_dtmf("*5")
    bram_leg.wait_prompt("you-have-the-floor")
    chair_leg.wait_prompt("floor-given")
    _wait(a, lambda: a.member(p, "0620000003")["flags"]["can_speak"], "bram unmuted")  # type: ignore[index]
    assert a.member(p, "0620000001")["flags"]["can_speak"] is False  # type: ignore[index]
    chair.send_dtmf("*5")
    anna.wait_prompt("you-have-the-floor")

    # *6 on B counts the members of both nodes: anna (A), bram and carl (B), a moderator.
    bram.send_dtmf("*6")
    bram_leg.wait_prompt("participants-present-before")
    bram_leg.wait_prompt("digits/3.wav")
    bram_leg.wait_prompt("participants-present-after")
    bram_leg.wait_prompt("/moderator-present")


# -- (c) mute-all and lock from B hold on the owner, for a late joiner on C too ------------


def test_mute_all_and_lock_from_b_hold_on_the_owner_and_for_a_late_joiner_on_c(
    cluster: Cluster,
) -> None:
    p = provision(cluster.db)
    a = cluster.node("a", "127.0.0.1")
    b = cluster.node("b", "127.0.0.2")
    c = cluster.node("c", "127.0.0.3")
    a.dial_in(p, p.participant_pin, "0613000001").wait_member()
    chair = b.dial_in(p, p.moderator_pin, "0613000002")
    _wait(a, lambda: len(a.members(p)) == 2, "B's moderator in A's room")

    chair.send_dtmf("*11")
    _wait(a, lambda: a.member(p, "0613000001")["flags"]["can_speak"] is False,  # type: ignore[index]
          "participants muted on A")
    assert a.member(p, "0613000002")["flags"]["can_speak"] is True  # type: ignore[index]
    late = c.dial_in(p, p.participant_pin, "0613000003")
    _wait(a, lambda: a.member(p, "0613000003") is not None, "C's late joiner on A")
    assert a.member(p, "0613000003")["flags"]["can_speak"] is False  # type: ignore[index]
    assert c.room(p) is None

    chair.send_dtmf("*21")
    b.driver.wait_for(lambda: cluster.meeting(p).locked, 10, "lock saved")
    a.driver.wait_for(lambda: a.room(p)["locked"] is True, 10, "A's room locked")  # type: ignore[index]
    refused = c.dial_pin(p, p.participant_pin, "0613000004")
    refused.wait_prompt("conference-locked")
    refused.wait_hangup()
    c.driver.wait_for(lambda: cluster.attendance("0613000004", p).left_at is not None, 10,
                      "C closes the refused caller's row")
    assert cluster.attendance("0613000004", p).end_reason == "rejected_locked"
    assert late.hangup_cause is None


# -- (g) forged X-Fsconf headers on a trunk call: the normal IVR ---------------------------


def test_forged_room_headers_from_the_trunk_get_the_normal_ivr(cluster: Cluster) -> None:
    p = provision(cluster.db)
    a = cluster.node("a", "127.0.0.1")
    # A "trunk" that sends SIP to A's public profile (external, port 5080, context fsconf)
    # with X-Fsconf headers copied from a real room leg, and one that sends the same to
    # A's internal profile with a signature made without the secret.
    forged = (
        f"sip_h_X-Fsconf-Room={p.conference_number},sip_h_X-Fsconf-Role=moderator,"
        "sip_h_X-Fsconf-Attendance=1,sip_h_X-Fsconf-Epoch=1,"
        "sip_h_X-Fsconf-Expires=9999999999,sip_h_X-Fsconf-Signature=" + "ab" * 32
    )
    via_trunk = f"{{{forged}}}sofia/external/{p.access_number}@127.0.0.1:5080"
    via_internal = f"{{{forged}}}sofia/internal/fsconf-room-{p.conference_number}@127.0.0.1:5090"
    conf = cluster.conf("trunk")
    (conf / "dialplan" / "forge.xml").write_text(f"""<include>
  <context name="forge">
    <extension name="via_trunk">
      <condition field="destination_number" expression="^trunk$">
        <action application="bridge" data="{via_trunk}"/>
      </condition>
    </extension>
    <extension name="via_internal">
      <condition field="destination_number" expression="^internal$">
        <action application="bridge" data="{via_internal}"/>
      </condition>
    </extension>
  </context>
</include>
""")
    trunk = cluster.sim("trunk", "127.0.0.9", 9, conf=conf)
    d_t = CallDriver("127.0.0.1", trunk.port, timeout=10.0)
    try:
        d_t.place_call("trunk", "0614000001", "Mallory", context="forge")

        def ivr_on_a() -> bool:
            return any(
                e.name == "PLAYBACK_START"
                and "enter-conference-number" in (e.get("Playback-File-Path") or "")
                and (e.get("Channel-Name") or "").startswith("sofia/external/")
                for e in a.driver.events
            )

        _wait(a, ivr_on_a, "the number prompt on the forged trunk call")
        assert a.room(p) is None

        call = d_t.place_call("internal", "0614000002", "Mallory", context="forge")
        call.wait_hangup()  # the owner refuses the leg (CALL_REJECTED), the bridge fails
        assert a.room(p) is None
    finally:
        d_t.close()
        trunk.stop()


# -- (d) the owner node dies: callers re-homed, epoch + 1, state restored, fencing ---------


def test_owner_death_rehomes_remote_callers_and_fences_the_stale_owner(
    cluster: Cluster,
) -> None:
    p = provision(cluster.db)
    a = cluster.node("a", "127.0.0.1", own_db_link=True)
    b = cluster.node("b", "127.0.0.2")
    local = a.dial_in(p, p.participant_pin, "0615000001")
    local.wait_member()
    chair = b.dial_in(p, p.moderator_pin, "0615000002")
    _wait(a, lambda: a.member(p, "0615000002") is not None, "B's moderator on A")
    guest = b.dial_in(p, p.participant_pin, "0615000003")
    _wait(a, lambda: a.member(p, "0615000003") is not None, "B's participant on A")
    chair.send_dtmf("*11")
    _wait(a, lambda: a.member(p, "0615000003")["flags"]["can_speak"] is False, "muted all")  # type: ignore[index]
    chair.send_dtmf("*21")
    b.driver.wait_for(lambda: cluster.meeting(p).locked, 10, "lock saved")
    assert cluster.lease(p).epoch == 1  # type: ignore[union-attr]

    # Node A dies whole: FreeSWITCH (SIGKILL: no BYE) and its controller's database link.
    assert a.proxy is not None
    a.proxy.refusing = True
    a.proxy.cut()
    a.sim.kill()

    # B's bridges end by media timeout; B's controller says "one moment", takes the room
    # over once A's lease expired (epoch 2) and hosts it itself.
    chair.wait_prompt("one-moment")
    _wait(b, lambda: len(b.members(p)) == 2, "both B callers re-homed on B", timeout=20)
    lease = cluster.lease(p)
    assert lease is not None and (lease.node, lease.epoch) == (b.name, 2)
    room = b.room(p)
    assert room is not None and room["locked"] is True
    assert b.member(p, "0615000003")["flags"]["can_speak"] is False  # type: ignore[index]
    assert b.member(p, "0615000002")["flags"]["can_speak"] is True  # type: ignore[index]
    refused = b.dial_pin(p, p.participant_pin, "0615000004")
    refused.wait_prompt("conference-locked")  # the lock came back with the room

    # A's own caller is closed as lost by B once A's heartbeat expired; nothing left open.
    b.driver.wait_for(lambda: cluster.attendance("0615000001", p).left_at is not None, 10,
                      "A's caller closed")
    assert cluster.attendance("0615000001", p).end_reason == "lost"
    for caller in ("0615000002", "0615000003"):
        row = cluster.attendance(caller, p)
        assert row.left_at is None and row.node == b.name
    assert cluster.meeting(p).ended_at is None

    # A comes back (its database link first): as a stale owner it can do nothing.
    a.proxy.refusing = False
    stale = a.controller
    assert stale.ctx.cluster is not None
    assert stale.ctx.cluster.renew(p.conference_id, 1) is False
    with pytest.raises(RoomFenced):
        stale.store.set_room_flags(p.conference_id, 1, cluster.meeting(p).id, locked=False)
    assert stale.ctx.cluster.admission(cluster.attendance("0615000003", p).id,
                                       p.conference_number, 1) is None
    assert cluster.meeting(p).locked

    guest.hangup()
    chair.hangup()
    b.driver.wait_for(lambda: cluster.meeting(p).ended_at is not None, 10, "meeting closed")
    for caller in ("0615000002", "0615000003"):
        assert cluster.attendance(caller, p).end_reason == "hung_up"


# -- operators: fsconf live acts wherever the room lives; fsconf node list / drain -------


@pytest.fixture
def cli_on(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """`fsconf` as run on one node's machine (its own Event Socket, the shared database)."""
    from fsconf.cli.main import main

    def run(node: Node, *argv: str) -> tuple[int, str, str]:
        s = node.controller.settings
        monkeypatch.setenv("FSCONF_DATABASE_URL", s.database_url)
        monkeypatch.setenv("FSCONF_FREESWITCH_PORT", str(node.sim.port))
        monkeypatch.setenv("FSCONF_CLUSTER_NODE", s.cluster.node)
        monkeypatch.setenv("FSCONF_CLUSTER_INTERNAL_SIP", s.cluster.internal_sip)
        monkeypatch.setenv("FSCONF_CLUSTER_LEASE_SECONDS", str(LEASE))
        monkeypatch.setenv("FSCONF_OPERATOR", "ops-test")
        capsys.readouterr()
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_operators_see_and_act_on_a_room_from_another_node(cluster: Cluster, cli_on) -> None:  # type: ignore[no-untyped-def]
    import json

    p = provision(cluster.db)
    a = cluster.node("a", "127.0.0.1")
    b = cluster.node("b", "127.0.0.2")
    local = a.dial_in(p, p.participant_pin, "0616000001")
    local.wait_member()
    b.dial_in(p, p.participant_pin, "0616000002")
    _wait(a, lambda: len(a.members(p)) == 2, "B's caller in A's room")

    code, out, err = cli_on(b, "live", "--json", "--conference", p.conference_number)
    assert code == 0, err
    [meeting] = json.loads(out)
    assert {m["caller_id_number"] for m in meeting["members"]} == {"0616000001", "0616000002"}
    code, out, err = cli_on(b, "live", "mute", p.conference_number, str(local.member_id))
    assert code == 0, err
    _wait(a, lambda: a.member(p, "0616000001")["flags"]["can_speak"] is False, "muted on A")  # type: ignore[index]

    code, out, err = cli_on(b, "node", "list", "--json")
    assert code == 0, err
    rows = {r["node"]: r for r in json.loads(out)}
    assert rows[a.name]["rooms"] == 1 and rows[a.name]["members"] == 2
    assert rows[a.name]["internal_sip"] == "127.0.0.1:5090" and rows[a.name]["alive"]
    assert rows[b.name]["rooms"] == 0 and not rows[b.name]["drained"]
    code, out, err = cli_on(b, "node", "drain", b.name, "--json")
    assert code == 0 and json.loads(out) == {"node": b.name, "drained": True}
    code, out, err = cli_on(b, "node", "list")
    assert code == 0 and b.name in out
    code, out, err = cli_on(b, "node", "drain", "no such node")
    assert code == 2 and len(err.strip().splitlines()) == 1 and out == ""
    code, out, err = cli_on(b, "node", "undrain", f"nobody-{cluster.tag}")
    assert code == 2 and "no node" in err and out == ""


# -- (e) a controller killed: the backup socket takes new calls, room legs too ----------


def test_a_killed_controller_leaves_new_calls_and_room_legs_to_the_backup(
    cluster: Cluster,
) -> None:
    p = provision(cluster.db)
    a = cluster.node("a", "127.0.0.1", backup=True)
    b = cluster.node("b", "127.0.0.2")
    a.dial_in(p, p.moderator_pin, "0617000001").wait_member()
    # A's first controller dies: its port refuses, the dialplan goes on to the backup.
    a.controller.server.stop_accepting()
    assert a.backup is not None
    a.dial_in(p, p.participant_pin, "0617000002").wait_member()
    b.dial_in(p, p.participant_pin, "0617000003")
    _wait(a, lambda: len(a.members(p)) == 3, "the new callers in A's room")
    assert a.backup.server.sessions  # the backup serves them
    lease = cluster.lease(p)
    assert lease is not None and (lease.node, lease.epoch) == (a.name, 1)


# -- the participant limit holds exactly when callers race in on two nodes --------------


def test_callers_racing_for_the_last_seats_on_two_nodes_get_exactly_the_limit(
    cluster: Cluster,
) -> None:
    p = provision(cluster.db, max_participants=2)
    a = cluster.node("a", "127.0.0.1")
    b = cluster.node("b", "127.0.0.2")
    a.dial_in(p, p.moderator_pin, "0619000001").wait_member()  # the moderator is not counted
    b.dial_in(p, p.participant_pin, "0619000002")
    _wait(a, lambda: len(a.members(p)) == 2, "the first participant in A's room")

    # Four callers, two on each node, dial in at the same moment for the one seat left
    # (each node's controller checks the limit under the conference's row lock).
    plan = (("0619000011", a), ("0619000012", b), ("0619000013", a), ("0619000014", b))
    dialling = [gevent.spawn(node.dial_in, p, p.participant_pin, caller)
                for caller, node in plan]
    gevent.joinall(dialling, timeout=15, raise_error=True)
    racers = {caller: g.value for (caller, _), g in zip(plan, dialling, strict=True)}

    def settled() -> bool:
        rows = [cluster.attendance(c, p) for c in racers]
        return all(r.joined_at is not None or r.left_at is not None for r in rows)

    a.driver.wait_for(settled, 15, "every racer seated or refused")
    rows = {c: cluster.attendance(c, p) for c in racers}
    seated = [c for c, r in rows.items() if r.end_reason is None]
    refused = [c for c, r in rows.items() if r.end_reason == "rejected_full"]
    assert len(seated) == 1 and len(refused) == 3, {c: r.end_reason for c, r in rows.items()}
    for caller in refused:
        racers[caller].wait_prompt("conference-full")
        racers[caller].wait_hangup()
    [winner] = seated
    _wait(a, lambda: a.member(p, winner) is not None, "the one who got the seat, on A")
    assert len(a.members(p)) == 3  # moderator + the limit of two participants
    assert racers[winner].hangup_cause is None


# -- (f) placement over running nodes: load, then drain -------------------------------


def test_new_rooms_spread_by_load_and_skip_a_drained_node(cluster: Cluster) -> None:
    from fsconf.services.nodes import set_drained

    first, second, third = (provision(cluster.db) for _ in range(3))
    a = cluster.node("a", "127.0.0.1", max_members=1)
    b = cluster.node("b", "127.0.0.2", max_members=1)
    a.driver.wait_for(lambda: only_nodes_alive(cluster, {a.name, b.name}), 10,
                      "only this test's nodes alive")

    # The first room stays where its first caller landed: A, now at its load limit.
    a.dial_in(first, first.participant_pin, "0620000001").wait_member()
    assert cluster.lease(first).node == a.name  # type: ignore[union-attr]
    # The next room's first caller also lands on A: the room goes to B, the caller with it.
    a.dial_in(second, second.participant_pin, "0620000002")
    _wait(b, lambda: b.member(second, "0620000002") is not None, "the second room on B")
    assert cluster.lease(second).node == b.name  # type: ignore[union-attr]
    assert a.room(second) is None

    # B drained: a caller landing on B for a new room is bridged to A (B hosts no new
    # room, even with A at its limit); B's meeting goes on.
    with cluster.db.unit_of_work() as s:
        set_drained(s, actor="test", node=b.name, drained=True)
    b.dial_in(third, third.participant_pin, "0620000003")
    _wait(a, lambda: a.member(third, "0620000003") is not None, "the third room on A")
    assert cluster.lease(third).node == a.name  # type: ignore[union-attr]
    assert b.room(third) is None
    assert b.member(second, "0620000002") is not None
