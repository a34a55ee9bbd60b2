"""`fsconf invoice list|show|credit|export`.

`credit` reverses a whole invoice with a credit note (invoices are never edited or
deleted). `export` writes CSV for the accountant: one row per invoice line, and per
credit note line, columns in ``fsconf.services.invoicing.CSV_COLUMNS``; amounts as
decimal text (``12.10``).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

from fsconf.cli.billing import parse_month
from fsconf.cli.common import (
    CliError,
    actor_of,
    add_actor_option,
    add_json_option,
    money,
    parse_int,
    print_json,
    print_table,
    printable,
    service_session,
    wants_json,
)
from fsconf.services import invoicing


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    group = sub.add_parser("invoice", help="invoices", parents=[parent])
    actions = group.add_subparsers(dest="invoice_command", required=True, metavar="ACTION")

    ls = actions.add_parser("list", help="list invoices", parents=[parent])
    _filters(ls)
    add_json_option(ls)
    ls.set_defaults(func=_list)

    show = actions.add_parser("show", help="one invoice with its lines", parents=[parent])
    show.add_argument("invoice_id", metavar="ID")
    add_json_option(show)
    show.set_defaults(func=_show)

    credit = actions.add_parser(
        "credit", help="reverse an invoice with a credit note (once per invoice)",
        parents=[parent],
    )  # fmt: skip
    credit.add_argument("invoice_id", metavar="ID")
    credit.add_argument("--reason", required=True, metavar="TEXT", help="shown on the note")
    add_actor_option(credit)
    add_json_option(credit)
    credit.set_defaults(func=_credit)

    export = actions.add_parser("export", help="CSV for the accountant", parents=[parent])
    _filters(export)
    export.add_argument("--output", metavar="FILE", default=None, help="default: stdout")
    export.set_defaults(func=_export)


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--customer", metavar="ID", default=None)
    parser.add_argument("--month", metavar="YYYY-MM", default=None)


def _parsed_filters(args: argparse.Namespace) -> dict:
    return {
        "customer_id": parse_int(args.customer, "--customer") if args.customer else None,
        "month": parse_month(args.month) if args.month else None,
    }


def _list(args: argparse.Namespace) -> int:
    filters = _parsed_filters(args)
    with service_session(args) as session:
        rows = invoicing.list_invoices(session, **filters)
    if wants_json(args):
        print_json(rows)
        return 0
    print_table(
        ("invoice", "month", "customer", "name", "ex VAT", "VAT", "total", "due", "credited by"),
        [
            (
                r["id"],
                r["month"],
                r["customer_id"],
                r["customer_name"],
                money(r["total_ex_vat_cents"], r["currency"]),
                money(r["vat_cents"], r["currency"]),
                money(r["total_cents"], r["currency"]),
                r["due_on"],
                f"credit note {r['credit_note']['id']}" if r["credit_note"] else None,
            )
            for r in rows
        ],
    )
    return 0


def _show(args: argparse.Namespace) -> int:
    invoice_id = parse_int(args.invoice_id, "invoice id")
    with service_session(args) as session:
        view = invoicing.show_invoice(session, invoice_id)
    if wants_json(args):
        print_json(view)
        return 0
    cur = view["currency"]
    print(
        f"Invoice {view['id']}  {view['month']}  issued {view['issued_at'].date().isoformat()}"
        f"  due {view['due_on'].isoformat()}"
    )
    print(f"Customer {view['customer_id']}: {printable(view['customer_name'])}")
    for line in (view["customer_address"] or "").splitlines():
        print(f"  {printable(line)}")
    if view["customer_vat_number"]:
        print(f"  VAT number {view['customer_vat_number']}")
    print()
    print_table(
        ("description", "quantity", "unit", "unit price", "amount"),
        [
            (
                line["description"],
                line["quantity"],
                line["unit"],
                money(line["unit_cents"], cur),
                money(line["amount_cents"], cur),
            )
            for line in view["lines"]
        ],
    )
    bp = view["vat_basis_points"]
    print()
    print(f"Total ex VAT   {money(view['total_ex_vat_cents'], cur)}")
    print(f"VAT {bp // 100}.{bp % 100:02d}%     {money(view['vat_cents'], cur)}")
    print(f"Total          {money(view['total_cents'], cur)}")
    note = view["credit_note"]
    if note:
        print()
        print(
            f"Reversed by credit note {note['id']} of {note['issued_at'].date().isoformat()}"
            f" ({money(note['total_cents'], cur)}): {printable(note['reason'], 200)}"
        )
    return 0


def _credit(args: argparse.Namespace) -> int:
    invoice_id = parse_int(args.invoice_id, "invoice id")
    actor = actor_of(args)
    with service_session(args) as session:
        note, created = invoicing.credit_invoice(
            session, invoice_id, reason=args.reason, actor=actor
        )
    if wants_json(args):
        print_json({**note, "created": created})
        return 0
    cur = note["currency"]
    if created:
        print(
            f"credit note {note['id']} reverses invoice {invoice_id}:"
            f" {money(note['total_cents'], cur)} incl. VAT"
        )
    else:
        print(
            f"invoice {invoice_id} was already reversed by credit note {note['id']} of"
            f" {note['issued_at'].date().isoformat()}; nothing changed"
        )
    return 0


def _export(args: argparse.Namespace) -> int:
    filters = _parsed_filters(args)
    with service_session(args) as session:
        text = invoicing.export_csv(session, **filters)
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8", newline="")
        except OSError as exc:
            raise CliError(f"cannot write {args.output}: {exc.strerror}") from None
        rows = len(list(csv.reader(io.StringIO(text)))) - 1  # less the header
        print(f"{rows} invoice line(s) written to {args.output}")
    else:
        sys.stdout.write(text)
    return 0
