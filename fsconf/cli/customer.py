"""`fsconf customer add|list|show|suspend|resume|cancel`."""

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
    add.add_argument(
        "--activated", metavar="YYYY-MM-DD", default=None, help="activation date (default: today)"
    )
    add_actor_option(add)
    add_json_option(add)
    add.set_defaults(func=_add)

    ls = actions.add_parser("list", help="list customers", parents=[parent])
    ls.add_argument("--state", choices=("active", "suspended", "cancelled"), default=None)
    add_json_option(ls)
    ls.set_defaults(func=_list)

    show = actions.add_parser("show", help="one customer in detail", parents=[parent])
    show.add_argument("customer_id", metavar="ID")
    add_json_option(show)
    show.set_defaults(func=_show)

    for name, helptext in (
        ("suspend", "suspend (callers hear the service is unavailable; still billed)"),
        ("resume", "resume a suspended customer"),
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


def _print_one(view: dict, args: argparse.Namespace) -> None:
    if wants_json(args):
        print_json(view)
        return
    rows = [(k, v) for k, v in view.items() if not isinstance(v, list)]
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
            session, name=args.name, email=args.email, activated_on=activated, actor=actor
        )
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
                r["state"],
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
        else:
            on = parse_date(args.on, "--on") if args.on else utc_today()
            view = customers.cancel_customer(session, customer_id, cancelled_on=on, actor=actor)
    if wants_json(args):
        print_json(view)
    elif args.change == "cancel":
        print(
            f"customer {customer_id} cancelled on {view['cancelled_on']}"
            " (billed to the end of that month)"
        )
    else:
        print(f"customer {customer_id} is now {view['state']}")
    return 0
