"""`fsconf number add|list|move|remove`: access numbers (DIDs), shared or per customer."""

from __future__ import annotations

import argparse

from fsconf.cli.common import (
    actor_of,
    add_actor_option,
    add_json_option,
    parse_int,
    print_json,
    print_table,
    service_session,
    wants_json,
)
from fsconf.services import numbers


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    group = sub.add_parser("number", help="access numbers callers dial", parents=[parent])
    actions = group.add_subparsers(dest="number_command", required=True, metavar="ACTION")

    add = actions.add_parser("add", help="add an access number", parents=[parent])
    add.add_argument("number", metavar="NUMBER", help="digits only, e.g. 0201234567")
    add.add_argument(
        "--customer", metavar="ID", default=None, help="the customer's own number (else shared)"
    )
    add_actor_option(add)
    add_json_option(add)
    add.set_defaults(func=_add)

    ls = actions.add_parser("list", help="list access numbers", parents=[parent])
    which = ls.add_mutually_exclusive_group()
    which.add_argument("--customer", metavar="ID", default=None)
    which.add_argument("--shared", action="store_true", help="only the shared numbers")
    add_json_option(ls)
    ls.set_defaults(func=_list)

    mv = actions.add_parser(
        "move", help="give an access number to another customer (or make it shared)",
        parents=[parent],
    )
    mv.add_argument("number", metavar="NUMBER")
    to = mv.add_mutually_exclusive_group(required=True)
    to.add_argument("--customer", metavar="ID", default=None, help="the new owner")
    to.add_argument("--shared", action="store_true", help="make it a shared number")
    add_actor_option(mv)
    add_json_option(mv)
    mv.set_defaults(func=_move)

    rm = actions.add_parser("remove", help="remove an access number", parents=[parent])
    rm.add_argument("number", metavar="NUMBER")
    add_actor_option(rm)
    add_json_option(rm)
    rm.set_defaults(func=_remove)


def _customer_id(args: argparse.Namespace) -> int | None:
    return parse_int(args.customer, "--customer") if args.customer is not None else None


def _add(args: argparse.Namespace) -> int:
    customer_id = _customer_id(args)
    actor = actor_of(args)
    with service_session(args) as session:
        view = numbers.add_number(session, args.number, customer_id=customer_id, actor=actor)
    if wants_json(args):
        print_json(view)
    else:
        owner = f"customer {customer_id}" if customer_id is not None else "shared"
        print(f"access number {view['number']} added ({owner})")
    return 0


def _list(args: argparse.Namespace) -> int:
    customer_id = _customer_id(args)
    with service_session(args) as session:
        rows = numbers.list_numbers(session, customer_id=customer_id, shared_only=args.shared)
    if wants_json(args):
        print_json(rows)
        return 0
    print_table(
        ("number", "customer", "name", "added"),
        [
            (r["number"], r["customer_id"] or "shared", r["customer_name"], r["created_at"])
            for r in rows
        ],
    )
    return 0


def _remove(args: argparse.Namespace) -> int:
    actor = actor_of(args)
    with service_session(args) as session:
        view = numbers.remove_number(session, args.number, actor=actor)
    if wants_json(args):
        print_json(view)
    else:
        print(f"access number {view['number']} removed")
    return 0


def _move(args: argparse.Namespace) -> int:
    customer_id = _customer_id(args)
    actor = actor_of(args)
    with service_session(args) as session:
        view = numbers.move_number(session, args.number, customer_id=customer_id, actor=actor)
    if wants_json(args):
        print_json(view)
        return 0
    before = view["previous_customer_id"]
    owner = f"customer {customer_id}" if customer_id is not None else "shared"
    print(
        f"access number {view['number']} moved from "
        f"{f'customer {before}' if before is not None else 'shared'} to {owner}"
    )
    if view["previous_owner_numbers_left"] == 0:
        print(f"customer {before} has no access number of its own left: its callers now"
              " use the shared numbers")
    return 0
