"""Console-script entry point.

Commands that run gevent servers (serve, sim, demo) need gevent's monkey-patching before
anything imports sockets, threads or the database driver, so it happens here, first,
and only for them; the other operator commands run without gevent.
"""

from __future__ import annotations

import sys

GEVENT_COMMANDS = frozenset({"serve", "sim", "demo", "live", "doctor"})


def main() -> int:
    words = [a for a in sys.argv[1:] if not a.startswith("-")]
    if words and words[0] in GEVENT_COMMANDS:
        from gevent import monkey

        monkey.patch_all()
        from fsconf.runtime import untrack_greenlet_spawns

        untrack_greenlet_spawns()
    from fsconf.cli.main import main as run

    return run()


if __name__ == "__main__":
    sys.exit(main())
