"""Billing maths: table tests, no database."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fsconf.config import BillingSettings
from fsconf.domain import billing
from fsconf.domain.billing import (
    Month,
    Prices,
    dialout_minutes,
    monthly_fee_due,
    vat_cents,
)

D = dt.date
# The default settings' tariff (the spec's): 25.00 setup, 10.00 a month, 5 ct a minute, 21% VAT.
PRICES = Prices.from_settings(BillingSettings())
draft_invoice = functools.partial(billing.draft_invoice, prices=PRICES)


def kinds(draft) -> list[tuple[str, int, int]]:
    return [(line.kind, line.quantity, line.amount_cents) for line in draft.lines]


# --- months ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "month"),
    [("2024-01", Month(2024, 1)), ("1999-12", Month(1999, 12)), (" 2024-02 ", Month(2024, 2))],
)
def test_month_parses_yyyy_mm(text, month) -> None:
    assert Month.parse(text) == month
    assert str(month) == text.strip()


@pytest.mark.parametrize("text", ["2024-13", "2024-00", "2024-1", "24-01", "2024/01", "", "x"])
def test_month_rejects_bad_formats(text) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        Month.parse(text)


def test_month_boundaries_and_neighbours() -> None:
    feb = Month(2024, 2)
    assert (feb.first_day, feb.last_day) == (D(2024, 2, 1), D(2024, 2, 29))
    assert Month(2023, 12).next() == Month(2024, 1)
    assert Month(2024, 1).previous() == Month(2023, 12)
    assert feb.start() == dt.datetime(2024, 2, 1) and feb.end() == dt.datetime(2024, 3, 1)
    assert Month(2023, 12) < Month(2024, 1) < Month(2024, 2)


# --- subscription months --------------------------------------------------------------


@pytest.mark.parametrize(
    ("activated", "cancelled", "month", "due"),
    [
        (D(2024, 3, 31), None, Month(2024, 2), False),  # before activation
        (D(2024, 3, 31), None, Month(2024, 3), True),  # activation month, last day: full fee
        (D(2024, 3, 1), None, Month(2025, 7), True),  # runs on and on
        (D(2024, 3, 15), D(2024, 5, 2), Month(2024, 5), True),  # cancellation month billed
        (D(2024, 3, 15), D(2024, 5, 31), Month(2024, 6), False),  # not after it
        (D(2024, 3, 15), D(2024, 3, 20), Month(2024, 3), True),  # cancelled in its first month
    ],
)
def test_monthly_fee_due(activated, cancelled, month, due) -> None:
    assert monthly_fee_due(activated, cancelled, month) is due


# --- invoices -------------------------------------------------------------------------


def test_activation_mid_month_bills_setup_and_a_full_month() -> None:
    draft = draft_invoice(Month(2024, 3), activated_on=D(2024, 3, 17), cancelled_on=None)
    assert kinds(draft) == [("setup", 1, 2500), ("monthly", 1, 1000)]
    assert (draft.total_ex_vat_cents, draft.vat_cents, draft.total_cents) == (3500, 735, 4235)


def test_month_after_activation_bills_only_the_monthly_fee() -> None:
    draft = draft_invoice(Month(2024, 4), activated_on=D(2024, 3, 17), cancelled_on=None)
    assert kinds(draft) == [("monthly", 1, 1000)]
    assert (draft.vat_cents, draft.total_cents) == (210, 1210)


def test_month_before_activation_bills_nothing() -> None:
    assert draft_invoice(Month(2024, 2), activated_on=D(2024, 3, 1), cancelled_on=None) is None


def test_cancellation_month_is_billed_and_later_months_are_not() -> None:
    args = {"activated_on": D(2024, 1, 5), "cancelled_on": D(2024, 4, 1)}
    assert kinds(draft_invoice(Month(2024, 4), **args)) == [("monthly", 1, 1000)]
    assert draft_invoice(Month(2024, 5), **args) is None


def test_activation_and_cancellation_in_one_month_bill_setup_and_one_month() -> None:
    draft = draft_invoice(Month(2024, 6), activated_on=D(2024, 6, 3), cancelled_on=D(2024, 6, 4))
    assert kinds(draft) == [("setup", 1, 2500), ("monthly", 1, 1000)]


def test_dialout_minutes_are_added_as_one_line() -> None:
    draft = draft_invoice(
        Month(2024, 4),
        activated_on=D(2024, 1, 1),
        cancelled_on=None,
        dialout_seconds=[61, 60, 0, 1],  # 2 + 1 + 0 + 1 minutes
    )
    assert kinds(draft) == [("monthly", 1, 1000), ("dialout", 4, 20)]
    assert (draft.total_ex_vat_cents, draft.vat_cents, draft.total_cents) == (1020, 214, 1234)


def test_dialout_after_cancellation_is_still_billed() -> None:
    draft = draft_invoice(
        Month(2024, 8), activated_on=D(2024, 1, 1), cancelled_on=D(2024, 6, 1),
        dialout_seconds=[120],
    )  # fmt: skip
    assert kinds(draft) == [("dialout", 2, 10)]


def test_only_unanswered_dialouts_bill_nothing() -> None:
    draft = draft_invoice(
        Month(2024, 8), activated_on=D(2024, 1, 1), cancelled_on=D(2024, 6, 1),
        dialout_seconds=[0, 0],
    )  # fmt: skip
    assert draft is None


def test_customer_without_subscription_is_billed_only_for_usage() -> None:
    draft = draft_invoice(Month(2024, 8), activated_on=None, cancelled_on=None)
    assert draft is None


def test_prices_come_from_the_settings() -> None:
    prices = Prices.from_settings(
        BillingSettings(
            setup_fee_cents=0, monthly_fee_cents=1999, dialout_cents_per_minute=7,
            vat_basis_points=900,
        )
    )  # fmt: skip
    draft = draft_invoice(
        Month(2024, 1), activated_on=D(2024, 1, 1), cancelled_on=None, dialout_seconds=[59],
        prices=prices,
    )  # fmt: skip
    assert kinds(draft) == [("monthly", 1, 1999), ("dialout", 1, 7)]  # no zero setup line
    assert draft.vat_basis_points == 900
    assert draft.vat_cents == 181  # 2006 * 9% = 180.54 -> 181


# --- VAT rounding: half up to the cent, on the invoice total ---------------------------


@pytest.mark.parametrize(
    ("total", "basis_points", "vat"),
    [
        (1000, 2100, 210),  # exact
        (50, 2100, 11),  # 10.50 ct: the half goes up
        (49, 2100, 10),  # 10.29 ct
        (2, 2500, 1),  # 0.50 ct: the half goes up
        (1, 2100, 0),  # 0.21 ct
        (3, 2100, 1),  # 0.63 ct
        (0, 2100, 0),
        (1234, 0, 0),  # VAT-exempt
        (1001, 10000, 1001),  # 100 %
        (99_999_999_999, 2100, 21_000_000_000),  # 20999999999.79: no float drift
    ],
)
def test_vat_rounds_half_up_to_the_cent(total, basis_points, vat) -> None:
    assert vat_cents(total, basis_points) == vat


def test_vat_is_computed_on_the_total_not_per_line() -> None:
    # Two dial-out-like lines of 2 ct each: per line 0.42 ct -> 0 + 0; on the total 4 ct
    # -> 0.84 ct -> 1 ct. The invoice says 1.
    prices = dataclasses.replace(
        PRICES, setup_fee_cents=0, monthly_fee_cents=2, dialout_cents_per_minute=2
    )
    draft = draft_invoice(
        Month(2024, 1), activated_on=D(2023, 1, 1), cancelled_on=None, dialout_seconds=[60],
        prices=prices,
    )  # fmt: skip
    assert [line.amount_cents for line in draft.lines] == [2, 2]
    assert draft.vat_cents == 1


def test_negative_amounts_are_refused() -> None:
    with pytest.raises(ValueError):
        vat_cents(-1, 2100)
    with pytest.raises(ValueError):
        dialout_minutes([-5])


@given(st.integers(0, 10**12), st.integers(0, 10000))
def test_vat_equals_exact_rational_rounding(total, basis_points) -> None:
    from fractions import Fraction

    exact = Fraction(total * basis_points, 10000)
    assert vat_cents(total, basis_points) == int(exact + Fraction(1, 2))


# --- dial-out minutes: per attempt, rounded up -----------------------------------------


@pytest.mark.parametrize(
    ("durations", "minutes"),
    [
        ([], 0),
        ([0], 0),  # not answered: free
        ([1], 1),
        ([59], 1),
        ([60], 1),
        ([61], 2),
        ([30, 30], 2),  # per attempt, not pooled
        ([3600], 60),
    ],
)
def test_dialout_minutes_round_up_per_attempt(durations, minutes) -> None:
    assert dialout_minutes(durations) == minutes


@given(st.lists(st.integers(0, 10**6), max_size=50))
def test_dialout_minutes_never_undercharge(durations) -> None:
    minutes = dialout_minutes(durations)
    assert minutes * 60 >= sum(durations)
    assert minutes <= sum(d // 60 + 1 for d in durations)
