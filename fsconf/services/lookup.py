"""Finding a conference the way a customer on the phone describes it: by a number they
read out (conference number or the access number they dial), by their company name, or
by a PIN. A PIN lookup is audited (who searched and what was found, never the PIN)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from fsconf.services.audit import record
from fsconf.services.customers import effective_state
from fsconf.services.errors import ServiceError
from fsconf.services.numbers import numbers_for_customer
from fsconf.store.models import AccessNumber, Conference, Customer, Subscription, utcnow

PIN_DIGITS = (4, 8)  # what the database allows for either PIN
NAME_MIN = 2


def check_lookup_pin(pin: str) -> str:
    pin = pin.strip()
    low, high = PIN_DIGITS
    if not pin.isascii() or not pin.isdigit() or not low <= len(pin) <= high:
        raise ServiceError(f"a PIN is {low} to {high} digits")
    return pin


def _base() -> Any:  # a Select of (Conference, Customer, Subscription)
    return (
        select(Conference, Customer, Subscription)
        .join(Customer, Customer.id == Conference.customer_id)
        .outerjoin(Subscription, Subscription.customer_id == Customer.id)
        .order_by(Conference.number)
    )


def _state(sub: Subscription | None) -> str | None:
    return effective_state(sub.state, sub.cancelled_on, utcnow().date()) if sub else None


def _view(session: Session, row: Any, matched: str) -> dict[str, Any]:
    conference, customer, sub = row
    return {
        "conference_number": conference.number,
        "status": conference.status,
        "language": conference.language,
        "max_participants": conference.max_participants,
        "customer_id": customer.id,
        "customer_name": customer.name,
        "customer_state": _state(sub),
        "access_numbers": numbers_for_customer(session, customer.id),
        "matched": matched,
    }


def find_by_number(session: Session, number: str) -> list[dict[str, Any]]:
    """The conference with this number, and the conferences reachable through this
    access number (a customer's own number: its conferences; a shared one: none listed,
    every customer without a number of its own uses it)."""
    number = number.strip()
    if not number or not number.isascii() or not number.isdigit():
        raise ServiceError(f"a number to find must be digits only, got {number!r}")
    found = [
        _view(session, row, "conference number")
        for row in session.execute(_base().where(Conference.number == number)).all()
    ]
    owner = session.execute(
        select(AccessNumber.id, AccessNumber.customer_id).where(AccessNumber.number == number)
    ).first()
    if owner is not None and owner.customer_id is not None:
        found += [
            _view(session, row, "access number")
            for row in session.execute(
                _base().where(Conference.customer_id == owner.customer_id)
            ).all()
        ]
    elif owner is not None:
        found.append(_shared_number(number))
    return found


def _shared_number(number: str) -> dict[str, Any]:
    return {
        "conference_number": None,
        "status": None,
        "language": None,
        "max_participants": None,
        "customer_id": None,
        "customer_name": None,
        "customer_state": None,
        "access_numbers": [number],
        "matched": "shared access number",
    }


def find_by_customer_name(session: Session, text: str) -> list[dict[str, Any]]:
    """Conferences of customers whose name contains `text` (any case); a matching
    customer without conferences is listed with none."""
    text = " ".join(text.split())
    if len(text) < NAME_MIN:
        raise ServiceError(f"give at least {NAME_MIN} characters of the customer's name")
    if any(not ch.isprintable() for ch in text):
        raise ServiceError("a name to find must be printable text")
    matching = func.lower(Customer.name).contains(text.lower(), autoescape=True)
    found = [
        _view(session, row, "customer name")
        for row in session.execute(_base().where(matching)).all()
    ]
    with_conferences = {f["customer_id"] for f in found}
    for customer, sub in session.execute(
        select(Customer, Subscription).outerjoin(Subscription).where(matching).order_by(Customer.id)
    ).all():
        if customer.id not in with_conferences:
            found.append(
                {
                    **_shared_number(""),
                    "customer_id": customer.id,
                    "customer_name": customer.name,
                    "customer_state": _state(sub),
                    "access_numbers": numbers_for_customer(session, customer.id),
                    "matched": "customer name (no conferences)",
                }
            )
    return found


def find_by_pin(session: Session, pin: str, *, actor: str) -> list[dict[str, Any]]:
    """Conferences where `pin` is the moderator or the participant PIN. Audited in the
    same transaction: who looked, how many matched and which conferences; the PIN is
    neither logged nor stored."""
    pin = check_lookup_pin(pin)
    rows = session.execute(
        _base().where(or_(Conference.moderator_pin == pin, Conference.participant_pin == pin))
    ).all()
    found = [
        _view(
            session,
            row,
            "moderator PIN" if row[0].moderator_pin == pin else "participant PIN",
        )
        for row in rows
    ]
    record(
        session,
        actor,
        "find.pin",
        "conferences",
        {"matches": len(found), "conferences": [f["conference_number"] for f in found]},
    )
    return found
