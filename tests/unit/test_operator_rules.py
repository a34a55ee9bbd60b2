"""Pure rules behind the operator tools: lifecycle states, access-number and customer
text checks, a leg's seconds (no sockets, no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from fsconf.services.customers import check_customer_text, effective_state, service_until
from fsconf.services.errors import ServiceError
from fsconf.services.lookup import check_lookup_pin
from fsconf.services.meetings import leg_seconds
from fsconf.services.numbers import check_new_number

MAR_15 = dt.date(2027, 3, 15)


@pytest.mark.parametrize(
    ("state", "cancelled_on", "today", "shown"),
    [
        ("active", None, MAR_15, "active"),
        ("cancelled", MAR_15, dt.date(2027, 1, 1), "active"),  # notice period
        ("cancelled", MAR_15, dt.date(2027, 3, 31), "active"),  # last day served
        ("cancelled", MAR_15, dt.date(2027, 4, 1), "cancelled"),
        ("suspended", MAR_15, dt.date(2027, 3, 1), "suspended"),
        ("suspended", MAR_15, dt.date(2027, 4, 1), "cancelled"),
        ("suspended", None, dt.date(2030, 1, 1), "suspended"),
        ("cancelled", None, MAR_15, "cancelled"),
    ],
)
def test_effective_state_shows_service_until_the_cancellation_takes_effect(
    state: str, cancelled_on: dt.date | None, today: dt.date, shown: str
) -> None:
    assert effective_state(state, cancelled_on, today) == shown


def test_service_runs_to_the_end_of_the_cancellation_month() -> None:
    assert service_until(MAR_15) == dt.date(2027, 3, 31)
    assert service_until(dt.date(2028, 2, 1)) == dt.date(2028, 2, 29)


@pytest.mark.parametrize("number", ["0", "1", "12", "000", "0000000000", "1" * 16, "1" * 23])
def test_implausible_access_numbers_are_refused(number: str) -> None:
    with pytest.raises(ServiceError, match="access number must"):
        check_new_number(number)


@pytest.mark.parametrize("number", ["112", "0201234567", "31201234567", "9" * 15, " 0201234567 "])
def test_plausible_access_numbers_pass(number: str) -> None:
    assert check_new_number(number) == number.strip()


@pytest.mark.parametrize(
    ("name", "email"),
    [("Evil\x1b[2J", None), ("Tab\there", None), ("bidi\u202e", None), (None, "a\x00@b.nl")],
)
def test_control_characters_in_customer_text_are_refused(
    name: str | None, email: str | None
) -> None:
    with pytest.raises(ServiceError, match="control characters"):
        check_customer_text(name, email)


def test_ordinary_customer_text_passes() -> None:
    check_customer_text("Café Zoë & Søn B.V. 東京", "ops@acme.example")


@pytest.mark.parametrize("pin", ["", "123", "123456789", "12a456", "١٢٣٤٥٦"])
def test_lookup_pin_must_be_4_to_8_ascii_digits(pin: str) -> None:
    with pytest.raises(ServiceError, match="4 to 8 digits"):
        check_lookup_pin(pin)


def test_leg_seconds_counts_up_to_leaving_the_meeting_end_or_now() -> None:
    t = dt.datetime(2026, 1, 1, 10, 0)
    now = t + dt.timedelta(hours=1)
    assert leg_seconds(t, t + dt.timedelta(seconds=90), None, now) == 90
    assert leg_seconds(t, None, t + dt.timedelta(seconds=30), now) == 30
    assert leg_seconds(t, None, None, now) == 3600
    assert leg_seconds(None, None, None, now) == 0
