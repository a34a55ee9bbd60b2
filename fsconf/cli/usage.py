"""`fsconf usage [--month YYYY-MM] [--conference NUMBER] [--customer ID]`.

Per conference and month: meetings, participant-minutes, peak size, dial-out minutes.
Without --month every month with activity is listed.
"""

from __future__ import annotations

import argparse

from fsconf.cli.billing import parse_month
from fsconf.cli.common import (
    add_json_option,
    parse_int,
    print_json,
    print_table,
    service_session,
    wants_json,
)
from fsconf.services.usage import usage_report


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    usage = sub.add_parser("usage", help="usage per conference and month", parents=[parent])
    usage.add_argument("--month", metavar="YYYY-MM", default=None)
    usage.add_argument("--conference", metavar="NUMBER", default=None)
    usage.add_argument("--customer", metavar="ID", default=None)
    add_json_option(usage)
    usage.set_defaults(func=_usage)


def _usage(args: argparse.Namespace) -> int:
    month = parse_month(args.month) if args.month else None
    customer_id = parse_int(args.customer, "--customer") if args.customer else None
    with service_session(args) as session:
        rows = usage_report(
            session, month=month, conference_number=args.conference, customer_id=customer_id
        )
    if wants_json(args):
        print_json(rows)
        return 0
    print_table(
        ("month", "conference", "customer", "meetings", "participant min", "peak", "dial-out min"),
        [
            (
                r["month"],
                r["conference_number"],
                r["customer_id"],
                r["meetings"],
                r["participant_minutes"],
                r["peak_size"],
                r["dialout_minutes"],
            )
            for r in rows
        ],
    )
    return 0
