"""`fsconf billing run [--month YYYY-MM] [--customer ID]`: make the month's invoices.

Default month: the previous calendar month (UTC). A month that has not ended is refused.
Safe to repeat and to run concurrently: at most one invoice per customer and month.
"""

from __future__ import annotations

import argparse

from fsconf.cli.common import (
    CliError,
    actor_of,
    add_actor_option,
    add_json_option,
    money,
    parse_int,
    print_json,
    print_table,
    service_session,
    settings_from,
    utc_today,
    wants_json,
)
from fsconf.domain.billing import Month, Prices
from fsconf.services.invoicing import run_billing


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    group = sub.add_parser("billing", help="billing runs", parents=[parent])
    actions = group.add_subparsers(dest="billing_command", required=True, metavar="ACTION")
    run = actions.add_parser("run", help="invoice a finished month", parents=[parent])
    run.add_argument(
        "--month", metavar="YYYY-MM", default=None, help="month to bill (default: previous month)"
    )
    run.add_argument("--customer", metavar="ID", default=None, help="bill only this customer")
    add_actor_option(run)
    add_json_option(run)
    run.set_defaults(func=_run)


def parse_month(text: str) -> Month:
    try:
        return Month.parse(text)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    today = utc_today()
    month = parse_month(args.month) if args.month else Month.of(today).previous()
    customer_id = parse_int(args.customer, "--customer") if args.customer is not None else None
    actor = actor_of(args)
    with service_session(args) as session:
        result = run_billing(
            session,
            month,
            prices=Prices.from_settings(settings.billing),
            today=today,
            actor=actor,
            customer_id=customer_id,
        )
    if wants_json(args):
        print_json(result.as_dict())
        return 0
    print(
        f"billing run {month}: {len(result.created)} invoice(s) created,"
        f" {len(result.skipped)} skipped (already invoiced),"
        f" {result.nothing_to_bill} customer(s) with nothing to bill"
    )
    if result.created:
        currency = settings.billing.currency
        print_table(
            ("invoice", "customer", "ex VAT", "VAT", "total"),
            [
                (
                    i["id"],
                    i["customer_id"],
                    money(i["total_ex_vat_cents"], currency),
                    money(i["vat_cents"], currency),
                    money(i["total_cents"], currency),
                )
                for i in result.created
            ],
        )
    return 0
