"""`fsconf customer ...` through the real entry point."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fsconf.store import call_queries
from fsconf.store.models import Customer, Subscription


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
    # add, suspend, cancel: the refused ones left no trace
    assert audit_count(f"customer:{cid}") == 3
    # A cancellation in the past month has taken effect: nothing can be resumed or undone.
    old = str(new_customer("--activated", "2023-01-10")["id"])
    ok("customer", "cancel", old, "--on", "2023-03-20")
    assert "cancelled" in bad("customer", "resume", old).err
    assert "cancelled" in bad("customer", "suspend", old).err
    assert "cancelled" in bad("customer", "uncancel", old).err
    fresh = str(new_customer()["id"])
    assert "no cancellation" in bad("customer", "uncancel", fresh).err


def test_cancel_sets_the_date_and_state(ok, new_customer) -> None:
    cid = str(new_customer("--activated", "2023-01-10")["id"])
    view = ok("customer", "cancel", cid, "--on", "2023-03-20", "--json").json
    assert (view["state"], view["cancelled_on"]) == ("cancelled", "2023-03-20")


def test_cancel_before_activation_is_refused(bad, new_customer) -> None:
    cid = str(new_customer("--activated", "2023-05-01")["id"])
    assert "before the activation" in bad("customer", "cancel", cid, "--on", "2023-04-30").err


def _future(days: int = 400) -> str:
    return (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=days)).isoformat()


def test_cancel_on_a_future_date_keeps_the_service_active_until_then(ok, new_customer) -> None:
    cid = str(new_customer()["id"])
    on = _future()
    view = ok("customer", "cancel", cid, "--on", on, "--json").json
    assert view["state"] == "active"
    assert (view["cancelled_on"], view["cancels_on"]) == (on, on)
    assert view["service_until"] >= on
    listed = ok("customer", "list").out
    assert f"active, cancels on {on}" in listed
    ids = {r["id"] for r in ok("customer", "list", "--state", "active", "--json").json}
    assert int(cid) in ids


def test_suspend_and_resume_during_the_notice_period(ok, new_customer, db) -> None:
    cid = str(new_customer()["id"])
    on = _future()
    ok("customer", "cancel", cid, "--on", on)
    assert ok("customer", "suspend", cid, "--json").json["state"] == "suspended"
    assert _callers_refused(db, int(cid))
    view = ok("customer", "resume", cid, "--json").json
    # Back into the notice period, not to an open-ended subscription.
    assert (view["state"], view["cancels_on"]) == ("active", on)
    assert not _callers_refused(db, int(cid))


def test_cancelling_a_suspended_customer_does_not_restore_service(ok, new_customer, db) -> None:
    cid = str(new_customer()["id"])
    ok("customer", "suspend", cid)
    view = ok("customer", "cancel", cid, "--json").json
    assert view["state"] == "suspended" and view["cancels_on"]
    assert _callers_refused(db, int(cid))


def test_uncancel_withdraws_a_pending_cancellation(ok, new_customer, db) -> None:
    cid = str(new_customer()["id"])
    ok("customer", "cancel", cid, "--on", _future())
    view = ok("customer", "uncancel", cid, "--json").json
    assert (view["state"], view["cancelled_on"], view["cancels_on"]) == ("active", None, None)
    entries = ok("audit", "--target", f"customer:{cid}", "--json").json
    assert entries[0]["action"] == "customer.uncancel"
    assert not _callers_refused(db, int(cid))
    # Cancellable again afterwards.
    ok("customer", "cancel", cid)


def test_edit_changes_name_and_email_and_audits_both(ok, new_customer, unique) -> None:
    customer = new_customer("--email", "old@acme.example")
    cid = str(customer["id"])
    name = unique("Renamed")
    view = ok("customer", "edit", cid, "--name", name, "--email", "new@acme.example", "--json").json
    assert (view["name"], view["email"]) == (name, "new@acme.example")
    assert ok("customer", "show", cid, "--json").json["name"] == name
    entry = ok("audit", "--target", f"customer:{cid}", "--json").json[0]
    assert entry["action"] == "customer.edit"
    assert entry["details"]["email"] == {"old": "old@acme.example", "new": "new@acme.example"}
    removed = ok("customer", "edit", cid, "--email", "", "--json").json
    assert removed["email"] is None


def test_edit_refuses_control_characters_and_changes_nothing(
    ok, bad, new_customer, audit_count
) -> None:
    customer = new_customer()
    cid = str(customer["id"])
    assert "control characters" in bad("customer", "edit", cid, "--name", "Evil\x1b[2J").err
    assert "control characters" in bad(
        "customer", "edit", cid, "--email", "a\x07@b.example"
    ).err
    assert "nothing to change" in bad("customer", "edit", cid).err
    assert "control characters" in bad("customer", "add", "--name", "A\x1b]0;owned\x07").err
    assert "no customer" in bad("customer", "edit", "999999999", "--name", "X").err
    assert ok("customer", "show", cid, "--json").json["name"] == customer["name"]
    assert audit_count(f"customer:{cid}") == 1  # only the add


def _callers_refused(db, customer_id: int) -> bool:
    """What the join flow decides for this customer's callers today."""
    with Session(db.engine) as s:
        sub = s.scalars(select(Subscription).where(Subscription.customer_id == customer_id)).one()
        return call_queries._suspended(sub.state, sub.cancelled_on, None)


def test_no_new_conference_while_a_cancellation_is_pending_even_if_suspended(
    ok, bad, new_customer
) -> None:
    cid = str(new_customer()["id"])
    ok("customer", "suspend", cid)
    ok("customer", "cancel", cid, "--on", _future())
    assert "cancelled" in bad("conference", "create", "--customer", cid).err
    ok("customer", "uncancel", cid)
    ok("conference", "create", "--customer", cid)
def test_set_billing_changes_address_and_vat_number_audited(ok, new_customer, audit_count) -> None:
    cid = str(new_customer("--vat", "NL123456789B01")["id"])
    view = ok(
        "customer", "set-billing", cid, "--address", "Kade 1\n1011 AB Amsterdam", "--json"
    ).json
    assert (view["address"], view["vat_number"]) == ("Kade 1\n1011 AB Amsterdam", "NL123456789B01")
    out = ok("customer", "set-billing", cid, "--vat", "DE123456789").out
    assert "Kade 1 1011 AB Amsterdam" in out and "DE123456789" in out
    crlf = ok("customer", "set-billing", cid, "--address", "Kade 3\r\n1011 AB  Amsterdam", "--json")
    assert crlf.json["address"] == "Kade 3\n1011 AB Amsterdam"
    cleared = ok("customer", "set-billing", cid, "--address", "", "--json").json
    assert cleared["address"] is None and cleared["vat_number"] == "DE123456789"
    shown = ok("customer", "show", cid, "--json").json
    assert shown["vat_number"] == "DE123456789"
    assert audit_count(f"customer:{cid}") == 5  # add + four changes


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--vat", "NL12345678B01"), "not a Dutch VAT number"),
        (("--vat", "123456789"), "not a VAT number"),
        (("--vat", "NL123456789B01\x1b[2J"), "not a VAT number"),
        (("--address", "Kade 1\x1b[31m"), "control characters"),
        (("--address", "\n".join("abcdefg")), "more than 6 lines"),
        (("--address", "x" * 501), "longer than 500"),
        ((), "nothing to change"),
    ],
)
def test_set_billing_bad_input_changes_nothing(
    bad, ok, new_customer, audit_count, options, message
) -> None:
    cid = str(new_customer()["id"])
    assert message in bad("customer", "set-billing", cid, *options).err
    assert audit_count(f"customer:{cid}") == 1
    assert ok("customer", "show", cid, "--json").json["address"] is None


def test_add_refuses_a_bad_vat_number(bad) -> None:
    assert "not a VAT number" in bad("customer", "add", "--name", "X", "--vat", "12").err
