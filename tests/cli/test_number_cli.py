"""`fsconf number add|list|move|remove`."""

from __future__ import annotations

from sqlalchemy.orm import Session

from fsconf.store.call_queries import resolve_access_number
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


def test_implausible_access_numbers_are_refused(ok, bad) -> None:
    for typo in ("0", "1", "12", "0000000000", "9" * 16, "1" * 23):
        assert "access number must" in bad("number", "add", typo).err
    assert "access number" in bad("number", "add", "12").err
    # Lengths at the edges pass the check (they may already exist from another run).
    assert "already exists" in cli_add_twice(ok, bad, "9" + digits(14))
    assert "already exists" in cli_add_twice(ok, bad, "9" + digits(2))


def cli_add_twice(ok, bad, number: str) -> str:
    ok("number", "add", number)
    return bad("number", "add", number).err


def test_move_gives_the_number_to_another_customer_and_routes_it(
    ok, bad, db, new_customer, audit_count
) -> None:
    old, new = new_customer(), new_customer()
    number = digits(10)
    ok("number", "add", number, "--customer", str(old["id"]))
    view = ok("number", "move", number, "--customer", str(new["id"]), "--json").json
    assert (view["customer_id"], view["previous_customer_id"]) == (new["id"], old["id"])
    assert view["previous_owner_numbers_left"] == 0
    with Session(db.engine) as s:
        assert resolve_access_number(s, number).customer_id == new["id"]
    entry = ok("audit", "--target", f"number:{number}", "--json").json[0]
    assert entry["action"] == "number.move"
    assert entry["details"] == {"from_customer_id": old["id"], "to_customer_id": new["id"]}
    out = ok("number", "move", number, "--shared").out
    assert f"moved from customer {new['id']} to shared" in out
    assert "no access number of its own left" in out
    with Session(db.engine) as s:
        assert resolve_access_number(s, number).customer_id is None


def test_move_with_bad_input_changes_nothing(ok, bad, new_customer, audit_count) -> None:
    owner = new_customer()
    number = digits(10)
    ok("number", "add", number, "--customer", str(owner["id"]))
    assert "already" in bad("number", "move", number, "--customer", str(owner["id"])).err
    assert "no customer" in bad("number", "move", number, "--customer", "999999999").err
    assert "no access number" in bad("number", "move", digits(10), "--shared").err
    assert "digits only" in bad("number", "move", "12a", "--shared").err
    assert audit_count(f"number:{number}") == 1
