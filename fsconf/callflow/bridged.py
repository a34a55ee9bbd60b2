"""A caller whose room lives on another node: bridge them there, and re-home on its death.

This controller keeps the caller's own leg and attendance row; the owner node's
controller hosts the member and serves its keys (DTMF crosses the bridge: FINDINGS 9-10).
What the captures (G_two_nodes_bridge FINDINGS) say we rely on:
- a far side that ends the member hangs up its leg; our bridge then returns with the
  caller still up (15, 16), and `originate_disposition` SUCCESS;
- a far node that dies sends nothing: only `media_timeout` on the bridged leg ends the
  bridge, with `bridge_hangup_cause` MEDIA_TIMEOUT (20, 21);
- a bridge that fails hangs the caller up unless `continue_on_fail` is set (27);
- the bridge variables are sticky across bridges, `originate_disposition` is not (18, 26).
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import replace
from enum import Enum
from typing import TYPE_CHECKING

import gevent

from fsconf.domain.cluster import HEADER_PREFIX, RoomTicket, room_user, sign
from fsconf.domain.states import EndReason
from fsconf.domain.validate import safe_arg
from fsconf.store.cluster import Lease

if TYPE_CHECKING:
    from fsconf.callflow.member import Membership

log = logging.getLogger(__name__)
_HOST_PORT = re.compile(r"^[A-Za-z0-9.-]+:[0-9]{1,5}$")


# Meeting end reasons that end every member: a bridged caller's row says the same.
_ENDED_FOR_ALL = (
    EndReason.ENDED_BY_MODERATOR, EndReason.ENDED_BY_OPERATOR, EndReason.ENDED_WITH_MODERATOR,
)


class Outcome(Enum):
    ENDED = "ended"  # the owner ended the member (kick, end of meeting, its hang-up)
    OWNER_LOST = "owner lost"  # the owner died under the bridge (media timeout)
    UNREACHABLE = "unreachable"  # the bridge failed (node down, refused, stale epoch)


class NoOwner(RuntimeError):
    """No node took the room over in time."""


def outcome_of(disposition: str | None, hangup_cause: str | None) -> Outcome:
    """How a bridge to the owner ended, from its CHANNEL_EXECUTE_COMPLETE variables."""
    if disposition != "SUCCESS":
        return Outcome.UNREACHABLE
    if hangup_cause == "MEDIA_TIMEOUT":
        return Outcome.OWNER_LOST
    return Outcome.ENDED


class BridgedMember:
    def __init__(self, membership: Membership, lease: Lease, meeting_id: int) -> None:
        self.m = membership
        self.lease = lease
        self.meeting_id = meeting_id
        ctx = membership.ctx
        assert ctx.cluster is not None
        self.cluster = ctx.cluster
        self.settings = ctx.settings.cluster
        self.line = membership.line

    def run(self, *, moving: bool = False) -> EndReason:
        """Bridge to the owner (or host the room here) until the caller is done with the
        meeting, following the room whenever its owner dies or gives it up. `moving`:
        the caller was just let out of this node's stale copy (and told "one moment")."""
        lease = self.lease
        told = moving
        self.line.session.queue("set", "continue_on_fail=true")
        self.m.ctx.in_conference.add(self.line.uuid)
        try:
            if moving:
                # Cut off from the database long enough to lose the room, this node may
                # have looked dead: a survivor then closed the call as lost. It is not.
                if self.cluster.reclaim_call(self.m.attendance_id):
                    log.warning("call %s: row closed as lost while this node was cut off; "
                                "open again", self.line.uuid)
                lease = self._rehome(lease)
            while True:
                if lease.node == self.cluster.node:
                    reason = self._host_here(lease)
                    if reason is not None and not self.m.moved_on():
                        return reason
                    if reason is not None:  # this node lost the room again meanwhile
                        lease = replace(lease, epoch=self.m.forget_room())
                        told = True  # the stale copy said "one moment"
                    log.warning("call %s: conference %s no longer here (epoch %d)",
                                self.line.uuid, self.m.conference.number, lease.epoch)
                else:
                    outcome = self._bridge(lease)
                    if outcome is Outcome.ENDED and not self._owner_moved(lease):
                        return self._ended_reason()
                    log.warning(
                        "call %s: owner %s of conference %s %s (epoch %d)", self.line.uuid,
                        lease.node, self.m.conference.number,
                        "let it go" if outcome is Outcome.ENDED else outcome.value, lease.epoch,
                    )
                if not told:
                    self.line.play("one_moment", wait=False)
                    told = True
                lease = self._rehome(lease)
        except NoOwner:
            log.error("call %s: no node took over conference %s", self.line.uuid,
                      self.m.conference.number)
            self.line.play("technical_problem", "goodbye")
            return EndReason.REJECTED_TECHNICAL
        finally:
            self.m.ctx.in_conference.discard(self.line.uuid)

    def _host_here(self, lease: Lease) -> EndReason | None:
        """Host the room on this node (placement chose it, or we took it over): the
        caller comes over with the meeting's lock and mute-all, their raised hand and the
        recording; a participant re-homed before any chair came is held again (the new
        room starts without wait-mod unless this join's flags set it). None: the lease
        was lost again before the caller got in."""
        admitted = self.cluster.admission(self.m.attendance_id, self.m.conference.number,
                                          lease.epoch)
        if admitted is None:
            return None
        self.m.seated_earlier = True
        return self.m.enter(
            self.meeting_id, locked=admitted.locked, muted_all=admitted.muted_all,
            epoch=lease.epoch, chair_arrived=admitted.chair_arrived,
            recording=admitted.recording, hand_raised_at=admitted.hand_raised_at,
        )

    def _owner_moved(self, lease: Lease) -> bool:
        """The owner let the member go without ending the meeting, and another node (or
        epoch) holds the room now: a stale owner emptying its copy (conference/takeover.py),
        not a removal. The caller follows the lease."""
        _, meeting_end = self.m.ctx.store.attendance_state(self.m.attendance_id)
        if meeting_end is not None:
            return False
        now = self.cluster.current(self.m.conference.id)
        return now is not None and (now.node, now.epoch) != (lease.node, lease.epoch)

    def _rehome(self, failed: Lease) -> Lease:
        """The room's next owner; a caller joining a recorded meeting there is told so
        first (the recording carries on there, in a new stretch: conference/takeover.py)."""
        lease = self._next_owner(failed)
        if self.m.ctx.store.recording_running(self.meeting_id):
            self.line.play("meeting_recorded", wait=False)
        return lease

    def dial_string(self, lease: Lease, now: float) -> str:
        address = lease.internal_sip or ""
        if not _HOST_PORT.fullmatch(address):
            raise ValueError(f"node {lease.node} has no usable internal_sip {address!r}")
        ticket = RoomTicket(
            room=self.m.conference.number, role=self.m.role,
            attendance_id=self.m.attendance_id, epoch=lease.epoch,
            expires=int(now) + self.settings.signature_seconds,
        )
        headers = sign(ticket, self.settings.secret)
        variables = [f"media_timeout={int(self.settings.media_timeout_ms)}"] + [
            f"sip_h_{HEADER_PREFIX}{name}={value}" for name, value in headers.items()
        ]
        user = room_user(self.m.conference.number)
        profile = self.settings.internal_profile
        return safe_arg("{" + ",".join(variables) + "}" + f"sofia/{profile}/{user}@{address}")

    def _bridge(self, lease: Lease) -> Outcome:
        try:
            arg = self.dial_string(lease, time.time())
        except ValueError as exc:
            log.warning("call %s: cannot bridge: %s", self.line.uuid, exc)
            return Outcome.UNREACHABLE
        session = self.line.session
        running = session.start("bridge", arg)
        # The bridge lasts the meeting; a hang-up fails the wait with CallGone.
        result = running.wait(None)
        session.raise_if_gone()
        return outcome_of(result.var("originate_disposition"), result.var("bridge_hangup_cause"))

    def _next_owner(self, failed: Lease) -> Lease:
        """Wait for the failed owner's lease to expire, then take the room (epoch + 1) or
        follow whoever did. Polls the database: the lease expiry is on its clock."""
        deadline = time.monotonic() + 2 * self.settings.lease_seconds + 5
        pause = min(0.5, self.settings.lease_seconds / 4)
        while time.monotonic() < deadline:
            self.line.session.raise_if_gone()
            lease = self.cluster.owner(self.m.conference.id)
            if (lease.node, lease.epoch) != (failed.node, failed.epoch):
                log.info("call %s: conference %s now on %s (epoch %d)", self.line.uuid,
                         self.m.conference.number, lease.node, lease.epoch)
                return lease
            gevent.sleep(pause)
        raise NoOwner()

    def _ended_reason(self) -> EndReason:
        """The owner let the member go: ended for all, or this member removed. The owner
        writes the meeting's end reason before its `kick all` (keypad *30, chairs.py),
        so it is there when the bridge returns."""
        _, meeting_end = self.m.ctx.store.attendance_state(self.m.attendance_id)
        if meeting_end in _ENDED_FOR_ALL:
            return EndReason(meeting_end)
        return EndReason.KICKED

