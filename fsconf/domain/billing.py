"""Billing maths: pure functions over dates and integer cents, no database, no floats.

The rules (SPEC.md "Billing" plus the decisions the spec leaves open):

- Months are calendar months (UTC dates, like every timestamp in fsconf).
- **Setup fee** once, on the invoice of the month that contains ``activated_on``.
- **Monthly fee** for every calendar month in which the subscription is active: from
  the month of activation (whole fee, no proration) up to and including the month of
  cancellation (a cancellation takes effect at the end of its month). Later months
  are not billed. A *suspended* subscription is still billed: suspension is what an
  operator does about an unpaid bill, it does not end the contract; only
  cancellation does.
- **Dial-out minutes**: every ``*8`` attempt of the customer's conferences whose
  ``requested_at`` lies in the month. Each attempt is rounded **up** to whole minutes
  on its own (61 s -> 2 min, 0 s -> 0 min: unanswered attempts cost nothing), the
  minutes are summed and charged at ``dialout_cents_per_minute``. Dial-out usage is
  billed whenever it happened, also outside the subscription months.
- **VAT** is computed once, on the invoice total ex VAT (not per line), and rounded
  **half up to the cent**: ``vat = (total_ex_vat * basis_points + 5000) // 10000``.
  So EUR 0.50 at 21% (10.5 ct) is 11 ct, 10.4 ct is 10 ct.
- An invoice has no lines with a zero amount, and a customer with nothing to bill in
  the month gets no invoice at all.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

LINE_SETUP = "setup"
LINE_MONTHLY = "monthly"
LINE_DIALOUT = "dialout"

# What one unit of each line kind is, for people and the accountant's export.
LINE_UNITS = {LINE_SETUP: "one-off", LINE_MONTHLY: "month", LINE_DIALOUT: "minute"}

_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month, written ``YYYY-MM``."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 1 <= self.year <= 9999:
            raise ValueError(f"not a month: {self.year:04d}-{self.month:02d}")

    @classmethod
    def parse(cls, text: str) -> Month:
        match = _MONTH_RE.match(text.strip())
        if not match:
            raise ValueError(f"month must be written YYYY-MM, got {text!r}")
        year, month = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12 or year < 1:
            raise ValueError(f"month must be written YYYY-MM, got {text!r}")
        return cls(year, month)

    @classmethod
    def of(cls, day: dt.date) -> Month:
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last_day(self) -> dt.date:
        return self.next().first_day - dt.timedelta(days=1)

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def start(self) -> dt.datetime:
        """First instant of the month (naive UTC), inclusive."""
        return dt.datetime.combine(self.first_day, dt.time())

    def end(self) -> dt.datetime:
        """First instant of the next month (naive UTC), exclusive."""
        return self.next().start()

    def contains(self, day: dt.date | dt.datetime) -> bool:
        return (day.year, day.month) == (self.year, self.month)


class Tariff(Protocol):
    """What prices are built from: the `[billing]` settings (config.BillingSettings)."""

    @property
    def setup_fee_cents(self) -> int: ...
    @property
    def monthly_fee_cents(self) -> int: ...
    @property
    def dialout_cents_per_minute(self) -> int: ...
    @property
    def vat_basis_points(self) -> int: ...
    @property
    def currency(self) -> str: ...
    @property
    def payment_terms_days(self) -> int: ...


@dataclass(frozen=True)
class Prices:
    """The tariff, in integer cents, and the payment terms; their defaults live in one
    place, the settings."""

    setup_fee_cents: int
    monthly_fee_cents: int
    dialout_cents_per_minute: int
    vat_basis_points: int
    currency: str
    payment_terms_days: int

    @classmethod
    def from_settings(cls, billing: Tariff) -> Prices:
        return cls(
            setup_fee_cents=billing.setup_fee_cents,
            monthly_fee_cents=billing.monthly_fee_cents,
            dialout_cents_per_minute=billing.dialout_cents_per_minute,
            vat_basis_points=billing.vat_basis_points,
            currency=billing.currency,
            payment_terms_days=billing.payment_terms_days,
        )


def due_date(issued_on: dt.date, prices: Prices) -> dt.date:
    """When an invoice issued on `issued_on` must be paid."""
    return issued_on + dt.timedelta(days=prices.payment_terms_days)


@dataclass(frozen=True)
class Line:
    kind: str
    description: str
    quantity: int
    unit_cents: int

    @property
    def amount_cents(self) -> int:
        return self.quantity * self.unit_cents


@dataclass(frozen=True)
class Draft:
    """An invoice as the maths sees it; invoicing stores it."""

    month: Month
    lines: tuple[Line, ...]
    vat_basis_points: int
    currency: str

    @property
    def total_ex_vat_cents(self) -> int:
        return sum(line.amount_cents for line in self.lines)

    @property
    def vat_cents(self) -> int:
        return vat_cents(self.total_ex_vat_cents, self.vat_basis_points)

    @property
    def total_cents(self) -> int:
        return self.total_ex_vat_cents + self.vat_cents


def vat_cents(total_ex_vat_cents: int, basis_points: int) -> int:
    """VAT on an invoice total, rounded half up to the cent (integers only)."""
    if total_ex_vat_cents < 0 or basis_points < 0:
        raise ValueError("amounts and VAT rates are never negative")
    return (total_ex_vat_cents * basis_points + 5000) // 10000


def dialout_minutes(durations_seconds: Iterable[int]) -> int:
    """Billable minutes: each attempt rounded up to whole minutes, then summed."""
    total = 0
    for seconds in durations_seconds:
        if seconds < 0:
            raise ValueError("a duration is never negative")
        total += -(-seconds // 60)
    return total


def monthly_fee_due(activated_on: dt.date, cancelled_on: dt.date | None, month: Month) -> bool:
    """Whether the monthly fee is due for `month`."""
    if month < Month.of(activated_on):
        return False
    return cancelled_on is None or month <= Month.of(cancelled_on)


def draft_invoice(
    month: Month,
    *,
    activated_on: dt.date | None,
    cancelled_on: dt.date | None,
    dialout_seconds: Iterable[int] = (),
    prices: Prices,
) -> Draft | None:
    """The invoice a customer gets for `month`, or None when there is nothing to bill.

    ``activated_on`` None means the customer has no subscription (only usage is billed).
    """
    lines: list[Line] = []
    if activated_on is not None:
        if month.contains(activated_on) and prices.setup_fee_cents:
            lines.append(Line(LINE_SETUP, "Setup fee", 1, prices.setup_fee_cents))
        if monthly_fee_due(activated_on, cancelled_on, month) and prices.monthly_fee_cents:
            lines.append(Line(LINE_MONTHLY, f"Monthly fee {month}", 1, prices.monthly_fee_cents))
    minutes = dialout_minutes(dialout_seconds)
    if minutes and prices.dialout_cents_per_minute:
        lines.append(
            Line(
                LINE_DIALOUT,
                f"Dial-out minutes {month}",
                minutes,
                prices.dialout_cents_per_minute,
            )
        )
    if not lines:
        return None
    return Draft(month, tuple(lines), prices.vat_basis_points, prices.currency)
