"""Limits a caller meets: the brute-force block, the cap on concurrent calls, and a
graceful stop that leaves callers in their meeting."""

from __future__ import annotations

import json
import logging
import signal
from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import select

from fsconf.config import Settings
from fsconf.sim.core import free_port
from fsconf.store.models import AuditEntry
from fsconf.store.session import Database
from fsconf.testing.driver import CallDriver
from tests.integration.conftest import Rig, make_rig, provision, start_sim, with_switch
from tests.integration.test_resilience import controller_process, join, members


@pytest.fixture
def strict_rig(settings: Settings, db: Database) -> Iterator[Rig]:
    strict = replace(settings, security=replace(
        settings.security, max_failures_per_caller=2, max_failures_per_conference=3,
        window_seconds=600, block_seconds=900))
    yield from make_rig(strict, db)


def _wrong_pins(rig: Rig, p, caller: str, tries: int) -> None:
    call = rig.call(p.access_number, caller=caller)
    call.wait_prompt("enter-conference-number")
    call.send_dtmf(p.conference_number + "#")
    for _ in range(tries):
        call.wait_prompt("enter-pin")
        call.send_dtmf("0000#")
        call.wait_prompt("wrong-pin")
    call.hangup()
    call.wait_hangup()


def test_caller_over_the_failure_limit_is_blocked_with_a_prompt(
    strict_rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    rig = strict_rig
    p = provision(rig.db)
    _wrong_pins(rig, p, "0641000001", 2)
    again = rig.call(p.access_number, caller="0641000001")
    again.wait_prompt("pin-entry-blocked")
    again.wait_hangup()
    assert any("PIN entry blocked" in r.getMessage() and r.levelno == logging.WARNING
               for r in caplog.records)
    with rig.db.unit_of_work() as s:  # the lockout is in the audit log, without a PIN
        entries = s.scalars(select(AuditEntry).where(
            AuditEntry.action == "lockout.start", AuditEntry.target == "caller:0641000001"
        )).all()
    assert len(entries) == 1 and set(json.loads(entries[0].details or "{}")) == {
        "call_uuid", "failures", "lockout_id", "until", "window_seconds"}
    other = rig.call(p.access_number, caller="0641000002")  # another caller is not blocked
    other.wait_prompt("enter-conference-number")


def test_conference_under_attack_shuts_out_newcomers_but_not_its_regulars(
    strict_rig: Rig,
) -> None:
    rig = strict_rig
    p = provision(rig.db)
    regular = rig.join(p, p.participant_pin, caller="0642000050")  # was in the meeting
    regular.hangup()
    regular.wait_hangup()
    for i in range(3):  # an attacker with three caller IDs reaches the conference limit
        _wrong_pins(rig, p, f"064200000{i}", 1)
    newcomer = rig.call(p.access_number, caller="0642000099")
    newcomer.wait_prompt("enter-conference-number")
    newcomer.send_dtmf(p.conference_number + "#")
    newcomer.wait_prompt("pin-entry-blocked")
    newcomer.wait_hangup()
    back = rig.join(p, p.participant_pin, caller="0642000050")  # the PIN holder gets in
    assert not any("pin-entry-blocked" in h for h in back.heard)
    assert rig.conference(p) is not None


@pytest.fixture
def capped_rig(settings: Settings, db: Database) -> Iterator[Rig]:
    yield from make_rig(replace(settings, controller=replace(settings.controller, max_calls=1)),
                        db)


def test_call_over_the_cap_hears_busy_not_silence(capped_rig: Rig) -> None:
    rig = capped_rig
    p = provision(rig.db)
    first = rig.call(p.access_number, caller="0643000001")
    first.wait_prompt("enter-conference-number")
    second = rig.call(p.access_number, caller="0643000002")
    second.wait_prompt("busy-try-later")
    second.wait_hangup()
    assert rig.controller.server.refused_busy == 1
    first.send_dtmf(p.conference_number + "#")  # the first call is unaffected
    first.wait_prompt("enter-pin")


def test_sigterm_stops_accepting_and_leaves_the_meeting_running(
    settings: Settings, db: Database
) -> None:
    port = free_port()
    sim = start_sim(port, sounds_dir=settings.ivr.sounds_dir)
    ctl = with_switch(settings, port, sim)
    driver = CallDriver("127.0.0.1", sim.port)
    proc = controller_process(ctl)
    try:
        p = provision(db)
        a = join(driver, p, p.moderator_pin, "0644000001")
        b = join(driver, p, p.participant_pin, "0644000002")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        late = driver.place_call(p.access_number, caller_id_number="0644000003")
        late.wait_hangup(10)  # no controller: the dialplan runs out and FreeSWITCH hangs up
        # By now the switch has long seen the controller's sockets close: still talking.
        assert set(members(driver, p)) == {a.b_uuid, b.b_uuid}
    finally:
        if proc.poll() is None:
            proc.kill()
        driver.close()
        sim.stop()
