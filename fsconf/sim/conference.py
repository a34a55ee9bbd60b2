"""mod_conference model: rooms, members, the 'conference' app, API and maintenance events."""

from __future__ import annotations

import itertools
import os
import uuid as uuidlib
import wave
from collections.abc import Callable
from typing import TYPE_CHECKING

import gevent

from fsconf.sim.apps import play_file
from fsconf.sim.channel import in_channel_frame
from fsconf.sim.events import IN_FRAME, Headers, InFrame, lower_names
from fsconf.sim.xmlconf import ConferenceProfile

if TYPE_CHECKING:
    from fsconf.sim.channel import Channel
    from fsconf.sim.clock import Clock
    from fsconf.sim.ports import EventSink, Originator
    from fsconf.sim.sounds import Sounds
    from fsconf.sim.xmlconf import Config

SUBCLASS = "conference::maintenance"

# The names Conference.headers (before its variables) and Member.headers (beyond the
# member's channel headers) give an event, in lower case: see SimEvent's split.
CONFERENCE_FRAME_NAMES = lower_names(
    "Conference-Name", "Conference-Domain", "Conference-Size", "Conference-Ghosts",
    "Conference-Profile-Name", "Conference-Unique-ID",
    "Floor", "Video", "Hear", "See", "Speak", "Talking", "Mute-Detect", "Hold",
    "Member-ID", "Member-Type", "Member-Ghost", "Energy-Level", "Current-Energy",
)
MEMBER_FLAGS = [
    "mute",
    "deaf",
    "vmute",
    "blind",
    "mute-detect",
    "dist-dtmf",
    "skip-dtmf",
    "moderator",
    "nomoh",
    "endconf",
    "mandatory_member_endconf",
    "mintwo",
    "talk-data-events",
    "video-bridge",
    "ghost",
    "join-only",
]


# Conference flags a `conference` application may carry in the same braces as the member
# flags, or in `conference_flags` (conference_utils_set_cflags); they apply only when that
# join creates the room (conference_function: set_cflags right after conference_new).
# Those read in conference_utils_set_cflags' first branches (the full list is longer;
# only wait-mod has an effect the simulator models).
CONFERENCE_FLAGS = frozenset({
    "wait-mod", "audio-always", "video-floor-only", "restart-auto-record", "json-events",
    "livearray-sync",
})


class SimRecording:
    """A recording node (conference_record_thread_run): a member without a channel that
    writes the room's mix to `path` until stopped or the room empties."""

    def __init__(self, conf: Conference, path: str, member_id: int) -> None:
        self.conf = conf
        self.path = path
        self.id = member_id
        self.started = conf.module.clock.time()
        self.stopped = False


class Member:
    def __init__(self, member_id: int, ch: Channel, conf: Conference, flags: set[str]) -> None:
        self.id = member_id
        self.ch = ch
        self.conf = conf
        self.flags = flags
        self.can_speak = "mute" not in flags
        self.can_hear = "deaf" not in flags
        self.volume_in = 0
        self.volume_out = 0
        # The profile's energy-level (the captured nodes: 0); 100 when it sets none.
        level = conf.profile.get("energy-level")
        self.energy = int(level) if level.isdigit() else 100
        self.join_time = conf.module.clock.time()
        self.leave_reason: str | None = None  # kick, hup, ended, hangup
        self.kicked_sound: str | None = None
        self._files: list[tuple[str, bool]] = []  # (file, announce start)
        self._player: gevent.Greenlet | None = None

    @property
    def moderator(self) -> bool:
        return "moderator" in self.flags

    def wake(self) -> None:
        self.ch.wake.set()

    def list_flags(self) -> str:
        out = []
        if self.can_hear:
            out.append("hear")
        if self.can_speak:
            out.append("speak")
        if self.conf.floor == self.id:
            out.append("floor")
        if self.moderator:
            out.append("moderator")
        if "ghost" in self.flags:
            out.append("ghost")
        return "|".join(out)

    def headers(self) -> Headers:
        h: Headers = [("Floor", "true" if self.conf.floor == self.id else "false")]
        h += self.ch.basic_headers()
        h += [
            ("Video", "false"),
            ("Hear", "true" if self.can_hear else "false"),
            ("See", "true"),
            ("Speak", "true" if self.can_speak else "false"),
            ("Talking", "false"),
            ("Mute-Detect", "false"),
            ("Hold", "false"),
            ("Member-ID", str(self.id)),
            ("Member-Type", "moderator" if self.moderator else "member"),
            ("Member-Ghost", "true" if "ghost" in self.flags else "false"),
            ("Energy-Level", str(self.energy)),
            ("Current-Energy", "0"),
        ]
        return h

    def play(self, file: str, announce: bool) -> None:
        """Queue a file for this member alone (conference_member_play_file)."""
        self._files.append((file, announce))
        if self._player is None or self._player.dead:
            self._player = gevent.spawn(self._play_loop)

    def _play_loop(self) -> None:
        mod = self.conf.module
        while self._files and self.leave_reason is None:
            file, _ = self._files.pop(0)
            resolved = mod.sounds.resolve(self.ch, file, self.conf.sound_prefix)
            seconds = resolved[1] if resolved else 0.0
            display = resolved[0] if resolved else file
            mod.clock.sleep(seconds)
            if self.leave_reason is not None:
                break
            ms = int(seconds * 1000)

            def done(d: str = display, ms: int = ms) -> Headers:
                return [
                    *_file_close_headers(ms),
                    ("Action", "play-file-member-done"),
                    *self.headers(),
                    ("File", d),
                ]

            mod.fire(
                self.conf,
                "play-file-member-done",
                "conference_file.c",
                "conference_file_close",
                done,
                uuid=self.ch.uuid,
                action_first=True,
            )


class Conference:
    def __init__(self, module: ConferenceModule, name: str, profile: ConferenceProfile) -> None:
        self.module = module
        self.name = name
        self.profile = profile
        self.uuid = str(uuidlib.uuid4())
        self.members: dict[int, Member] = {}
        self.locked = False
        self.max_members = 0
        self.floor: int | None = None
        self.started = module.clock.time()
        self.domain = profile.get("domain") or module.global_vars.get("domain", "")
        self.sound_prefix: str | None = profile.get("sound-prefix") or None
        self.variables: dict[str, str] = {}
        # CFLAG_WAIT_MOD: set by the creating join's flags, cleared by the first moderator;
        # while set the room plays moh_sound (conference_thread_run).
        self.wait_mod = False
        self.moh_sound: str | None = profile.get("moh-sound") or None
        self.recordings: list[SimRecording] = []  # newest first, as rec_node_head
        self._room_files: list[tuple[str, bool]] = []
        self._player: gevent.Greenlet | None = None

    def headers(self) -> Headers:
        return [
            ("Conference-Name", self.name),
            ("Conference-Domain", self.domain),
            ("Conference-Size", str(len(self.members))),
            ("Conference-Ghosts", "0"),
            ("Conference-Profile-Name", self.profile.name),
            ("Conference-Unique-ID", self.uuid),
            *self.variables.items(),
        ]

    def newest_first(self) -> list[Member]:
        return sorted(self.members.values(), key=lambda m: m.id, reverse=True)

    def play_room(self, file: str, announce: bool) -> None:
        self._room_files.append((file, announce))
        if self._player is None or self._player.dead:
            self._player = gevent.spawn(self._play_loop)

    def _play_loop(self) -> None:
        mod = self.module
        while self._room_files:
            file, _ = self._room_files.pop(0)
            resolved = mod.sounds.resolve(
                None, file, self.sound_prefix or mod.global_vars.get("sound_prefix")
            )
            seconds = resolved[1] if resolved else 0.0
            display = resolved[0] if resolved else file
            mod.clock.sleep(seconds)
            ms = int(seconds * 1000)

            def done(d: str = display, ms: int = ms) -> Headers:
                return [*_file_close_headers(ms), ("Action", "play-file-done"), ("File", d)]

            mod.fire(
                self,
                "play-file-done",
                "conference_file.c",
                "conference_file_close",
                done,
                action_first=True,
            )


def _file_close_headers(ms: int) -> Headers:
    """conference_file_close: how long the file played."""
    return [("seconds", str(ms // 1000)), ("milliseconds", str(ms)), ("samples", str(ms * 8))]


def parse_conference_arg(arg: str) -> tuple[str, str, str | None, set[str]]:
    """name[@profile][+pin][+flags{a|b}] -> (name, profile, pin, flags)."""
    flags: set[str] = set()
    start = arg.find("+flags{")
    if start >= 0:
        end = arg.find("}", start)
        inner = arg[start + 7 : end if end >= 0 else len(arg)]
        flags = {f.strip() for f in inner.replace(",", "|").split("|") if f.strip()}
        arg = arg[:start]
    pin = None
    if "+" in arg:
        arg, pin = arg.split("+", 1)
    name, profile = arg, "default"
    if "@" in arg:
        name, profile = arg.rsplit("@", 1)
    return name, profile, pin, flags


class ConferenceModule:
    def __init__(
        self,
        bus: EventSink,
        clock: Clock,
        sounds: Sounds,
        config: Config,
        global_vars: dict[str, str],
        originator: Originator,
    ) -> None:
        self.bus = bus
        self.clock = clock
        self.sounds = sounds
        self.config = config
        self.global_vars = global_vars
        self.originator = originator
        self.rooms: dict[str, Conference] = {}
        self._ids = itertools.count(1)

    # --- events -----------------------------------------------------------------------

    def fire(
        self,
        conf: Conference,
        action: str,
        file: str,
        func: str,
        extra: Callable[[], Headers] | None = None,
        *,
        uuid: str | None = None,
        member: Member | None = None,
        action_first: bool = False,
    ) -> None:
        def build() -> Headers:
            h = conf.headers()
            if action_first:
                return h + (extra() if extra else [])
            if member is not None:
                h += member.headers()
            h.append(("Action", action))
            return h + (extra() if extra else [])

        def own() -> Headers:
            tail = extra() if extra else []
            return tail if action_first else [("Action", action), *tail]

        framed_member = None if action_first else member  # whose headers build() adds

        def frame(lname: str) -> str | None | InFrame:
            # conf.headers() ends with the conference's variables, which may be named
            # anything: a name among them is looked up in the whole event.
            if conf.variables and any(key.lower() == lname for key in conf.variables):
                return IN_FRAME
            if lname == "unique-id":
                return framed_member.ch.uuid if framed_member is not None else None
            if lname in CONFERENCE_FRAME_NAMES or (
                framed_member is not None and in_channel_frame(lname)
            ):
                return IN_FRAME
            return None

        self.bus.fire(
            "CUSTOM",
            (file, func, 1),
            build,
            subclass=SUBCLASS,
            uuid=uuid or (member.ch.uuid if member else None),
            own=own,
            frame=frame,
        )

    def member_event(
        self, m: Member, action: str, func: str, extra: Callable[[], Headers] | None = None
    ) -> None:
        self.fire(m.conf, action, "conference_api.c", func, extra, member=m)

    # --- the application --------------------------------------------------------------

    def app(self, ch: Channel, arg: str) -> str | None:
        name, profile_name, pin, flags = parse_conference_arg(arg)
        profile = self.config.conference_profiles.get(profile_name) or ConferenceProfile(
            profile_name, {}
        )
        extra_flags = ch.get_var("conference_member_flags")
        if extra_flags:
            flags |= {f for f in extra_flags.replace(",", "|").split("|") if f}
        cflags = {f for f in flags if f in CONFERENCE_FLAGS}
        room_flags = ch.get_var("conference_flags")
        if room_flags:
            cflags |= {f for f in room_flags.replace(",", "|").split("|") if f}
        ch.variables["conference_name"] = name
        ch.answer()
        conf = self.rooms.get(name)
        if conf is None:
            conf = Conference(self, name, profile)
            if conf.sound_prefix is None:
                # conference_new: without a sound-prefix param the creating channel's
                # sound_prefix becomes the conference's.
                conf.sound_prefix = ch.get_var("sound_prefix") or None
            conf.wait_mod = "wait-mod" in cflags
            if conf.moh_sound is None:
                # "Set MOH from variable if not set"
                conf.moh_sound = ch.get_var("conference_moh_sound") or None
            limit = ch.get_var("conference_max_members") or profile.get("max-members", "0")
            conf.max_members = int(limit) if limit.lstrip("-").isdigit() and int(limit) > 1 else 0
            self.rooms[name] = conf
            self.fire(
                conf,
                "conference-create",
                "mod_conference.c",
                "conference_new",
                lambda: [("Action", "conference-create")],
                action_first=True,
            )
        if conf.max_members and len(conf.members) >= conf.max_members:
            self._local_play(ch, conf, profile.get("max-members-sound"))
            self._maybe_destroy(conf)
            return None
        # conference_function: `enforce_security` is true for inbound legs unless the
        # channel variable conference_enforce_security says otherwise (switch_true); "don't
        # allow more callers if the conference is locked, unless we invited them".
        enforce = ch.get_var("conference_enforce_security")
        enforce_security = ch.direction == "inbound" if enforce is None else switch_true(enforce)
        if conf.locked and enforce_security:
            self._local_play(ch, conf, profile.get("locked-sound"))
            self._maybe_destroy(conf)
            return None
        member_id = int(ch.get_var("conference_member_id") or 0) or next(self._ids)
        member = Member(member_id, ch, conf, flags)
        conf.members[member_id] = member
        ch.member = member
        ch.variables["conference_member_id"] = str(member_id)
        ch.variables["conference_moderator"] = "true" if member.moderator else "false"
        self.fire(conf, "add-member", "conference_member.c", "conference_member_add", member=member)
        if conf.wait_mod and member.moderator:
            # conference_member_add: the first moderator clears CFLAG_WAIT_MOD and, with
            # more than one member, stops the music (conference_file_stop, no event).
            conf.wait_mod = False
        if conf.floor is None:
            self._set_floor(conf, member)
        if profile.get("enter-sound"):
            conf.play_room(profile.get("enter-sound"), False)
        if len(conf.members) == 1 and profile.get("alone-sound"):
            conf.play_room(profile.get("alone-sound"), False)
        # Member loop: DTMF is always dequeued (caller-controls none: dropped after the event).
        ch.media_wait(None, lambda d: False, until=lambda: member.leave_reason is not None)
        if member.leave_reason is None:
            member.leave_reason = "hangup"
        if member_id in conf.members:
            self.remove(conf, member)
        ch.member = None
        if member.leave_reason == "kick" and ch.up:
            # The kick's own sound argument wins over the profile's kicked-sound; "none"
            # plays nothing.  The app returns once it has played (D_kick_then_wait).
            self._local_play(ch, conf, member.kicked_sound or profile.get("kicked-sound"))
        if (
            member.leave_reason == "ended"
            and ch.up
            and ch.get_var("hangup_after_conference") != "false"
        ):
            ch.hangup("NORMAL_CLEARING")
        return None

    def _local_play(self, ch: Channel, conf: Conference, sound: str | None) -> None:
        """conference_file_local_play / the kicked sound: switch_ivr_play_file on the
        member's own channel (PLAYBACK_* events), relative to the conference sound prefix,
        keys do not interrupt it."""
        if not sound or sound.lower() == "none" or not ch.up:
            return
        play_file(ch, ch.expand(sound), terms="", prefix=conf.sound_prefix)

    def _set_floor(self, conf: Conference, member: Member | None) -> None:
        old = conf.floor
        conf.floor = member.id if member else None

        def build() -> Headers:
            h: Headers = [("Action", "floor-change"), ("Old-ID", str(old) if old else "none")]
            if member is not None:
                h += conf.headers() + member.headers()
            h.append(("New-ID", str(member.id) if member else "none"))
            return h

        self.fire(
            conf,
            "floor-change",
            "conference_member.c",
            "conference_member_set_floor_holder",
            build,
            uuid=member.ch.uuid if member else None,
            action_first=True,
        )

    def remove(self, conf: Conference, member: Member) -> None:
        conf.members.pop(member.id, None)
        if conf.floor == member.id:
            self._set_floor(conf, None)
        self.fire(conf, "del-member", "conference_member.c", "conference_member_del", member=member)
        member.wake()
        ends = "endconf" in member.flags or ("mandatory_member_endconf" in member.flags)
        if ends and conf.members:
            for other in list(conf.members.values()):
                other.leave_reason = "ended"
                other.wake()
        if conf.members and conf.profile.get("exit-sound"):
            conf.play_room(conf.profile.get("exit-sound"), False)
        self._maybe_destroy(conf)

    def _maybe_destroy(self, conf: Conference) -> None:
        if conf.members or self.rooms.get(conf.name) is not conf:
            return
        # The record threads run while the room has members (conference_record.c).
        for rec in list(conf.recordings):
            self.end_recording(rec)
        del self.rooms[conf.name]
        self.fire(
            conf,
            "conference-destroy",
            "mod_conference.c",
            "conference_thread_run",
            lambda: [("Action", "conference-destroy")],
            action_first=True,
        )

    # --- recordings (conference_record.c) --------------------------------------------

    def start_recording(self, conf: Conference, path: str) -> SimRecording:
        rec = SimRecording(conf, path, next(self._ids))  # next_member_id()
        if not _write_wav(path, 0):  # switch_core_file_open, with its folder made first
            rec.stopped = True
            self.fire(
                conf, "start-recording", "conference_record.c", "conference_record_thread_run",
                lambda: [("Action", "start-recording"), ("Path", path),
                         ("Error", "File could not be opened for recording")],
                action_first=True,
            )
            return rec
        conf.recordings.insert(0, rec)
        self.fire(
            conf, "start-recording", "conference_record.c", "conference_record_thread_run",
            lambda: [("Action", "start-recording"), ("Path", path)], action_first=True,
        )
        return rec

    def end_recording(self, rec: SimRecording) -> None:
        """The record thread leaves its loop: the file is closed, stop-recording fires."""
        if rec.stopped:
            return
        rec.stopped = True
        conf = rec.conf
        if rec in conf.recordings:
            conf.recordings.remove(rec)
        ms = int((self.clock.time() - rec.started) * 1000)
        samples = ms * 8
        _write_wav(rec.path, samples)
        self.fire(
            conf, "stop-recording", "conference_record.c", "conference_record_thread_run",
            lambda: [
                ("Action", "stop-recording"), ("Path", rec.path),
                ("Other-Recordings", "true" if conf.recordings else "false"),
                ("Samples-Out", str(samples)), ("Samplerate", "8000"),
                ("Milliseconds-Elapsed", str(ms)),
            ],
            action_first=True,
        )

    def bgdial_result(self, name: str, result: str, job: str, peer: str | None) -> None:
        conf = self.rooms.get(name)
        if conf is None:
            conf = Conference(
                self,
                name,
                self.config.conference_profiles.get("default")
                or ConferenceProfile("default", {}),
            )
        self.fire(
            conf,
            "bgdial-result",
            "mod_conference.c",
            "conference_outcall_run",
            lambda: [
                ("Action", "bgdial-result"),
                ("Result", result),
                ("Job-UUID", job),
                ("Peer-UUID", peer or ""),
            ],
            action_first=True,
        )



# A simulated recording holds at most this much silence: the file exists and plays, without
# a long simulated meeting writing megabytes in tests.
_MAX_RECORDED_SAMPLES = 8000 * 5


def _write_wav(path: str, samples: int) -> bool:
    try:
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        with wave.open(path, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(8000)
            out.writeframes(b"\x00\x00" * min(samples, _MAX_RECORDED_SAMPLES))
    except OSError:
        return False  # FreeSWITCH logs "Error Opening File [path]"
    return True


def switch_true(value: str) -> bool:
    """switch_utils.h switch_true(): yes/on/true/t/enabled/active/allow or a non-zero number."""
    text = value.strip().lower()
    if text in ("yes", "on", "true", "t", "enabled", "active", "allow"):
        return True
    try:
        return int(text) != 0
    except ValueError:
        return False
