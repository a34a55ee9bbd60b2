"""Customers and their subscription: add, list, show, suspend, resume, cancel.

State machine of a subscription (the join flow reads ``state``; billing reads the dates):

    active --suspend--> suspended --resume--> active
    active | suspended --cancel--> cancelled   (final; billed to the end of that month)
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fsconf.db.models import (
    AccessNumber,
    Conference,
    ConferenceStatus,
    Customer,
    Subscription,
    SubscriptionState,
    utcnow,
)
from fsconf.services.audit import ServiceError, record

NAME_MAX = 200
EMAIL_MAX = 320


def target(customer_id: int) -> str:
    return f"customer:{customer_id}"


def get_customer(session: Session, customer_id: int, *, for_update: bool = False) -> Customer:
    query = select(Customer).where(Customer.id == customer_id)
    if for_update:
        query = query.with_for_update()
    customer = session.scalars(query).one_or_none()
    if customer is None:
        raise ServiceError(f"no customer with id {customer_id}")
    return customer


def _unprintable(text: str) -> str | None:
    """The first character that would act on a terminal or a document rather than show
    (control, format such as bidi overrides, line separators, unassigned), else None."""
    for ch in text:
        if ch == " ":
            continue
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            return ch
    return None


def check_customer_text(name: str | None, email: str | None) -> None:
    """Refuse a customer name or e-mail holding control characters (escape sequences,
    tabs, newlines, bidi overrides): they end up on operators' terminals, invoices and
    forms. Every service that stores either (add, edit) calls this first."""
    for what, text in (("customer name", name), ("e-mail address", email)):
        bad = _unprintable(text) if text is not None else None
        if bad is not None:
            raise ServiceError(
                f"{what} must not contain control characters (found U+{ord(bad):04X})"
            )


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ServiceError("customer name must not be empty")
    if len(name) > NAME_MAX:
        raise ServiceError(f"customer name is longer than {NAME_MAX} characters")
    return name


def _clean_email(email: str | None) -> str | None:
    if email is None:
        return None
    email = email.strip()
    if not email:
        return None
    local, at, domain = email.rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in email):
        raise ServiceError(f"not an e-mail address: {email!r}")
    if len(email) > EMAIL_MAX:
        raise ServiceError(f"e-mail address is longer than {EMAIL_MAX} characters")
    return email


def add_customer(
    session: Session,
    *,
    name: str,
    email: str | None,
    activated_on: dt.date,
    actor: str,
) -> dict[str, Any]:
    check_customer_text(name, email)
    customer = Customer(name=_clean_name(name), email=_clean_email(email))
    customer.subscription = Subscription(
        state=SubscriptionState.ACTIVE.value, activated_on=activated_on
    )
    session.add(customer)
    session.flush()
    record(
        session,
        actor,
        "customer.add",
        target(customer.id),
        {"name": customer.name, "email": customer.email, "activated_on": activated_on},
    )
    return customer_view(customer)


def list_customers(session: Session, *, state: str | None = None) -> list[dict[str, Any]]:
    counts = dict(
        session.execute(
            select(Conference.customer_id, func.count())
            .where(Conference.status != ConferenceStatus.DELETED.value)
            .group_by(Conference.customer_id)
        ).all()
    )
    query = select(Customer, Subscription).outerjoin(Subscription).order_by(Customer.id)
    if state:
        if state not in {s.value for s in SubscriptionState}:
            raise ServiceError(f"unknown state {state!r}")
        query = query.where(Subscription.state == state)
    out = []
    for customer, subscription in session.execute(query).all():
        view = customer_view(customer, subscription)
        view["conferences"] = counts.get(customer.id, 0)
        out.append(view)
    return out


def show_customer(session: Session, customer_id: int) -> dict[str, Any]:
    customer = get_customer(session, customer_id)
    view = customer_view(customer)
    view["conferences"] = [
        {
            "number": c.number,
            "status": c.status,
            "max_participants": c.max_participants,
            "language": c.language,
        }
        for c in session.scalars(
            select(Conference).where(Conference.customer_id == customer_id).order_by(Conference.id)
        )
    ]
    view["access_numbers"] = list(
        session.scalars(
            select(AccessNumber.number)
            .where(AccessNumber.customer_id == customer_id)
            .order_by(AccessNumber.number)
        )
    )
    return view


def _subscription(session: Session, customer_id: int) -> Subscription:
    get_customer(session, customer_id)
    sub = session.scalars(
        select(Subscription).where(Subscription.customer_id == customer_id).with_for_update()
    ).one_or_none()
    if sub is None:
        raise ServiceError(f"customer {customer_id} has no subscription")
    return sub


def suspend_customer(session: Session, customer_id: int, *, actor: str) -> dict[str, Any]:
    sub = _subscription(session, customer_id)
    if sub.state != SubscriptionState.ACTIVE.value:
        raise ServiceError(
            f"customer {customer_id} is {sub.state}; only an active one can be suspended"
        )
    sub.state = SubscriptionState.SUSPENDED.value
    sub.suspended_at = utcnow()
    session.flush()
    record(session, actor, "customer.suspend", target(customer_id), {"state": sub.state})
    return customer_view(sub.customer, sub)


def resume_customer(session: Session, customer_id: int, *, actor: str) -> dict[str, Any]:
    sub = _subscription(session, customer_id)
    if sub.state != SubscriptionState.SUSPENDED.value:
        raise ServiceError(
            f"customer {customer_id} is {sub.state}; only a suspended one can be resumed"
        )
    sub.state = SubscriptionState.ACTIVE.value
    sub.suspended_at = None
    session.flush()
    record(session, actor, "customer.resume", target(customer_id), {"state": sub.state})
    return customer_view(sub.customer, sub)


def cancel_customer(
    session: Session, customer_id: int, *, cancelled_on: dt.date, actor: str
) -> dict[str, Any]:
    sub = _subscription(session, customer_id)
    if sub.state == SubscriptionState.CANCELLED.value:
        raise ServiceError(f"customer {customer_id} is already cancelled (on {sub.cancelled_on})")
    if cancelled_on < sub.activated_on:
        raise ServiceError(
            f"cancellation date {cancelled_on} is before the activation on {sub.activated_on}"
        )
    previous = sub.state
    sub.state = SubscriptionState.CANCELLED.value
    sub.cancelled_on = cancelled_on
    session.flush()
    record(
        session,
        actor,
        "customer.cancel",
        target(customer_id),
        {"cancelled_on": cancelled_on, "previous_state": previous},
    )
    return customer_view(sub.customer, sub)


def customer_view(customer: Customer, subscription: Subscription | None = None) -> dict[str, Any]:
    sub = subscription if subscription is not None else customer.subscription
    return {
        "id": customer.id,
        "name": customer.name,
        "email": customer.email,
        "state": sub.state if sub else None,
        "activated_on": sub.activated_on if sub else None,
        "cancelled_on": sub.cancelled_on if sub else None,
        "suspended_at": sub.suspended_at if sub else None,
        "created_at": customer.created_at,
    }
