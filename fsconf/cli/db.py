"""`fsconf db upgrade|current|history`: schema changes only through alembic."""

from __future__ import annotations

import argparse

from fsconf.cli.common import settings_from
from fsconf.config import redact_url
from fsconf.store import migrate


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    db = sub.add_parser("db", help="database schema", parents=[parent])
    actions = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    up = actions.add_parser("upgrade", help="apply migrations", parents=[parent])
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(func=_upgrade)
    actions.add_parser("current", help="show the applied revision", parents=[parent]).set_defaults(
        func=_current
    )
    actions.add_parser("history", help="list migrations", parents=[parent]).set_defaults(
        func=_history
    )


def _ensure_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        from pathlib import Path

        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


def _upgrade(args: argparse.Namespace) -> int:
    url = settings_from(args).database_url
    _ensure_sqlite_dir(url)
    migrate.upgrade(url, args.revision)
    print(f"database {redact_url(url)} upgraded to {migrate.current(url) or args.revision}")
    return 0


def _current(args: argparse.Namespace) -> int:
    url = settings_from(args).database_url
    print(migrate.current(url) or "(empty database: run `fsconf db upgrade`)")
    return 0


def _history(args: argparse.Namespace) -> int:
    print(migrate.history(settings_from(args).database_url))
    return 0
