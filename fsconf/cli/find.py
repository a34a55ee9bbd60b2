"""`fsconf find NUMBER | --customer NAME | --pin`: which conference a caller means.

A PIN is typed at a prompt (not echoed) or piped on stdin, never given as an argument:
arguments stay in shell history and are visible to other users in `ps`.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from fsconf.cli.common import (
    CliError,
    actor_of,
    add_actor_option,
    add_json_option,
    print_json,
    print_table,
    service_session,
    wants_json,
)
from fsconf.services import lookup


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "find", help="find a conference by number, customer name or PIN", parents=[parent]
    )
    p.add_argument(
        "number", nargs="?", metavar="NUMBER", help="a conference number or an access number"
    )
    p.add_argument("--customer", metavar="NAME", default=None, help="part of the customer's name")
    p.add_argument(
        "--pin", action="store_true", help="ask for a PIN (not echoed; or one line on stdin)"
    )
    add_actor_option(p)
    add_json_option(p)
    p.set_defaults(func=_run)


def read_pin() -> str:
    if sys.stdin.isatty():
        try:
            return getpass.getpass("PIN: ")
        except EOFError:
            raise CliError("no PIN typed") from None
    line = sys.stdin.readline()
    if not line.strip():
        raise CliError("no PIN on stdin")
    return line


def _run(args: argparse.Namespace) -> int:
    given = [bool(args.number), args.customer is not None, args.pin]
    if sum(given) != 1:
        if args.pin and args.number:
            raise CliError(
                "type the PIN at the prompt, not on the command line (it would stay in your"
                " shell history)"
            )
        raise CliError("give exactly one of NUMBER, --customer NAME or --pin")
    if args.pin:
        actor = actor_of(args)
        pin = read_pin()
        with service_session(args) as session:
            found = lookup.find_by_pin(session, pin, actor=actor)
    else:
        with service_session(args) as session:
            if args.number:
                found = lookup.find_by_number(session, args.number)
            else:
                found = lookup.find_by_customer_name(session, args.customer)
    if wants_json(args):
        print_json(found)
        return 0
    print_table(
        ("conference", "status", "lang", "customer", "name", "state", "access numbers", "matched"),
        [
            (f["conference_number"], f["status"], f["language"], f["customer_id"],
             f["customer_name"], f["customer_state"], " ".join(f["access_numbers"]) or None,
             f["matched"])
            for f in found
        ],
    )  # fmt: skip
    return 0
