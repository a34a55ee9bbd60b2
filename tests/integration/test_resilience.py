"""A provider's worst day: controller crash and restart, failover, database and Event
Socket outages, hostile input. Each fault is a repeatable step (see tests/faults.py)."""

from __future__ import annotations

import datetime as dt
import logging
import socket
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from fsconf.config import Settings
from fsconf.controller import Controller
from fsconf.sim.core import free_port
from fsconf.store.models import Attendance, Meeting
from fsconf.store.session import Database
from fsconf.testing.driver import CallDriver, DriverCall
from tests.faults import FaultProxy
from tests.integration.conftest import Rig, provision, serve_process, start_sim, with_switch


def join(driver: CallDriver, p, pin: str, caller: str) -> DriverCall:
    call = driver.place_call(p.access_number, caller_id_number=caller, caller_id_name="X")
    call.wait_prompt("enter-conference-number")
    call.send_dtmf(p.conference_number + "#")
    call.wait_prompt("enter-pin")
    call.send_dtmf(pin + "#")
    call.wait_prompt("tone")
    call.send_dtmf("#")
    call.wait_member()
    return call


def row(db: Database, call: DriverCall) -> Attendance:
    with db.unit_of_work() as s:
        return s.scalars(select(Attendance).where(Attendance.call_uuid == call.b_uuid)).one()


def beat_after_joins(db: Database, node: str, calls: list[DriverCall]) -> bool:
    """The controller's heartbeat has been written since all these calls joined."""
    nodes = Attendance.metadata.tables["controller_nodes"]
    with db.unit_of_work() as s:
        beat = s.scalar(select(nodes.c.last_seen_at).where(nodes.c.node == node))
        uuids = [c.b_uuid for c in calls]
        joined = list(s.scalars(select(Attendance.joined_at)
                                .where(Attendance.call_uuid.in_(uuids))))
    if beat is None or len(joined) < len(calls) or None in joined:
        return False
    return bool(beat >= max(j for j in joined if j is not None))


def members(driver: CallDriver, p) -> dict[str, dict]:
    rooms = driver.conference_json(f"fsconf-{p.conference_number}") or []
    return {m["uuid"]: m for m in (rooms[0]["members"] if rooms else [])}


def controller_process(settings: Settings) -> subprocess.Popen:
    """`fsconf serve` in its own process, beating often and reading keys quickly."""
    return serve_process(settings, FSCONF_CONTROLLER_HEARTBEAT_SECONDS="0.2",
                         FSCONF_IVR_KEYPAD_INTER_DIGIT_TIMEOUT="0.3")


def test_restart_reconciles_rows_and_gives_keypads_back(settings: Settings, db: Database) -> None:
    port = free_port()
    sim = start_sim(port, sounds_dir=settings.ivr.sounds_dir)
    settings = with_switch(settings, port, sim)
    driver = CallDriver("127.0.0.1", sim.port)
    proc = controller_process(settings)
    restarted: Controller | None = None
    try:
        p = provision(db)
        mod = join(driver, p, p.moderator_pin, "0201000001")
        stay = join(driver, p, p.participant_pin, "0201000002")
        gone = join(driver, p, p.participant_pin, "0201000003")
        driver.wait_for(lambda: beat_after_joins(db, settings.controller.node, [mod, stay, gone]),
                        10, "a heartbeat after the joins")
        proc.kill()  # SIGKILL: no clean-up code runs, as in a crash
        proc.wait(10)
        crashed_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        gone.hangup()  # ends while no controller is running
        gone.wait_hangup()
        assert len(members(driver, p)) == 2  # FreeSWITCH kept the others in the room

        restarted = Controller(settings, db=db)
        restarted.start()
        lost = row(db, gone)
        assert lost.end_reason == "lost"
        assert lost.joined_at <= lost.left_at <= crashed_at
        assert row(db, mod).left_at is None and row(db, stay).left_at is None

        stay.send_dtmf("*1")  # keypads work again, through the inbound Event Socket
        driver.wait_for(lambda: not members(driver, p)[stay.b_uuid]["flags"]["can_speak"], 5,
                        "participant muted after restart")
        mod.send_dtmf("*31")
        stay.wait_hangup()
        driver.wait_for(lambda: row(db, stay).end_reason == "kicked", 5, "kick recorded")
        mod.hangup()
        driver.wait_for(lambda: row(db, mod).end_reason == "hung_up", 5, "moderator row")
        with db.unit_of_work() as s:
            meeting = s.get(Meeting, row(db, mod).meeting_id)
            assert meeting.ended_at is not None
    finally:
        if proc.poll() is None:
            proc.kill()
        driver.close()
        sim.stop()
        if restarted is not None:
            restarted.stop(timeout=2)


def test_second_controller_takes_calls_when_the_first_refuses(
    settings: Settings, db: Database
) -> None:
    dead, backup = free_port(), free_port()
    sim = start_sim(dead, backup_port=backup, sounds_dir=settings.ivr.sounds_dir)
    second = Controller(with_switch(settings, backup, sim), db=db)
    second.start()
    driver = CallDriver("127.0.0.1", sim.port)
    try:
        p = provision(db)
        call = join(driver, p, p.moderator_pin, "0202000001")
        assert row(db, call).role == "moderator"
        assert second.server.accepted == 1
    finally:
        driver.close()
        sim.stop()
        second.stop(timeout=2)


def test_database_outage_caller_hears_technical_problem_and_rows_catch_up(
    settings: Settings, db: Database, database_url: str, tmp_path: Path
) -> None:
    """PostgreSQL through a proxy we cut; SQLite with its file locked by someone else."""
    proxy = None
    if database_url.startswith("postgresql"):
        from sqlalchemy.engine import make_url

        url = make_url(database_url)
        proxy = FaultProxy((url.host or "127.0.0.1", url.port or 5432))
        controller_url = url.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False)
    else:
        controller_url = database_url
    ctl_db = Database(controller_url, busy_timeout=0.3)
    port = free_port()
    sim = start_sim(port, sounds_dir=settings.ivr.sounds_dir)
    controller = Controller(with_switch(settings, port, sim), db=ctl_db)
    controller.start()
    driver = CallDriver("127.0.0.1", sim.port)
    blocker = None
    try:
        p = provision(db)
        inside = join(driver, p, p.moderator_pin, "0203000001")
        # -- the database goes away --
        if proxy is not None:
            proxy.refusing = True
            proxy.cut()
        else:
            import sqlite3

            blocker = sqlite3.connect(database_url.removeprefix("sqlite:///"))
            blocker.execute("BEGIN EXCLUSIVE")
        newcomer = driver.place_call(p.access_number, caller_id_number="0203000002")
        newcomer.wait_prompt("technical-problem", timeout=15)
        newcomer.wait_hangup()
        inside.send_dtmf("*1#")  # callers already in the meeting are untouched
        driver.wait_for(lambda: not members(driver, p)[inside.b_uuid]["flags"]["can_speak"],
                        5, "mute during the outage")
        inside.hangup()
        inside.wait_hangup()
        driver.wait_for(lambda: controller.store.pending_writes > 0, 5, "write deferred")
        # -- the database comes back --
        if proxy is not None:
            proxy.refusing = False
        else:
            blocker.rollback()
            blocker.close()
            blocker = None
        driver.wait_for(lambda: row(db, inside).left_at is not None, 20,
                        "deferred end of call written")
        assert row(db, inside).end_reason == "hung_up"
        assert controller.store.lost_writes == 0
    finally:
        if blocker is not None:
            blocker.rollback()
            blocker.close()
        driver.close()
        sim.stop()
        controller.stop(timeout=2)
        ctl_db.dispose()
        if proxy is not None:
            proxy.close()


def test_lost_inbound_socket_reconnects_and_calls_go_on(settings: Settings, db: Database) -> None:
    port = free_port()
    sim = start_sim(port, sounds_dir=settings.ivr.sounds_dir)
    proxy = FaultProxy(("127.0.0.1", sim.port))
    ctl_settings = with_switch(settings, port, sim)
    ctl_settings = replace(ctl_settings, freeswitch=replace(ctl_settings.freeswitch,
                                                            port=proxy.port))
    controller = Controller(ctl_settings, db=db)
    controller.start()
    driver = CallDriver("127.0.0.1", sim.port)
    try:
        assert controller.inbound is not None and controller.inbound.connected
        p = provision(db)
        proxy.refusing = True
        proxy.cut()
        driver.wait_for(lambda: not controller.inbound.connected, 5, "inbound loss noticed")
        call = join(driver, p, p.moderator_pin, "0204000001")  # calls go on meanwhile
        call.send_dtmf("*1#")
        driver.wait_for(lambda: not members(driver, p)[call.b_uuid]["flags"]["can_speak"], 5,
                        "mute while the inbound socket is down")
        proxy.refusing = False
        driver.wait_for(lambda: controller.inbound.connected, 15, "inbound reconnected")
        assert controller.inbound.connects >= 2
        assert controller.last_reconcile is not None  # resynced after reconnecting
        assert row(db, call).left_at is None  # a live call is not closed by the resync
    finally:
        driver.close()
        sim.stop()
        controller.stop(timeout=2)
        proxy.close()


def test_garbage_on_one_socket_does_not_hurt_other_calls(rig: Rig, caplog) -> None:
    host, port = rig.controller.address
    sockets = []
    for garbage in (b"Content-Length: -5\n\n", b"Content-Length: abc\n\nxx",
                    b"\xff\xfe\x00garbage\n\n" * 100):
        s = socket.create_connection((host, port))
        s.sendall(garbage)
        sockets.append(s)
    for s in sockets[:2]:  # a bad Content-Length drops the connection at once
        s.settimeout(5)
        try:
            while s.recv(4096):
                pass
        except ConnectionResetError:
            pass
    # The third still waits for a connect reply (until the command timeout): a caller
    # joins meanwhile.
    p = provision(rig.db)
    call = rig.join(p, p.moderator_pin)
    assert row(rig.db, call).role == "moderator"
    for s in sockets:
        s.close()


def test_dtmf_flood_is_bounded_and_others_keep_control(rig: Rig) -> None:
    p = provision(rig.db)
    flooder = rig.join(p, p.participant_pin, caller="0205000001")
    other = rig.join(p, p.participant_pin, caller="0205000002")
    for _ in range(5):
        flooder.send_dtmf("1234567890" * 10)  # 500 keys, none a control
    other.send_dtmf("*1")
    other.wait_prompt("/muted.wav", timeout=5)
    assert members(rig.driver, p)[other.b_uuid]["flags"]["can_speak"] is False
    assert members(rig.driver, p)[flooder.b_uuid]["flags"]["can_speak"] is True


def test_hostile_caller_id_is_stored_safely_and_never_reaches_a_command(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="fsconf.esl.connection")
    p = provision(rig.db)
    evil_name = "Evil%0Aapi hupall%0A\u00e9\u00e8" + "x" * 300
    call = rig.driver.place_call(p.access_number, caller_id_number="06%0Auuid_kill",
                                 caller_id_name=evil_name)
    call.wait_prompt("enter-conference-number")
    call.send_dtmf(p.conference_number + "#")
    call.wait_prompt("enter-pin")
    call.send_dtmf(p.moderator_pin + "#")
    call.wait_prompt("tone")
    call.send_dtmf("#")
    call.wait_member()
    stored = row(rig.db, call)
    assert stored.caller_id_name is not None and len(stored.caller_id_name) <= 128
    assert stored.caller_id_name.startswith("Evil")
    sent = [r.getMessage() for r in caplog.records if " -> " in r.getMessage()]
    assert sent, "the transport logs the commands it sends"
    assert not any("hupall" in line or "Evil" in line for line in sent)
    assert call.hangup_cause is None  # nothing hung the call up
