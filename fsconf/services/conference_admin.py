"""Operator administration of conferences: create, list, show, set, reset PINs, delete.

A conference is addressed by its conference number (what the operator and the customer
know). Deleting is soft: status ``deleted`` and ``deleted_at`` set, the number stays
reserved so it is never handed to another customer. PINs never go into the audit log.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fsconf.config import SecuritySettings
from fsconf.domain.pins import NumberSpaceExhausted, generate_conference_number, generate_pin_pair
from fsconf.services.audit import record
from fsconf.services.customers import get_customer
from fsconf.services.errors import ServiceError
from fsconf.services.numbers import numbers_for_customer
from fsconf.store.models import (
    Conference,
    ConferenceStatus,
    Customer,
    SubscriptionState,
    utcnow,
)

LANGUAGES = ("nl", "en")
MAX_PARTICIPANTS_RANGE = (1, 500)
OPTIONS = (
    "record_names", "announce_count", "participants_join_muted",
    "wait_for_moderator", "end_with_moderator", "recording_allowed",
)
# Issue 22's whole-number settings and their ranges (also database constraints).
NUMBERS = {
    "moderator_grace_seconds": (0, 600),
    "recording_retention_days": (1, 3650),
}
SETTABLE_STATUSES = (ConferenceStatus.ACTIVE, ConferenceStatus.SUSPENDED)
CREATE_ATTEMPTS = 5


def target(number: str) -> str:
    return f"conference:{number}"


def check_max_participants(value: int) -> int:
    low, high = MAX_PARTICIPANTS_RANGE
    if not low <= value <= high:
        raise ServiceError(f"max participants must be between {low} and {high}, got {value}")
    return value


def check_numbers(values: dict[str, int | None]) -> dict[str, int]:
    out = {}
    for name, value in values.items():
        if value is None:
            continue
        if name not in NUMBERS:
            raise ServiceError(f"unknown setting {name}")
        low, high = NUMBERS[name]
        if not low <= value <= high:
            label = name.replace("_", " ")
            raise ServiceError(f"{label} must be between {low} and {high}, got {value}")
        out[name] = value
    return out


def _check_options(options: dict[str, bool | None] | None) -> dict[str, bool]:
    chosen = {k: bool(v) for k, v in (options or {}).items() if v is not None}
    unknown = set(chosen) - set(OPTIONS)
    if unknown:
        raise ServiceError(f"unknown option(s): {', '.join(sorted(unknown))}")
    return chosen


def check_language(value: str) -> str:
    if value not in LANGUAGES:
        raise ServiceError(f"language must be one of {', '.join(LANGUAGES)}, got {value!r}")
    return value


def check_pin(pin: str, length: int, role: str) -> str:
    if not pin.isascii() or not pin.isdigit():
        raise ServiceError(f"{role} PIN must be digits only")
    if len(pin) != length:
        raise ServiceError(f"{role} PIN must be {length} digits, got {len(pin)}")
    return pin


def get_conference(session: Session, number: str, *, for_update: bool = False) -> Conference:
    number = number.strip()
    if not number.isascii() or not number.isdigit():
        raise ServiceError(f"conference number must be digits only, got {number!r}")
    query = select(Conference).where(Conference.number == number)
    if for_update:
        query = query.with_for_update()
    conference = session.scalars(query).one_or_none()
    if conference is None:
        raise ServiceError(f"no conference {number}")
    return conference


def _live(session: Session, number: str) -> Conference:
    conference = get_conference(session, number, for_update=True)
    if conference.status == ConferenceStatus.DELETED:
        raise ServiceError(f"conference {number} is deleted")
    return conference


def create_conference(
    session: Session,
    *,
    customer_id: int,
    max_participants: int,
    language: str,
    security: SecuritySettings,
    actor: str,
    options: dict[str, bool | None] | None = None,
    numbers: dict[str, int | None] | None = None,
) -> dict[str, Any]:
    chosen = _check_options(options)
    amounts = check_numbers(numbers or {})
    customer = get_customer(session, customer_id)
    sub = customer.subscription
    # Also while a cancellation is pending (a suspended customer's included).
    if sub is not None and (
        sub.state == SubscriptionState.CANCELLED or sub.cancelled_on is not None
    ):
        raise ServiceError(
            f"customer {customer_id} is cancelled (on {sub.cancelled_on}); no new conferences"
        )
    check_max_participants(max_participants)
    check_language(language)

    def is_taken(candidate: str) -> bool:
        found = session.scalars(select(Conference.id).where(Conference.number == candidate))
        return found.first() is not None

    for _ in range(CREATE_ATTEMPTS):
        try:
            number = generate_conference_number(security.conference_number_length, is_taken)
        except NumberSpaceExhausted as exc:
            raise ServiceError(str(exc)) from None
        moderator_pin, participant_pin = generate_pin_pair(security.pin_length)
        conference = Conference(
            customer_id=customer_id,
            number=number,
            moderator_pin=moderator_pin,
            participant_pin=participant_pin,
            max_participants=max_participants,
            language=language,
            status=ConferenceStatus.ACTIVE,
            **chosen,
            **amounts,
        )
        try:
            with session.begin_nested():
                session.add(conference)
                session.flush()
        except IntegrityError:
            continue  # another operator took this number a moment ago: draw again
        break
    else:
        raise ServiceError("could not reserve a free conference number; try again")
    record(
        session,
        actor,
        "conference.create",
        target(conference.number),
        {
            "customer_id": customer_id,
            "max_participants": max_participants,
            "language": language,
            **chosen,
            **amounts,
        },
    )
    return conference_view(conference, customer)


def list_conferences(
    session: Session, *, customer_id: int | None = None, include_deleted: bool = False
) -> list[dict[str, Any]]:
    query = select(Conference, Customer).join(Customer, Conference.customer_id == Customer.id)
    if customer_id is not None:
        get_customer(session, customer_id)
        query = query.where(Conference.customer_id == customer_id)
    if not include_deleted:
        query = query.where(Conference.status != ConferenceStatus.DELETED)
    query = query.order_by(Conference.customer_id, Conference.number)
    return [conference_view(c, cu) for c, cu in session.execute(query).all()]


def show_conference(session: Session, number: str) -> dict[str, Any]:
    conference = get_conference(session, number)
    return conference_view(conference, conference.customer)


def set_conference(
    session: Session,
    number: str,
    *,
    security: SecuritySettings,
    actor: str,
    max_participants: int | None = None,
    language: str | None = None,
    status: str | None = None,
    moderator_pin: str | None = None,
    participant_pin: str | None = None,
    options: dict[str, bool | None] | None = None,
    numbers: dict[str, int | None] | None = None,
) -> dict[str, Any]:
    chosen = _check_options(options)
    amounts = check_numbers(numbers or {})
    values = [max_participants, language, status, moderator_pin, participant_pin]
    if all(v is None for v in values) and not chosen and not amounts:
        raise ServiceError("nothing to change: give at least one setting")
    conference = _live(session, number)
    changes: dict[str, Any] = {}

    def change(field: str, new: Any, *, secret: bool = False) -> None:
        old = getattr(conference, field)
        if old != new:
            setattr(conference, field, new)
            changes[field] = "changed" if secret else {"from": old, "to": new}

    if max_participants is not None:
        change("max_participants", check_max_participants(max_participants))
    if language is not None:
        change("language", check_language(language))
    if status is not None:
        if status not in SETTABLE_STATUSES:
            raise ServiceError(f"status must be one of {', '.join(SETTABLE_STATUSES)}")
        change("status", status)
    new_moderator = moderator_pin if moderator_pin is not None else conference.moderator_pin
    new_participant = participant_pin if participant_pin is not None else conference.participant_pin
    if moderator_pin is not None:
        check_pin(moderator_pin, security.pin_length, "moderator")
    if participant_pin is not None:
        check_pin(participant_pin, security.pin_length, "participant")
    if new_moderator == new_participant:
        raise ServiceError("moderator PIN and participant PIN must differ")
    change("moderator_pin", new_moderator, secret=True)
    change("participant_pin", new_participant, secret=True)
    for name, flag in chosen.items():
        change(name, flag)
    for name, amount in amounts.items():
        change(name, amount)
    session.flush()
    if changes:
        record(session, actor, "conference.set", target(conference.number), changes)
    view = conference_view(conference, conference.customer)
    view["changed"] = sorted(changes)
    return view


def reset_pins(
    session: Session, number: str, *, security: SecuritySettings, actor: str
) -> dict[str, Any]:
    conference = _live(session, number)
    old = {conference.moderator_pin, conference.participant_pin}
    moderator_pin, participant_pin = generate_pin_pair(security.pin_length)
    # New PINs that differ from the old ones, so a reset always locks the old callers out.
    while moderator_pin in old or participant_pin in old:
        moderator_pin, participant_pin = generate_pin_pair(security.pin_length)
    conference.moderator_pin = moderator_pin
    conference.participant_pin = participant_pin
    session.flush()
    record(
        session,
        actor,
        "conference.reset_pins",
        target(conference.number),
        {"moderator_pin": "changed", "participant_pin": "changed"},
    )
    return conference_view(conference, conference.customer)


def delete_conference(session: Session, number: str, *, actor: str) -> dict[str, Any]:
    conference = _live(session, number)
    previous = conference.status
    conference.status = ConferenceStatus.DELETED
    conference.deleted_at = utcnow()
    session.flush()
    record(
        session,
        actor,
        "conference.delete",
        target(conference.number),
        {"previous_status": previous},
    )
    return conference_view(conference, conference.customer)


def form_data(session: Session, number: str) -> dict[str, Any]:
    """What the customer data form shows for one conference."""
    conference = get_conference(session, number)
    if conference.status == ConferenceStatus.DELETED:
        raise ServiceError(f"conference {number} is deleted; it has no data form")
    customer = conference.customer
    return {
        "customer_id": customer.id,
        "customer_name": customer.name,
        "access_numbers": numbers_for_customer(session, customer.id),
        "conference_number": conference.number,
        "moderator_pin": conference.moderator_pin,
        "participant_pin": conference.participant_pin,
        "max_participants": conference.max_participants,
        "language": conference.language,
        "record_names": conference.record_names,
        "status": conference.status,
        "wait_for_moderator": conference.wait_for_moderator,
        "end_with_moderator": conference.end_with_moderator,
        "recording_allowed": conference.recording_allowed,
    }


def conference_view(conference: Conference, customer: Customer | None) -> dict[str, Any]:
    return {
        "id": conference.id,
        "number": conference.number,
        "customer_id": conference.customer_id,
        "customer_name": customer.name if customer is not None else None,
        "moderator_pin": conference.moderator_pin,
        "participant_pin": conference.participant_pin,
        "max_participants": conference.max_participants,
        "language": conference.language,
        "status": conference.status,
        "record_names": conference.record_names,
        "announce_count": conference.announce_count,
        "participants_join_muted": conference.participants_join_muted,
        "wait_for_moderator": conference.wait_for_moderator,
        "end_with_moderator": conference.end_with_moderator,
        "moderator_grace_seconds": conference.moderator_grace_seconds,
        "recording_allowed": conference.recording_allowed,
        "recording_retention_days": conference.recording_retention_days,
        "created_at": conference.created_at,
        "deleted_at": conference.deleted_at,
    }
