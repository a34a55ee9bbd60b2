"""`fsconf lockout list|clear`: PIN lockouts in force, and lifting them (audited)."""

from __future__ import annotations

import argparse

from fsconf.cli.common import (
    CliError,
    actor_of,
    add_actor_option,
    add_json_option,
    parse_int,
    print_json,
    print_table,
    service_session,
    wants_json,
)
from fsconf.services import lockouts


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    group = sub.add_parser(
        "lockout", help="PIN lockouts after repeated wrong PINs", parents=[parent]
    )
    actions = group.add_subparsers(dest="lockout_command", required=True, metavar="ACTION")

    ls = actions.add_parser("list", help="lockouts in force (newest first)", parents=[parent])
    ls.add_argument("--all", action="store_true", help="also expired and cleared ones")
    ls.add_argument("--limit", metavar="N", default="50")
    add_json_option(ls)
    ls.set_defaults(func=_list)

    clear = actions.add_parser(
        "clear", help="lift lockouts: by id, by caller ID or by conference", parents=[parent]
    )
    clear.add_argument("ids", metavar="ID", nargs="*", help="lockout ids from `lockout list`")
    clear.add_argument("--caller", metavar="NUMBER", default=None, help="a caller ID's lockout")
    clear.add_argument(
        "--conference", metavar="NUMBER", default=None, help="a conference's lockout"
    )
    add_actor_option(clear)
    add_json_option(clear)
    clear.set_defaults(func=_clear)


def _subject(row: dict[str, object]) -> object:
    return row["caller_id_number"] if row["kind"] == "caller" else row["conference"]


def _table(rows: list[dict[str, object]]) -> None:
    print_table(
        ("id", "kind", "caller ID / conference", "started", "until", "failures", "state"),
        [
            (r["id"], r["kind"], _subject(r), r["started_at"], r["until"], r["failures"],
             r["state"] if r["state"] != "cleared" else f"cleared by {r['cleared_by']}")
            for r in rows
        ],
    )


def _list(args: argparse.Namespace) -> int:
    limit = parse_int(args.limit, "--limit")
    with service_session(args) as session:
        rows = lockouts.list_lockouts(session, include_past=args.all, limit=limit)
    if wants_json(args):
        print_json(rows)
    elif rows:
        _table(rows)
    else:
        print("no lockouts in force" if not args.all else "no lockouts")
    return 0


def _clear(args: argparse.Namespace) -> int:
    ids = tuple(parse_int(text, "lockout id") for text in args.ids)
    if any(i < 1 for i in ids):
        raise CliError("lockout ids are whole numbers from `fsconf lockout list`")
    actor = actor_of(args)
    with service_session(args) as session:
        rows = lockouts.clear_lockouts(
            session, actor=actor, ids=ids, caller=args.caller, conference=args.conference
        )
    if wants_json(args):
        print_json(rows)
    else:
        for r in rows:
            print(f"lockout {r['id']} cleared ({r['kind']} {_subject(r)})")
    return 0
