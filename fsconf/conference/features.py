"""Issue 22's keys for a member's keypad: *6 count, *5 hands and the floor, *4 recording.

A mixin of `MemberControls` (keypad.py), which dispatches `ActionKind.COUNT`, `HAND` and
`TOGGLE_RECORDING` to the `_do_*` methods here. What each relies on in mod_conference:
docs/meeting-features.md.
"""

from __future__ import annotations

import logging
import os

from fsconf.clock import utcnow
from fsconf.conference.commands import ConferenceApi
from fsconf.conference.room import Member, Room
from fsconf.domain.keypad_grammar import KeyAction
from fsconf.domain.prompts import prompt, spoken_number_files
from fsconf.domain.roles import Role
from fsconf.domain.validate import UnsafeArgument
from fsconf.store.callstore import CallStore

log = logging.getLogger(__name__)


class FeatureKeys:
    room: Room
    member: Member
    api: ConferenceApi
    store: CallStore
    recordings_dir: str

    def tell(self, *keys: str) -> None:
        raise NotImplementedError  # MemberControls plays to this member

    def _do_count(self, action: KeyAction) -> None:
        """How many are present, from FreeSWITCH's own member list (json_list: callers on
        every leg, recording nodes left out), the moderator told apart."""
        room = self.api.json_list()
        members = [m for m in (room or {}).get("members", []) if m.get("type") == "caller"]
        chairs = sum(1 for m in members if (m.get("flags") or {}).get("is_moderator"))
        participants = min(len(members) - chairs, 999)
        files: list[str]
        if participants == 0:
            files = [prompt("no_participants_present").file]
        elif participants == 1:
            files = [prompt("one_participant_present").file]
        else:
            files = [
                prompt("participants_present_before").file,
                *spoken_number_files(participants),
                prompt("participants_present_after").file,
            ]
        files.append(prompt("moderator_present" if chairs else "moderator_not_present").file)
        me = self.member.member_id
        self.api.play_each([(file, me) for file in files])

    def _do_hand(self, action: KeyAction) -> None:
        if self.member.role is Role.MODERATOR:
            self._give_floor()
            return
        if self.member.waiting:
            self.tell("still_waiting")
            return
        if self.member.hand_raised:
            self.room.lower_hand(self.member)
            self.store.set_hand(self.member.attendance_id, None)
            self.tell("hand_lowered")
            return
        at = utcnow()
        self.room.raise_hand(self.member, at)
        self.store.set_hand(self.member.attendance_id, at)
        self.tell("hand_raised")
        name = self.member.name_file or prompt("someone_raised_hand").file
        plays = []
        for chair in self.room.moderators():
            plays += [(name, chair.member_id), (prompt("raised_hand").file, chair.member_id)]
        self.api.play_each(plays)

    def _give_floor(self) -> None:
        target = self.room.longest_raised_hand()
        if target is None:
            self.tell("no_raised_hands")
            return
        self.room.lower_hand(target)
        self.store.set_hand(target.attendance_id, None)
        # A member unmute holds also while mute-all is on: mute-all is `mute
        # non_moderator` plus the room's flag for newcomers, not a lock on each member.
        if self.api.unmute(target.member_id, quiet=True).startswith("+OK"):
            target.muted = False
        me = self.member.member_id
        self.api.play_each([
            (prompt("you_have_the_floor").file, target.member_id),
            (prompt("floor_given").file, me),
        ])

    def _do_toggle_recording(self, action: KeyAction) -> None:
        if not self.room.recording_allowed:
            self.tell("recording_not_allowed")
            return
        # FreeSWITCH's own answer decides (another moderator, or a restart, may have
        # started or stopped it): `recording check`.
        if self.api.recording_check():
            self.api.recording_stop()
            self.room.recording = False
            self.store.stop_recordings(self.room.meeting_id)
            self._tell_everyone("recording_stopped")
            return
        path = self._recording_path()
        try:
            started = self.api.recording_start(path)
        except UnsafeArgument:  # a recordings folder with characters a command cannot carry
            log.warning("conference %s: recordings folder unusable in a command", self.room.number)
            started = False
        if not started:
            self.tell("recording_failed")
            return
        self.room.recording = True
        try:
            self.store.start_recording(
                conference_id=self.room.conference_id, meeting_id=self.room.meeting_id,
                path=path, attendance_id=self.member.attendance_id,
            )
        finally:
            self._tell_everyone("meeting_recorded")

    def _recording_path(self) -> str:
        return recording_path(self.recordings_dir, self.room, self.member.member_id)

    def _tell_everyone(self, key: str) -> None:
        """One play per member (a room-wide play would also reach a member who is held
        for the moderator and hears music): every member hears it, in the room's order."""
        file = prompt(key).file
        self.api.play_each([(file, m.member_id) for m in self.room.present()])



def recording_path(recordings_dir: str, room: Room, member_id: int) -> str:
    """Where a stretch of the meeting's recording goes: per conference, meeting and start."""
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    return os.path.join(
        recordings_dir, room.number, "meetings",
        f"meeting-{int(room.meeting_id)}-{stamp}-{int(member_id)}.wav",
    )
