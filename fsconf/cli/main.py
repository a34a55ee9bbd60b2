"""`fsconf`: the operator's command line.

argparse rather than click: it is in the standard library, so the CLI adds no
dependency and no import-time cost, and one small module per command group plugs in
through a `register(subparsers, parent)` function.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from sqlalchemy.exc import OperationalError

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
    "find",
    "audit",
    "lockout",
    "live",
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

        return sim.run(rest)
    parser = build_parser()
    args = parser.parse_args(args_list)
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        print(f"fsconf: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        print(f"fsconf: error: database unavailable: {reason}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
