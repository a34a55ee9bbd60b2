"""Process-wide settings of `fsconf serve` and `fsconf sim` (fsconf/runtime.py)."""

from __future__ import annotations

import gc
import weakref

import gevent
from gevent import config

from fsconf.runtime import NO_AUTOMATIC_FULL_COLLECTION, freeze_start_up, untrack_greenlet_spawns


def test_greenlets_spawned_afterwards_keep_no_record_of_their_spawner() -> None:
    before = config.track_greenlet_tree
    try:
        untrack_greenlet_spawns()
        late = gevent.spawn(lambda: None)
        assert late.spawning_greenlet is None
        assert late.spawning_stack is None
        late.join()
    finally:
        config.track_greenlet_tree = before


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_a_switch_runs_no_full_collection_unless_asked() -> None:
    before = gc.get_threshold()
    try:
        freeze_start_up(full_automatic=False)
        assert gc.get_threshold() == (before[0], before[1], NO_AUTOMATIC_FULL_COLLECTION)
        cycle = _Cycle()
        gone = weakref.ref(cycle)
        del cycle
        gc.collect()  # asked for: still collects
        assert gone() is None
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
