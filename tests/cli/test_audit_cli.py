"""Every operator change leaves an audit entry, written with the change itself."""

from __future__ import annotations

import getpass

from tests.cli.conftest import digits


def _entries(ok, target: str) -> list[dict]:
    return ok("audit", "--target", target, "--json").json


def test_customer_lifecycle_is_audited_with_the_actor(ok, new_customer) -> None:
    cid = str(new_customer()["id"])
    ok("customer", "suspend", cid, "--actor", "alice")
    ok("customer", "resume", cid)  # actor from FSCONF_OPERATOR (set by the fixture)
    ok("customer", "cancel", cid, "--on", "2099-01-01", "--actor", "bob")
    entries = _entries(ok, f"customer:{cid}")
    assert [(e["action"], e["actor"]) for e in entries] == [  # newest first
        ("customer.cancel", "bob"),
        ("customer.resume", "test-operator"),
        ("customer.suspend", "alice"),
        ("customer.add", "test-operator"),
    ]
    assert entries[0]["details"]["cancelled_on"] == "2099-01-01"
    assert entries[0]["at"]  # ISO 8601 timestamp


def test_actor_falls_back_to_the_os_user(ok, monkeypatch, unique) -> None:
    monkeypatch.delenv("FSCONF_OPERATOR")
    cid = ok("customer", "add", "--name", unique("Solo"), "--json").json["id"]
    assert _entries(ok, f"customer:{cid}")[0]["actor"] == getpass.getuser()


def test_conference_changes_are_audited_without_pins(ok, new_conference) -> None:
    conf = new_conference()
    number = conf["number"]
    ok("conference", "set", number, "--max-participants", "12", "--moderator-pin", "975310")
    ok("conference", "reset-pins", number)
    ok("conference", "delete", number)
    entries = _entries(ok, f"conference:{number}")
    assert [e["action"] for e in entries] == [
        "conference.delete",
        "conference.reset_pins",
        "conference.set",
        "conference.create",
    ]
    assert entries[2]["details"]["max_participants"] == {"from": 10, "to": 12}
    assert entries[2]["details"]["moderator_pin"] == "changed"
    text = ok("audit", "--target", f"conference:{number}", "--json").out
    assert "975310" not in text and conf["moderator_pin"] not in text
    assert conf["participant_pin"] not in text


def test_number_changes_and_billing_runs_are_audited(ok, new_customer) -> None:
    number = digits(10)
    ok("number", "add", number)
    ok("number", "remove", number)
    assert [e["action"] for e in _entries(ok, f"number:{number}")] == [
        "number.remove",
        "number.add",
    ]
    cid = str(new_customer("--activated", "2021-06-01")["id"])
    ok("billing", "run", "--month", "2021-06", "--customer", cid, "--actor", "billing-bot")
    runs = ok("audit", "--action", "billing.run", "--by", "billing-bot", "--json").json
    assert any(e["details"]["customer_id"] == int(cid) for e in runs)


def test_refused_changes_leave_no_audit_entry(ok, bad, new_customer, audit_count) -> None:
    cid = str(new_customer()["id"])
    bad("customer", "resume", cid)
    bad("conference", "create", "--customer", cid, "--max-participants", "999")
    assert audit_count(f"customer:{cid}") == 1  # only the add


def test_audit_table_and_limit(ok, bad) -> None:
    out = ok("audit", "--limit", "3").out
    assert out.splitlines()[0].split() == ["at", "actor", "action", "target", "details"]
    assert len(ok("audit", "--limit", "2", "--json").json) <= 2
    assert "at least 1" in bad("audit", "--limit", "0").err
