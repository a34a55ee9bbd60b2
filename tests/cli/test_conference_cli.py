"""`fsconf conference create|list|show|set|reset-pins|delete`."""

from __future__ import annotations

import stat

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fsconf.domain import pins
from fsconf.store.models import Conference, Customer
from tests.cli.conftest import digits


def _conferences_of(db, customer_id: int) -> int:
    with Session(db.engine) as s:
        return s.scalar(
            select(func.count())
            .select_from(Conference)
            .where(Conference.customer_id == customer_id)
        )


def test_create_generates_number_and_pins(new_conference) -> None:
    view = new_conference()
    assert len(view["number"]) == 6 and view["number"].isdigit()
    assert view["number"][0] != "0"
    assert len(view["moderator_pin"]) == len(view["participant_pin"]) == 6
    assert view["moderator_pin"] != view["participant_pin"]
    assert (view["max_participants"], view["language"], view["status"]) == (10, "nl", "active")


def test_create_takes_max_participants_and_language(new_conference) -> None:
    view = new_conference("--max-participants", "25", "--language", "en")
    assert (view["max_participants"], view["language"]) == (25, "en")


def test_create_follows_configured_lengths(ok, new_customer, tmp_path) -> None:
    config = tmp_path / "fsconf.toml"
    config.write_text("[security]\npin_length = 8\nconference_number_length = 9\n")
    cid = str(new_customer()["id"])
    view = ok("conference", "create", "--customer", cid, "--config", str(config), "--json").json
    assert len(view["number"]) == 9 and len(view["moderator_pin"]) == 8


def test_create_retries_when_the_number_was_taken_meanwhile(
    ok, new_conference, monkeypatch
) -> None:
    taken = new_conference()["number"]
    fresh = digits(6)
    draws = iter([taken, fresh])
    # The first draw collides at INSERT time (as if another operator took it a moment ago).
    monkeypatch.setattr(
        "fsconf.services.conference_admin.generate_conference_number",
        lambda length, is_taken: next(draws),
    )
    view = new_conference()
    assert view["number"] == fresh


def test_create_bad_input_writes_nothing(bad, db, new_customer) -> None:
    cid = new_customer()["id"]
    assert (
        "between 1 and 500"
        in bad("conference", "create", "--customer", str(cid), "--max-participants", "0").err
    )
    assert (
        "whole number"
        in bad("conference", "create", "--customer", str(cid), "--max-participants", "ten").err
    )
    assert "nl, en" in bad("conference", "create", "--customer", str(cid), "--language", "de").err
    assert "no customer" in bad("conference", "create", "--customer", "999999999").err
    assert _conferences_of(db, cid) == 0


def test_cancelled_customer_gets_no_new_conference(ok, bad, new_customer) -> None:
    cid = str(new_customer()["id"])
    ok("customer", "cancel", cid)
    assert "cancelled" in bad("conference", "create", "--customer", cid).err


def test_list_and_show(ok, new_conference) -> None:
    conf = new_conference()
    rows = ok("conference", "list", "--customer", str(conf["customer_id"]), "--json").json
    assert [r["number"] for r in rows] == [conf["number"]]
    assert conf["number"] in ok("conference", "list").out
    shown = ok("conference", "show", conf["number"], "--json").json
    assert shown["moderator_pin"] == conf["moderator_pin"]
    assert conf["participant_pin"] in ok("conference", "show", conf["number"]).out


def test_show_unknown_conference_is_bad_input(bad) -> None:
    assert "no conference 1" in bad("conference", "show", "1").err
    assert "digits only" in bad("conference", "show", "12a").err


def test_form_uses_shared_numbers_when_the_customer_has_none(ok, new_conference) -> None:
    shared = digits(10)
    ok("number", "add", shared)
    conf = new_conference()
    data = ok("conference", "show", conf["number"], "--form", "--json").json
    assert shared in data["access_numbers"]
    text = ok("conference", "show", conf["number"], "--form").out
    for value in (conf["number"], conf["moderator_pin"], conf["participant_pin"], shared):
        assert value in text
    # A Dutch conference (the default) gets its form in Dutch.
    assert "Maximum aantal deelnemers   10" in text and "Nederlands (nl)" in text


def test_form_prefers_the_customers_own_numbers(ok, new_customer, new_conference) -> None:
    customer = new_customer()
    own = digits(10)
    ok("number", "add", own, "--customer", str(customer["id"]))
    conf = new_conference(customer_id=customer["id"])
    data = ok("conference", "show", conf["number"], "--form", "--json").json
    assert data["access_numbers"] == [own]


def test_form_html_escapes_everything(ok, new_customer, new_conference, tmp_path) -> None:
    name = "<script>alert('x')</script> & Co"
    customer = new_customer(name=name)
    conf = new_conference(customer_id=customer["id"])
    page = ok("conference", "show", conf["number"], "--form", "--format", "html").out
    assert page.startswith("<!DOCTYPE html>")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; Co" in page
    target = tmp_path / "form.html"
    out = ok(
        "conference", "show", conf["number"], "--form", "--format", "html", "--output", target
    ).out
    assert "written to" in out and target.read_text() == page
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # it holds the PINs


def test_form_written_over_a_readable_file_is_made_private(ok, new_conference, tmp_path) -> None:
    number = new_conference()["number"]
    target = tmp_path / "form.txt"
    target.write_text("old")
    target.chmod(0o644)
    ok("conference", "show", number, "--form", "--output", target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert number in target.read_text() and "old" not in target.read_text()


def test_form_to_an_unwritable_place_is_one_line(bad, new_conference, tmp_path) -> None:
    number = new_conference()["number"]
    err = bad("conference", "show", number, "--form", "--output", tmp_path / "no" / "f.txt").err
    assert "cannot write" in err


def test_form_follows_the_conference_language(ok, new_conference) -> None:
    number = new_conference("--language", "en")["number"]
    text = ok("conference", "show", number, "--form").out
    assert text.startswith("Conference call - customer data form")
    assert "Keypad controls for the moderator only" in text and "*8 number #" in text
    ok("conference", "set", number, "--language", "nl")
    text = ok("conference", "show", number, "--form").out
    assert "Toetsen alleen voor de voorzitter" in text and "*8 nummer #" in text
    page = ok("conference", "show", number, "--form", "--format", "html").out
    assert '<html lang="nl">' in page


def test_form_json_lists_the_keypad_controls_per_role(ok, new_conference) -> None:
    number = new_conference("--language", "en")["number"]
    data = ok("conference", "show", number, "--form", "--json").json
    controls = data["keypad_controls"]
    assert [c["keys"] for c in controls["participant"]] == [
        "#", "*1", "*2", "*3", "*7", "*9", "*5", "*6",  # issue 22: hand, count
    ]
    assert {c["action"] for c in controls["moderator"]} >= {"invite", "lock", "end_meeting"}
    assert data["language"] == "en" and data["record_names"] is True


def test_form_customer_name_is_cleaned_for_the_terminal(ok, db, new_conference) -> None:
    conf = new_conference()
    with Session(db.engine) as s, s.begin():
        customer = s.get(Customer, conf["customer_id"])
        assert customer is not None
        customer.name = "Evil\x1b[2J\x1b[31m Corp"
    text = ok("conference", "show", conf["number"], "--form").out
    assert "\x1b" not in text and "Evil Corp" in text


def test_form_format_must_be_text_or_html(bad, new_conference) -> None:
    number = new_conference()["number"]
    assert "text or html" in bad("conference", "show", number, "--form", "--format", "pdf").err


def test_set_changes_settings_and_options(ok, new_conference) -> None:
    number = new_conference()["number"]
    view = ok(
        "conference", "set", number,
        "--max-participants", "50", "--language", "en", "--status", "suspended",
        "--no-record-names", "--no-announce-count", "--join-muted", "--json",
    ).json  # fmt: skip
    assert (view["max_participants"], view["language"], view["status"]) == (50, "en", "suspended")
    assert (view["record_names"], view["announce_count"]) == (False, False)
    assert view["participants_join_muted"] is True
    assert (
        ok("conference", "set", number, "--status", "active", "--json").json["status"] == "active"
    )


def test_set_pins_explicitly(ok, new_conference) -> None:
    number = new_conference()["number"]
    view = ok(
        "conference", "set", number, "--moderator-pin", "135790", "--participant-pin", "246801",
        "--json",
    ).json  # fmt: skip
    assert (view["moderator_pin"], view["participant_pin"]) == ("135790", "246801")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--moderator-pin", "12345"), "must be 6 digits"),
        (("--participant-pin", "12a456"), "digits only"),
        (("--moderator-pin", "111111", "--participant-pin", "111111"), "must differ"),
        (("--max-participants", "501"), "between 1 and 500"),
        (("--language", "fr"), "nl, en"),
        (("--status", "deleted"), "active, suspended"),
    ],
)
def test_set_bad_input_changes_nothing(ok, bad, new_conference, options, message) -> None:
    conf = new_conference()
    # A valid change on the same line (--no-record-names) must not be half-applied.
    assert message in bad("conference", "set", conf["number"], "--no-record-names", *options).err
    after = ok("conference", "show", conf["number"], "--json").json
    for key in ("moderator_pin", "participant_pin", "max_participants", "language", "status"):
        assert after[key] == conf[key]
    assert after["record_names"] is True


def test_set_without_any_setting_is_bad_input(bad, new_conference) -> None:
    assert "nothing to change" in bad("conference", "set", new_conference()["number"]).err


def test_participant_pin_equal_to_existing_moderator_pin_is_refused(bad, new_conference) -> None:
    conf = new_conference()
    assert (
        "must differ"
        in bad("conference", "set", conf["number"], "--participant-pin", conf["moderator_pin"]).err
    )


def test_reset_pins_draws_new_different_pins(ok, new_conference) -> None:
    conf = new_conference()
    view = ok("conference", "reset-pins", conf["number"], "--json").json
    new = {view["moderator_pin"], view["participant_pin"]}
    assert len(new) == 2 and all(pins.is_valid_pin(p, 6) for p in new)
    assert not new & {conf["moderator_pin"], conf["participant_pin"]}


def test_delete_is_soft_and_keeps_the_number_reserved(ok, bad, new_conference) -> None:
    conf = new_conference()
    view = ok("conference", "delete", conf["number"], "--json").json
    assert view["status"] == "deleted" and view["deleted_at"]
    listed = ok("conference", "list", "--customer", str(conf["customer_id"]), "--json").json
    assert listed == []
    everything = ok(
        "conference", "list", "--customer", str(conf["customer_id"]), "--all", "--json"
    ).json
    assert [r["number"] for r in everything] == [conf["number"]]
    assert "deleted" in bad("conference", "delete", conf["number"]).err
    assert "deleted" in bad("conference", "set", conf["number"], "--language", "en").err
    assert "deleted" in bad("conference", "reset-pins", conf["number"]).err
    assert "deleted" in bad("conference", "show", conf["number"], "--form").err
