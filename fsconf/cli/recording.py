"""`fsconf recording list|export|delete|purge`: meeting recordings (issue 22).

`list` shows one customer's recordings only (`--month YYYY-MM` narrows it); `export`
copies one file out (mode 0600), `delete` removes one, `purge` every recording past its
conference's retention (safe from cron: a second run does nothing). Changes are audited.
"""

from __future__ import annotations

import argparse

from fsconf.cli.billing import parse_month
from fsconf.cli.common import (
    actor_of,
    add_actor_option,
    add_json_option,
    parse_int,
    print_json,
    print_table,
    service_session,
    settings_from,
    wants_json,
)
from fsconf.services import recordings


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    group = sub.add_parser("recording", help="meeting recordings", parents=[parent])
    actions = group.add_subparsers(dest="recording_command", required=True, metavar="ACTION")

    ls = actions.add_parser("list", help="a customer's recordings", parents=[parent])
    ls.add_argument("--customer", metavar="ID", required=True)
    ls.add_argument("--month", metavar="YYYY-MM", default=None, help="started in this month")
    add_json_option(ls)
    ls.set_defaults(func=_list)

    export = actions.add_parser("export", help="copy one recording to a file", parents=[parent])
    export.add_argument("recording_id", metavar="ID")
    export.add_argument("--output", metavar="FILE", required=True)
    add_actor_option(export)
    add_json_option(export)
    export.set_defaults(func=_export)

    delete = actions.add_parser("delete", help="delete one recording", parents=[parent])
    delete.add_argument("recording_id", metavar="ID")
    add_actor_option(delete)
    add_json_option(delete)
    delete.set_defaults(func=_delete)

    purge = actions.add_parser(
        "purge", help="delete recordings past their retention (idempotent)", parents=[parent]
    )
    add_actor_option(purge)
    add_json_option(purge)
    purge.set_defaults(func=_purge)


def _list(args: argparse.Namespace) -> int:
    customer_id = parse_int(args.customer, "--customer")
    month = parse_month(args.month) if args.month else None
    with service_session(args) as session:
        rows = recordings.list_recordings(session, customer_id=customer_id, month=month)
    if wants_json(args):
        print_json(rows)
        return 0
    if not rows:
        print("no recordings")
        return 0
    print_table(
        ["id", "conference", "meeting", "started", "seconds", "started by", "expires", "file"],
        [[r["id"], r["conference_number"], r["meeting_id"], r["started_at"],
          _seconds(r),
          r["started_by"] or "", r["expires_on"] or "",
          r["file"] if r["file_present"] else f"{r['file']} (missing)"] for r in rows],
    )
    return 0


def _seconds(row: dict) -> str:
    if row["duration_seconds"] is None:
        return "running"
    return f"{row['duration_seconds']}" + (" (interrupted)" if row["interrupted"] else "")


def _export(args: argparse.Namespace) -> int:
    recording_id = parse_int(args.recording_id, "recording id")
    settings = settings_from(args)
    with service_session(args) as session:
        view = recordings.export_recording(
            session, recording_id, args.output,
            recordings_dir=settings.freeswitch.recordings_dir, actor=actor_of(args),
        )
    if wants_json(args):
        print_json(view)
    else:
        print(f"recording {recording_id} written to {args.output}")
    return 0


def _delete(args: argparse.Namespace) -> int:
    recording_id = parse_int(args.recording_id, "recording id")
    settings = settings_from(args)
    with service_session(args) as session:
        view = recordings.delete_recording(
            session, recording_id,
            recordings_dir=settings.freeswitch.recordings_dir, actor=actor_of(args),
        )
    if wants_json(args):
        print_json(view)
    else:
        print(f"recording {recording_id} deleted")
    return 0


def _purge(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    with service_session(args) as session:
        result = recordings.purge_recordings(
            session, recordings_dir=settings.freeswitch.recordings_dir, actor=actor_of(args)
        )
    if wants_json(args):
        print_json(result)
    else:
        print(f"{len(result['purged'])} recording(s) past retention deleted")
        for rid in result["skipped_outside_folder"]:
            print(f"recording {rid} left alone: its file is outside the recordings folder")
    return 0
