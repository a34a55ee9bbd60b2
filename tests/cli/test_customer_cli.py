"""`fsconf customer ...` through the real entry point."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fsconf.db.models import Customer


def _customers_named(db, name: str) -> int:
    with Session(db.engine) as s:
        return s.scalar(select(func.count()).select_from(Customer).where(Customer.name == name))


def test_add_creates_active_subscription_and_prints_json(ok, unique) -> None:
    name = unique("Acme")
    view = ok("customer", "add", "--name", name, "--email", "ops@acme.example", "--json").json
    assert isinstance(view["id"], int)
    assert (view["name"], view["email"], view["state"]) == (name, "ops@acme.example", "active")
    assert view["activated_on"]  # today, ISO 8601
    assert view["cancelled_on"] is None


def test_add_accepts_an_explicit_activation_date(new_customer) -> None:
    view = new_customer("--activated", "2023-02-15")
    assert view["activated_on"] == "2023-02-15"


def test_add_without_json_prints_a_sentence(ok, unique) -> None:
    out = ok("customer", "add", "--name", unique("Plain")).out
    assert out.startswith("customer ") and "added" in out


def test_add_with_bad_email_or_date_writes_nothing(bad, db, unique) -> None:
    name = unique("Broken")
    assert "e-mail" in bad("customer", "add", "--name", name, "--email", "nope").err
    assert "YYYY-MM-DD" in bad("customer", "add", "--name", name, "--activated", "15-02-2023").err
    assert "empty" in bad("customer", "add", "--name", "   ").err
    assert _customers_named(db, name) == 0


def test_add_refuses_control_characters_in_name_or_email(bad, db, unique) -> None:
    name = unique("Clean")
    for argv in (
        ("--name", name + "\x1b[2J\x1b[31m"),
        ("--name", name + "\u202eevil"),
        ("--name", name + "\nsecond line"),
        ("--name", name, "--email", "ops\x1b[31m@acme.example"),
    ):
        err = bad("customer", "add", *argv).err
        assert "must not contain control characters" in err and "\x1b" not in err
    assert _customers_named(db, name) == 0


def test_add_tells_an_impossible_date_from_a_badly_written_one(bad, unique) -> None:
    err = bad("customer", "add", "--name", unique("Leap"), "--activated", "2026-02-30").err
    assert "2026-02-30 is not a real date" in err and "YYYY-MM-DD" not in err


def test_add_prints_a_wide_name_as_given(ok) -> None:
    out = ok("customer", "add", "--name", "\u7530\u4e2d \u82b1\u5b50 B.V.").out
    assert "\u7530\u4e2d \u82b1\u5b50 B.V." in out


def test_list_shows_the_customer_in_table_and_json(ok, new_customer) -> None:
    customer = new_customer()
    table = ok("customer", "list").out
    assert customer["name"] in table
    rows = ok("customer", "list", "--json").json
    mine = [r for r in rows if r["id"] == customer["id"]]
    assert mine and mine[0]["state"] == "active" and mine[0]["conferences"] == 0


def test_list_filters_by_state(ok, new_customer) -> None:
    customer = new_customer()
    ok("customer", "suspend", str(customer["id"]))
    suspended = {r["id"] for r in ok("customer", "list", "--state", "suspended", "--json").json}
    active = {r["id"] for r in ok("customer", "list", "--state", "active", "--json").json}
    assert customer["id"] in suspended and customer["id"] not in active


def test_show_lists_conferences_and_numbers(ok, new_customer, new_conference) -> None:
    customer = new_customer()
    conf = new_conference(customer_id=customer["id"])
    view = ok("customer", "show", str(customer["id"]), "--json").json
    assert [c["number"] for c in view["conferences"]] == [conf["number"]]
    assert view["access_numbers"] == []
    assert conf["number"] in ok("customer", "show", str(customer["id"])).out


def test_show_unknown_or_malformed_customer_is_bad_input(bad) -> None:
    assert "no customer with id 999999999" in bad("customer", "show", "999999999").err
    assert "whole number" in bad("customer", "show", "abc").err


def test_suspend_then_resume_flips_the_subscription_state(ok, new_customer) -> None:
    cid = str(new_customer()["id"])
    view = ok("customer", "suspend", cid, "--json").json
    assert view["state"] == "suspended" and view["suspended_at"]
    view = ok("customer", "resume", cid, "--json").json
    assert view["state"] == "active" and view["suspended_at"] is None


def test_impossible_transitions_are_refused(ok, bad, new_customer, audit_count) -> None:
    cid = str(new_customer()["id"])
    assert "only a suspended one can be resumed" in bad("customer", "resume", cid).err
    ok("customer", "suspend", cid)
    assert "only an active one can be suspended" in bad("customer", "suspend", cid).err
    ok("customer", "cancel", cid)
    assert "already cancelled" in bad("customer", "cancel", cid).err
    assert "cancelled" in bad("customer", "resume", cid).err
    # add, suspend, cancel: the refused ones left no trace
    assert audit_count(f"customer:{cid}") == 3


def test_cancel_sets_the_date_and_state(ok, new_customer) -> None:
    cid = str(new_customer("--activated", "2023-01-10")["id"])
    view = ok("customer", "cancel", cid, "--on", "2023-03-20", "--json").json
    assert (view["state"], view["cancelled_on"]) == ("cancelled", "2023-03-20")


def test_cancel_before_activation_is_refused(bad, new_customer) -> None:
    cid = str(new_customer("--activated", "2023-05-01")["id"])
    assert "before the activation" in bad("customer", "cancel", cid, "--on", "2023-04-30").err
