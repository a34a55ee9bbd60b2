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
        from gevent import config, monkey

        monkey.patch_all()
        # gevent records where every greenlet was spawned (seven frame objects each, for
        # its debugging aids): per held call that is as many objects for every full
        # collection to walk as the call's own state, and none of it is ever read.
        config.track_greenlet_tree = False
    from fsconf.cli.main import main as run

    return run()


if __name__ == "__main__":
    sys.exit(main())
