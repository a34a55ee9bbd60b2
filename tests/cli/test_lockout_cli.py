"""`fsconf lockout list|clear`: the operator sees and lifts PIN lockouts; both audited."""

from __future__ import annotations

import datetime as dt

from fsconf.store.call_queries import LockoutLimits, lockout_reason, record_pin_failure
from fsconf.store.models import utcnow
from fsconf.store.session import Database
from tests.cli.conftest import digits

LIMITS = LockoutLimits(max_per_conference=3, max_per_caller=2,
                       window=dt.timedelta(minutes=10), block=dt.timedelta(minutes=15))


def _fail(db: Database, conference_id: int | None, caller: str) -> None:
    with db.unit_of_work() as s:
        record_pin_failure(s, limits=LIMITS, kind="pin", call_uuid=f"cli-{caller}-{utcnow()}",
                           caller_id_number=caller, conference_id=conference_id)


def _blocked(db: Database, caller: str, conference_id: int | None) -> str | None:
    with db.unit_of_work() as s:
        return lockout_reason(s, limits=LIMITS, caller_id_number=caller,
                              conference_id=conference_id)


def test_a_caller_lockout_is_listed_cleared_and_audited(ok, bad, db, audit_count) -> None:
    caller = digits(10)
    for _ in range(2):
        _fail(db, None, caller)
    assert _blocked(db, caller, None) == "caller"
    assert audit_count(f"caller:{caller}") == 1  # lockout.start, by the controller
    rows = [r for r in ok("lockout", "list", "--json").json if r["caller_id_number"] == caller]
    assert [(r["kind"], r["failures"], r["state"]) for r in rows] == [("caller", 2, "active")]
    assert caller in ok("lockout", "list").out
    cleared = ok("lockout", "clear", "--caller", caller, "--json").json
    assert [r["id"] for r in cleared] == [rows[0]["id"]]
    assert cleared[0]["state"] == "cleared" and cleared[0]["cleared_by"] == "test-operator"
    assert _blocked(db, caller, None) is None
    assert audit_count(f"caller:{caller}") == 2  # ... and lockout.clear, by the operator
    assert rows[0]["id"] not in {r["id"] for r in ok("lockout", "list", "--json").json}
    past = {r["id"]: r for r in ok("lockout", "list", "--all", "--json").json}
    assert past[rows[0]["id"]]["state"] == "cleared"
    assert "no lockout in force" in bad("lockout", "clear", "--caller", caller).err


def test_a_conference_lockout_is_cleared_by_its_number(ok, db, new_conference) -> None:
    conf = new_conference()
    for _ in range(3):
        _fail(db, conf["id"], digits(10))
    assert _blocked(db, digits(10), conf["id"]) == "conference"
    rows = [r for r in ok("lockout", "list", "--json").json if r["conference"] == conf["number"]]
    assert [(r["kind"], r["failures"]) for r in rows] == [("conference", 3)]
    out = ok("lockout", "clear", "--conference", conf["number"]).out
    assert out.strip() == f"lockout {rows[0]['id']} cleared (conference {conf['number']})"
    assert _blocked(db, digits(10), conf["id"]) is None


def test_clearing_by_id_and_bad_input(ok, bad, db) -> None:
    caller = digits(10)
    for _ in range(2):
        _fail(db, None, caller)
    lockout_id = next(r["id"] for r in ok("lockout", "list", "--json").json
                      if r["caller_id_number"] == caller)
    assert "not in force" in bad("lockout", "clear", str(lockout_id), "999999999").err
    assert _blocked(db, caller, None) == "caller"  # nothing was cleared
    assert "name lockout ids" in bad("lockout", "clear").err
    assert "name lockout ids" in bad("lockout", "clear", str(lockout_id), "--caller", caller).err
    assert "whole number" in bad("lockout", "clear", "abc").err
    assert "digits" in bad("lockout", "clear", "--conference", "12a").err
    assert "printable" in bad("lockout", "clear", "--caller", "06\x1b[2J").err
    assert "whole number" in bad("lockout", "list", "--limit", "x").err
    ok("lockout", "clear", str(lockout_id))
    assert _blocked(db, caller, None) is None
