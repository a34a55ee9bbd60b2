"""Lease claim and renew latency against PostgreSQL, with nodes racing as they would.

Each worker process is one node: it runs the store's own statements (fsconf.store.cluster
claim / renew / release), each in its own unit of work as the controller does, and times
the unit of work (begin, statement, commit). A round, every worker in step (a barrier):

1. new rooms: every node claims the same fresh rooms in its own shuffled order (the first
   callers' race: one INSERT wins, the others meet a live lease);
2. renew: each node renews the leases it won, three times (as every lease_seconds / 3);
3. a live lease: each node claims the rooms the others won (refused, no race);
4. release: the owners let their rooms go (expire now);
5. takeover: every node claims every room again (an expired lease: one wins, epoch + 1).

Every race must have one winner per room; the result says so.
"""

from __future__ import annotations

import multiprocessing as mp
import random
import time
from typing import Any

from bench.common import summary_ms

KINDS = ("new_room", "live_lease", "takeover", "renew", "release")


def _worker(index: int, url: str, warm_room: int, rooms: list[list[int]],
            lease_seconds: float, barrier: Any, results: Any) -> None:
    from fsconf.store import cluster
    from fsconf.store.session import Database

    db = Database(url)
    node = f"claims-{index}"
    rng = random.Random(index)
    times: dict[str, list[float]] = {k: [] for k in KINDS}
    won_by_round: list[list[tuple[int, int]]] = []
    stolen_live = 0

    def timed(kind: str, work: Any) -> Any:
        t0 = time.perf_counter()
        with db.unit_of_work() as s:
            out = work(s)
        times[kind].append(time.perf_counter() - t0)
        return out

    def claim_all(kind: str, ids: list[int]) -> list[tuple[int, int]]:
        order = list(ids)
        rng.shuffle(order)
        won = []
        for cid in order:
            lease = timed(kind, lambda s, c=cid: cluster.claim(s, c, node, lease_seconds))
            if lease is not None:
                won.append((cid, lease.epoch))
        return won

    try:
        # Untimed: the pool's first connection and SQLAlchemy's first compile of each
        # statement, which a running controller paid long ago.
        for _ in range(2):
            with db.unit_of_work() as s:
                warm = cluster.claim(s, warm_room, node, lease_seconds)
                if warm is not None:
                    cluster.renew(s, warm_room, node, warm.epoch, lease_seconds)
                    cluster.release(s, warm_room, node, warm.epoch)
        for ids in rooms:
            barrier.wait()
            mine = claim_all("new_room", ids)
            barrier.wait()
            for _ in range(3):
                for cid, epoch in mine:
                    timed("renew", lambda s, c=cid, e=epoch: cluster.renew(
                        s, c, node, e, lease_seconds))
            barrier.wait()
            theirs = sorted(set(ids) - {cid for cid, _ in mine})
            stolen = claim_all("live_lease", theirs)
            stolen_live += len(stolen)
            barrier.wait()
            for cid, epoch in mine:
                timed("release", lambda s, c=cid, e=epoch: cluster.release(s, c, node, e))
            barrier.wait()
            taken = claim_all("takeover", ids)
            barrier.wait()
            for cid, epoch in taken:
                timed("release", lambda s, c=cid, e=epoch: cluster.release(s, c, node, e))
            won_by_round.append(mine + stolen + taken)
        results.put((index, times, won_by_round, stolen_live))
    finally:
        db.dispose()


def measure(url: str, conference_ids: list[int], workers: int, rounds: int,
            lease_seconds: float) -> dict[str, Any]:
    """Run the rounds over `conference_ids`: the first `workers` are each worker's own
    warm-up room, the rest split into `rounds` sets of fresh rooms."""
    warm, measured = conference_ids[:workers], conference_ids[workers:]
    per_round = len(measured) // rounds
    rooms = [measured[i * per_round:(i + 1) * per_round] for i in range(rounds)]
    ctx = mp.get_context("spawn")  # a fresh interpreter per node: no inherited engine
    barrier = ctx.Barrier(workers, timeout=300)
    results = ctx.Queue()
    procs = [ctx.Process(target=_worker,
                         args=(i, url, warm[i], rooms, lease_seconds, barrier, results))
             for i in range(workers)]
    started = time.monotonic()
    for p in procs:
        p.start()
    got = [results.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    pooled: dict[str, list[float]] = {k: [] for k in KINDS}
    wins: dict[tuple[int, int], int] = {}
    for _, times, won_by_round, _stolen in got:
        for kind, values in times.items():
            pooled[kind] += values
        for won in won_by_round:
            for cid, epoch in won:
                wins[(cid, epoch)] = wins.get((cid, epoch), 0) + 1
    claims = pooled["new_room"] + pooled["live_lease"] + pooled["takeover"]
    races = rounds * per_round * 2  # each room: its first claim and its takeover
    return {
        "workers": workers, "rounds": rounds, "rooms_per_round": per_round,
        "lease_seconds": lease_seconds, "wall_s": round(time.monotonic() - started, 1),
        "claim": summary_ms(claims),
        "by_kind": {k: summary_ms(v) for k, v in pooled.items()},
        # every room won exactly once at epoch 1 and once at epoch 2, never twice
        "races": races,
        "races_with_one_winner": sum(1 for n in wins.values() if n == 1),
        "races_with_two_winners": sum(1 for n in wins.values() if n > 1),
        "live_leases_taken": sum(g[3] for g in got),  # must be 0
    }
