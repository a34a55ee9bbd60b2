"""mod_conference model: rooms, members, the 'conference' app, API and maintenance events."""

from __future__ import annotations

import itertools
import json
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import gevent

from fsconf.sim.apps import play_file
from fsconf.sim.channel import in_channel_frame
from fsconf.sim.events import IN_FRAME, Headers, InFrame, lower_names
from fsconf.sim.originate import split_originate
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
        self.energy = 100
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
        ch.variables["conference_name"] = name
        ch.answer()
        conf = self.rooms.get(name)
        if conf is None:
            conf = Conference(self, name, profile)
            if conf.sound_prefix is None:
                # conference_new: without a sound-prefix param the creating channel's
                # sound_prefix becomes the conference's.
                conf.sound_prefix = ch.get_var("sound_prefix") or None
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
        if conf.locked and ch.direction == "inbound":
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
            self._remove(conf, member)
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

    def _remove(self, conf: Conference, member: Member) -> None:
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
        del self.rooms[conf.name]
        self.fire(
            conf,
            "conference-destroy",
            "mod_conference.c",
            "conference_thread_run",
            lambda: [("Action", "conference-destroy")],
            action_first=True,
        )

    # --- API --------------------------------------------------------------------------

    def api(self, args: str) -> str:
        """The `conference` API verb: a room verb from ROOM_VERBS or a member verb from
        MEMBER_VERBS (all sharing one target syntax), or dial/bgdial."""
        argv = args.split()
        if not argv:
            return "-ERR Conference command, not specified.\nTry 'help'\n"
        first = argv[0]
        if first == "list" and len(argv) == 1 or (first == "list" and argv[1:2] != ["count"]):
            return self._list_all()
        if first == "count":
            return str(len(self.rooms))
        if first == "json_list":
            return _cjson([self._json(c) for c in self.rooms.values()]) if self.rooms else "[]"
        if len(argv) < 2:
            return "Conference command, not specified.\nTry 'help'\n"
        name, sub, rest = first, argv[1], argv[2:]
        if sub in ("dial", "bgdial"):
            return self._dial(name, sub, rest)
        conf = self.rooms.get(name)
        if conf is None:
            return f"-ERR Conference {name} not found\n"
        verb = sub.replace("-", "_")
        room_verb = ROOM_VERBS.get(verb)
        if room_verb is not None:
            return room_verb(self, conf, rest)
        member_verb = MEMBER_VERBS.get(verb)
        if member_verb is None:
            return f"-ERR Conference command '{sub}' not found.\n"
        return self._targets(
            conf,
            rest[0] if rest else None,
            member_verb.usage,
            lambda m: member_verb.apply(self, m, rest[1:]),
        )

    def _list_all(self) -> str:
        if not self.rooms:
            return "+OK No active conferences.\n"
        out = []
        for conf in self.rooms.values():
            n = len(conf.members)
            flags = (
                "locked|" if conf.locked else ""
            ) + "running|answered|enforce_min|dynamic|exit_sound|enter_sound|json_status"
            out.append(
                f"+OK Conference {conf.name} ({n} member{'s' if n != 1 else ''} rate: "
                f"8000{' locked' if conf.locked else ''} flags: {flags})\n"
            )
            out.append(self._api_list(conf, []))
        return "".join(out)

    def _api_list(self, conf: Conference, rest: list[str]) -> str:
        if rest[:1] == ["count"]:
            return str(len(conf.members))
        lines = []
        for m in conf.newest_first():
            p = m.ch.profile
            lines.append(
                f"{m.id};{m.ch.name};{m.ch.uuid};{p.caller_id_name};"
                f"{p.caller_id_number};{m.list_flags()};{m.volume_in};{m.volume_out};"
                f"{m.energy}\n"
            )
        return "".join(lines)

    def _api_count(self, conf: Conference, rest: list[str]) -> str:
        return str(len(conf.members))

    def _api_json_list(self, conf: Conference, rest: list[str]) -> str:
        return _cjson([self._json(conf)])

    def _json(self, conf: Conference) -> dict[str, object]:
        now = self.clock.time()
        obj: dict[str, object] = {
            "conference_name": conf.name,
            "member_count": len(conf.members),
            "ghost_count": 0,
            "rate": 8000,
            "run_time": int(now - conf.started),
            "conference_uuid": conf.uuid,
            "canvas_count": 0,
            "max_bw_in": 0,
            "force_bw_in": 0,
            "video_floor_packets": 0,
            "locked": conf.locked,
            "destruct": False,
            "wait_mod": False,
            "audio_always": False,
            "running": True,
            "answered": True,
            "enforce_min": True,
            "bridge_to": False,
            "dynamic": True,
            "exit_sound": True,
            "enter_sound": True,
            "recording": False,
            "video_bridge": False,
            "video_floor_only": False,
            "video_rfc4579": False,
        }
        if conf.max_members > 0:
            obj["max_members"] = conf.max_members
        obj["variables"] = dict(conf.variables)
        members = []
        for m in conf.newest_first():
            members.append(
                {
                    "type": "caller",
                    "id": m.id,
                    "flags": {
                        "can_hear": m.can_hear,
                        "can_see": True,
                        "can_speak": m.can_speak,
                        "hold": False,
                        "mute_detect": False,
                        "talking": False,
                        "has_video": False,
                        "video_bridge": False,
                        "has_floor": conf.floor == m.id,
                        "is_moderator": m.moderator,
                        "end_conference": "endconf" in m.flags,
                        "mandatory_member_end_conference": "mandatory_member_endconf" in m.flags,
                        "pass_digits": False,
                    },
                    "uuid": m.ch.uuid,
                    "caller_id_name": m.ch.profile.caller_id_name,
                    "caller_id_number": m.ch.profile.caller_id_number,
                    "join_time": int(now - m.join_time),
                    "last_talking": 0,
                    "energy": m.energy,
                    "volume_in": m.volume_in,
                    "volume_out": m.volume_out,
                    "output-volume": m.volume_out,
                    "input-volume": m.volume_in,
                }
            )
        obj["members"] = members
        return obj

    def _targets(
        self, conf: Conference, target: str | None, usage: str, apply: Callable[[Member], str]
    ) -> str:
        if target is None:
            return usage
        if target == "all":
            return "".join(apply(m) for m in conf.newest_first())
        if target == "last":
            members = conf.newest_first()
            return apply(members[0]) if members else ""
        if target == "non_moderator":
            out = []
            for m in conf.newest_first():
                out.append(f"Skipping moderator (member id {m.id}).\n" if m.moderator else apply(m))
            return "".join(out)
        if "=" in target:
            var, _, value = target.partition("=")
            for m in conf.newest_first():
                if m.ch.get_var(var) == value:
                    return apply(m)
            return "-ERR Non-Existant member\n"
        if not target.isdigit() or int(target) == 0:
            return usage
        member = conf.members.get(int(target))
        if member is None:
            return f"-ERR Non-Existant ID {target}\n"
        return apply(member)
    # --- member verbs: (module, member, arguments after the target) -> reply line ------

    def _mute(self, m: Member, on: bool, quiet: bool) -> str:
        m.can_speak = not on
        if not quiet:
            sound = m.conf.profile.get("muted-sound" if on else "unmuted-sound")
            if sound:
                m.play(sound, False)
        action = "mute-member" if on else "unmute-member"
        self.member_event(m, action, "conference_api_sub_" + ("mute" if on else "unmute"))
        return f"+OK {'mute' if on else 'unmute'} {m.id}\n"

    def _deaf(self, m: Member, on: bool) -> str:
        m.can_hear = not on
        self.member_event(
            m,
            "deaf-member" if on else "undeaf-member",
            "conference_api_sub_" + ("deaf" if on else "undeaf"),
        )
        return f"+OK {'deaf' if on else 'undeaf'} {m.id}\n"

    def _leave(self, m: Member, how: str, sound: str | None) -> str:
        action = "kick-member" if how == "kick" else "hup-member"
        self.member_event(m, action, "conference_api_sub_" + how)
        m.leave_reason = how
        m.kicked_sound = sound
        self._remove(m.conf, m)
        return f"+OK {'kicked' if how == 'kick' else 'hup'} {m.id}\n"

    def _volume(self, m: Member, attr: str, value: str | None) -> str:
        label = "IN" if attr == "volume_in" else "OUT"
        if value is not None:
            current = getattr(m, attr)
            if value == "up":
                new = current + 1
            elif value == "down":
                new = current - 1
            else:
                try:
                    new = int(value)
                except ValueError:
                    new = 0
            setattr(m, attr, max(-4, min(4, new)))
            level = getattr(m, attr)
            self.member_event(
                m,
                attr.replace("_", "-") + "-member",
                "conference_api_sub_" + attr,
                lambda: [("Volume-Level", str(level))],
            )
        return f"+OK Volume {label} {m.id} = {getattr(m, attr)}\n"

    def _energy(self, m: Member, value: str | None) -> str:
        if value is not None:
            new = (
                m.energy + 200
                if value == "up"
                else m.energy - 200
                if value == "down"
                else int(value)
                if value.isdigit()
                else m.energy
            )
            m.energy = max(0, min(1800, new))
            self.member_event(
                m,
                "energy-level-member",
                "conference_api_sub_energy",
                lambda: [("Energy-Level", str(m.energy))],
            )
        return f"Energy {m.id} = {m.energy}\n"

    # --- room verbs: (module, conference, arguments) -> reply ---------------------------

    def _set_lock(self, conf: Conference, on: bool) -> str:
        """lock / unlock: the room flag, the profile's sound to the room, the event."""
        verb = "lock" if on else "unlock"
        conf.locked = on
        sound = conf.profile.get(f"is-{verb}ed-sound")
        if sound:
            conf.play_room(sound, False)
        self.fire(
            conf,
            verb,
            "conference_api.c",
            f"conference_api_sub_{verb}",
            lambda: [("Action", verb)],
            action_first=True,
        )
        return f"+OK {conf.name} {verb}ed\n"

    def _api_lock(self, conf: Conference, rest: list[str]) -> str:
        return self._set_lock(conf, True)

    def _api_unlock(self, conf: Conference, rest: list[str]) -> str:
        return self._set_lock(conf, False)

    def _api_play(self, conf: Conference, rest: list[str]) -> str:
        usage = "play <file_path> [async|<member_id> [nomux]]"
        if not rest:
            return usage
        file = rest[0]
        if len(rest) > 1 and rest[1] != "async":
            member = conf.members.get(int(rest[1])) if rest[1].isdigit() else None
            if (
                member is None
                or self.sounds.resolve(member.ch, file, conf.sound_prefix) is None
            ):
                return f"-ERR Member: {abs(hash(rest[1])) % 1000000000} not found.\n{usage}"
            self.member_event(
                member, "play-file-member", "conference_api_sub_play", lambda: [("File", file)]
            )
            member.play(file, True)
            return f"+OK (play) Playing file {file} to member {member.id}\n"
        is_async = "true" if rest[1:2] == ["async"] else "false"
        self.fire(
            conf,
            "play-file",
            "conference_api.c",
            "conference_api_sub_play",
            lambda: [("Action", "play-file"), ("File", file), ("Async", is_async)],
            action_first=True,
        )
        if (
            not conf.members
            or self.sounds.resolve(
                None, file, conf.sound_prefix or self.global_vars.get("sound_prefix")
            )
            is None
        ):
            return f"-ERR (play) File: {file} not found.\n"
        conf.play_room(file, True)
        return f"+OK (play) Playing file {file}\n"

    def _api_stop(self, conf: Conference, rest: list[str]) -> str:
        n = len(conf._room_files)
        conf._room_files.clear()
        return f"+OK Stopped {n} files.\n"

    def _api_say(self, conf: Conference, rest: list[str]) -> str:
        return "-ERR (say) Error!\nsay <text>"

    def _api_get(self, conf: Conference, rest: list[str]) -> str:
        key = rest[0] if rest else ""
        values = {
            "run_time": str(int(self.clock.time() - conf.started)),
            "count": str(len(conf.members)),
            "count_ghosts": "0",
            "max_members": str(conf.max_members),
            "rate": "8000",
            "profile_name": conf.profile.name,
            "sound_prefix": conf.sound_prefix or "",
            "caller_id_name": conf.profile.get("caller-id-name"),
            "caller_id_number": conf.profile.get("caller-id-number"),
            "is_locked": "locked" if conf.locked else "",
            "endconference_grace_time": "0",
            "uuid": conf.uuid,
            "wait_mod": "",
        }
        return values.get(key, "get <parameter-name>")

    def _api_set(self, conf: Conference, rest: list[str]) -> str:
        if len(rest) < 2:
            return (
                "set <max_members|sound_prefix|caller_id_name|caller_id_number|"
                "endconference_grace_time> <value>"
            )
        key, value = rest[0], rest[1]
        if key == "max_members":
            old = str(conf.max_members)
            conf.max_members = int(value) if value.isdigit() else conf.max_members
            return old
        if key == "sound_prefix":
            old = conf.sound_prefix or ""
            conf.sound_prefix = value
            return old
        return (
            "set <max_members|sound_prefix|caller_id_name|caller_id_number|"
            "endconference_grace_time> <value>"
        )

    def _dial(self, name: str, sub: str, rest: list[str]) -> str:
        """dial / bgdial <endpoint> [<cid_num> [<cid_name>]]: originate into the room."""
        if not rest:
            return "-ERR Bad Args\n"
        room = self.rooms.get(name)
        profile = room.profile.name if room is not None else "default"
        bpart = f"&conference({name}@{profile})"
        variables, endpoint = split_originate(rest[0])[:2]
        # conference_outcall passes <cid_num> <cid_name> as the originate caller id.
        if len(rest) > 1:
            variables.setdefault("origination_caller_id_number", rest[1])
        if len(rest) > 2:
            variables.setdefault("origination_caller_id_name", " ".join(rest[2:]))
        originate = self.originator.originate
        if sub == "bgdial":
            job = str(uuidlib.uuid4())

            def run() -> None:
                result = originate(variables, endpoint, bpart, None)
                ok = not isinstance(result, str)
                self.bgdial_result(
                    name,
                    "SUCCESS" if ok else str(result),
                    job,
                    None if isinstance(result, str) else result.uuid,
                )

            gevent.spawn(run)
            return f"+OK Job-UUID: {job}\n"
        result = originate(variables, endpoint, bpart, None)
        cause = result if isinstance(result, str) else "SUCCESS"
        return f"+OK Call Requested: result: [{cause}]\n"

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


def _cjson(value: object, depth: int = 0) -> str:
    """cJSON_Print formatting: tab indentation, ':\\t' separators, arrays on one line."""
    if isinstance(value, dict):
        if not value:
            return "{\n" + "\t" * depth + "}"
        items = [
            "\t" * (depth + 1) + json.dumps(k) + ":\t" + _cjson(v, depth + 1)
            for k, v in value.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + "\t" * depth + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_cjson(v, depth + 1) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class MemberVerb:
    """A conference API verb applied to each member its target names."""

    usage: str  # the reply to a missing or malformed target
    apply: Callable[[ConferenceModule, Member, list[str]], str]  # args after the target


_TARGET = "<[member_id|all]|last|non_moderator>"


def _arg(args: list[str]) -> str | None:
    return args[0] if args else None


MEMBER_VERBS: dict[str, MemberVerb] = {
    "mute": MemberVerb(
        f"mute {_TARGET} [<quiet>]", lambda mod, m, a: mod._mute(m, True, a[:1] == ["quiet"])
    ),
    "unmute": MemberVerb(
        f"unmute {_TARGET} [<quiet>]", lambda mod, m, a: mod._mute(m, False, a[:1] == ["quiet"])
    ),
    "tmute": MemberVerb(
        f"tmute {_TARGET} [<quiet>]",
        lambda mod, m, a: mod._mute(m, m.can_speak, a[:1] == ["quiet"]),
    ),
    "deaf": MemberVerb(f"deaf {_TARGET}", lambda mod, m, a: mod._deaf(m, True)),
    "undeaf": MemberVerb(f"undeaf {_TARGET}", lambda mod, m, a: mod._deaf(m, False)),
    "kick": MemberVerb(
        f"kick {_TARGET} [<optional sound file>]",
        lambda mod, m, a: mod._leave(m, "kick", _arg(a)),
    ),
    "hup": MemberVerb(f"hup {_TARGET}", lambda mod, m, a: mod._leave(m, "hup", None)),
    "volume_in": MemberVerb(
        f"volume_in {_TARGET} [<newval>]", lambda mod, m, a: mod._volume(m, "volume_in", _arg(a))
    ),
    "volume_out": MemberVerb(
        f"volume_out {_TARGET} [<newval>]",
        lambda mod, m, a: mod._volume(m, "volume_out", _arg(a)),
    ),
    "energy": MemberVerb(
        f"energy {_TARGET} [<newval>]", lambda mod, m, a: mod._energy(m, _arg(a))
    ),
    "get_uuid": MemberVerb("get-uuid <member_id>", lambda mod, m, a: m.ch.uuid),
}

RoomVerb = Callable[[ConferenceModule, Conference, list[str]], str]

ROOM_VERBS: dict[str, RoomVerb] = {
    "list": ConferenceModule._api_list,
    "count": ConferenceModule._api_count,
    "json_list": ConferenceModule._api_json_list,
    "lock": ConferenceModule._api_lock,
    "unlock": ConferenceModule._api_unlock,
    "play": ConferenceModule._api_play,
    "stop": ConferenceModule._api_stop,
    "say": ConferenceModule._api_say,
    "get": ConferenceModule._api_get,
    "set": ConferenceModule._api_set,
}
