"""`fsconf live`: meetings in progress, and operator actions on them."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable

from sqlalchemy.orm import Session

from fsconf.cli.common import (
    CliError,
    actor_of,
    add_actor_option,
    add_json_option,
    print_json,
    print_table,
    printable,
    service_session,
    settings_from,
    wants_json,
)
from fsconf.conference import live
from fsconf.conference.cluster_api import ClusterApi
from fsconf.esl.connection import EslError
from fsconf.esl.inbound import InboundClient
from fsconf.services import nodes

ACTIONS = ("mute", "unmute", "kick", "lock", "unlock", "end")


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("live", help="meetings in progress; act on one", parents=[parent])
    p.add_argument("action", nargs="?", choices=ACTIONS, help="omit to list meetings")
    p.add_argument("conference", nargs="?", metavar="CONFERENCE", help="conference number")
    p.add_argument("member", nargs="?", metavar="MEMBER", help="member id (or 'all' to mute)")
    p.add_argument(
        "--conference", dest="only", metavar="NUMBER", default=None,
        help="list only this conference's meeting",
    )
    add_json_option(p)
    add_actor_option(p)
    p.set_defaults(func=_run)


def _client(args: argparse.Namespace) -> InboundClient:
    fs = settings_from(args).freeswitch
    client = InboundClient(fs.host, fs.port, fs.password, timeout=5.0)
    try:
        return client.connect()
    except (OSError, EslError) as exc:
        raise CliError(str(exc)) from None


def _cluster_api(
    args: argparse.Namespace, session: Session, local: InboundClient,
    others: list[InboundClient],
) -> Callable[[str], str]:
    """Single node: this node's Event Socket. Cluster: every live node's (addresses from
    the node table, this node's password), each room's commands to its owner."""
    settings = settings_from(args)
    if not settings.cluster.enabled:
        return local.api
    fs = settings.freeswitch
    senders: dict[str, Callable[[str], str]] = {}
    for node, address in nodes.event_sockets(session, settings.cluster.lease_seconds).items():
        host, _, port = address.rpartition(":")
        if node == settings.cluster.node or (host, port) == (fs.host, str(fs.port)):
            senders[node] = local.api
            continue
        try:
            other = InboundClient(host, int(port), fs.password, timeout=5.0).connect()
        except (OSError, EslError, ValueError) as exc:
            print(f"fsconf: node {node} ({address}) not reachable: {exc}", file=sys.stderr)
            continue
        others.append(other)
        senders[node] = other.api
    return ClusterApi(senders, lambda number: nodes.owner_of(session, number), local.api)


def _run(args: argparse.Namespace) -> int:
    if args.action and not args.conference:
        raise CliError(f"live {args.action} needs a conference number")
    if args.action and args.only:
        raise CliError(f"--conference filters the list; live {args.action} names its conference")
    client = _client(args)
    others: list[InboundClient] = []
    try:
        with service_session(args) as session:
            api = _cluster_api(args, session, client, others)
            if args.action:
                reply = live.operator_action(
                    session, api, actor=actor_of(args), action=args.action,
                    number=args.conference, member=args.member,
                )
                if wants_json(args):
                    print_json({"conference_number": args.conference, "action": args.action,
                                "member": args.member, "reply": reply})
                else:
                    print(printable(reply, 200))
                return 0
            meetings = live.live_meetings(session, api, conference_number=args.only)
    except EslError as exc:
        raise CliError(f"FreeSWITCH: {exc}") from None
    finally:
        client.close()
        for other in others:
            other.close()
    if wants_json(args):
        print_json([dataclasses.asdict(m) for m in meetings])
        return 0
    if not meetings:
        print("no meetings in progress")
    for m in meetings:
        state = "locked" if m.locked else "open"
        since = m.started_at.replace(microsecond=0).isoformat() if m.started_at else "?"
        print(f"conference {m.conference_number}  since {since}  {state}  "
              f"{len(m.members)} member(s)" + ("" if m.in_freeswitch else "  (not in FreeSWITCH)")
              + ("  recording" if m.recording else "")
              + ("  waiting for the moderator" if m.waiting_for_moderator else ""))
        if m.raised_hands:
            print("raised hands (longest first): " + ", ".join(map(str, m.raised_hands)))
        print_table(
            ["member", "role", "caller id", "name", "joined", "muted"],
            [[x.member_id, x.role, x.caller_id_number, x.caller_id_name, x.joined_at, x.muted]
             for x in m.members],
        )
        print()
    return 0
