"""The live rooms this controller serves: who is in, in which order, with which state.

Kept true from two sides: our own actions, and the member-scoped conference::maintenance
events FreeSWITCH sends on each member's socket (an operator's mute through the inbound
socket shows up here too).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from fsconf.domain.roles import Role
from fsconf.domain.states import EndReason
from fsconf.esl.protocol import Event

_sequence = itertools.count(1)


@dataclass
class Member:
    member_id: int
    call_uuid: str
    attendance_id: int
    role: Role
    name_file: str | None
    muted: bool = False
    announcements: bool = True
    volume_out: int = 0
    removed: bool = False
    # Join order within this controller; FreeSWITCH's member ids also rise, but a
    # reconnecting moderator keeps an old id on re-entry, so we keep our own order.
    seq: int = field(default_factory=lambda: next(_sequence))
    # Issue 22: a raised hand (*5); held for the moderator (wait-for-moderator), since when
    # (monotonic seconds); the member's own socket, for work done on the room's behalf
    # (ending it after the chair left) when the member who started it is gone.
    hand_raised: bool = False
    hand_raised_at: dt.datetime | None = None
    waiting: bool = False
    wait_started: float = 0.0
    send: Callable[[str], str] | None = field(default=None, repr=False, compare=False)
    # Cluster. A leg another node bridged here (that node keeps the caller and the row);
    # a member served over its own call socket (it can be bridged on to another node);
    # set when this node lost the room: the member is on its way to the room's owner.
    held_elsewhere: bool = False
    movable: bool = False
    moved: bool = False


@dataclass
class Room:
    fs_name: str
    conference_id: int
    number: str
    language: str
    meeting_id: int
    members: dict[int, Member] = field(default_factory=dict)
    locked: bool = False
    muted_all: bool = False
    ending: bool = False
    end_reason: EndReason | None = None
    invites_in_progress: int = 0
    # Issue 22: the conference's settings, read at the join that made this room.
    wait_for_moderator: bool = False
    end_with_moderator: bool = False
    moderator_grace_seconds: int = 30
    recording_allowed: bool = True
    participants_join_muted: bool = False
    recording: bool = False
    # Raised hands by member id, longest raised first.
    hands: list[int] = field(default_factory=list)
    # The grace period after the last moderator left (a gevent Greenlet), if running.
    end_timer: Any = None
    # Attendance ids of the calls that have left this room (a chair among them is not
    # "on the way" when the grace period ends).
    departed: set[int] = field(default_factory=set)
    # A takeover's recording restart is under way (one member's greenlet does it).
    resuming_recording: bool = False

    def moderators(self) -> list[Member]:
        return [m for m in self.present() if m.role is Role.MODERATOR]

    def raise_hand(self, member: Member, at: dt.datetime | None = None) -> None:
        """Queue the hand by the time it went up: a hand raised under the room's previous
        owner (restored from its row when the caller comes over) goes before later ones."""
        member.hand_raised = True
        member.hand_raised_at = at
        if member.member_id in self.hands:
            return
        position = len(self.hands)
        if at is not None:
            for i, other_id in enumerate(self.hands):
                other = self.members.get(other_id)
                other_at = other.hand_raised_at if other is not None else None
                if other_at is not None and other_at > at:
                    position = i
                    break
        self.hands.insert(position, member.member_id)

    def lower_hand(self, member: Member) -> None:
        member.hand_raised = False
        member.hand_raised_at = None
        if member.member_id in self.hands:
            self.hands.remove(member.member_id)

    def longest_raised_hand(self) -> Member | None:
        """The member who raised a hand first and is still here with it raised."""
        for member_id in list(self.hands):
            member = self.members.get(member_id)
            if member is not None and not member.removed and member.hand_raised:
                return member
            self.hands.remove(member_id)  # left meanwhile
        return None
    # Cluster: the lease epoch under which this node hosts the room (0: single node).
    # Writes for the room carry it; a takeover elsewhere makes them fail (fencing).
    epoch: int = 0
    fenced: bool = False
    # Its copy has been emptied for the room's new owner (conference/takeover.py).
    stepped_down: bool = False

    def others(self, member_id: int) -> Iterator[Member]:
        return (m for m in self.members.values() if m.member_id != member_id and not m.removed)

    def present(self) -> list[Member]:
        return sorted((m for m in self.members.values() if not m.removed), key=lambda m: m.seq)

    def last_participant(self) -> Member | None:
        """The participant who joined last; moderators are never chosen."""
        candidates = [
            m for m in self.members.values() if m.role is Role.PARTICIPANT and not m.removed
        ]
        return max(candidates, key=lambda m: m.seq, default=None)

    def apply_event(self, event: Event) -> None:
        """Follow FreeSWITCH's member events for state we did not change ourselves."""
        try:
            member_id = int(event.get("Member-ID") or "0")
        except ValueError:
            return
        member = self.members.get(member_id)
        if member is None:
            return
        action = event.get("Action")
        if action == "mute-member":
            member.muted = True
        elif action == "unmute-member":
            member.muted = False
        elif action == "volume-out-member":
            try:
                member.volume_out = int(event.get("Volume-Level") or member.volume_out)
            except ValueError:
                pass


class RoomRegistry:
    def __init__(self) -> None:
        self._rooms: dict[str, Room] = {}

    def get(self, fs_name: str) -> Room | None:
        return self._rooms.get(fs_name)

    def ensure(self, fs_name: str, **kwargs: object) -> Room:
        room = self._rooms.get(fs_name)
        # A copy this node gave up (takeover.step_down) is never joined again.
        if (
            room is None or room.stepped_down
            or room.meeting_id != kwargs.get("meeting_id", room.meeting_id)
        ):
            room = Room(fs_name=fs_name, **kwargs)  # type: ignore[arg-type]
            self._rooms[fs_name] = room
        return room

    def discard_if_empty(self, room: Room) -> bool:
        if room.members:
            return False
        if self._rooms.get(room.fs_name) is room:
            del self._rooms[room.fs_name]
        return True

    def __iter__(self) -> Iterator[Room]:
        return iter(list(self._rooms.values()))

    def __len__(self) -> int:
        return len(self._rooms)
