"""`fsconf audit [--limit N] [--action A] [--target T] [--actor NAME]`: the audit log."""

from __future__ import annotations

import argparse
import json

from fsconf.cli.common import (
    add_json_option,
    parse_int,
    print_json,
    print_table,
    service_session,
    wants_json,
)
from fsconf.services.audit import list_entries


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    audit = sub.add_parser("audit", help="who changed what (newest first)", parents=[parent])
    audit.add_argument("--limit", metavar="N", default="50")
    audit.add_argument("--action", default=None, help="e.g. customer.add, billing.run")
    audit.add_argument("--target", default=None, help="e.g. customer:12, conference:123456")
    audit.add_argument("--by", dest="by_actor", metavar="NAME", default=None, help="actor")
    add_json_option(audit)
    audit.set_defaults(func=_audit)


def _audit(args: argparse.Namespace) -> int:
    limit = parse_int(args.limit, "--limit")
    with service_session(args) as session:
        rows = list_entries(
            session, limit=limit, action=args.action, target=args.target, actor=args.by_actor
        )
    if wants_json(args):
        print_json(rows)
        return 0
    print_table(
        ("at", "actor", "action", "target", "details"),
        [
            (
                r["at"],
                r["actor"],
                r["action"],
                r["target"],
                json.dumps(r["details"], sort_keys=True) if r["details"] else None,
            )
            for r in rows
        ],
    )
    return 0
