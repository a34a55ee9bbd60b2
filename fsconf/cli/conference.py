"""`fsconf conference create|list|show|set|reset-pins|delete`.

Conferences are addressed by their conference number. `show --form` prints the customer
data form in the conference's language (`--format html` for a printable page, `--output
FILE` to write it to a file, mode 0600: it holds the PINs).
"""

from __future__ import annotations

import argparse
import os

from fsconf.cli.common import (
    CliError,
    actor_of,
    add_actor_option,
    add_json_option,
    parse_int,
    print_json,
    print_table,
    printable,
    service_session,
    settings_from,
    wants_json,
)
from fsconf.domain import forms
from fsconf.services import conference_admin


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    group = sub.add_parser("conference", help="conferences, PINs, data forms", parents=[parent])
    actions = group.add_subparsers(dest="conference_command", required=True, metavar="ACTION")

    create = actions.add_parser(
        "create", help="create a conference with generated number and PINs", parents=[parent]
    )
    create.add_argument("--customer", metavar="ID", required=True)
    create.add_argument("--max-participants", metavar="N", default="10", help="1..500 (10)")
    create.add_argument(
        "--language", metavar="nl|en", default=None, help="prompt language (default: config)"
    )
    _feature_options(create)
    add_actor_option(create)
    add_json_option(create)
    create.set_defaults(func=_create)

    ls = actions.add_parser("list", help="list conferences", parents=[parent])
    ls.add_argument("--customer", metavar="ID", default=None)
    ls.add_argument("--all", action="store_true", help="include deleted conferences")
    add_json_option(ls)
    ls.set_defaults(func=_list)

    show = actions.add_parser("show", help="a conference, or its data form", parents=[parent])
    show.add_argument("number", metavar="NUMBER")
    show.add_argument("--form", action="store_true", help="the customer data form")
    show.add_argument(
        "--format", metavar="text|html", default="text", help="form format (text or html)"
    )
    show.add_argument("--output", metavar="FILE", default=None, help="write the form to FILE")
    add_json_option(show)
    show.set_defaults(func=_show)

    st = actions.add_parser(
        "set", aliases=["update"], help="change settings of a conference", parents=[parent]
    )
    st.add_argument("number", metavar="NUMBER")
    st.add_argument("--max-participants", metavar="N", default=None, help="1..500")
    st.add_argument("--language", metavar="nl|en", default=None)
    st.add_argument("--status", metavar="active|suspended", default=None)
    st.add_argument("--moderator-pin", metavar="PIN", default=None)
    st.add_argument("--participant-pin", metavar="PIN", default=None)
    boolean = argparse.BooleanOptionalAction
    st.add_argument("--record-names", action=boolean, default=None)
    st.add_argument("--announce-count", action=boolean, default=None)
    st.add_argument(
        "--join-muted",
        dest="participants_join_muted",
        action=boolean,
        default=None,
        help="participants join muted",
    )
    _feature_options(st)
    add_actor_option(st)
    add_json_option(st)
    st.set_defaults(func=_set)

    reset = actions.add_parser("reset-pins", help="draw new PINs", parents=[parent])
    reset.add_argument("number", metavar="NUMBER")
    add_actor_option(reset)
    add_json_option(reset)
    reset.set_defaults(func=_reset)

    delete = actions.add_parser(
        "delete", help="delete (the number stays reserved)", parents=[parent]
    )
    delete.add_argument("number", metavar="NUMBER")
    add_actor_option(delete)
    add_json_option(delete)
    delete.set_defaults(func=_delete)


def _feature_options(parser: argparse.ArgumentParser) -> None:
    """Issue 22's settings, on create and set/update alike (omitted: unchanged/default)."""
    boolean = argparse.BooleanOptionalAction
    parser.add_argument(
        "--wait-for-moderator", action=boolean, default=None,
        help="participants hear music, and nobody, until a moderator joins (off)",
    )
    parser.add_argument(
        "--end-with-moderator", action=boolean, default=None,
        help="end the meeting when the last moderator leaves (off)",
    )
    parser.add_argument(
        "--moderator-grace-seconds", metavar="N", default=None,
        help="a moderator back within N seconds keeps the meeting going (0..600, 30)",
    )
    parser.add_argument(
        "--recording-allowed", action=boolean, default=None,
        help="the moderator may record the meeting with *4 (on)",
    )
    parser.add_argument(
        "--recording-retention-days", metavar="DAYS", default=None,
        help="days a recording is kept before `recording purge` removes it (1..3650, 30)",
    )


def _feature_values(args: argparse.Namespace) -> tuple[dict, dict]:
    options = {
        "wait_for_moderator": args.wait_for_moderator,
        "end_with_moderator": args.end_with_moderator,
        "recording_allowed": args.recording_allowed,
    }
    numbers = {
        "moderator_grace_seconds": (
            parse_int(args.moderator_grace_seconds, "--moderator-grace-seconds")
            if args.moderator_grace_seconds is not None else None
        ),
        "recording_retention_days": (
            parse_int(args.recording_retention_days, "--recording-retention-days")
            if args.recording_retention_days is not None else None
        ),
    }
    return options, numbers


def _print_conference(view: dict, args: argparse.Namespace) -> None:
    if wants_json(args):
        print_json(view)
    else:
        print_table(("field", "value"), list(view.items()))


def _create(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    customer_id = parse_int(args.customer, "--customer")
    max_participants = parse_int(args.max_participants, "--max-participants")
    language = args.language or settings.ivr.default_language
    options, numbers = _feature_values(args)
    actor = actor_of(args)
    with service_session(args) as session:
        view = conference_admin.create_conference(
            session,
            customer_id=customer_id,
            max_participants=max_participants,
            language=language,
            security=settings.security,
            actor=actor,
            options=options,
            numbers=numbers,
        )
    if wants_json(args):
        print_json(view)
    else:
        print(f"conference {view['number']} created for customer {customer_id}")
        print(f"moderator PIN    {view['moderator_pin']}")
        print(f"participant PIN  {view['participant_pin']}")
        print(f"max participants {view['max_participants']}, language {view['language']}")
    return 0


def _list(args: argparse.Namespace) -> int:
    customer_id = parse_int(args.customer, "--customer") if args.customer is not None else None
    with service_session(args) as session:
        rows = conference_admin.list_conferences(
            session, customer_id=customer_id, include_deleted=args.all
        )
    if wants_json(args):
        print_json(rows)
        return 0
    print_table(
        ("number", "customer", "name", "status", "max", "language", "created"),
        [
            (
                r["number"],
                r["customer_id"],
                r["customer_name"],
                r["status"],
                r["max_participants"],
                r["language"],
                r["created_at"],
            )
            for r in rows
        ],
    )
    return 0


def _show(args: argparse.Namespace) -> int:
    if args.format not in ("text", "html"):
        raise CliError(f"--format must be text or html, got {args.format!r}")
    if not args.form and (args.format != "text" or args.output):
        raise CliError("--format and --output belong to --form")
    with service_session(args) as session:
        if args.form:
            data = conference_admin.form_data(session, args.number)
        else:
            view = conference_admin.show_conference(session, args.number)
    if not args.form:
        _print_conference(view, args)
        return 0
    if wants_json(args):
        print_json({**data, "keypad_controls": forms.keypad_controls(data["language"])})
        return 0
    # The customer's name is operator input; a form goes to terminals and printers.
    data = {**data, "customer_name": printable(data["customer_name"], 200)}
    page = forms.render_html(data) if args.format == "html" else forms.render_text(data)
    if args.output:
        write_private(args.output, page)
        print(f"data form for conference {data['conference_number']} written to {args.output}")
    else:
        print(page, end="")
    return 0


def write_private(path: str, text: str) -> None:
    """Write `text` to `path` readable by its owner only (the form holds PINs): created
    0600, and an existing file is narrowed to 0600 before anything is written to it."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                fd = -1  # the file object owns it now
                out.write(text)
        finally:
            if fd >= 0:
                os.close(fd)
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None


def _set(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    max_participants = (
        parse_int(args.max_participants, "--max-participants")
        if args.max_participants is not None
        else None
    )
    options, numbers = _feature_values(args)
    actor = actor_of(args)
    with service_session(args) as session:
        view = conference_admin.set_conference(
            session,
            args.number,
            security=settings.security,
            actor=actor,
            max_participants=max_participants,
            language=args.language,
            status=args.status,
            moderator_pin=args.moderator_pin,
            participant_pin=args.participant_pin,
            options={
                "record_names": args.record_names,
                "announce_count": args.announce_count,
                "participants_join_muted": args.participants_join_muted,
                **options,
            },
            numbers=numbers,
        )
    if wants_json(args):
        print_json(view)
    elif view["changed"]:
        print(f"conference {view['number']}: changed {', '.join(view['changed'])}")
    else:
        print(f"conference {view['number']}: already so, nothing changed")
    return 0


def _reset(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    actor = actor_of(args)
    with service_session(args) as session:
        view = conference_admin.reset_pins(
            session, args.number, security=settings.security, actor=actor
        )
    if wants_json(args):
        print_json(view)
    else:
        print(f"conference {view['number']}: new PINs")
        print(f"moderator PIN    {view['moderator_pin']}")
        print(f"participant PIN  {view['participant_pin']}")
    return 0


def _delete(args: argparse.Namespace) -> int:
    actor = actor_of(args)
    with service_session(args) as session:
        view = conference_admin.delete_conference(session, args.number, actor=actor)
    if wants_json(args):
        print_json(view)
    else:
        print(f"conference {view['number']} deleted (the number stays reserved)")
    return 0
