"""What every call greenlet shares: settings, the database door, the live rooms."""

from __future__ import annotations

from dataclasses import dataclass, field

from gevent.event import AsyncResult

from fsconf.conference.room import RoomRegistry
from fsconf.config import Settings
from fsconf.domain.dialout_policy import DialOutPolicy
from fsconf.domain.rooms import room_name
from fsconf.store.callstore import CallStore
from fsconf.store.clusterstore import ClusterStore


@dataclass
class CallContext:
    settings: Settings
    store: CallStore
    policy: DialOutPolicy
    rooms: RoomRegistry = field(default_factory=RoomRegistry)
    # Invitations waiting for their callee: dial-out attempt id -> "joined" | "declined" | ...
    invites: dict[int, AsyncResult] = field(default_factory=dict)
    # Calls that are in a conference now (their join flow is done).
    in_conference: set[str] = field(default_factory=set)
    # Set by a graceful stop: member loops let go of their calls at the next safe point.
    stopping: bool = False
    # Cluster mode (settings [cluster] node set): leases, placement, node rows.
    cluster: ClusterStore | None = None

    @property
    def profile(self) -> str:
        return self.settings.freeswitch.profile

    def fs_conference_name(self, conference_number: str) -> str:
        return room_name(conference_number)
