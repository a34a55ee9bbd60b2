"""Rules enforced by the database itself, so no code path can break them."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from fsconf.store.models import (
    AccessNumber,
    Conference,
    CreditNote,
    Customer,
    Invoice,
    Meeting,
)


def _customer(session: Session) -> Customer:
    customer = Customer(name="Acme")
    session.add(customer)
    session.flush()
    return customer


def _conference(customer: Customer, number: str = "123456", **kw) -> Conference:
    values = {"moderator_pin": "111111", "participant_pin": "222222"} | kw
    return Conference(customer_id=customer.id, number=number, **values)


def _rejected(session: Session, obj) -> None:
    nested = session.begin_nested()
    session.add(obj)
    with pytest.raises((IntegrityError, DataError)):
        session.flush()
    nested.rollback()


def test_conference_defaults_follow_the_spec(session: Session) -> None:
    conf = _conference(_customer(session))
    session.add(conf)
    session.flush()
    assert (conf.max_participants, conf.language, conf.status) == (10, "nl", "active")


def test_conference_numbers_are_unique(session: Session) -> None:
    customer = _customer(session)
    session.add(_conference(customer, "555555"))
    session.flush()
    _rejected(session, _conference(customer, "555555", moderator_pin="333333"))


@pytest.mark.parametrize(
    "pins",
    [
        {"moderator_pin": "123"},  # too short
        {"moderator_pin": "123456789"},  # too long
        {"moderator_pin": "12a456"},  # not digits
        {"moderator_pin": "222222"},  # same as the participant PIN
    ],
)
def test_bad_pins_are_refused_by_the_database(session: Session, pins: dict) -> None:
    _rejected(session, _conference(_customer(session), **pins))


def test_conference_number_must_be_digits(session: Session) -> None:
    _rejected(session, _conference(_customer(session), "12x456"))


def test_access_number_must_be_digits_and_unique(session: Session) -> None:
    session.add(AccessNumber(number="0201234567"))
    session.flush()
    _rejected(session, AccessNumber(number="0201234567"))
    _rejected(session, AccessNumber(number="+31201234567"))


def test_foreign_keys_are_enforced(session: Session) -> None:
    _rejected(session, Conference(customer_id=999999, number="777777", moderator_pin="1111",
                                  participant_pin="2222"))


def test_one_invoice_per_customer_and_month(session: Session) -> None:
    customer = _customer(session)
    period = dt.date(2026, 10, 1)
    values = {"vat_basis_points": 2100, "total_ex_vat_cents": 1000, "vat_cents": 210,
              "total_cents": 1210, "due_on": dt.date(2026, 11, 15), "billed_name": "B"}
    session.add(Invoice(customer_id=customer.id, period=period, **values))
    session.flush()
    _rejected(session, Invoice(customer_id=customer.id, period=period, **values))


def test_one_credit_note_per_invoice_and_only_negative_amounts(session: Session) -> None:
    customer = _customer(session)
    invoice = Invoice(
        customer_id=customer.id, period=dt.date(2026, 9, 1), vat_basis_points=2100,
        total_ex_vat_cents=1000, vat_cents=210, total_cents=1210,
        due_on=dt.date(2026, 10, 15), billed_name="Acme",
    )  # fmt: skip
    session.add(invoice)
    session.flush()

    def note(**kw: object) -> CreditNote:
        values = {"reason": "r", "currency": "EUR", "vat_basis_points": 2100,
                  "total_ex_vat_cents": -1000, "vat_cents": -210, "total_cents": -1210} | kw
        return CreditNote(invoice_id=invoice.id, **values)  # type: ignore[arg-type]

    _rejected(session, note(total_ex_vat_cents=1000, vat_cents=210, total_cents=1210))
    _rejected(session, note(reason=""))
    session.add(note())
    session.flush()
    _rejected(session, note())


def test_one_open_meeting_per_conference(session: Session) -> None:
    conf = _conference(_customer(session))
    session.add(conf)
    session.flush()
    first = Meeting(conference_id=conf.id, fs_conference_name="c", fs_node="fs1")
    session.add(first)
    session.flush()
    _rejected(session, Meeting(conference_id=conf.id, fs_conference_name="c", fs_node="fs1"))
    first.ended_at = dt.datetime(2026, 1, 1)
    session.flush()
    session.add(Meeting(conference_id=conf.id, fs_conference_name="c", fs_node="fs1"))
    session.flush()
