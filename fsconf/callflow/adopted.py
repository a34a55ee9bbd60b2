"""Calls taken back after a controller restart ("adopted"): FreeSWITCH kept them in
their rooms, but their call sockets died with the old controller. The follower hears
their keys over the inbound Event Socket (conference/follower.py); this serves them with
the same keypad as a live member, closes their rows when they leave, and, in a cluster,
does the same for legs other nodes bridged here and gives up a room taken over meanwhile.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TypeVar

from fsconf.callflow import chairs
from fsconf.callflow.context import CallContext
from fsconf.callflow.invite import make_inviter
from fsconf.callflow.member import close_attendance, release_room, remove_quietly
from fsconf.callflow.roomleg import name_here
from fsconf.conference.commands import ConferenceApi
from fsconf.conference.follower import AdoptedLine, Follower
from fsconf.conference.keypad import MemberControls
from fsconf.conference.room import Member, Room
from fsconf.domain.cluster import HEADER_PREFIX
from fsconf.domain.keypad_grammar import GrammarSettings
from fsconf.domain.prompts import prompt
from fsconf.domain.roles import Role
from fsconf.domain.states import EndReason
from fsconf.esl.connection import EslError
from fsconf.esl.inbound import InboundClient
from fsconf.esl.server import ControllerStopping
from fsconf.store.callstore import StoreUnavailable
from fsconf.store.reconcile import KeptMember

log = logging.getLogger(__name__)
T = TypeVar("T")
# A channel uuid as FreeSWITCH lists it, before it goes into a command.
_CALL_UUID = re.compile(r"^[A-Za-z0-9-]{1,64}$")


class Adoption:
    def __init__(
        self, ctx: CallContext, follower: Follower,
        room_api: Callable[[Room], ConferenceApi | None],
    ) -> None:
        """`room_api`: commands for a room on the node's behalf (the controller's)."""
        self.ctx = ctx
        self.follower = follower
        self.room_api = room_api

    @staticmethod
    def room_legs(inbound: InboundClient, uuids: list[object]) -> dict[int, str]:
        """Cluster: the members that are legs other nodes bridged here, by the attendance
        their X-Fsconf-Attendance header names (checked with its signature when the leg
        was admitted: only admitted legs get into our rooms). Attendance id -> leg."""
        calls = [u for u in uuids if isinstance(u, str) and _CALL_UUID.fullmatch(u)]
        if not calls:
            return {}
        header = f"sip_h_{HEADER_PREFIX}Attendance"
        replies = inbound.api_many([f"uuid_getvar {u} {header}" for u in calls])
        legs: dict[int, str] = {}
        for uuid, reply in zip(calls, replies, strict=True):
            value = reply.strip()
            if value.isdigit() and len(value) <= 18:
                legs[int(value)] = uuid
        return legs

    def adopt(self, kept: KeptMember, info: dict) -> bool:
        room = self.ctx.rooms.ensure(
            kept.fs_conference_name, conference_id=kept.conference_id,
            number=kept.conference_number, language=kept.language, meeting_id=kept.meeting_id,
        )
        if any(m.call_uuid == kept.call_uuid for m in room.members.values()):
            return False  # this controller serves it already
        if self.ctx.cluster is not None and not room.epoch and not room.fenced:
            self._keep_lease(room)
        member = Member(
            member_id=int(info.get("id") or 0), call_uuid=kept.call_uuid,
            attendance_id=kept.attendance_id, role=Role(kept.role), name_file=kept.name_file,
            muted=not info.get("flags", {}).get("can_speak", True),
            volume_out=int(info.get("volume_out") or 0),
            held_elsewhere=kept.held_elsewhere,
        )
        if member.member_id <= 0:
            return False
        # In the room at once (a step-down right after reconciling must see it), with
        # the hand its row kept, in the order the hands went up.
        room.members[member.member_id] = member
        if kept.hand_raised_at is not None and member.role is Role.PARTICIPANT:
            room.raise_hand(member, kept.hand_raised_at)

        def serve(line: AdoptedLine) -> None:
            member.send = line.api
            line.add_listener(lambda ev: room.apply_event(ev)
                              if ev.subclass == "conference::maintenance" else None)
            reason = EndReason.HUNG_UP
            try:
                conference = self.ctx.store.conference_by_id(kept.conference_id)
                if conference is not None:  # issue 22's settings, as a join would set them
                    room.recording_allowed = conference.recording_allowed
                    room.end_with_moderator = conference.end_with_moderator
                    room.moderator_grace_seconds = conference.moderator_grace_seconds
                    room.participants_join_muted = conference.participants_join_muted
                if member.held_elsewhere:
                    member.name_file = name_here(
                        self.ctx, kept.attendance_id, kept.conference_number, kept.call_uuid
                    )
                controls = MemberControls(
                    room=room, member=member, session=line,
                    grammar_settings=GrammarSettings(
                        inter_digit_timeout=self.ctx.settings.ivr.keypad_inter_digit_timeout,
                        invite_timeout=self.ctx.settings.ivr.invite_number_timeout,
                    ),
                    store=self.ctx.store,
                    inviter=make_inviter(self.ctx, conference) if conference else None,
                    stopping=lambda: self.ctx.stopping,
                    recordings_dir=self.ctx.settings.freeswitch.recordings_dir,
                )
                reason = controls.run(line)
            except ControllerStopping:
                raise  # the call goes on; the next controller adopts it again
            except (EslError, StoreUnavailable) as exc:
                log.warning("call %s: lost track of an adopted member: %s", line.uuid, exc)
                reason = EndReason.LOST
            finally:
                self._forget(room, member)
            self._left(kept, line, reason, member, room)

        timeout = self.ctx.settings.controller.command_timeout
        if self.follower.follow(kept.call_uuid, serve, timeout):
            return True
        room.lower_hand(member)
        room.members.pop(member.member_id, None)
        self.ctx.rooms.discard_if_empty(room)
        return False

    def _forget(self, room: Room, member: Member) -> None:
        """An adopted member left the room (or the controller stops)."""
        room.lower_hand(member)
        room.members.pop(member.member_id, None)
        room.departed.add(member.attendance_id)
        if member.role is Role.MODERATOR and not self.ctx.stopping:
            chairs.moderator_left(self.ctx.store, room)
        if self.ctx.rooms.discard_if_empty(room):
            release_room(self.ctx, room)

    def _keep_lease(self, room: Room) -> None:
        """Cluster: a room this node's FreeSWITCH still hosts after a controller restart
        keeps (or, expired meanwhile, re-claims) its lease, so no other node takes it. One
        another node took meanwhile is fenced: its copy here is emptied (_step_down)."""
        cluster = self.ctx.cluster
        assert cluster is not None
        lease = _safely(lambda: cluster.current(room.conference_id)) or _safely(
            lambda: cluster.claim(room.conference_id)
        )
        if lease is not None and lease.node == cluster.node:
            room.epoch = lease.epoch
        elif lease is not None:
            room.fenced = True
            log.warning("conference %s: hosted here but owned by %s (epoch %d)", room.number,
                        lease.node, lease.epoch)
        else:
            log.warning("conference %s: hosted here, lease unknown (database away)",
                        room.number)

    def _left(
        self, kept: KeptMember, line: AdoptedLine, reason: EndReason, member: Member,
        room: Room,
    ) -> None:
        if member.held_elsewhere:
            # A leg another node bridged here: that node keeps the row. Ending the leg
            # ends its bridge there (FINDINGS 15, 33), and its controller records why
            # (or, this copy having been given up, follows the room to its owner).
            remove_quietly(member.name_file)
        else:
            if room.stepped_down:
                reason = EndReason.LOST  # let go with a technical-problem notice
            close_attendance(
                self.ctx.store, kept.attendance_id, kept.call_uuid, reason,
                member_id=member.member_id,
            )
        if (member.held_elsewhere or reason is not EndReason.HUNG_UP) and not line.gone.is_set():
            try:
                line.api(f"uuid_kill {kept.call_uuid}")
            except EslError:
                pass

    def let_go_strangers(
        self, inbound: InboundClient, room: Room, rooms: list[dict], legs: set[str]
    ) -> None:
        """Members of a given-up copy that no row accounts for (a leg whose caller's row
        is closed, a call closed with its meeting): nobody serves them here either."""
        known = {m.call_uuid for m in room.members.values()}
        fs_room = next((r for r in rooms if r.get("conference_name") == room.fs_name), {})
        api = self.room_api(room)
        for m in fs_room.get("members", []):
            uuid, member_id = m.get("uuid"), m.get("id")
            if m.get("type") != "caller" or uuid in known or not isinstance(member_id, int):
                continue
            try:
                if uuid in legs:
                    inbound.api(f"uuid_kill {uuid}")
                elif api is not None:
                    api.kick(member_id, prompt("technical_problem").file)
            except EslError as exc:
                log.warning("conference %s: member %s not let go: %s", room.number,
                            member_id, exc)


def _safely(work: Callable[[], T]) -> T | None:
    try:
        return work()
    except StoreUnavailable as exc:
        log.warning("database unavailable: %s", exc)
        return None
