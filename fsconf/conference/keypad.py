"""A member's keypad, from key presses to mod_conference commands and confirmations.

Each member has its own greenlet running `MemberControls.run`, so one member's prompt or
slow command never delays another member's keys. Confirmations are played to the member
who pressed, through `conference <room> play <file> <member-id>`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol

import gevent
from gevent.event import Event as Flag

from fsconf.conference import takeover
from fsconf.conference.commands import ConferenceApi
from fsconf.conference.features import FeatureKeys
from fsconf.conference.room import Member, Room
from fsconf.domain.keypad_grammar import GrammarSettings, KeyAction, KeypadGrammar
from fsconf.domain.prompts import prompt
from fsconf.domain.roles import Role
from fsconf.domain.states import EndReason
from fsconf.esl.connection import EslError
from fsconf.esl.protocol import Event
from fsconf.esl.server import ControllerStopping
from fsconf.store.callstore import CallStore, RoomFenced, StoreUnavailable

log = logging.getLogger(__name__)

VOLUME_MIN, VOLUME_MAX = -4, 4
# Wake up now and then even without keys, so a lost event cannot park the loop forever.
IDLE_CHECK_SECONDS = 30.0

Inviter = Callable[["MemberControls", str], None]


class MemberLine(Protocol):
    """What the keypad needs of a member's call: an outbound session, or (after a
    controller restart) the inbound socket following that call."""

    uuid: str
    timeout: float
    gone: Flag

    def api(self, command: str, timeout: float | None = None) -> str: ...
    def api_many(self, commands: Sequence[str], timeout: float | None = None) -> list[str]: ...
    def bgapi(self, command: str, job_uuid: str | None = None) -> str: ...
    def new_job_uuid(self) -> str: ...
    def add_listener(self, listener: Callable[[Event], None]) -> None: ...
    def remove_listener(self, listener: Callable[[Event], None]) -> None: ...
    def next_dtmf(self, timeout: float | None) -> tuple[str, float] | None: ...
    def wake(self) -> None: ...


class RunningConference(Protocol):
    """The member's `conference` application (esl RunningApp): done once it has returned."""

    @property
    def done(self) -> bool: ...


class MemberControls(FeatureKeys):
    def __init__(
        self,
        *,
        room: Room,
        member: Member,
        session: MemberLine,
        grammar_settings: GrammarSettings,
        store: CallStore,
        inviter: Inviter | None = None,
        stopping: Callable[[], bool] = lambda: False,
        recordings_dir: str = "",
    ) -> None:
        self.room = room
        self.member = member
        self.session = session
        self.api = ConferenceApi(session.api, room.fs_name, session.api_many)
        self.grammar = KeypadGrammar(member.role, grammar_settings)
        self.inviter = inviter
        self.store = store
        self.stopping = stopping
        self.recordings_dir = recordings_dir

    # -- the loop ----------------------------------------------------------------------------

    def run(self, running: RunningConference) -> EndReason:
        """Serve keys until the member leaves; return how the membership ended."""
        while not running.done and not self.session.gone.is_set():
            if self.stopping():
                # A safe point: no command or database write is half done.
                raise ControllerStopping()
            deadline = self.grammar.deadline
            wait = IDLE_CHECK_SECONDS if deadline is None else max(0.0, deadline - time.monotonic())
            item = self.session.next_dtmf(min(wait, IDLE_CHECK_SECONDS))
            if item is not None:
                actions = self.grammar.feed(item[0], item[1])
            else:
                actions = self.grammar.poll(time.monotonic())
            for action in actions:
                try:
                    self.perform(action)
                except EslError:
                    raise
                except RoomFenced as exc:
                    # Cluster: another node holds the room now; this copy must empty.
                    log.warning("call %s: %s refused: %s", self.member.call_uuid, action, exc)
                    takeover.step_down(self.room, self.api)
                except StoreUnavailable as exc:
                    log.warning("call %s: %s not saved: %s", self.member.call_uuid, action, exc)
        if self.member.removed:
            return EndReason.KICKED  # removed by a moderator before anything else happened
        if self.session.gone.is_set() and not self.room.ending:
            return EndReason.HUNG_UP
        if not self.room.ending:
            self._learn_outside_ending()
        if self.room.ending:
            return self.room_end_reason
        return EndReason.KICKED

    def _learn_outside_ending(self) -> None:
        """The member left without our doing: an operator may have ended the meeting."""
        try:
            reason = self.store.meeting_end_reason(self.room.meeting_id)
        except StoreUnavailable:
            return
        if reason == EndReason.ENDED_BY_OPERATOR:
            self.room.ending = True
            self.room.end_reason = EndReason.ENDED_BY_OPERATOR

    @property
    def room_end_reason(self) -> EndReason:
        return self.room.end_reason or EndReason.ENDED_BY_MODERATOR

    # -- actions -----------------------------------------------------------------------------

    def tell(self, *keys: str) -> None:
        """Confirmations for this member only, in order, in one write."""
        me = self.member.member_id
        self.api.play_each([(prompt(key).file, me) for key in keys])

    def perform(self, action: KeyAction) -> None:
        if self.room.fenced:
            # Cluster: another node took this room over; a stale owner acts on nothing.
            log.warning("call %s: conference %s fenced, %s ignored",
                        self.member.call_uuid, self.room.number, action.kind.name)
            return
        handler = getattr(self, f"_do_{action.kind.name.lower()}")
        try:
            handler(action)
        finally:
            # Logged after the command went out: the caller waits for the effect, not
            # for our log line.
            log.info(
                "call %s conference %s: %s (%s)",
                self.member.call_uuid, self.room.number, action.kind.name,
                self.member.role.value,
            )

    def _do_help(self, action: KeyAction) -> None:
        if self.member.role is Role.MODERATOR:
            self.tell("help_participant", "help_count", "help_moderator", "help_moderator_extra")
        else:
            self.tell("help_participant", "help_participant_extra")

    def _do_toggle_mute(self, action: KeyAction) -> None:
        if self.member.waiting:
            # Held for the moderator: nobody may hear them yet (wait-for-moderator).
            self.tell("still_waiting")
            return
        muted = self.api.toggle_mute(self.member.member_id)
        if muted is None:
            return
        self.member.muted = muted
        self.tell("muted" if muted else "unmuted")

    def _do_toggle_announcements(self, action: KeyAction) -> None:
        self.member.announcements = not self.member.announcements
        self.tell("announcements_on" if self.member.announcements else "announcements_off")

    def _do_roll_call(self, action: KeyAction) -> None:
        me = self.member.member_id
        files = [prompt("roll_call").file]
        for other in self.room.present():
            files.append(other.name_file or prompt("unnamed_caller").file)
            if other.role is Role.MODERATOR:
                files.append(prompt("moderator_marker").file)
        self.api.play_each([(file, me) for file in files])

    def _volume(self, step: str) -> None:
        before = self.member.volume_out
        level = self.api.volume_out(self.member.member_id, step)
        if level is None:
            return
        self.member.volume_out = level
        if level == before and level in (VOLUME_MIN, VOLUME_MAX):
            self.tell("volume_min" if level == VOLUME_MIN else "volume_max")
        else:
            self.tell("volume_down" if step == "down" else "volume_up")

    def _do_volume_down(self, action: KeyAction) -> None:
        self._volume("down")

    def _do_volume_up(self, action: KeyAction) -> None:
        self._volume("up")

    def _do_invalid(self, action: KeyAction) -> None:
        self.tell("invalid_option")

    def _do_moderator_only(self, action: KeyAction) -> None:
        self.tell("moderator_only")

    # -- moderator actions ---------------------------------------------------------------------

    def _do_end_meeting(self, action: KeyAction) -> None:
        self.room.ending = True
        self.room.end_reason = EndReason.ENDED_BY_MODERATOR
        self._save(end_reason=EndReason.ENDED_BY_MODERATOR)
        # kick plays the sound to each member before their conference app returns.
        self.api.kick("all", prompt("meeting_ended").file)

    def _do_remove_last(self, action: KeyAction) -> None:
        target = self.room.last_participant()
        if target is None:
            self.tell("nobody_to_remove")
            return
        target.removed = True
        self.api.kick(target.member_id, prompt("you_were_removed").file)
        self.tell("participant_removed")

    def _do_lock(self, action: KeyAction) -> None:
        if self.api.lock():
            self.room.locked = True
            self._save(locked=True)
        self.tell("conference_now_locked")

    def _do_unlock(self, action: KeyAction) -> None:
        if self.api.unlock():
            self.room.locked = False
            self._save(locked=False)
        self.tell("conference_now_unlocked")

    def _do_mute_all(self, action: KeyAction) -> None:
        self.room.muted_all = True
        self._save(muted_all=True)
        self.api.mute("non_moderator")
        for other in self.room.present():
            if other.role is Role.PARTICIPANT:
                other.muted = True
        self.tell("all_muted")

    def _do_unmute_all(self, action: KeyAction) -> None:
        self.room.muted_all = False
        self._save(muted_all=False)
        self.api.unmute("non_moderator")
        for other in self.room.present():
            if other.role is Role.PARTICIPANT:
                other.muted = False
        self.tell("all_unmuted")

    def _do_invite(self, action: KeyAction) -> None:
        if self.inviter is None or action.number is None:
            self.tell("invalid_option")
            return
        # The invitation takes seconds to minutes; the moderator's keypad stays live.
        gevent.spawn(self.inviter, self, action.number)

    def _save(self, **flags: object) -> None:
        if self.room.epoch:
            # Cluster: only the lease holder at its epoch may write (a stale owner fails).
            self.store.set_room_flags(self.room.conference_id, self.room.epoch,
                                      self.room.meeting_id, **flags)
            return
        self.store.set_meeting_flags(self.room.meeting_id, **flags)
