"""`fsconf node list|drain|undrain`: the cluster's nodes (README "Scaling out")."""

from __future__ import annotations

import argparse
import re

from fsconf.cli.common import (
    CliError,
    actor_of,
    add_actor_option,
    add_json_option,
    print_json,
    print_table,
    service_session,
    settings_from,
    wants_json,
)
from fsconf.services import nodes

_NODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    group = sub.add_parser("node", help="cluster nodes: list, drain, undrain", parents=[parent])
    actions = group.add_subparsers(dest="node_command", required=True, metavar="ACTION")
    ls = actions.add_parser(
        "list", help="nodes, addresses, heartbeat age, rooms, members, drained", parents=[parent]
    )
    add_json_option(ls)
    ls.set_defaults(func=_list)
    for name, drained, what in (
        ("drain", True, "place no new rooms on NAME (its meetings go on)"),
        ("undrain", False, "let NAME take new rooms again"),
    ):
        p = actions.add_parser(name, help=what, parents=[parent])
        p.add_argument("name", metavar="NAME")
        add_actor_option(p)
        add_json_option(p)
        p.set_defaults(func=_drain, drained=drained)


def _list(args: argparse.Namespace) -> int:
    lease = settings_from(args).cluster.lease_seconds
    with service_session(args) as session:
        rows = nodes.list_nodes(session, lease)
    if wants_json(args):
        print_json(rows)
    elif not rows:
        print("no nodes have reported yet")
    else:
        print_table(
            ("node", "internal SIP", "heartbeat age", "alive", "rooms", "members", "drained"),
            [
                (r["node"], r["internal_sip"] or "-",
                 "-" if r["heartbeat_age_seconds"] is None else f"{r['heartbeat_age_seconds']} s",
                 "yes" if r["alive"] else "no", r["rooms"], r["members"],
                 "yes" if r["drained"] else "no")
                for r in rows
            ],
        )
    return 0


def _drain(args: argparse.Namespace) -> int:
    if not _NODE.fullmatch(args.name):
        raise CliError(f"not a node name: {args.name!r}")
    actor = actor_of(args)
    with service_session(args) as session:
        row = nodes.set_drained(session, actor=actor, node=args.name, drained=args.drained)
    if wants_json(args):
        print_json(row)
    else:
        print(f"node {args.name} {'drained' if args.drained else 'takes new rooms again'}")
    return 0
