"""`fsconf serve` settles the collector before the first call (see serve.settle_heap)."""

from __future__ import annotations

import gc
import weakref

from fsconf.cli.serve import MIDDLE_GENERATION_EVERY, settle_heap


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_start_up_objects_leave_the_collector_and_middle_collections_are_rarer() -> None:
    before = gc.get_threshold()
    try:
        made_at_start_up = _Cycle()
        settle_heap()
        assert gc.get_threshold() == (before[0], MIDDLE_GENERATION_EVERY, before[2])
        assert before[1] < MIDDLE_GENERATION_EVERY
        # Frozen: a full collection no longer walks what start-up made.
        assert not any(o is made_at_start_up for o in gc.get_objects())
        assert gc.get_freeze_count() > 0
        # Garbage made afterwards is still collected.
        later = _Cycle()
        gone = weakref.ref(later)
        del later
        gc.collect()
        assert gone() is None
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
