"""Billing runs, invoice queries, CSV export and usage against the real database."""

from __future__ import annotations

import csv
import datetime as dt
import io
import secrets

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fsconf.config import BillingSettings
from fsconf.domain.billing import Month, Prices
from fsconf.services import invoicing
from fsconf.services.errors import ServiceError
from fsconf.services.usage import usage_report
from fsconf.store.models import (
    Attendance,
    AuditEntry,
    Conference,
    CreditNote,
    Customer,
    DialOutAttempt,
    Invoice,
    Meeting,
    Subscription,
)

TODAY = dt.date(2024, 7, 15)
PRICES = Prices.from_settings(BillingSettings())


def _customer(session: Session, activated: dt.date, cancelled: dt.date | None = None) -> int:
    customer = Customer(name=f"Billed {secrets.token_hex(3)}")
    customer.subscription = Subscription(
        state="cancelled" if cancelled else "active", activated_on=activated, cancelled_on=cancelled
    )
    session.add(customer)
    session.flush()
    return customer.id


def _conference(session: Session, customer_id: int) -> Conference:
    conf = Conference(
        customer_id=customer_id,
        number="8" + "".join(secrets.choice("0123456789") for _ in range(8)),
        moderator_pin="111111",
        participant_pin="222222",
    )
    session.add(conf)
    session.flush()
    return conf


def _dialout(session: Session, conf: Conference, at: dt.datetime, seconds: int) -> None:
    session.add(
        DialOutAttempt(
            conference_id=conf.id,
            requested_by_call_uuid=secrets.token_hex(8),
            number="0612345678",
            requested_at=at,
            result="answered" if seconds else "no_answer",
            duration_seconds=seconds,
        )
    )
    session.flush()


def _run(session: Session, month: str, customer_id: int | None = None, **kw):
    return invoicing.run_billing(
        session, Month.parse(month), prices=PRICES, today=TODAY, actor="tester",
        customer_id=customer_id, **kw,
    )  # fmt: skip


def _invoices(session: Session, customer_id: int) -> list[Invoice]:
    return list(
        session.scalars(
            select(Invoice).where(Invoice.customer_id == customer_id).order_by(Invoice.period)
        )
    )


def test_run_creates_invoice_with_setup_and_monthly_lines(session: Session) -> None:
    cid = _customer(session, dt.date(2024, 3, 17))
    result = _run(session, "2024-03", cid)
    assert len(result.created) == 1 and result.skipped == []
    (invoice,) = _invoices(session, cid)
    assert invoice.period == dt.date(2024, 3, 1)
    assert [(li.kind, li.amount_cents) for li in invoice.lines] == [
        ("setup", 2500),
        ("monthly", 1000),
    ]
    assert (invoice.total_ex_vat_cents, invoice.vat_cents, invoice.total_cents) == (3500, 735, 4235)
    assert invoice.vat_basis_points == 2100


def test_second_run_creates_nothing(session: Session) -> None:
    cid = _customer(session, dt.date(2024, 3, 1))
    assert len(_run(session, "2024-04", cid).created) == 1
    again = _run(session, "2024-04", cid)
    assert again.created == [] and again.skipped == [cid]
    assert len(_invoices(session, cid)) == 1


def test_insert_that_hits_the_unique_constraint_is_skipped(session, monkeypatch) -> None:
    first = _customer(session, dt.date(2024, 1, 1))
    second = _customer(session, dt.date(2024, 1, 1))
    _run(session, "2024-05", first)
    # Pretend the shortcut did not see the invoice (another run committed it meanwhile):
    # the database constraint must catch it, and the run goes on with the next customer.
    monkeypatch.setattr(invoicing, "_already_invoiced", lambda s, m: set())
    result = _run(session, "2024-05")
    assert first in result.skipped
    assert second in {i["customer_id"] for i in result.created}
    assert len(_invoices(session, first)) == 1 and len(_invoices(session, second)) == 1


def test_customer_with_nothing_to_bill_gets_no_invoice(session: Session) -> None:
    cid = _customer(session, dt.date(2024, 2, 1), cancelled=dt.date(2024, 2, 10))
    result = _run(session, "2024-03", cid)
    assert result.created == [] and result.nothing_to_bill == 1
    assert _invoices(session, cid) == []


def test_suspended_customer_is_still_billed(session: Session) -> None:
    cid = _customer(session, dt.date(2024, 1, 1))
    session.get(Customer, cid).subscription.state = "suspended"
    session.flush()
    assert len(_run(session, "2024-02", cid).created) == 1


def test_dialout_minutes_of_the_month_are_billed(session: Session) -> None:
    cid = _customer(session, dt.date(2024, 1, 1))
    conf = _conference(session, cid)
    _dialout(session, conf, dt.datetime(2024, 5, 1, 0, 0, 0), 61)  # 2 min, first instant
    _dialout(session, conf, dt.datetime(2024, 5, 31, 23, 59, 59), 30)  # 1 min, last second
    _dialout(session, conf, dt.datetime(2024, 5, 10), 0)  # unanswered
    _dialout(session, conf, dt.datetime(2024, 6, 1), 600)  # next month
    _dialout(session, conf, dt.datetime(2024, 4, 30, 23, 59), 600)  # previous month
    other = _conference(session, _customer(session, dt.date(2024, 1, 1)))
    _dialout(session, other, dt.datetime(2024, 5, 5), 6000)  # someone else's
    _run(session, "2024-05", cid)
    (invoice,) = _invoices(session, cid)
    dialout = [li for li in invoice.lines if li.kind == "dialout"]
    assert [(li.quantity, li.unit_cents, li.amount_cents) for li in dialout] == [(3, 5, 15)]
    assert invoice.total_ex_vat_cents == 1015 and invoice.vat_cents == 213


@pytest.mark.parametrize("month", ["2024-07", "2024-08", "2030-01"])
def test_month_that_has_not_ended_is_refused(session: Session, month: str) -> None:
    cid = _customer(session, dt.date(2024, 1, 1))
    with pytest.raises(ServiceError, match="not ended|future"):
        _run(session, month, cid)
    assert _invoices(session, cid) == []


def test_run_writes_one_audit_entry_in_the_same_transaction(session: Session) -> None:
    cid = _customer(session, dt.date(2024, 1, 1))
    result = _run(session, "2023-12", cid)  # before activation: nothing
    assert result.created == []
    result = _run(session, "2024-01", cid)
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "billing.run", AuditEntry.actor == "tester")
    ).all()
    assert len(entries) == 1 and str(result.created[0]["id"]) in entries[0].details


def test_list_and_show_invoices(session: Session) -> None:
    cid = _customer(session, dt.date(2024, 1, 1))
    _run(session, "2024-01", cid)
    _run(session, "2024-02", cid)
    rows = invoicing.list_invoices(session, customer_id=cid)
    assert [r["month"] for r in rows] == ["2024-01", "2024-02"]
    assert [r["total_cents"] for r in rows] == [4235, 1210]
    february = invoicing.list_invoices(session, customer_id=cid, month=Month(2024, 2))
    assert [r["id"] for r in february] == [rows[1]["id"]]
    shown = invoicing.show_invoice(session, rows[0]["id"])
    assert [line["unit"] for line in shown["lines"]] == ["one-off", "month"]
    with pytest.raises(ServiceError):
        invoicing.show_invoice(session, 10**9)


def test_csv_export_has_one_row_per_line_with_decimal_amounts(session: Session) -> None:
    cid = _customer(session, dt.date(2024, 1, 1))
    session.get(Customer, cid).name = '=HYPERLINK("x"), Inc'
    conf = _conference(session, cid)
    _dialout(session, conf, dt.datetime(2024, 1, 9), 125)
    _run(session, "2024-01", cid)
    rows = list(csv.DictReader(io.StringIO(invoicing.export_csv(session, customer_id=cid))))
    assert tuple(rows[0]) == invoicing.CSV_COLUMNS
    assert [(r["line_kind"], r["quantity"], r["amount_ex_vat"]) for r in rows] == [
        ("setup", "1", "25.00"),
        ("monthly", "1", "10.00"),
        ("dialout", "3", "0.15"),
    ]
    first = rows[0]
    assert first["period"] == "2024-01" and first["period_end"] == "2024-01-31"
    assert first["vat_rate_percent"] == "21.00" and first["currency"] == "EUR"
    assert (first["invoice_total_ex_vat"], first["invoice_vat"]) == ("35.15", "7.38")
    assert first["invoice_total_inc_vat"] == "42.53"
    assert first["customer_name"] == '\'=HYPERLINK("x"), Inc'  # no formula in a spreadsheet


def test_usage_per_conference_and_month(session: Session) -> None:
    cid = _customer(session, dt.date(2024, 1, 1))
    conf = _conference(session, cid)
    start = dt.datetime(2024, 3, 4, 10, 0)
    meeting = Meeting(
        conference_id=conf.id, started_at=start, ended_at=start + dt.timedelta(minutes=30),
        peak_size=3, fs_conference_name="x", fs_node="fs1",
    )  # fmt: skip
    session.add(meeting)
    session.flush()
    for i, (joined, left) in enumerate([(0, 30), (1, 11), (2, None)]):  # 30 + 10 + 28 min
        session.add(
            Attendance(
                call_uuid=secrets.token_hex(8), conference_id=conf.id, meeting_id=meeting.id,
                role="moderator" if i == 0 else "participant",
                joined_at=start + dt.timedelta(minutes=joined),
                left_at=start + dt.timedelta(minutes=left) if left is not None else None,
            )
        )  # fmt: skip
    session.add(
        Attendance(call_uuid=secrets.token_hex(8), conference_id=conf.id)
    )  # rejected caller: never joined
    _dialout(session, conf, start + dt.timedelta(minutes=5), 61)
    _dialout(session, conf, dt.datetime(2024, 4, 2), 10)

    rows = usage_report(session, conference_number=conf.number, now=dt.datetime(2024, 7, 1))
    assert rows == [
        {
            "conference_number": conf.number, "customer_id": cid, "month": "2024-03",
            "meetings": 1, "participant_minutes": 68, "peak_size": 3,
            "dialout_attempts": 1, "dialout_minutes": 2,
        },
        {
            "conference_number": conf.number, "customer_id": cid, "month": "2024-04",
            "meetings": 0, "participant_minutes": 0, "peak_size": 0,
            "dialout_attempts": 1, "dialout_minutes": 1,
        },
    ]  # fmt: skip
    march = usage_report(session, month=Month(2024, 3), customer_id=cid)
    assert [r["month"] for r in march] == ["2024-03"]
    quiet = usage_report(session, month=Month(2024, 6), conference_number=conf.number)
    assert quiet[0]["meetings"] == 0 and quiet[0]["month"] == "2024-06"


def _billed_customer(session: Session, **details: str | None) -> int:
    cid = _customer(session, dt.date(2024, 1, 1))
    customer = session.get(Customer, cid)
    assert customer is not None
    for key, value in details.items():
        setattr(customer, key, value)
    session.flush()
    return cid


def test_invoice_carries_address_vat_number_and_due_date(session: Session) -> None:
    cid = _billed_customer(
        session, address="Kade 1\n1011 AB Amsterdam", vat_number="NL123456789B01"
    )
    terms = Prices.from_settings(BillingSettings(payment_terms_days=30))
    created = invoicing.run_billing(
        session, Month.parse("2024-02"), prices=terms, today=TODAY, actor="t", customer_id=cid
    ).created[0]
    view = invoicing.show_invoice(session, created["id"])
    assert view["customer_address"] == "Kade 1\n1011 AB Amsterdam"
    assert view["customer_vat_number"] == "NL123456789B01"
    assert view["due_on"] == view["issued_at"].date() + dt.timedelta(days=30)
    assert created["due_on"] == view["due_on"]


def test_a_later_customer_edit_leaves_issued_invoices_alone(session: Session) -> None:
    cid = _billed_customer(session, address="Oud 1", vat_number="NL123456789B01")
    invoice_id = _run(session, "2024-02", cid).created[0]["id"]
    customer = session.get(Customer, cid)
    assert customer is not None
    customer.name, customer.address, customer.vat_number = "Renamed", "Nieuw 2", None
    session.flush()
    view = invoicing.show_invoice(session, invoice_id)
    assert (view["customer_address"], view["customer_vat_number"]) == ("Oud 1", "NL123456789B01")
    assert view["customer_name"] != "Renamed"


def test_credit_note_reverses_the_invoice_once_and_is_audited(session: Session) -> None:
    cid = _billed_customer(session)
    invoice_id = _run(session, "2024-01", cid).created[0]["id"]
    note, created = invoicing.credit_invoice(session, invoice_id, reason="wrong tariff", actor="t")
    assert created and note["invoice_id"] == invoice_id
    assert (note["total_ex_vat_cents"], note["vat_cents"], note["total_cents"]) == (
        -3500, -735, -4235,
    )  # fmt: skip
    again, created_again = invoicing.credit_invoice(session, invoice_id, reason="again", actor="t")
    assert not created_again and again["id"] == note["id"] and again["reason"] == "wrong tariff"
    audit = session.scalars(
        select(AuditEntry).where(AuditEntry.target == f"invoice:{invoice_id}")
    ).all()
    assert [a.action for a in audit] == ["invoice.credit"]
    # The invoice itself is unchanged and still listed, now with its credit note.
    listed = invoicing.list_invoices(session, customer_id=cid)
    assert listed[0]["total_cents"] == 4235 and listed[0]["credit_note"]["id"] == note["id"]


def test_second_credit_note_is_stopped_by_the_database(session, monkeypatch) -> None:
    invoice_id = _run(session, "2024-01", _billed_customer(session)).created[0]["id"]
    first, _ = invoicing.credit_invoice(session, invoice_id, reason="first", actor="t")
    # Pretend the shortcut missed the note another operator committed a moment ago.
    monkeypatch.setattr(invoicing, "_credit_note_of", lambda s, i: None)
    second, created = invoicing.credit_invoice(session, invoice_id, reason="second", actor="t")
    assert not created and second["id"] == first["id"]
    assert session.scalar(select(func.count()).select_from(CreditNote)) >= 1
    assert session.scalar(
        select(func.count()).select_from(CreditNote).where(CreditNote.invoice_id == invoice_id)
    ) == 1


@pytest.mark.parametrize("reason", ["", "   ", "bad\x1b[2J", "x" * 201])
def test_credit_note_needs_a_clean_reason(session: Session, reason: str) -> None:
    invoice_id = _run(session, "2024-01", _billed_customer(session)).created[0]["id"]
    with pytest.raises(ServiceError, match="reason"):
        invoicing.credit_invoice(session, invoice_id, reason=reason, actor="t")


def test_crediting_an_unknown_invoice_is_refused(session: Session) -> None:
    with pytest.raises(ServiceError, match="no invoice with id"):
        invoicing.credit_invoice(session, 987654321, reason="x", actor="t")


def test_csv_export_puts_the_credit_note_after_its_invoice(session: Session) -> None:
    cid = _billed_customer(session, address="=Kade 1\nAmsterdam", vat_number="NL123456789B01")
    invoice_id = _run(session, "2024-01", cid).created[0]["id"]
    note, _ = invoicing.credit_invoice(session, invoice_id, reason="duplicate", actor="t")
    rows = list(csv.DictReader(io.StringIO(invoicing.export_csv(session, customer_id=cid))))
    assert [r["document"] for r in rows] == ["invoice", "invoice", "credit_note", "credit_note"]
    invoice_rows, credit_rows = rows[:2], rows[2:]
    assert {r["document_id"] for r in credit_rows} == {str(note["id"])}
    assert [r["amount_ex_vat"] for r in credit_rows] == [
        "-" + r["amount_ex_vat"] for r in invoice_rows
    ]
    assert {r["invoice_total_inc_vat"] for r in credit_rows} == {"-42.35"}
    assert {r["invoice_id"] for r in rows} == {str(invoice_id)}
    assert rows[0]["customer_address"] == "'=Kade 1, Amsterdam"  # no formula, one line
    assert rows[0]["customer_vat_number"] == "NL123456789B01" and rows[0]["due_date"]
