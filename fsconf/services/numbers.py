"""Access numbers (DIDs): shared, or owned by one customer."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fsconf.services.audit import record
from fsconf.services.customers import get_customer
from fsconf.services.errors import ServiceError
from fsconf.store.models import AccessNumber, Customer

NUMBER_MAX = 32
# A new access number is a DID as the trunk delivers it: national (0201234567) or
# international without the + (31201234567). E.164 caps a number at 15 digits; 3 allows
# short service numbers some trunks deliver; "0", "1" or all zeros are typing mistakes.
NEW_NUMBER_MIN, NEW_NUMBER_MAX = 3, 15


def clean_number(number: str) -> str:
    """Digits only (no +, spaces or dashes: the trunk delivers the DID as digits).
    Used to look up numbers that already exist; new ones also pass `check_new_number`."""
    number = number.strip()
    if not number or not number.isascii() or not number.isdigit():
        raise ServiceError(f"access number must be digits only, got {number!r}")
    if len(number) > NUMBER_MAX:
        raise ServiceError(f"access number is longer than {NUMBER_MAX} digits")
    return number


def check_new_number(number: str) -> str:
    number = clean_number(number)
    if not NEW_NUMBER_MIN <= len(number) <= NEW_NUMBER_MAX:
        raise ServiceError(
            f"access number must be {NEW_NUMBER_MIN} to {NEW_NUMBER_MAX} digits,"
            f" got {len(number)}"
        )
    if not number.strip("0"):
        raise ServiceError("access number must not be all zeros")
    return number


def add_number(
    session: Session, number: str, *, customer_id: int | None, actor: str
) -> dict[str, Any]:
    number = check_new_number(number)
    customer = get_customer(session, customer_id) if customer_id is not None else None
    if session.scalars(select(AccessNumber.id).where(AccessNumber.number == number)).first():
        raise ServiceError(f"access number {number} already exists")
    row = AccessNumber(number=number, customer_id=customer_id)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        # Someone added the same number between our check and our insert.
        raise ServiceError(f"access number {number} already exists") from None
    record(
        session,
        actor,
        "number.add",
        f"number:{number}",
        {"customer_id": customer_id, "shared": customer_id is None},
    )
    return number_view(row, customer)


def list_numbers(
    session: Session, *, customer_id: int | None = None, shared_only: bool = False
) -> list[dict[str, Any]]:
    query = select(AccessNumber, Customer).outerjoin(
        Customer, AccessNumber.customer_id == Customer.id
    )
    if customer_id is not None:
        get_customer(session, customer_id)
        query = query.where(AccessNumber.customer_id == customer_id)
    if shared_only:
        query = query.where(AccessNumber.customer_id.is_(None))
    query = query.order_by(AccessNumber.number)
    return [number_view(n, c) for n, c in session.execute(query).all()]


def remove_number(session: Session, number: str, *, actor: str) -> dict[str, Any]:
    number = clean_number(number)
    row = session.scalars(
        select(AccessNumber).where(AccessNumber.number == number).with_for_update()
    ).one_or_none()
    if row is None:
        raise ServiceError(f"no access number {number}")
    view = number_view(row, None)
    session.delete(row)
    session.flush()
    record(session, actor, "number.remove", f"number:{number}", {"customer_id": row.customer_id})
    return view


def move_number(
    session: Session, number: str, *, customer_id: int | None, actor: str
) -> dict[str, Any]:
    """Give an access number to another customer (``None``: make it shared). Callers of
    the old owner can no longer reach its conferences through it; audited with both."""
    number = clean_number(number)
    customer = get_customer(session, customer_id) if customer_id is not None else None
    row = session.scalars(
        select(AccessNumber).where(AccessNumber.number == number).with_for_update()
    ).one_or_none()
    if row is None:
        raise ServiceError(f"no access number {number}")
    previous = row.customer_id
    if previous == customer_id:
        owner = f"customer {customer_id}" if customer_id is not None else "shared"
        raise ServiceError(f"access number {number} is already {owner}'s")
    row.customer_id = customer_id
    session.flush()
    record(
        session,
        actor,
        "number.move",
        f"number:{number}",
        {"from_customer_id": previous, "to_customer_id": customer_id},
    )
    view = number_view(row, customer)
    view["previous_customer_id"] = previous
    # The old owner's callers fall back to the shared numbers when it has none left.
    view["previous_owner_numbers_left"] = (
        len(own_numbers(session, previous)) if previous is not None else None
    )
    return view


def own_numbers(session: Session, customer_id: int) -> list[str]:
    return list(
        session.scalars(
            select(AccessNumber.number)
            .where(AccessNumber.customer_id == customer_id)
            .order_by(AccessNumber.number)
        )
    )


def numbers_for_customer(session: Session, customer_id: int) -> list[str]:
    """The numbers a customer's callers dial: their own, else the shared ones."""
    own = list(
        session.scalars(
            select(AccessNumber.number)
            .where(AccessNumber.customer_id == customer_id)
            .order_by(AccessNumber.number)
        )
    )
    if own:
        return own
    return list(
        session.scalars(
            select(AccessNumber.number)
            .where(AccessNumber.customer_id.is_(None))
            .order_by(AccessNumber.number)
        )
    )


def number_view(row: AccessNumber, customer: Customer | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "number": row.number,
        "customer_id": row.customer_id,
        "customer_name": customer.name if customer is not None else None,
        "shared": row.customer_id is None,
        "created_at": row.created_at,
    }
