"""`fsconf customer add|edit|list|show|set-billing|suspend|resume|cancel|uncancel`."""

from __future__ import annotations

import argparse

from fsconf.cli.common import (
    actor_of,
    add_actor_option,
    add_json_option,
    parse_date,
    parse_int,
    print_json,
    print_table,
    printable,
    service_session,
    utc_today,
    wants_json,
)
from fsconf.services import customers


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    group = sub.add_parser("customer", help="customers and their subscription", parents=[parent])
    actions = group.add_subparsers(dest="customer_command", required=True, metavar="ACTION")

    add = actions.add_parser("add", help="add a customer (subscription active)", parents=[parent])
    add.add_argument("--name", required=True)
    add.add_argument("--email", default=None)
    _billing_options(add)
    add.add_argument(
        "--activated", metavar="YYYY-MM-DD", default=None, help="activation date (default: today)"
    )
    add_actor_option(add)
    add_json_option(add)
    add.set_defaults(func=_add)

    edit = actions.add_parser("edit", help="change a customer's name or e-mail", parents=[parent])
    edit.add_argument("customer_id", metavar="ID")
    edit.add_argument("--name", default=None)
    edit.add_argument("--email", default=None, help="'' removes the address")
    add_actor_option(edit)
    add_json_option(edit)
    edit.set_defaults(func=_edit)

    ls = actions.add_parser("list", help="list customers", parents=[parent])
    ls.add_argument("--state", choices=("active", "suspended", "cancelled"), default=None)
    add_json_option(ls)
    ls.set_defaults(func=_list)

    show = actions.add_parser("show", help="one customer in detail", parents=[parent])
    show.add_argument("customer_id", metavar="ID")
    add_json_option(show)
    show.set_defaults(func=_show)

    billing = actions.add_parser(
        "set-billing",
        help="set the address and VAT number future invoices carry",
        parents=[parent],
    )
    billing.add_argument("customer_id", metavar="ID")
    _billing_options(billing, clear=True)
    add_actor_option(billing)
    add_json_option(billing)
    billing.set_defaults(func=_set_billing)

    for name, helptext in (
        ("suspend", "suspend (callers hear the service is unavailable; still billed)"),
        ("resume", "resume a suspended customer"),
        ("uncancel", "withdraw a cancellation before it takes effect"),
    ):
        p = actions.add_parser(name, help=helptext, parents=[parent])
        p.add_argument("customer_id", metavar="ID")
        add_actor_option(p)
        add_json_option(p)
        p.set_defaults(func=_change, change=name)

    cancel = actions.add_parser(
        "cancel", help="cancel (billed to the end of the month)", parents=[parent]
    )
    cancel.add_argument("customer_id", metavar="ID")
    cancel.add_argument(
        "--on", metavar="YYYY-MM-DD", default=None, help="cancellation date (default: today)"
    )
    add_actor_option(cancel)
    add_json_option(cancel)
    cancel.set_defaults(func=_change, change="cancel")


def _billing_options(parser: argparse.ArgumentParser, *, clear: bool = False) -> None:
    empty = ' ("" removes it)' if clear else ""
    parser.add_argument(
        "--address", metavar="TEXT", default=None,
        help=f"postal address for invoices; lines separated by newlines{empty}",
    )  # fmt: skip
    parser.add_argument(
        "--vat", metavar="NUMBER", default=None,
        help=f"the customer's VAT number, e.g. NL123456789B01{empty}",
    )  # fmt: skip


def _set_billing(args: argparse.Namespace) -> int:
    customer_id = parse_int(args.customer_id, "customer id")
    changes = {
        key: value
        for key, value in (("address", args.address), ("vat_number", args.vat))
        if value is not None
    }
    actor = actor_of(args)
    with service_session(args) as session:
        view = customers.set_billing_details(session, customer_id, actor=actor, **changes)
    if wants_json(args):
        print_json(view)
    else:
        address = printable(view["address"] or "(none)", 200)
        print(
            f"customer {customer_id} billing details: address {address};"
            f" VAT number {view['vat_number'] or '(none)'}"
        )
    return 0


def _print_one(view: dict, args: argparse.Namespace) -> None:
    if wants_json(args):
        print_json(view)
        return
    rows = [
        (k, customers.describe_state(view) if k == "state" else v)
        for k, v in view.items()
        if not isinstance(v, list)
    ]
    print_table(("field", "value"), rows)
    if "conferences" in view and isinstance(view["conferences"], list):
        print()
        print_table(
            ("conference", "status", "max", "language"),
            [
                (c["number"], c["status"], c["max_participants"], c["language"])
                for c in view["conferences"]
            ],
        )
    if "access_numbers" in view:
        print()
        print("access numbers: " + (", ".join(view["access_numbers"]) or "(shared numbers)"))


def _add(args: argparse.Namespace) -> int:
    activated = parse_date(args.activated, "--activated") if args.activated else utc_today()
    actor = actor_of(args)
    with service_session(args) as session:
        view = customers.add_customer(
            session, name=args.name, email=args.email, activated_on=activated, actor=actor,
            address=args.address, vat_number=args.vat,
        )  # fmt: skip
    if wants_json(args):
        print_json(view)
    else:
        print(f"customer {view['id']} added: {printable(view['name'])}"
              f" (active from {view['activated_on']})")
    return 0


def _list(args: argparse.Namespace) -> int:
    with service_session(args) as session:
        rows = customers.list_customers(session, state=args.state)
    if wants_json(args):
        print_json(rows)
        return 0
    print_table(
        ("id", "name", "email", "state", "activated", "cancelled", "conferences"),
        [
            (
                r["id"],
                r["name"],
                r["email"],
                customers.describe_state(r),
                r["activated_on"],
                r["cancelled_on"],
                r["conferences"],
            )
            for r in rows
        ],
    )
    return 0


def _show(args: argparse.Namespace) -> int:
    customer_id = parse_int(args.customer_id, "customer id")
    with service_session(args) as session:
        view = customers.show_customer(session, customer_id)
    _print_one(view, args)
    return 0


def _change(args: argparse.Namespace) -> int:
    customer_id = parse_int(args.customer_id, "customer id")
    actor = actor_of(args)
    with service_session(args) as session:
        if args.change == "suspend":
            view = customers.suspend_customer(session, customer_id, actor=actor)
        elif args.change == "resume":
            view = customers.resume_customer(session, customer_id, actor=actor)
        elif args.change == "uncancel":
            view = customers.uncancel_customer(session, customer_id, actor=actor)
        else:
            on = parse_date(args.on, "--on") if args.on else utc_today()
            view = customers.cancel_customer(session, customer_id, cancelled_on=on, actor=actor)
    if wants_json(args):
        print_json(view)
    elif args.change == "cancel":
        print(
            f"customer {customer_id} cancelled on {view['cancelled_on']}, served and billed"
            f" until {view['service_until']}; now {view['state']}"
        )
    else:
        print(f"customer {customer_id} is now {customers.describe_state(view)}")
    return 0


def _edit(args: argparse.Namespace) -> int:
    customer_id = parse_int(args.customer_id, "customer id")
    actor = actor_of(args)
    with service_session(args) as session:
        view = customers.edit_customer(
            session, customer_id, name=args.name, email=args.email, actor=actor
        )
    if wants_json(args):
        print_json(view)
    elif view["changed"]:
        print(f"customer {customer_id} changed: {', '.join(view['changed'])}")
    else:
        print(f"customer {customer_id} unchanged")
    return 0
