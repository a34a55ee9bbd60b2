"""Entering the meeting: name, seat, head count, join, keypad — and leaving it cleanly.

Shared by callers who dialled in and callees a moderator invited.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Callable
from dataclasses import replace

import gevent
from gevent.event import AsyncResult

from fsconf.callflow import chairs
from fsconf.callflow.context import CallContext
from fsconf.callflow.line import PhoneLine
from fsconf.conference import takeover
from fsconf.conference.commands import ConferenceApi
from fsconf.conference.features import recording_path
from fsconf.conference.keypad import Inviter, MemberControls
from fsconf.conference.room import Member, Room
from fsconf.domain.keypad_grammar import GrammarSettings
from fsconf.domain.prompts import prompt
from fsconf.domain.roles import Role
from fsconf.domain.states import EndReason
from fsconf.esl.protocol import Event
from fsconf.esl.session import RunningApp
from fsconf.store.call_queries import ConferenceInfo, SeatOutcome
from fsconf.store.callstore import CallStore, StoreUnavailable

log = logging.getLogger(__name__)
# A recorded name is a few seconds; anything bigger is not shared through the database.
MAX_NAME_BYTES = 1_000_000

_REFUSALS = {
    SeatOutcome.SUSPENDED: ("service_suspended", EndReason.REJECTED_SUSPENDED),
    SeatOutcome.LOCKED: ("conference_locked", EndReason.REJECTED_LOCKED),
    SeatOutcome.FULL: ("conference_full", EndReason.REJECTED_FULL),
}


class Membership:
    """One caller's time in one meeting; `run` returns how it ended."""

    def __init__(
        self,
        ctx: CallContext,
        line: PhoneLine,
        conference: ConferenceInfo,
        role: Role,
        attendance_id: int,
        *,
        may_pass_lock: bool = False,
        inviter: Inviter | None = None,
        on_joined: Callable[[], None] | None = None,
    ) -> None:
        self.ctx = ctx
        self.line = line
        self.conference = conference
        self.role = role
        self.attendance_id = attendance_id
        self.may_pass_lock = may_pass_lock
        self.inviter = inviter
        self.on_joined = on_joined
        self.fs_name = ctx.fs_conference_name(conference.number)
        self.name_file: str | None = None
        self.member: Member | None = None
        self.room: Room | None = None
        # Cluster: the caller's own leg is on another node, whose controller keeps the
        # attendance row; this node only hosts the member (callflow/roomleg.py).
        self.held_elsewhere = False
        # Seated earlier (bridged here, or re-homed): mod_conference's lock must let it in.
        self.seated_earlier = False

    def run(self) -> EndReason:
        if self.conference.record_names:
            self.name_file = self._record_name()
        cluster = self.ctx.cluster
        # Cluster: the room's owner node (placed and claimed now for a new room).
        lease = cluster.owner(self.conference.id) if cluster is not None else None
        seat = self.ctx.store.claim_seat(
            conference=self.conference,
            attendance_id=self.attendance_id,
            role=self.role,
            fs_conference_name=self.fs_name,
            fs_node=lease.node if lease is not None else self.ctx.settings.node,
            may_pass_lock=self.may_pass_lock,
            name_recording_path=self.name_file,
        )
        if seat.outcome is not SeatOutcome.JOINED:
            key, reason = _REFUSALS[seat.outcome]
            self.line.play(key, "goodbye")
            return reason
        assert seat.meeting_id is not None
        if seat.recording:
            # Told before entering, so they can still hang up (issue 22).
            self.line.play("meeting_recorded", wait=False)
        if cluster is not None and self.name_file:
            share_name(self.ctx, self.attendance_id, self.name_file)
        if self.conference.announce_count:
            self._announce_count(seat.present_before)
        if lease is not None and cluster is not None and lease.node != cluster.node:
            from fsconf.callflow.bridged import BridgedMember  # it builds on this module

            return BridgedMember(self, lease, seat.meeting_id).run()
        reason = self.enter(
            seat.meeting_id, locked=seat.locked, muted_all=seat.muted_all,
            epoch=lease.epoch if lease is not None else 0,
            recording=seat.recording, chair_arrived=seat.chair_arrived,
        )
        if lease is not None and self.moved_on():
            # This node lost the room while the caller was in it: on to its owner, the
            # way a caller of another node goes (the row stays open: the call goes on).
            from fsconf.callflow.bridged import BridgedMember

            stale = replace(lease, epoch=self.forget_room())
            return BridgedMember(self, stale, seat.meeting_id).run(moving=True)
        return reason

    def moved_on(self) -> bool:
        """The stale copy of the room let this caller go to the room's owner."""
        return (
            self.member is not None and self.member.moved
            and not self.line.session.gone.is_set()
        )

    def forget_room(self) -> int:
        """Out of this node's (stale) copy of the room, call and row still open: the
        lease epoch the copy was held under."""
        epoch = self.room.epoch if self.room is not None else 0
        self.leave()
        self.room = self.member = None
        return epoch

    def enter(
        self, meeting_id: int, *, locked: bool, muted_all: bool, epoch: int,
        recording: bool = False, chair_arrived: bool = True,
        hand_raised_at: dt.datetime | None = None,
    ) -> EndReason:
        """Join this node's mod_conference room (the seat is taken) and serve the keypad.

        `epoch` > 0: a clustered room this node holds under that lease epoch. A leg
        bridged in from another node is held for the chair like a local caller; the
        owner judges `chair_arrived` when it admits the leg (roomleg.py). A caller who
        comes over from the room's previous owner brings their raised hand
        (`hand_raised_at`, from their row) and, with `recording` (a recording row is
        open), the recording: conference/takeover.py."""
        # Wait for the chair: mod_conference's own `wait-mod` conference flag (set by the
        # member whose join creates the room; cleared by the first `moderator` member to
        # join, which also stops the music: conference_member_add) plays the profile's
        # moh-sound while set (conference_thread_run), and `mute` keeps the waiting
        # callers from being heard.
        waiting = (
            self.role is Role.PARTICIPANT and self.conference.wait_for_moderator
            and not chair_arrived
        )
        if waiting:
            self.line.play("waiting_for_moderator")
        muted = self.role is Role.PARTICIPANT and (
            muted_all or self.conference.participants_join_muted or waiting
        )
        running, member_id = self._join(muted, waiting)
        if member_id is None:
            # FreeSWITCH refused the member although the database let it in (its own lock
            # or max-members disagreed): tell the caller rather than leave them in silence.
            log.warning("call %s: conference %s refused the member", self.line.uuid, self.fs_name)
            self.line.play("conference_locked", "goodbye")
            return EndReason.REJECTED_LOCKED
        room = self.ctx.rooms.ensure(
            self.fs_name,
            conference_id=self.conference.id,
            number=self.conference.number,
            language=self.conference.language,
            meeting_id=meeting_id,
        )
        new_room = not room.members
        room.locked, room.muted_all = locked, muted_all
        if epoch:
            room.epoch, room.fenced = epoch, False
        room.wait_for_moderator = self.conference.wait_for_moderator
        room.end_with_moderator = self.conference.end_with_moderator
        room.moderator_grace_seconds = self.conference.moderator_grace_seconds
        room.recording_allowed = self.conference.recording_allowed
        room.participants_join_muted = self.conference.participants_join_muted
        if not epoch:
            room.recording = room.recording or recording
        self.room = room
        self.member = Member(
            member_id=member_id,
            call_uuid=self.line.uuid,
            attendance_id=self.attendance_id,
            role=self.role,
            name_file=self.name_file,
            muted=muted,
            waiting=waiting,
            wait_started=time.monotonic(),
            send=self.line.session.api,
            held_elsewhere=self.held_elsewhere,
            movable=not self.held_elsewhere,
        )
        room.members[member_id] = self.member
        if hand_raised_at is not None and self.role is Role.PARTICIPANT and not waiting:
            room.raise_hand(self.member, hand_raised_at)  # raised under the previous owner
        self.ctx.in_conference.add(self.line.uuid)
        self.line.session.add_listener(self._follow_member_events)
        if epoch and new_room and locked:
            # A room re-homed to this node: its lock comes back with it (the database
            # kept it; mod_conference's lock died with the old owner).
            ConferenceApi(self.line.session.api, self.fs_name, self.line.session.api_many).lock()
        self._announce_arrival()
        if self.role is Role.MODERATOR:
            chairs.moderator_arrived(self.ctx.store, room, self._api())
        elif chair_arrived:
            # No-op while a chair is here or the countdown runs; in a room taken over
            # without its chair (lost with the old owner's node) the countdown starts.
            chairs.moderator_left(self.ctx.store, room)
        if epoch and recording and not room.recording:
            takeover.resume_recording(
                room, self._api(), self.ctx.store,
                recording_path(self.ctx.settings.freeswitch.recordings_dir, room, member_id),
            )
        if self.on_joined is not None:
            self.on_joined()
        log.info(
            "call %s joined conference %s as %s (member %s)",
            self.line.uuid, self.conference.number, self.role.value, member_id,
        )
        controls = MemberControls(
            room=room,
            member=self.member,
            session=self.line.session,
            grammar_settings=GrammarSettings(
                inter_digit_timeout=self.ctx.settings.ivr.keypad_inter_digit_timeout,
                invite_timeout=self.ctx.settings.ivr.invite_number_timeout,
            ),
            store=self.ctx.store,
            inviter=self.inviter,
            stopping=lambda: self.ctx.stopping,
            recordings_dir=self.ctx.settings.freeswitch.recordings_dir,
        )
        return controls.run(running)

    @property
    def member_id(self) -> int | None:
        """mod_conference's id for this caller, once it is in the conference."""
        return self.member.member_id if self.member is not None else None

    def leave(self) -> None:
        """Forget the member; called whatever way the call ended."""
        self.ctx.in_conference.discard(self.line.uuid)
        if self.room is not None and self.member is not None:
            if self.member.waiting:
                self.member.waiting = False
                waited = time.monotonic() - self.member.wait_started
                self.ctx.store.set_waited(self.attendance_id, int(waited))
            self.room.lower_hand(self.member)
            self.room.members.pop(self.member.member_id, None)
            self.room.departed.add(self.attendance_id)
            if self.role is Role.MODERATOR and not self.ctx.stopping:
                # (Stopping: the chair is still in the room; the next controller sees it.)
                chairs.moderator_left(self.ctx.store, self.room)
            if self.ctx.rooms.discard_if_empty(self.room):
                release_room(self.ctx, self.room)

    def _api(self) -> ConferenceApi:
        session = self.line.session
        return ConferenceApi(session.api, self.fs_name, session.api_many)

    # -- steps ----------------------------------------------------------------------------------

    def _record_name(self) -> str | None:
        folder = os.path.join(self.ctx.settings.freeswitch.recordings_dir, self.conference.number)
        _ensure_folder(folder)
        path = os.path.join(folder, f"{self.line.uuid}.wav")
        self.line.play("record_name", "tone", wait=False)  # `record` starts when it ends
        recording = self.line.record(path)
        if recording.milliseconds > 0 and os.path.exists(path):
            return path
        remove_quietly(path)
        return None

    def _announce_count(self, present: int) -> None:
        """Played before the keypad is heard: the last prompt is waited for, so keys
        pressed while the caller listens never reach the meeting's keypad."""
        if present == 0:
            self.line.play("entering_conference", "you_are_first")
        elif present == 1:
            self.line.play("entering_conference", "one_participant_present")
        else:
            self.line.play("entering_conference", "participants_present_before", wait=False)
            self.line.say_number(present, wait=False)
            self.line.play("participants_present_after")

    def _join(self, muted: bool, waiting: bool = False) -> tuple[RunningApp, int | None]:
        flags = (["moderator"] if self.role is Role.MODERATOR else []) + (
            ["mute"] if muted else []
        ) + (["wait-mod"] if waiting else [])
        arg = f"{self.fs_name}@{self.ctx.profile}"
        if flags:
            arg += "+flags{" + "|".join(flags) + "}"
        added = AsyncResult()

        def on_add(event: Event) -> None:
            if (
                event.subclass == "conference::maintenance"
                and event.get("Action") == "add-member"
                and event.uuid == self.line.uuid
                and not added.ready()
            ):
                added.set(int(event.get("Member-ID") or "0") or None)

        if not self.held_elsewhere:
            # Should this controller go away, the call re-enters the dialplan's socket
            # action when it leaves the conference; this tells the next controller who it is.
            self.line.session.queue("set", f"fsconf_attendance_id={int(self.attendance_id)}")
        if self.role is Role.MODERATOR or self.seated_earlier:
            # mod_conference refuses an inbound leg while the room is locked unless the
            # channel says conference_enforce_security=false (conference_function); the
            # chair must get back into the meeting they locked (SPEC.md). It also skips the
            # profile's PIN prompt, which our profile does not have; max-members still holds.
            self.line.session.queue("set", "conference_enforce_security=false")
        self.line.session.listen_for_keys()
        self.line.session.clear_dtmf()
        self.line.session.add_listener(on_add)
        try:
            running = self.line.join(arg)
            gevent.wait([added, running.result], count=1, timeout=self.line.session.timeout)
        finally:
            self.line.session.remove_listener(on_add)
        self.line.session.raise_if_gone()
        member_id = added.get() if added.ready() else None
        return running, member_id

    def _announce_arrival(self) -> None:
        # One play per listener: a room-wide `conference play` reaches every member who
        # can hear, this caller and those who pressed *2 included (docs/join-announcements.md).
        assert self.room is not None and self.member is not None
        session = self.line.session
        api = ConferenceApi(session.api, self.fs_name, session.api_many)
        name = self.name_file or _file("unnamed_caller")
        plays = []
        for other in self.room.others(self.member.member_id):
            if other.announcements:
                plays += [(name, other.member_id), (_file("has_joined"), other.member_id)]
        api.play_each(plays)

    def _follow_member_events(self, event: Event) -> None:
        if event.subclass == "conference::maintenance" and self.room is not None:
            self.room.apply_event(event)


def share_name(ctx: CallContext, attendance_id: int, path: str) -> None:
    """Cluster: keep the recorded name in the database too, so that whichever node hosts
    the room can play it (nodes share no disk). A few seconds of 8 kHz audio."""
    assert ctx.cluster is not None
    try:
        with open(path, "rb") as f:
            audio = f.read(MAX_NAME_BYTES + 1)
    except OSError as exc:
        log.warning("name %s not shared: %s", path, exc)
        return
    if len(audio) > MAX_NAME_BYTES:
        return
    try:
        ctx.cluster.save_name(attendance_id, audio)
    except StoreUnavailable as exc:
        # The meeting goes on; another node would announce this caller without a name.
        log.warning("name %s not shared: %s", path, exc)


def release_room(ctx: CallContext, room: Room) -> None:
    """The last member left a clustered room this node hosted: let its lease go."""
    if ctx.cluster is None or not room.epoch or room.fenced or ctx.stopping:
        return  # stopping: FreeSWITCH keeps the room, and the next controller its lease
    try:
        ctx.cluster.release(room.conference_id, room.epoch)
    except StoreUnavailable as exc:
        log.warning("conference %s: lease not released (it expires): %s", room.number, exc)


def close_attendance(
    store: CallStore, attendance_id: int, call_uuid: str, reason: EndReason,
    unused_name: str | None = None, member_id: int | None = None,
) -> None:
    """Record how a call ended; the last one out also takes the meeting's names along."""
    departure = store.finish(attendance_id, call_uuid, reason, member_id)
    if departure is None:
        return  # deferred: the database is away; the retry closes the row later
    if departure.meeting_closed:
        for path in departure.name_files:
            remove_quietly(path)
    elif unused_name:
        remove_quietly(unused_name)  # recorded a name but never got in


def _file(key: str) -> str:
    return prompt(key).file


def _ensure_folder(folder: str) -> None:
    """Checked on every call (FreeSWITCH hangs up a `record` it cannot open, so a folder
    a clean-up job removed must come back), in one mkdir for the usual case."""
    try:
        os.mkdir(folder)
    except FileExistsError:
        pass
    except FileNotFoundError:
        os.makedirs(folder, exist_ok=True)


def remove_quietly(path: str | None) -> None:
    if not path:
        return
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("could not remove %s: %s", path, exc)
