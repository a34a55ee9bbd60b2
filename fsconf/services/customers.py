"""Customers and their subscription: add, edit, list, show, suspend, resume, cancel,
uncancel.

The stored ``state`` is what the join flow reads; billing reads the dates. A cancellation
takes effect at the end of the month of ``cancelled_on`` (that month is billed and served):

    active --suspend--> suspended --resume--> active, or cancelled if one is pending
    active --cancel--> cancelled     (notice period: callers still served, shown "active")
    suspended --cancel--> suspended  (with cancelled_on: a cancellation never lifts a
                                      suspension)
    cancelled --suspend--> suspended, while in the notice period
    cancelled | suspended --uncancel--> active | suspended, before it takes effect

Operators see the *effective* state (`effective_state`): "active" until a pending
cancellation takes effect, "cancelled" after.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fsconf.domain.billing import Month
from fsconf.services.audit import record
from fsconf.services.errors import ServiceError
from fsconf.store.models import (
    AccessNumber,
    Conference,
    ConferenceStatus,
    Customer,
    Subscription,
    SubscriptionState,
    utcnow,
)

NAME_MAX = 200
EMAIL_MAX = 320
ADDRESS_MAX = 500
ADDRESS_LINES_MAX = 6
# EU VAT identification numbers: a two-letter country prefix and 2..12 letters or digits
# (no country's is longer); the Dutch one has a fixed shape worth checking exactly.
_VAT_NUMBER = re.compile(r"[A-Z]{2}[0-9A-Z]{2,12}")
_DUTCH_VAT_NUMBER = re.compile(r"NL[0-9]{9}B[0-9]{2}")


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
    check_customer_text(name, None)
    name = " ".join(name.split())
    if not name:
        raise ServiceError("customer name must not be empty")
    if len(name) > NAME_MAX:
        raise ServiceError(f"customer name is longer than {NAME_MAX} characters")
    return name


def _clean_email(email: str | None) -> str | None:
    if email is None:
        return None
    check_customer_text(None, email)
    email = email.strip()
    if not email:
        return None
    local, at, domain = email.rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in email):
        raise ServiceError(f"not an e-mail address: {email!r}")
    if len(email) > EMAIL_MAX:
        raise ServiceError(f"e-mail address is longer than {EMAIL_MAX} characters")
    return email


def clean_address(address: str | None) -> str | None:
    """A postal address, lines separated by newlines; empty means none. Other control
    characters are refused: the address is printed on invoices and terminals."""
    if address is None:
        return None
    address = address.replace("\r\n", "\n")  # pasted from a Windows document
    if any(unicodedata.category(ch)[0] == "C" and ch != "\n" for ch in address):
        raise ServiceError("address must not contain control characters (only line breaks)")
    lines = [" ".join(line.split()) for line in address.split("\n")]
    lines = [line for line in lines if line]
    if not lines:
        return None
    if len(lines) > ADDRESS_LINES_MAX:
        raise ServiceError(f"address has more than {ADDRESS_LINES_MAX} lines")
    text = "\n".join(lines)
    if len(text) > ADDRESS_MAX:
        raise ServiceError(f"address is longer than {ADDRESS_MAX} characters")
    return text


def clean_vat_number(vat_number: str | None) -> str | None:
    """An EU VAT number, written without spaces or dots in capitals; empty means none."""
    if vat_number is None:
        return None
    compact = re.sub(r"[\s.\-]", "", vat_number).upper()
    if not compact:
        return None
    if not compact.isascii() or not _VAT_NUMBER.fullmatch(compact):
        raise ServiceError(
            f"not a VAT number: {vat_number!r} (a country code and 2-12 letters or digits,"
            " e.g. NL123456789B01)"
        )
    if compact.startswith("NL") and not _DUTCH_VAT_NUMBER.fullmatch(compact):
        raise ServiceError(
            f"not a Dutch VAT number: {vat_number!r} (NL, 9 digits, B, 2 digits:"
            " NL123456789B01)"
        )
    return compact


def add_customer(
    session: Session,
    *,
    name: str,
    email: str | None,
    activated_on: dt.date,
    actor: str,
    address: str | None = None,
    vat_number: str | None = None,
) -> dict[str, Any]:
    customer = Customer(
        name=_clean_name(name),
        email=_clean_email(email),
        address=clean_address(address),
        vat_number=clean_vat_number(vat_number),
    )
    customer.subscription = Subscription(
        state=SubscriptionState.ACTIVE, activated_on=activated_on
    )
    session.add(customer)
    session.flush()
    record(
        session,
        actor,
        "customer.add",
        target(customer.id),
        {
            "name": customer.name,
            "email": customer.email,
            "activated_on": activated_on,
            "address": customer.address,
            "vat_number": customer.vat_number,
        },
    )
    return customer_view(customer)


_UNCHANGED: Any = object()


def set_billing_details(
    session: Session,
    customer_id: int,
    *,
    actor: str,
    address: str | None = _UNCHANGED,
    vat_number: str | None = _UNCHANGED,
) -> dict[str, Any]:
    """Change what future invoices are addressed to; issued invoices keep their copy."""
    if address is _UNCHANGED and vat_number is _UNCHANGED:
        raise ServiceError("nothing to change: give --address and/or --vat")
    customer = get_customer(session, customer_id, for_update=True)
    changes: dict[str, Any] = {}
    if address is not _UNCHANGED:
        changes["address"] = clean_address(address)
    if vat_number is not _UNCHANGED:
        changes["vat_number"] = clean_vat_number(vat_number)
    before = {key: getattr(customer, key) for key in changes}
    for key, value in changes.items():
        setattr(customer, key, value)
    session.flush()
    record(
        session, actor, "customer.set_billing", target(customer_id),
        {"before": before, "after": changes},
    )  # fmt: skip
    return customer_view(customer)


def list_customers(session: Session, *, state: str | None = None) -> list[dict[str, Any]]:
    counts = dict(
        session.execute(
            select(Conference.customer_id, func.count())
            .where(Conference.status != ConferenceStatus.DELETED)
            .group_by(Conference.customer_id)
        ).all()
    )
    query = select(Customer, Subscription).outerjoin(Subscription).order_by(Customer.id)
    if state and state not in {s.value for s in SubscriptionState}:
        raise ServiceError(f"unknown state {state!r}")
    today = _today()
    out = []
    for customer, subscription in session.execute(query).all():
        view = customer_view(customer, subscription, today=today)
        # Filter on the effective state: one in its notice period is still active.
        if state and view["state"] != state:
            continue
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


def service_until(cancelled_on: dt.date) -> dt.date:
    """The last day a cancelled subscription is served and billed: the end of its month."""
    return Month.of(cancelled_on).last_day


def cancellation_in_effect(cancelled_on: dt.date | None, today: dt.date) -> bool:
    return cancelled_on is not None and today > service_until(cancelled_on)


def effective_state(state: str | None, cancelled_on: dt.date | None, today: dt.date) -> str | None:
    """What the operator should see: a cancellation in its notice period is still
    "active" (callers are served, the month is billed); after it, "cancelled"."""
    if state is None:
        return None
    if state == SubscriptionState.CANCELLED and cancelled_on is None:
        return state  # rows from before cancelled_on was always set
    if cancellation_in_effect(cancelled_on, today):
        return SubscriptionState.CANCELLED
    if state == SubscriptionState.CANCELLED:
        return SubscriptionState.ACTIVE
    return state


def describe_state(view: dict[str, Any]) -> str:
    """One line for a table: ``active, cancels on 2027-03-15 (served until 2027-03-31)``."""
    state = str(view["state"])
    if view.get("cancels_on"):
        return f"{state}, cancels on {view['cancels_on']} (served until {view['service_until']})"
    return state


def _today() -> dt.date:
    return utcnow().date()


def _refuse_if_cancelled(sub: Subscription, customer_id: int, today: dt.date) -> None:
    if cancellation_in_effect(sub.cancelled_on, today) or (
        sub.state == SubscriptionState.CANCELLED and sub.cancelled_on is None
    ):
        raise ServiceError(
            f"customer {customer_id} is cancelled (on {sub.cancelled_on}, served until"
            f" {service_until(sub.cancelled_on) if sub.cancelled_on else 'then'})"
        )


def suspend_customer(
    session: Session, customer_id: int, *, actor: str, today: dt.date | None = None
) -> dict[str, Any]:
    """Allowed while active, also in a cancellation's notice period (unpaid bills)."""
    today = today or _today()
    sub = _subscription(session, customer_id)
    _refuse_if_cancelled(sub, customer_id, today)
    if sub.state == SubscriptionState.SUSPENDED:
        raise ServiceError(
            f"customer {customer_id} is suspended; only an active one can be suspended"
        )
    sub.state = SubscriptionState.SUSPENDED
    sub.suspended_at = utcnow()
    session.flush()
    record(session, actor, "customer.suspend", target(customer_id), {"state": sub.state})
    return customer_view(sub.customer, sub, today=today)


def resume_customer(
    session: Session, customer_id: int, *, actor: str, today: dt.date | None = None
) -> dict[str, Any]:
    """Back to active, or back into the notice period of a pending cancellation."""
    today = today or _today()
    sub = _subscription(session, customer_id)
    _refuse_if_cancelled(sub, customer_id, today)
    if sub.state != SubscriptionState.SUSPENDED:
        now = describe_state(customer_view(sub.customer, sub, today=today))
        raise ServiceError(
            f"customer {customer_id} is {now}; only a suspended one can be resumed"
        )
    sub.state = (
        SubscriptionState.CANCELLED if sub.cancelled_on else SubscriptionState.ACTIVE
    )
    sub.suspended_at = None
    session.flush()
    record(session, actor, "customer.resume", target(customer_id), {"state": sub.state})
    return customer_view(sub.customer, sub, today=today)


def cancel_customer(
    session: Session,
    customer_id: int,
    *,
    cancelled_on: dt.date,
    actor: str,
    today: dt.date | None = None,
) -> dict[str, Any]:
    today = today or _today()
    sub = _subscription(session, customer_id)
    if sub.cancelled_on is not None or sub.state == SubscriptionState.CANCELLED:
        raise ServiceError(
            f"customer {customer_id} is already cancelled (on {sub.cancelled_on});"
            " 'customer uncancel' undoes it before it takes effect"
        )
    if cancelled_on < sub.activated_on:
        raise ServiceError(
            f"cancellation date {cancelled_on} is before the activation on {sub.activated_on}"
        )
    previous = sub.state
    # A suspended customer stays suspended: cancelling must not restore service.
    if sub.state == SubscriptionState.ACTIVE:
        sub.state = SubscriptionState.CANCELLED
    sub.cancelled_on = cancelled_on
    session.flush()
    record(
        session,
        actor,
        "customer.cancel",
        target(customer_id),
        {"cancelled_on": cancelled_on, "previous_state": previous},
    )
    return customer_view(sub.customer, sub, today=today)


def uncancel_customer(
    session: Session, customer_id: int, *, actor: str, today: dt.date | None = None
) -> dict[str, Any]:
    """Withdraw a cancellation that has not yet taken effect (a suspension stays)."""
    today = today or _today()
    sub = _subscription(session, customer_id)
    if sub.cancelled_on is None and sub.state != SubscriptionState.CANCELLED:
        raise ServiceError(f"customer {customer_id} has no cancellation to undo")
    _refuse_if_cancelled(sub, customer_id, today)
    withdrawn = sub.cancelled_on
    if sub.state == SubscriptionState.CANCELLED:
        sub.state = SubscriptionState.ACTIVE
    sub.cancelled_on = None
    session.flush()
    record(
        session,
        actor,
        "customer.uncancel",
        target(customer_id),
        {"withdrawn_cancelled_on": withdrawn, "state": sub.state},
    )
    return customer_view(sub.customer, sub, today=today)


def edit_customer(
    session: Session,
    customer_id: int,
    *,
    name: str | None = None,
    email: str | None = None,
    actor: str,
) -> dict[str, Any]:
    """Change the name and/or e-mail (``email=""`` removes it); audited with old and new."""
    if name is None and email is None:
        raise ServiceError("nothing to change: give --name and/or --email")
    check_customer_text(name, email)
    customer = get_customer(session, customer_id, for_update=True)
    changes: dict[str, Any] = {}
    if name is not None:
        new_name = _clean_name(name)
        if new_name != customer.name:
            changes["name"] = {"old": customer.name, "new": new_name}
            customer.name = new_name
    if email is not None:
        new_email = _clean_email(email)
        if new_email != customer.email:
            changes["email"] = {"old": customer.email, "new": new_email}
            customer.email = new_email
    if changes:
        session.flush()
        record(session, actor, "customer.edit", target(customer_id), changes)
    view = customer_view(customer)
    view["changed"] = sorted(changes)
    return view


def customer_view(
    customer: Customer, subscription: Subscription | None = None, *, today: dt.date | None = None
) -> dict[str, Any]:
    sub = subscription if subscription is not None else customer.subscription
    today = today or _today()
    cancelled_on = sub.cancelled_on if sub else None
    state = effective_state(sub.state, cancelled_on, today) if sub else None
    pending = cancelled_on is not None and state != SubscriptionState.CANCELLED
    return {
        "id": customer.id,
        "name": customer.name,
        "email": customer.email,
        "address": customer.address,
        "vat_number": customer.vat_number,
        # Effective: "active" during a cancellation's notice period (see module doc).
        "state": state,
        "activated_on": sub.activated_on if sub else None,
        "cancelled_on": cancelled_on,
        # Set while a cancellation is pending: the date it was made for, the last day served.
        "cancels_on": cancelled_on if pending else None,
        "service_until": service_until(cancelled_on) if cancelled_on else None,
        "suspended_at": sub.suspended_at if sub else None,
        "created_at": customer.created_at,
    }
