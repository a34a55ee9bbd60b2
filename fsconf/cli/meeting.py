"""`fsconf meeting list|show|export`: meeting history (read-only, so not audited)."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import sys
from pathlib import Path

from fsconf.cli.billing import parse_month
from fsconf.cli.common import (
    CliError,
    add_json_option,
    parse_int,
    print_json,
    print_table,
    service_session,
    settings_from,
    wants_json,
)
from fsconf.domain.billing import Prices
from fsconf.services import meetings


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    group = sub.add_parser("meeting", help="meeting history: who attended", parents=[parent])
    actions = group.add_subparsers(dest="meeting_command", required=True, metavar="ACTION")

    ls = actions.add_parser("list", help="meetings, newest first", parents=[parent])
    ls.add_argument("--conference", metavar="NUMBER", default=None)
    ls.add_argument("--customer", metavar="ID", default=None)
    ls.add_argument("--month", metavar="YYYY-MM", default=None, help="meetings started then")
    ls.add_argument("--limit", metavar="N", default="50")
    add_json_option(ls)
    ls.set_defaults(func=_list)

    show = actions.add_parser(
        "show", help="one meeting: its calls and invitations", parents=[parent]
    )
    show.add_argument("meeting_id", metavar="ID")
    add_json_option(show)
    show.set_defaults(func=_show)

    export = actions.add_parser(
        "export", help="CSV of a customer's attendance or usage in a month", parents=[parent]
    )
    export.add_argument("what", choices=("attendance", "usage"))
    export.add_argument("--customer", metavar="ID", required=True)
    export.add_argument("--month", metavar="YYYY-MM", required=True)
    export.add_argument("--output", metavar="FILE", default=None, help="default: stdout")
    export.set_defaults(func=_export)


def _list(args: argparse.Namespace) -> int:
    customer_id = parse_int(args.customer, "--customer") if args.customer else None
    month = parse_month(args.month) if args.month else None
    limit = parse_int(args.limit, "--limit")
    with service_session(args) as session:
        rows = meetings.list_meetings(
            session, conference_number=args.conference, customer_id=customer_id, month=month,
            limit=limit,
        )
    if wants_json(args):
        print_json(rows)
        return 0
    print_table(
        ("meeting", "conference", "customer", "started", "ended", "ended how", "peak", "calls",
         "invites"),
        [
            (r["id"], r["conference_number"], r["customer_id"], r["started_at"], r["ended_at"],
             r["end_reason"] or "in progress", r["peak_size"], r["calls_joined"], r["invitations"])
            for r in rows
        ],
    )  # fmt: skip
    return 0


def _show(args: argparse.Namespace) -> int:
    meeting_id = parse_int(args.meeting_id, "meeting id")
    with service_session(args) as session:
        view = meetings.show_meeting(session, meeting_id)
    if wants_json(args):
        print_json(view)
        return 0
    print(
        f"meeting {view['id']} of conference {view['conference_number']} (customer"
        f" {view['customer_id']}): {_when(view['started_at'])} - {_when(view['ended_at'])},"
        f" peak {view['peak_size']}, ended: {view['end_reason'] or 'in progress'}"
    )
    print()
    print_table(
        ("caller id", "name", "role", "joined", "left", "seconds", "ended how"),
        [
            (a["caller_id_number"], a["caller_id_name"],
             f"{a['role'] or '-'} (invited)" if a["invited"] else a["role"],
             a["joined_at"], a["left_at"], a["seconds"], a["end_reason"])
            for a in view["attendees"]
        ],
    )  # fmt: skip
    print()
    print("invitations:")
    print_table(
        ("number", "by", "requested", "answered", "result", "billed s"),
        [
            (d["number"], d["requested_by"], d["requested_at"], d["answered_at"], d["result"],
             d["billed_seconds"])
            for d in view["invitations"]
        ],
    )  # fmt: skip
    return 0


def _when(value: dt.datetime | None) -> str:
    return value.replace(microsecond=0).isoformat() if value is not None else "..."


def _export(args: argparse.Namespace) -> int:
    customer_id = parse_int(args.customer, "--customer")
    month = parse_month(args.month)
    prices = Prices.from_settings(settings_from(args).billing)
    with service_session(args) as session:
        if args.what == "attendance":
            text = meetings.export_attendance_csv(session, customer_id=customer_id, month=month)
        else:
            text = meetings.export_usage_csv(
                session, customer_id=customer_id, month=month, prices=prices
            )
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8", newline="")
        except OSError as exc:
            raise CliError(f"cannot write {args.output}: {exc.strerror}") from None
        rows = sum(1 for _ in csv.reader(io.StringIO(text))) - 1
        print(f"{rows} row(s) of {args.what} written to {args.output}")
    else:
        sys.stdout.write(text)
    return 0
