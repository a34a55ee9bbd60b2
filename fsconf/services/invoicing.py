"""Billing runs and invoice queries.

A billing run turns the pure maths of :mod:`fsconf.domain.billing` into Invoice rows.
It is idempotent and safe to run concurrently: the database's unique constraint
``uq_invoices_customer_period`` allows one invoice per customer and month. Each
customer's invoice is inserted inside its own savepoint; when the insert hits the
constraint (another run made that invoice first) the savepoint is rolled back and the
customer is counted as *skipped*. Customers are processed in id order, so concurrent
runs on PostgreSQL wait on each other's rows in the same order and cannot deadlock.

An invoice carries the customer as billed (name, address, VAT number, copied when it is
issued) and its due date. It is never edited or deleted: a credit note reverses a whole
invoice, as its own numbered document with the invoice's amounts negated; the unique
``credit_notes.invoice_id`` allows one per invoice, however often or concurrently asked.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from fsconf.domain.billing import LINE_UNITS, Month, Prices, draft_invoice, due_date
from fsconf.services.audit import record
from fsconf.services.customers import get_customer
from fsconf.services.errors import ServiceError
from fsconf.store.models import (
    Conference,
    CreditNote,
    Customer,
    DialOutAttempt,
    Invoice,
    InvoiceLine,
    Subscription,
    utcnow,
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
    customers = select(Customer, Subscription.activated_on, Subscription.cancelled_on).outerjoin(
        Subscription, Subscription.customer_id == Customer.id
    )
    if customer_id is not None:
        customers = customers.where(Customer.id == customer_id)
    already = _already_invoiced(session, month)
    dialouts = _dialout_seconds(session, month, customer_id)
    result = RunResult(month)
    issued_at = utcnow()
    for customer, activated_on, cancelled_on in session.execute(
        customers.order_by(Customer.id)
    ).all():
        cid = customer.id
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
            issued_at=issued_at,
            due_on=due_date(issued_at.date(), prices),
            billed_name=customer.name,
            billed_address=customer.address,
            billed_vat_number=customer.vat_number,
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
                "due_on": invoice.due_on,
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
) -> Select[Invoice, CreditNote]:
    query = (
        select(Invoice, CreditNote)
        .outerjoin(CreditNote, CreditNote.invoice_id == Invoice.id)
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
    return [invoice_view(inv, credit, with_lines=False) for inv, credit in rows]


def show_invoice(session: Session, invoice_id: int) -> dict[str, Any]:
    row = session.execute(
        select(Invoice, CreditNote)
        .outerjoin(CreditNote, CreditNote.invoice_id == Invoice.id)
        .where(Invoice.id == invoice_id)
    ).one_or_none()
    if row is None:
        raise ServiceError(f"no invoice with id {invoice_id}")
    return invoice_view(row[0], row[1], with_lines=True)


REASON_MAX = 200


def _clean_reason(reason: str) -> str:
    if any(unicodedata.category(ch)[0] == "C" for ch in reason.replace("\n", " ")):
        raise ServiceError("reason must not contain control characters")
    text = " ".join(reason.split())
    if not text:
        raise ServiceError("a credit note needs a reason (--reason)")
    if len(text) > REASON_MAX:
        raise ServiceError(f"reason is longer than {REASON_MAX} characters")
    return text


def credit_invoice(
    session: Session, invoice_id: int, *, reason: str, actor: str
) -> tuple[dict[str, Any], bool]:
    """Reverse a whole invoice with a credit note; (its view, whether it was made now).

    Asking again returns the credit note already made: the unique invoice_id decides,
    also between two operators at the same moment.
    """
    text = _clean_reason(reason)
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        raise ServiceError(f"no invoice with id {invoice_id}")
    existing = _credit_note_of(session, invoice_id)
    if existing is not None:
        return credit_note_view(existing), False
    note = CreditNote(
        invoice_id=invoice_id,
        reason=text,
        currency=invoice.currency,
        vat_basis_points=invoice.vat_basis_points,
        total_ex_vat_cents=-invoice.total_ex_vat_cents,
        vat_cents=-invoice.vat_cents,
        total_cents=-invoice.total_cents,
    )
    try:
        with session.begin_nested():
            session.add(note)
            session.flush()
    except IntegrityError:  # another operator credited it a moment ago
        existing = session.scalars(
            select(CreditNote).where(CreditNote.invoice_id == invoice_id)
        ).one()
        return credit_note_view(existing), False
    record(
        session, actor, "invoice.credit", f"invoice:{invoice_id}",
        {"credit_note_id": note.id, "total_cents": note.total_cents, "reason": text},
    )  # fmt: skip
    return credit_note_view(note), True


def _credit_note_of(session: Session, invoice_id: int) -> CreditNote | None:
    """The invoice's credit note (a shortcut; the unique constraint is the guard)."""
    return session.scalars(
        select(CreditNote).where(CreditNote.invoice_id == invoice_id)
    ).one_or_none()


def credit_note_view(note: CreditNote) -> dict[str, Any]:
    return {
        "id": note.id,
        "invoice_id": note.invoice_id,
        "issued_at": note.issued_at,
        "reason": note.reason,
        "currency": note.currency,
        "vat_basis_points": note.vat_basis_points,
        "total_ex_vat_cents": note.total_ex_vat_cents,
        "vat_cents": note.vat_cents,
        "total_cents": note.total_cents,
    }


def invoice_view(
    invoice: Invoice, credit_note: CreditNote | None, *, with_lines: bool
) -> dict[str, Any]:
    month = Month.of(invoice.period)
    view: dict[str, Any] = {
        "id": invoice.id,
        "customer_id": invoice.customer_id,
        "customer_name": invoice.billed_name,
        "customer_address": invoice.billed_address,
        "customer_vat_number": invoice.billed_vat_number,
        "month": str(month),
        "period_start": month.first_day,
        "period_end": month.last_day,
        "issued_at": invoice.issued_at,
        "due_on": invoice.due_on,
        "currency": invoice.currency,
        "vat_basis_points": invoice.vat_basis_points,
        "total_ex_vat_cents": invoice.total_ex_vat_cents,
        "vat_cents": invoice.vat_cents,
        "total_cents": invoice.total_cents,
        "credit_note": credit_note_view(credit_note) if credit_note is not None else None,
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
    # Added with credit notes; new columns go at the end so existing imports keep working.
    "document",
    "document_id",
    "document_date",
    "due_date",
    "customer_address",
    "customer_vat_number",
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
    for invoice, credit in session.execute(_invoice_query(customer_id, month)).all():
        writer.writerows(_csv_rows(invoice, None))
        if credit is not None:  # right after the invoice it reverses
            writer.writerows(_csv_rows(invoice, credit))
    return buffer.getvalue()


def _csv_rows(invoice: Invoice, credit: CreditNote | None) -> list[tuple[Any, ...]]:
    """The invoice's lines, or (with `credit`) the same lines negated as the credit note's."""
    period = Month.of(invoice.period)
    sign = -1 if credit is not None else 1
    document = (
        ("credit_note", credit.id, credit.issued_at.date().isoformat())
        if credit is not None
        else ("invoice", invoice.id, invoice.issued_at.date().isoformat())
    )
    address = (invoice.billed_address or "").replace("\n", ", ")
    return [
        (
            invoice.id,
            invoice.issued_at.date().isoformat(),
            str(period),
            period.first_day.isoformat(),
            period.last_day.isoformat(),
            invoice.customer_id,
            spreadsheet_safe(invoice.billed_name),
            n,
            line.kind,
            spreadsheet_safe(line.description),
            sign * line.quantity,
            LINE_UNITS.get(line.kind, ""),
            decimal_text(line.unit_cents),
            decimal_text(sign * line.amount_cents),
            decimal_text(invoice.vat_basis_points),
            invoice.currency,
            decimal_text(sign * invoice.total_ex_vat_cents),
            decimal_text(sign * invoice.vat_cents),
            decimal_text(sign * invoice.total_cents),
            *document,
            invoice.due_on.isoformat(),
            spreadsheet_safe(address),
            invoice.billed_vat_number or "",
        )
        for n, line in enumerate(invoice.lines, 1)
    ]
