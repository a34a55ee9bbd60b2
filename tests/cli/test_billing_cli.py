"""`fsconf billing run`, `fsconf invoice list|show|export`, `fsconf usage`."""

from __future__ import annotations

import csv
import datetime as dt
import io
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fsconf.domain.billing import Month
from fsconf.store.models import Attendance, Conference, DialOutAttempt, Invoice, Meeting

THIS_MONTH = Month.of(dt.datetime.now(dt.UTC).date())
LAST_MONTH = THIS_MONTH.previous()
INVOICE_KEYS = {"customer_id", "month", "total_ex_vat_cents", "vat_cents", "total_cents"}


def _invoice_count(db, customer_id: int) -> int:
    with Session(db.engine) as s:
        return s.scalar(
            select(func.count()).select_from(Invoice).where(Invoice.customer_id == customer_id)
        )


def test_contract_billing_run_then_invoice_list_json(ok, new_customer) -> None:
    cid = new_customer("--activated", "2023-03-17")["id"]
    run = ok("billing", "run", "--month", "2023-03", "--json").json
    assert run["month"] == "2023-03" and run["created"] >= 1
    assert cid in {i["customer_id"] for i in run["invoices"]}
    invoices = ok("invoice", "list", "--customer", str(cid), "--json").json
    assert len(invoices) == 1
    assert set(invoices[0]) >= INVOICE_KEYS
    assert {k: invoices[0][k] for k in INVOICE_KEYS} == {
        "customer_id": cid,
        "month": "2023-03",
        "total_ex_vat_cents": 3500,
        "vat_cents": 735,
        "total_cents": 4235,
    }


def test_second_run_creates_nothing(ok, db, new_customer) -> None:
    cid = str(new_customer("--activated", "2023-04-01")["id"])
    first = ok("billing", "run", "--month", "2023-05", "--customer", cid, "--json").json
    second = ok("billing", "run", "--month", "2023-05", "--customer", cid, "--json").json
    assert (first["created"], first["skipped"]) == (1, 0)
    assert (second["created"], second["skipped"]) == (0, 1)
    assert _invoice_count(db, int(cid)) == 1


def test_run_defaults_to_the_previous_month(ok, new_customer) -> None:
    cid = str(new_customer("--activated", LAST_MONTH.first_day.isoformat())["id"])
    run = ok("billing", "run", "--customer", cid, "--json").json
    assert run["month"] == str(LAST_MONTH) and run["created"] == 1


def test_run_prints_counts_and_money_for_people(ok, new_customer) -> None:
    cid = str(new_customer("--activated", "2022-01-31")["id"])
    out = ok("billing", "run", "--month", "2022-01", "--customer", cid).out
    assert "1 invoice(s) created, 0 skipped" in out
    assert "EUR 35.00" in out and "EUR 7.35" in out and "EUR 42.35" in out


def test_run_for_current_or_future_month_is_refused(bad, db, new_customer) -> None:
    cid = str(new_customer("--activated", "2022-01-01")["id"])
    err = bad("billing", "run", "--month", str(THIS_MONTH), "--customer", cid).err
    assert "has not ended yet" in err
    assert "in the future" in bad("billing", "run", "--month", str(THIS_MONTH.next())).err
    assert _invoice_count(db, int(cid)) == 0


def test_run_with_malformed_month_or_customer_is_bad_input(bad) -> None:
    assert "YYYY-MM" in bad("billing", "run", "--month", "2023-13").err
    assert "YYYY-MM" in bad("billing", "run", "--month", "March").err
    assert (
        "no customer" in bad("billing", "run", "--month", "2023-01", "--customer", "999999999").err
    )


def test_cancelled_customer_is_billed_to_the_end_of_the_cancellation_month(
    ok, new_customer
) -> None:
    cid = str(new_customer("--activated", "2021-01-10")["id"])
    ok("customer", "cancel", cid, "--on", "2021-02-03")
    months = {}
    for month in ("2021-01", "2021-02", "2021-03"):
        months[month] = ok("billing", "run", "--month", month, "--customer", cid, "--json").json
    assert [months[m]["created"] for m in months] == [1, 1, 0]
    assert months["2021-03"]["nothing_to_bill"] == 1
    rows = ok("invoice", "list", "--customer", cid, "--json").json
    assert [(r["month"], r["total_ex_vat_cents"]) for r in rows] == [
        ("2021-01", 3500),
        ("2021-02", 1000),
    ]


def test_invoice_show_prints_lines_and_totals(ok, bad, new_customer) -> None:
    cid = str(new_customer("--activated", "2022-06-01")["id"])
    invoice_id = ok("billing", "run", "--month", "2022-06", "--customer", cid, "--json").json[
        "invoices"
    ][0]["id"]
    out = ok("invoice", "show", str(invoice_id)).out
    assert "Setup fee" in out and "Monthly fee 2022-06" in out
    assert "VAT 21.00%" in out and "EUR 42.35" in out
    view = ok("invoice", "show", str(invoice_id), "--json").json
    assert [line["kind"] for line in view["lines"]] == ["setup", "monthly"]
    assert "no invoice" in bad("invoice", "show", "999999999").err
    assert "whole number" in bad("invoice", "show", "one").err


def test_invoice_list_table_shows_money(ok, new_customer) -> None:
    cid = str(new_customer("--activated", "2022-07-01")["id"])
    ok("billing", "run", "--month", "2022-07", "--customer", cid)
    out = ok("invoice", "list", "--customer", cid, "--month", "2022-07").out
    assert "2022-07" in out and "EUR 42.35" in out


def test_invoice_export_writes_csv(ok, bad, new_customer, tmp_path) -> None:
    cid = str(new_customer("--activated", "2022-08-01")["id"])
    ok("billing", "run", "--month", "2022-08", "--customer", cid)
    out = ok("invoice", "export", "--customer", cid).out
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["line_kind"], r["amount_ex_vat"], r["vat_rate_percent"]) for r in rows] == [
        ("setup", "25.00", "21.00"),
        ("monthly", "10.00", "21.00"),
    ]
    target = tmp_path / "export.csv"
    said = ok("invoice", "export", "--customer", cid, "--month", "2022-08", "--output", target)
    assert said.out == f"2 invoice line(s) written to {target}\n"  # not silence
    assert target.read_bytes().decode("utf-8") == out  # CRLF rows, as RFC 4180 says
    assert "YYYY-MM" in bad("invoice", "export", "--month", "2022/08").err


def _activity(db, number: str) -> None:
    with db.unit_of_work() as s:
        conf = s.scalars(select(Conference).where(Conference.number == number)).one()
        start = dt.datetime(2022, 9, 5, 9, 0)
        meeting = Meeting(
            conference_id=conf.id, started_at=start, ended_at=start + dt.timedelta(minutes=20),
            peak_size=2, fs_conference_name=f"fsconf-{number}", fs_node="fs1",
        )  # fmt: skip
        s.add(meeting)
        s.flush()
        for minutes in (20, 15):
            s.add(
                Attendance(
                    call_uuid=secrets.token_hex(8), conference_id=conf.id, meeting_id=meeting.id,
                    joined_at=start, left_at=start + dt.timedelta(minutes=minutes),
                    role="participant",
                )
            )  # fmt: skip
        s.add(
            DialOutAttempt(
                conference_id=conf.id, meeting_id=meeting.id, requested_by_call_uuid="x",
                number="0612345678", requested_at=start, duration_seconds=90, result="answered",
            )
        )  # fmt: skip


def test_usage_reports_meetings_minutes_peak_and_dialout(ok, db, new_conference) -> None:
    conf = new_conference()
    _activity(db, conf["number"])
    rows = ok("usage", "--month", "2022-09", "--conference", conf["number"], "--json").json
    assert rows == [
        {
            "conference_number": conf["number"], "customer_id": conf["customer_id"],
            "month": "2022-09", "meetings": 1, "participant_minutes": 35, "peak_size": 2,
            "dialout_attempts": 1, "dialout_minutes": 2,
        }
    ]  # fmt: skip
    table = ok("usage", "--customer", str(conf["customer_id"])).out
    assert "2022-09" in table and conf["number"] in table


def test_dialout_minutes_from_usage_reach_the_invoice(ok, db, new_customer, new_conference) -> None:
    cid = new_customer("--activated", "2022-01-01")["id"]
    conf = new_conference(customer_id=cid)
    _activity(db, conf["number"])
    run = ok("billing", "run", "--month", "2022-09", "--customer", str(cid), "--json").json
    invoice = ok("invoice", "show", str(run["invoices"][0]["id"]), "--json").json
    assert [(li["kind"], li["quantity"], li["amount_cents"]) for li in invoice["lines"]] == [
        ("monthly", 1, 1000),
        ("dialout", 2, 10),
    ]


def test_usage_bad_input(bad) -> None:
    assert "YYYY-MM" in bad("usage", "--month", "9-2022").err
    assert "in the future" in bad("usage", "--month", str(THIS_MONTH.next())).err
    assert "no conference" in bad("usage", "--conference", "1").err


def test_invoice_shows_the_customers_address_vat_number_and_due_date(ok, new_customer) -> None:
    cid = new_customer(
        "--activated", "2023-06-01", "--address", "Kade 1\n1011 AB Amsterdam",
        "--vat", "nl 1234.56789.b01",
    )["id"]  # fmt: skip
    invoice_id = ok("billing", "run", "--month", "2023-06", "--customer", str(cid), "--json").json[
        "invoices"
    ][0]["id"]
    view = ok("invoice", "show", str(invoice_id), "--json").json
    assert view["customer_vat_number"] == "NL123456789B01"
    issued = dt.date.fromisoformat(view["issued_at"][:10])
    assert view["due_on"] == (issued + dt.timedelta(days=14)).isoformat()
    text = ok("invoice", "show", str(invoice_id)).out
    assert "  Kade 1\n  1011 AB Amsterdam\n" in text and "VAT number NL123456789B01" in text
    assert f"due {view['due_on']}" in text


def test_payment_terms_come_from_the_settings(ok, new_customer, monkeypatch) -> None:
    monkeypatch.setenv("FSCONF_BILLING_PAYMENT_TERMS_DAYS", "30")
    cid = str(new_customer("--activated", "2023-06-01")["id"])
    invoice = ok("billing", "run", "--month", "2023-06", "--customer", cid, "--json").json[
        "invoices"
    ][0]
    view = ok("invoice", "show", str(invoice["id"]), "--json").json
    issued = dt.date.fromisoformat(view["issued_at"][:10])
    assert invoice["due_on"] == view["due_on"] == (issued + dt.timedelta(days=30)).isoformat()


def test_invoice_credit_reverses_once_and_shows_everywhere(
    ok, bad, new_customer, audit_count, tmp_path
) -> None:
    cid = str(new_customer("--activated", "2023-07-01")["id"])
    invoice_id = str(
        ok("billing", "run", "--month", "2023-07", "--customer", cid, "--json").json["invoices"][0][
            "id"
        ]
    )
    out = ok("invoice", "credit", invoice_id, "--reason", "billed twice").out
    assert f"reverses invoice {invoice_id}: EUR -42.35" in out
    again = ok("invoice", "credit", invoice_id, "--reason", "again", "--json").json
    assert again["created"] is False and again["reason"] == "billed twice"
    assert "already reversed" in ok("invoice", "credit", invoice_id, "--reason", "x").out
    assert audit_count(f"invoice:{invoice_id}") == 1
    note_id = again["id"]
    assert f"credit note {note_id}" in ok("invoice", "list", "--customer", cid).out
    shown = ok("invoice", "show", invoice_id).out
    assert f"Reversed by credit note {note_id}" in shown and "billed twice" in shown
    assert ok("invoice", "show", invoice_id, "--json").json["credit_note"]["id"] == note_id
    rows = list(csv.DictReader(io.StringIO(ok("invoice", "export", "--customer", cid).out)))
    assert {r["document"] for r in rows} == {"invoice", "credit_note"}
    assert sum(int(r["amount_ex_vat"].replace(".", "")) for r in rows) == 0


def test_invoice_credit_bad_input(bad) -> None:
    assert "no invoice with id" in bad("invoice", "credit", "99999999", "--reason", "x").err
    assert "whole number" in bad("invoice", "credit", "abc", "--reason", "x").err
    assert "needs a reason" in bad("invoice", "credit", "1", "--reason", " ").err
