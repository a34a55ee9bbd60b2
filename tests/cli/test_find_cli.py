"""`fsconf find`: a conference by number, by customer name, or by a typed PIN."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fsconf.store.models import AuditEntry
from tests.cli.conftest import digits


def test_find_by_conference_number_and_by_access_number(ok, new_customer, new_conference) -> None:
    customer = new_customer()
    conf = new_conference(customer_id=customer["id"])
    other = new_conference(customer_id=customer["id"])
    found = ok("find", conf["number"], "--json").json
    assert [(f["conference_number"], f["matched"]) for f in found] == [
        (conf["number"], "conference number")
    ]
    assert found[0]["customer_name"] == customer["name"]
    number = digits(10)
    ok("number", "add", number, "--customer", str(customer["id"]))
    via = ok("find", number, "--json").json
    assert {f["conference_number"] for f in via} == {conf["number"], other["number"]}
    assert {f["matched"] for f in via} == {"access number"}
    assert all(f["access_numbers"] == [number] for f in via)


def test_find_by_part_of_the_customer_name_any_case(ok, new_customer, new_conference, unique):
    name = unique("Zeppelin Works")
    customer = new_customer(name=name)
    conf = new_conference(customer_id=customer["id"])
    bare = new_customer(name=name + " Empty")
    found = ok("find", "--customer", name.upper(), "--json").json
    by_customer = {f["customer_id"]: f for f in found}
    assert by_customer[customer["id"]]["conference_number"] == conf["number"]
    assert by_customer[bare["id"]]["matched"] == "customer name (no conferences)"
    # LIKE wildcards are literal text, not patterns.
    assert ok("find", "--customer", "%_%_%_%", "--json").json == []


@pytest.mark.parametrize("role", ["moderator", "participant"])
def test_find_by_pin_read_from_stdin_is_audited_without_the_pin(
    ok, db, monkeypatch, new_conference, role
) -> None:
    conf = new_conference()
    pin = conf[f"{role}_pin"]
    monkeypatch.setattr("sys.stdin", io.StringIO(pin + "\n"))
    found = ok("find", "--pin", "--json").json
    mine = [f for f in found if f["conference_number"] == conf["number"]]
    assert [f["matched"] for f in mine] == [f"{role} PIN"]
    assert pin not in json.dumps(found)  # the answer names the conference, not the PIN
    with Session(db.engine) as s:
        entry = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "find.pin").order_by(AuditEntry.id.desc())
        ).first()
    assert entry is not None and entry.actor == "test-operator"
    assert conf["number"] in entry.details and pin not in entry.details


def test_bad_find_input_is_one_line_and_a_pin_argument_is_refused(bad, monkeypatch) -> None:
    assert "exactly one" in bad("find").err
    assert "exactly one" in bad("find", "123456", "--customer", "Acme").err
    assert "shell history" in bad("find", "123456", "--pin").err
    assert "digits only" in bad("find", "12a").err
    assert "at least 2" in bad("find", "--customer", " x ").err
    monkeypatch.setattr("sys.stdin", io.StringIO("12\n"))
    assert "4 to 8 digits" in bad("find", "--pin").err
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert "no PIN" in bad("find", "--pin").err
