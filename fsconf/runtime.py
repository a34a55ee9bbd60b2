"""Process-wide settings of the long-running entry points (`fsconf serve`, `fsconf sim`).

Called from entry points only, after gevent's monkey-patching, like the patching itself.
"""

from __future__ import annotations

import gc

# gen-2 threshold meaning "never on its own": a billion middle collections first.
NO_AUTOMATIC_FULL_COLLECTION = 1_000_000_000


def untrack_greenlet_spawns() -> None:
    """gevent records where every greenlet was spawned (seven frame objects each, for its
    debugging aids): per held call that is as many objects for every full collection to
    walk as the call's own state, and none of it is ever read."""
    from gevent import config

    config.track_greenlet_tree = False


def freeze_start_up(*, middle_every: int | None = None, full_automatic: bool = True) -> None:
    """Put what start-up made (modules, configuration, caches: it lives as long as the
    process) out of the collector's sight, so no full collection walks it again.

    `middle_every`: young collections between two of the middle generation (Python: 10).
    `full_automatic=False`: full collections only when the process asks for one.
    """
    gc.collect()
    gc.freeze()
    young, middle, full = gc.get_threshold()
    gc.set_threshold(
        young,
        middle if middle_every is None else middle_every,
        full if full_automatic else NO_AUTOMATIC_FULL_COLLECTION,
    )
