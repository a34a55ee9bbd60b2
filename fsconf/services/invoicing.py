"""Billing runs and invoice queries.

A billing run turns the pure maths of :mod:`fsconf.domain.billing` into Invoice rows.
It is idempotent and safe to run concurrently: the database's unique constraint
``uq_invoices_customer_period`` allows one invoice per customer and month. Each
customer's invoice is inserted inside its own savepoint; when the insert hits the
constraint (another run made that invoice first) the savepoint is rolled back and the
customer is counted as *skipped*. Customers are processed in id order, so concurrent
runs on PostgreSQL wait on each other's rows in the same order and cannot deadlock.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from fsconf.domain.billing import LINE_UNITS, Month, Prices, draft_invoice
from fsconf.services.audit import record
from fsconf.services.customers import get_customer
from fsconf.services.errors import ServiceError
from fsconf.store.models import (
    Conference,
    Customer,
    DialOutAttempt,
    Invoice,
    InvoiceLine,
    Subscription,
)


@dataclass
class RunResult:
    month: Month
    created: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # customer ids already invoiced
    nothing_to_bill: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "month": str(self.month),
            "created": len(self.created),
            "skipped": len(self.skipped),
            "nothing_to_bill": self.nothing_to_bill,
            "invoices": self.created,
            "skipped_customer_ids": self.skipped,
        }


def check_month_has_ended(month: Month, today: dt.date) -> None:
    current = Month.of(today)
    if month == current:
        raise ServiceError(f"month {month} has not ended yet; bill it from {month.next()}-01 on")
    if month > current:
        raise ServiceError(f"month {month} is in the future")


def _dialout_seconds(
    session: Session, month: Month, customer_id: int | None
) -> dict[int, list[int]]:
    query = (
        select(Conference.customer_id, DialOutAttempt.duration_seconds)
        .join(Conference, DialOutAttempt.conference_id == Conference.id)
        .where(DialOutAttempt.requested_at >= month.start())
        .where(DialOutAttempt.requested_at < month.end())
    )
    if customer_id is not None:
        query = query.where(Conference.customer_id == customer_id)
    out: dict[int, list[int]] = defaultdict(list)
    for cid, seconds in session.execute(query):
        out[cid].append(seconds or 0)
    return out


def _already_invoiced(session: Session, month: Month) -> set[int]:
    """Customers with an invoice for `month` (a shortcut; the constraint is the guard)."""
    return set(
        session.scalars(select(Invoice.customer_id).where(Invoice.period == month.first_day))
    )


def run_billing(
    session: Session,
    month: Month,
    *,
    prices: Prices,
    today: dt.date,
    actor: str,
    customer_id: int | None = None,
) -> RunResult:
    """Invoice every customer (or one) for `month`; safe to repeat and to run in parallel."""
    check_month_has_ended(month, today)
    if customer_id is not None:
        get_customer(session, customer_id)
    customers = select(Customer.id, Subscription.activated_on, Subscription.cancelled_on).outerjoin(
        Subscription, Subscription.customer_id == Customer.id
    )
    if customer_id is not None:
        customers = customers.where(Customer.id == customer_id)
    already = _already_invoiced(session, month)
    dialouts = _dialout_seconds(session, month, customer_id)
    result = RunResult(month)
    for cid, activated_on, cancelled_on in session.execute(customers.order_by(Customer.id)).all():
        if cid in already:
            result.skipped.append(cid)
            continue
        draft = draft_invoice(
            month,
            activated_on=activated_on,
            cancelled_on=cancelled_on,
            dialout_seconds=dialouts.get(cid, ()),
            prices=prices,
        )
        if draft is None:
            result.nothing_to_bill += 1
            continue
        invoice = Invoice(
            customer_id=cid,
            period=month.first_day,
            currency=draft.currency,
            vat_basis_points=draft.vat_basis_points,
            total_ex_vat_cents=draft.total_ex_vat_cents,
            vat_cents=draft.vat_cents,
            total_cents=draft.total_cents,
            lines=[
                InvoiceLine(
                    kind=line.kind,
                    description=line.description,
                    quantity=line.quantity,
                    unit_cents=line.unit_cents,
                    amount_cents=line.amount_cents,
                )
                for line in draft.lines
            ],
        )
        try:
            with session.begin_nested():
                session.add(invoice)
                session.flush()
        except IntegrityError:
            result.skipped.append(cid)  # a concurrent run invoiced this customer first
            continue
        result.created.append(
            {
                "id": invoice.id,
                "customer_id": cid,
                "total_ex_vat_cents": invoice.total_ex_vat_cents,
                "vat_cents": invoice.vat_cents,
                "total_cents": invoice.total_cents,
            }
        )
    if result.created:
        record(
            session,
            actor,
            "billing.run",
            f"billing:{month}",
            {
                "invoice_ids": [i["id"] for i in result.created],
                "created": len(result.created),
                "skipped": len(result.skipped),
                "customer_id": customer_id,
            },
        )
    return result


def _invoice_query(
    customer_id: int | None, month: Month | None
) -> Select[Invoice, Customer]:
    query = (
        select(Invoice, Customer)
        .join(Customer, Invoice.customer_id == Customer.id)
        .options(selectinload(Invoice.lines))
    )
    if customer_id is not None:
        query = query.where(Invoice.customer_id == customer_id)
    if month is not None:
        query = query.where(Invoice.period == month.first_day)
    return query.order_by(Invoice.period, Invoice.customer_id)


def list_invoices(
    session: Session, *, customer_id: int | None = None, month: Month | None = None
) -> list[dict[str, Any]]:
    if customer_id is not None:
        get_customer(session, customer_id)
    rows = session.execute(_invoice_query(customer_id, month)).all()
    return [invoice_view(inv, cust, with_lines=False) for inv, cust in rows]


def show_invoice(session: Session, invoice_id: int) -> dict[str, Any]:
    row = session.execute(
        select(Invoice, Customer)
        .join(Customer, Invoice.customer_id == Customer.id)
        .where(Invoice.id == invoice_id)
    ).one_or_none()
    if row is None:
        raise ServiceError(f"no invoice with id {invoice_id}")
    return invoice_view(row[0], row[1], with_lines=True)


def invoice_view(invoice: Invoice, customer: Customer, *, with_lines: bool) -> dict[str, Any]:
    month = Month.of(invoice.period)
    view: dict[str, Any] = {
        "id": invoice.id,
        "customer_id": invoice.customer_id,
        "customer_name": customer.name,
        "month": str(month),
        "period_start": month.first_day,
        "period_end": month.last_day,
        "issued_at": invoice.issued_at,
        "currency": invoice.currency,
        "vat_basis_points": invoice.vat_basis_points,
        "total_ex_vat_cents": invoice.total_ex_vat_cents,
        "vat_cents": invoice.vat_cents,
        "total_cents": invoice.total_cents,
    }
    if with_lines:
        view["lines"] = [
            {
                "kind": line.kind,
                "description": line.description,
                "quantity": line.quantity,
                "unit": LINE_UNITS.get(line.kind, ""),
                "unit_cents": line.unit_cents,
                "amount_cents": line.amount_cents,
            }
            for line in invoice.lines
        ]
    return view


# The accountant's export: one row per invoice line. Amounts are decimal strings with a
# dot and two decimals (never floats); the invoice totals repeat on every line of the
# invoice because VAT is computed on the invoice total, not per line.
CSV_COLUMNS = (
    "invoice_id",
    "invoice_date",
    "period",
    "period_start",
    "period_end",
    "customer_id",
    "customer_name",
    "line_no",
    "line_kind",
    "description",
    "quantity",
    "unit",
    "unit_price_ex_vat",
    "amount_ex_vat",
    "vat_rate_percent",
    "currency",
    "invoice_total_ex_vat",
    "invoice_vat",
    "invoice_total_inc_vat",
)


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """Free text that a spreadsheet would run as a formula gets a leading apostrophe."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def decimal_text(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}{whole}.{rest:02d}"


def export_csv(
    session: Session, *, customer_id: int | None = None, month: Month | None = None
) -> str:
    if customer_id is not None:
        get_customer(session, customer_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for invoice, customer in session.execute(_invoice_query(customer_id, month)).all():
        period = Month.of(invoice.period)
        for n, line in enumerate(invoice.lines, 1):
            writer.writerow(
                (
                    invoice.id,
                    invoice.issued_at.date().isoformat(),
                    str(period),
                    period.first_day.isoformat(),
                    period.last_day.isoformat(),
                    customer.id,
                    spreadsheet_safe(customer.name),
                    n,
                    line.kind,
                    spreadsheet_safe(line.description),
                    line.quantity,
                    LINE_UNITS.get(line.kind, ""),
                    decimal_text(line.unit_cents),
                    decimal_text(line.amount_cents),
                    decimal_text(invoice.vat_basis_points),
                    invoice.currency,
                    decimal_text(invoice.total_ex_vat_cents),
                    decimal_text(invoice.vat_cents),
                    decimal_text(invoice.total_cents),
                )
            )
    return buffer.getvalue()
