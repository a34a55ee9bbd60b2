"""Console-script entry point.

Commands that run gevent servers or clients (serve, sim, demo, live, doctor) need gevent's
monkey-patching before anything imports sockets, threads or the database driver, so it
happens here, first, and only for them; the other operator commands run without gevent.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

GEVENT_COMMANDS = frozenset({"serve", "sim", "demo", "live", "doctor"})


def _global_options() -> argparse.ArgumentParser:
    # The options every command accepts before its name (cli.common.common_parent; a test
    # keeps the two alike). Only argparse here: nothing may import sockets before patching.
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False, exit_on_error=False)
    parser.add_argument("--config")
    parser.add_argument("command", nargs="?")
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def command_of(argv: Sequence[str]) -> tuple[str | None, list[str]]:
    """The command named on the line and the arguments after it, global options skipped:
    `--config FILE serve --port 1` -> ("serve", ["--port", "1"])."""
    try:
        known, _ = _global_options().parse_known_args(list(argv))
    except argparse.ArgumentError:  # e.g. `--config` without a value: the real parser says so
        return None, []
    return known.command, list(known.rest)


def needs_gevent(argv: Sequence[str]) -> bool:
    return command_of(argv)[0] in GEVENT_COMMANDS


def main() -> int:
    if needs_gevent(sys.argv[1:]):
        from gevent import monkey

        monkey.patch_all()
        from fsconf.runtime import untrack_greenlet_spawns

        untrack_greenlet_spawns()
    from fsconf.cli.main import main as run

    return run()


if __name__ == "__main__":
    sys.exit(main())
