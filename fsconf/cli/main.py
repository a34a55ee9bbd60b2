"""`fsconf`: the operator's command line.

argparse rather than click: it is in the standard library, so the CLI adds no
dependency and no import-time cost, and one small module per command group plugs in
through a `register(subparsers, parent)` function.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from sqlalchemy.exc import OperationalError, ProgrammingError

from fsconf.cli.common import EXIT_BAD_INPUT, CliError, common_parent
from fsconf.cli.entry import command_of

# Command groups, each a module in fsconf.cli with register(); missing ones are skipped
# so a partial checkout still runs.
GROUPS = (
    "db",
    "customer",
    "number",
    "conference",
    "billing",
    "invoice",
    "usage",
    "meeting",
    "recording",
    "find",
    "audit",
    "lockout",
    "live",
    "node",
    "serve",
    "sim",
    "demo",
    "doctor",
)


def build_parser() -> argparse.ArgumentParser:
    parent = common_parent()
    parser = argparse.ArgumentParser(
        prog="fsconf", description="Hosted conferencing on FreeSWITCH.", parents=[parent]
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in GROUPS:
        try:
            module = importlib.import_module(f"fsconf.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"fsconf.cli.{name}":
                continue
            raise
        module.register(sub, parent)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    command, rest = command_of(args_list)
    if command == "sim":
        # The simulator has its own options (--conf, --speed, ...); hand them over whole.
        if args_list[0] != "sim":
            print("fsconf: error: sim takes only its own options (fsconf sim --help)",
                  file=sys.stderr)  # fmt: skip
            return EXIT_BAD_INPUT
        from fsconf.cli import sim

        try:
            return sim.run(rest)
        except (OSError, ValueError, OverflowError) as exc:
            # A configuration it cannot load (ValueError), a port it cannot listen on.
            print(f"fsconf sim: error: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except KeyboardInterrupt:
            return 130
    parser = build_parser()
    args = parser.parse_args(args_list)
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return code
    except CliError as exc:
        print(f"fsconf: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (OperationalError, ProgrammingError) as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        if _schema_missing(reason):
            print(f"fsconf: error: the database schema is missing or out of date ({reason});"
                  " run `fsconf db upgrade`", file=sys.stderr)
        else:
            print(f"fsconf: error: database unavailable: {reason}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # `fsconf audit | head -1`: the reader has all it wanted. Quiet, like any Unix
        # filter, with the status a shell gives a process killed by SIGPIPE.
        _discard_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        return 130


EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE


def _schema_missing(reason: str) -> bool:
    """SQLite's and PostgreSQL's words for a table or column migrations would create."""
    text = reason.lower()
    return "no such table" in text or "no such column" in text or (
        "does not exist" in text and ("relation" in text or "column" in text)
    )


def _discard_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout replaced by something without a descriptor
        pass


if __name__ == "__main__":
    sys.exit(main())
