"""The controller's door to the cluster tables: one short unit of work per question."""

from __future__ import annotations

from typing import Any

from fsconf.domain.cluster import place_room
from fsconf.domain.states import EndReason
from fsconf.store import call_queries, cluster
from fsconf.store.callstore import CallStore
from fsconf.store.cluster import Lease, NodeRow


class ClusterStore:
    def __init__(self, calls: CallStore, node: str, internal_sip: str | None,
                 lease_seconds: float, max_members: int = 0,
                 esl_address: str | None = None, duties: CallStore | None = None) -> None:
        self.calls = calls
        # Heartbeat, lease renewals and the dead-node sweep: on a pool of their own when
        # given, so that call traffic queueing for connections (fifty callers waiting on
        # one conference's row lock) never holds a renewal up past the lease.
        self.duties = duties or calls
        self.esl_address = esl_address
        self.node = node
        self.internal_sip = internal_sip
        self.lease_seconds = lease_seconds
        self.max_members = max_members

    def beat(self, *, started: bool = False) -> None:
        self.duties._run(lambda s: cluster.beat(
            s, self.node, self.internal_sip, started=started, esl_address=self.esl_address
        ))

    def owner(self, conference_id: int) -> Lease:
        """The room's live owner; without one, place the room and claim it (one statement).

        A node other than ours may be chosen (drained, loaded): we claim for it, and it
        keeps the lease once our caller's leg arrives there (or it expires unused)."""

        def work(s: Any) -> Lease:
            for _ in range(3):
                live = cluster.current(s, conference_id)
                if live is not None:
                    return live
                target = place_room(
                    self.node, cluster.node_loads(s, self.lease_seconds), self.max_members
                )
                won = cluster.claim(s, conference_id, target, self.lease_seconds)
                if won is not None:
                    return won
            raise RuntimeError(f"no owner for conference {conference_id}")  # pragma: no cover

        return self.calls._run(work)

    def claim(self, conference_id: int) -> Lease | None:
        """Claim the room for this node (first caller, or a takeover after expiry)."""
        return self.calls._run(
            lambda s: cluster.claim(s, conference_id, self.node, self.lease_seconds)
        )

    def current(self, conference_id: int) -> Lease | None:
        return self.calls._run(lambda s: cluster.current(s, conference_id))

    def renew(self, conference_id: int, epoch: int) -> bool:
        return self.duties._run(
            lambda s: cluster.renew(s, conference_id, self.node, epoch, self.lease_seconds)
        )

    def release(self, conference_id: int, epoch: int) -> None:
        self.calls._run(lambda s: cluster.release(s, conference_id, self.node, epoch))

    def set_flags(self, meeting_id: int, conference_id: int, epoch: int, **values: Any) -> None:
        """Lock / mute-all, fenced by our epoch (raises cluster.Fenced when stale)."""
        self.calls._run(
            lambda s: cluster.set_meeting_flags_fenced(
                s, meeting_id, conference_id, self.node, epoch, values
            )
        )

    def admission(self, attendance_id: int, number: str, epoch: int) -> cluster.Admission | None:
        return self.calls._run(
            lambda s: cluster.admission(
                s, attendance_id=attendance_id, number=number, node=self.node, epoch=epoch
            )
        )

    def meeting_flags(self, meeting_id: int) -> tuple[bool, bool]:
        return self.calls._run(lambda s: cluster.meeting_flags(s, meeting_id))

    def chair_arrived(self, meeting_id: int) -> bool:
        return self.calls._run(lambda s: cluster.chair_arrived(s, meeting_id))

    def nodes(self) -> list[NodeRow]:
        return self.calls._run(lambda s: cluster.list_nodes(s, self.lease_seconds))

    def save_name(self, attendance_id: int, audio: bytes) -> None:
        self.calls._run(lambda s: cluster.save_name(s, attendance_id, audio))

    def load_name(self, attendance_id: int) -> bytes | None:
        return self.calls._run(lambda s: cluster.load_name(s, attendance_id))

    def reclaim_call(self, attendance_id: int) -> bool:
        """This node's call, wrongly closed as lost while the node was cut off, is open
        again (see cluster.reclaim_call)."""
        return self.calls._run(lambda s: cluster.reclaim_call(s, attendance_id, self.node))

    def close_dead_nodes_calls(self) -> list[str]:
        """Close as lost the open calls whose leg a dead node held (its heartbeat expired
        without a graceful stop), at its last heartbeat; the call uuids closed."""
        rows = self.duties._run(lambda s: cluster.dead_nodes_open_calls(s, self.lease_seconds))
        closed = []
        for attendance_id, call_uuid, at in rows:

            def close(s: Any, a: int = attendance_id, t: Any = at) -> None:
                call_queries.finish_attendance(s, a, EndReason.LOST, t)

            self.duties._run(close)
            closed.append(call_uuid)
        return closed
