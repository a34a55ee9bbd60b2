"""mod_conference's API (the `conference` command): room verbs and member verbs in
tables, the member verbs sharing one target syntax and one body."""

from __future__ import annotations

import json
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import gevent

from fsconf.sim.originate import split_originate

if TYPE_CHECKING:
    from fsconf.sim.conference import Conference, ConferenceModule, Member


class ConferenceApi:
    """The `conference` API verb of a ConferenceModule (registered with mod_commands)."""

    def __init__(self, mod: ConferenceModule) -> None:
        self.mod = mod

    def __call__(self, args: str) -> str:
        """The `conference` API verb: a room verb from ROOM_VERBS or a member verb from
        MEMBER_VERBS (all sharing one target syntax), or dial/bgdial."""
        argv = args.split()
        if not argv:
            return "-ERR Conference command, not specified.\nTry 'help'\n"
        first = argv[0]
        if first == "list" and len(argv) == 1 or (first == "list" and argv[1:2] != ["count"]):
            return self._list_all()
        if first == "count":
            return str(len(self.mod.rooms))
        if first == "json_list":
            rooms = self.mod.rooms.values()
            return _cjson([self._json(c) for c in rooms]) if rooms else "[]"
        if len(argv) < 2:
            return "Conference command, not specified.\nTry 'help'\n"
        name, sub, rest = first, argv[1], argv[2:]
        if sub in ("dial", "bgdial"):
            return self._dial(name, sub, rest)
        conf = self.mod.rooms.get(name)
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
        if not self.mod.rooms:
            return "+OK No active conferences.\n"
        out = []
        for conf in self.mod.rooms.values():
            n = len(conf.members)
            flags = (
                ("locked|" if conf.locked else "") + ("wait_mod|" if conf.wait_mod else "")
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
        now = self.mod.clock.time()
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
            "wait_mod": conf.wait_mod,
            "audio_always": False,
            "running": True,
            "answered": True,
            "enforce_min": True,
            "bridge_to": False,
            "dynamic": True,
            "exit_sound": True,
            "enter_sound": True,
            "recording": bool(conf.recordings),
            "video_bridge": False,
            "video_floor_only": False,
            "video_rfc4579": False,
        }
        if conf.max_members > 0:
            obj["max_members"] = conf.max_members
        obj["variables"] = dict(conf.variables)
        # Recording nodes are members without a channel (esl-protocol.md 5.x json_list).
        members: list[dict[str, object]] = [
            {"type": "recording_node", "record_path": rec.path,
             "join_time": int(now - rec.started)}
            for rec in conf.recordings
        ]
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

    # --- what MEMBER_VERBS apply to one member -----------------------------------------

    def _mute(self, m: Member, on: bool, quiet: bool) -> str:
        m.can_speak = not on
        if not quiet:
            sound = m.conf.profile.get("muted-sound" if on else "unmuted-sound")
            if sound:
                m.play(sound, False)
        action = "mute-member" if on else "unmute-member"
        self.mod.member_event(m, action, "conference_api_sub_" + ("mute" if on else "unmute"))
        return f"+OK {'mute' if on else 'unmute'} {m.id}\n"

    def _deaf(self, m: Member, on: bool) -> str:
        m.can_hear = not on
        self.mod.member_event(
            m,
            "deaf-member" if on else "undeaf-member",
            "conference_api_sub_" + ("deaf" if on else "undeaf"),
        )
        return f"+OK {'deaf' if on else 'undeaf'} {m.id}\n"

    def _leave(self, m: Member, how: str, sound: str | None) -> str:
        action = "kick-member" if how == "kick" else "hup-member"
        self.mod.member_event(m, action, "conference_api_sub_" + how)
        m.leave_reason = how
        m.kicked_sound = sound
        self.mod.remove(m.conf, m)
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
            self.mod.member_event(
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
            self.mod.member_event(
                m,
                "energy-level-member",
                "conference_api_sub_energy",
                lambda: [("Energy-Level", str(m.energy))],
            )
        return f"Energy {m.id} = {m.energy}\n"

    # --- ROOM_VERBS: (conference, arguments) -> reply ----------------------------------

    def _set_lock(self, conf: Conference, on: bool) -> str:
        """lock / unlock: the room flag, the profile's sound to the room, the event."""
        verb = "lock" if on else "unlock"
        conf.locked = on
        sound = conf.profile.get(f"is-{verb}ed-sound")
        if sound:
            conf.play_room(sound, False)
        self.mod.fire(
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
                or self.mod.sounds.resolve(member.ch, file, conf.sound_prefix) is None
            ):
                return f"-ERR Member: {abs(hash(rest[1])) % 1000000000} not found.\n{usage}"
            self.mod.member_event(
                member, "play-file-member", "conference_api_sub_play", lambda: [("File", file)]
            )
            member.play(file, True)
            return f"+OK (play) Playing file {file} to member {member.id}\n"
        is_async = "true" if rest[1:2] == ["async"] else "false"
        self.mod.fire(
            conf,
            "play-file",
            "conference_api.c",
            "conference_api_sub_play",
            lambda: [("Action", "play-file"), ("File", file), ("Async", is_async)],
            action_first=True,
        )
        if (
            not conf.members
            or self.mod.sounds.resolve(
                None, file, conf.sound_prefix or self.mod.global_vars.get("sound_prefix")
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
            "run_time": str(int(self.mod.clock.time() - conf.started)),
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
            "wait_mod": "true" if conf.wait_mod else "",
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

    def _api_recording(self, conf: Conference, rest: list[str]) -> str:
        """conference_api_sub_recording: `start <path>`, `stop [<path>|all]`, `check`
        (and `pause`/`resume`, not modelled); with one word it is the old `record <path>`.
        Reply texts as esl-protocol.md 5.4 gives them for 1.10.12; `stop` first lists each
        file stopped (conference_record_stop: "Stopped recording file <path>")."""
        if len(rest) == 1 and rest[0].lower() in ("stop", "check"):
            rest = [rest[0], "all"]
        if not rest:
            return "-ERR Conference command 'recording' failed.\n"
        if len(rest) == 1:
            return self._record(conf, rest[0])
        verb, target = rest[0].lower(), rest[1]
        if verb == "start":
            return self._record(conf, target)
        if verb == "stop":
            return self._norecord(conf, target)
        if verb == "check":
            if not conf.recordings:
                return "-ERR Conference is not being recorded.\n"
            return "".join(f"+OK Record file {rec.path}\n" for rec in conf.recordings)
        return "-ERR Conference command 'recording' failed.\n"

    def _record(self, conf: Conference, path: str) -> str:
        if any(rec.path == path for rec in conf.recordings):
            return f"-ERR file [{path}] is already being used for recording.\n"
        self.mod.start_recording(conf, path)
        return f"+OK Record file {path}\n"

    def _norecord(self, conf: Conference, target: str) -> str:
        every = target.lower() == "all"
        stopping = [r for r in conf.recordings if every or r.path == target]
        out = [f"Stopped recording file {r.path}\n" for r in stopping]
        for rec in stopping:
            conf.recordings.remove(rec)
        if not stopping and not every:
            out.append(f"-ERR non-existant recording '{target}'\n")
        else:
            self.mod.fire(
                conf, "stop-recording", "conference_api.c", "conference_api_sub_norecord",
                lambda: [("Action", "stop-recording"), ("Path", "all" if every else target),
                         ("Other-Recordings", "true" if conf.recordings else "false")],
                action_first=True,
            )
        # Each record thread then leaves its loop and fires its own stop-recording.
        for rec in stopping:
            gevent.spawn(self.mod.end_recording, rec)
        n = len(stopping)
        out.append(f"+OK Stopped recording {n} file{'' if n == 1 else 's'}\n")
        return "".join(out)

    def _dial(self, name: str, sub: str, rest: list[str]) -> str:
        """dial / bgdial <endpoint> [<cid_num> [<cid_name>]]: originate into the room."""
        if not rest:
            return "-ERR Bad Args\n"
        room = self.mod.rooms.get(name)
        profile = room.profile.name if room is not None else "default"
        bpart = f"&conference({name}@{profile})"
        variables, endpoint = split_originate(rest[0])[:2]
        # conference_outcall passes <cid_num> <cid_name> as the originate caller id.
        if len(rest) > 1:
            variables.setdefault("origination_caller_id_number", rest[1])
        if len(rest) > 2:
            variables.setdefault("origination_caller_id_name", " ".join(rest[2:]))
        originate = self.mod.originator.originate
        if sub == "bgdial":
            job = str(uuidlib.uuid4())

            def run() -> None:
                result = originate(variables, endpoint, bpart, None)
                ok = not isinstance(result, str)
                self.mod.bgdial_result(
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
    apply: Callable[[ConferenceApi, Member, list[str]], str]  # args after the target


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

RoomVerb = Callable[["ConferenceApi", "Conference", list[str]], str]

ROOM_VERBS: dict[str, RoomVerb] = {
    "list": ConferenceApi._api_list,
    "count": ConferenceApi._api_count,
    "json_list": ConferenceApi._api_json_list,
    "lock": ConferenceApi._api_lock,
    "unlock": ConferenceApi._api_unlock,
    "play": ConferenceApi._api_play,
    "stop": ConferenceApi._api_stop,
    "say": ConferenceApi._api_say,
    "get": ConferenceApi._api_get,
    "set": ConferenceApi._api_set,
    "recording": ConferenceApi._api_recording,
}
