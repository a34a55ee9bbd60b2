"""Operator tools on the rows a real meeting leaves: `meeting show` after calls through
the simulator, and the customer lifecycle as callers experience it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from fsconf.cli.main import main
from fsconf.config import Settings
from fsconf.sim import CalleeBehaviour
from fsconf.store.models import Attendance, Meeting
from fsconf.store.session import Database
from tests.integration.conftest import Rig, make_rig, provision

CALLEE = "0612340001"


@pytest.fixture
def dial_rig(settings: Settings, db: Database) -> Iterator[Rig]:
    callees = {CALLEE: CalleeBehaviour(action="answer", answer_after_s=1.0, digits="1",
                                       digits_delay_s=2.0)}  # fmt: skip
    yield from make_rig(settings, db, callees=callees)


@pytest.fixture
def cli(db: Database, database_url: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]):  # fmt: skip
    monkeypatch.setenv("FSCONF_DATABASE_URL", database_url)
    monkeypatch.setenv("FSCONF_OPERATOR", "ops-test")

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _row(rig: Rig, call) -> Attendance:
    with rig.db.unit_of_work() as s:
        return s.scalars(select(Attendance).where(Attendance.call_uuid == call.b_uuid)).one()


def test_meeting_show_tells_who_attended_how_they_left_and_who_was_invited(
    dial_rig: Rig, cli
) -> None:
    rig = dial_rig
    p = provision(rig.db)
    mod = rig.join(p, p.moderator_pin, caller="0201111111")
    part = rig.join(p, p.participant_pin, caller="0202222222")
    mod.send_dtmf(f"*8{CALLEE}#")
    mod.wait_prompt("invite-joined", timeout=15)
    part.hangup()
    rig.driver.wait_for(lambda: _row(rig, part).end_reason == "hung_up", 5, "leg closed")
    mod.send_dtmf("*30")
    mod.wait_hangup()
    meeting_id = _row(rig, mod).meeting_id

    def ended() -> bool:
        with rig.db.unit_of_work() as s:
            return s.get(Meeting, meeting_id).ended_at is not None

    rig.driver.wait_for(ended, 5, "meeting closed")
    code, out, err = cli("meeting", "show", str(meeting_id), "--json")
    assert code == 0, err
    view = json.loads(out)
    assert view["conference_number"] == p.conference_number
    assert view["end_reason"] == "ended_by_moderator"
    legs = {a["caller_id_number"]: a for a in view["attendees"]}
    assert legs["0201111111"]["role"] == "moderator"
    assert legs["0201111111"]["end_reason"] == "ended_by_moderator"
    assert legs["0202222222"]["end_reason"] == "hung_up"
    invited = [a for a in view["attendees"] if a["invited"]]
    assert [a["invited_number"] for a in invited] == [CALLEE]
    assert all(a["joined_at"] and a["left_at"] for a in view["attendees"])
    assert [(d["number"], d["requested_by"]) for d in view["invitations"]] == [
        (CALLEE, "0201111111")
    ]
    code, out, _ = cli("meeting", "list", "--conference", p.conference_number, "--json")
    assert [m["id"] for m in json.loads(out)] == [meeting_id]


def test_callers_are_served_in_the_notice_period_and_refused_when_suspended(
    rig: Rig, cli
) -> None:
    p = provision(rig.db)
    later = (dt.date.today() + dt.timedelta(days=400)).isoformat()
    assert cli("customer", "cancel", str(p.customer_id), "--on", later)[0] == 0
    served = rig.join(p, p.participant_pin)
    served.hangup()
    code, _, err = cli("customer", "suspend", str(p.customer_id))
    assert code == 0, err
    refused = rig.call(p.access_number)
    # The customer's own access number: told at once, before any number or PIN.
    refused.wait_prompt("service-suspended")
    assert not any("enter-conference-number" in h for h in refused.heard)
    refused.wait_hangup()
    assert cli("customer", "resume", str(p.customer_id))[0] == 0
    again = rig.join(p, p.participant_pin)
    again.hangup()
