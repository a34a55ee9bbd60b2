"""`fsconf number add|list|remove`."""

from __future__ import annotations

from tests.cli.conftest import digits


def test_add_shared_number(ok) -> None:
    number = digits(10)
    view = ok("number", "add", number, "--json").json
    assert view["number"] == number and view["shared"] and view["customer_id"] is None


def test_add_customer_number_and_list_it(ok, new_customer) -> None:
    customer = new_customer()
    number = digits(10)
    view = ok("number", "add", number, "--customer", str(customer["id"]), "--json").json
    assert view["customer_id"] == customer["id"]
    rows = ok("number", "list", "--customer", str(customer["id"]), "--json").json
    assert [r["number"] for r in rows] == [number]
    assert number in ok("number", "list").out
    assert number not in {r["number"] for r in ok("number", "list", "--shared", "--json").json}


def test_duplicate_number_is_refused(ok, bad, audit_count) -> None:
    number = digits(10)
    ok("number", "add", number)
    assert "already exists" in bad("number", "add", number).err
    assert audit_count(f"number:{number}") == 1


def test_malformed_number_or_unknown_customer_is_bad_input(ok, bad) -> None:
    assert "digits only" in bad("number", "add", "+31 20 123").err
    assert "digits only" in bad("number", "add", "٣٤٥").err  # non-ASCII digits
    number = digits(10)
    assert "no customer" in bad("number", "add", number, "--customer", "999999999").err
    assert number not in ok("number", "list").out


def test_remove_deletes_the_number(ok, bad) -> None:
    number = digits(10)
    ok("number", "add", number)
    assert ok("number", "remove", number, "--json").json["number"] == number
    assert number not in ok("number", "list").out
    assert "no access number" in bad("number", "remove", number).err
