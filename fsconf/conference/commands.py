"""mod_conference API commands, built from validated pieces.

Replies are parsed here too, so callers get values (a volume level, mute state) instead
of FreeSWITCH's reply texts.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any

from fsconf.domain.validate import UnsafeArgument, safe_arg

log = logging.getLogger(__name__)

ApiSender = Callable[[str], str]
# Several commands in one write, their replies in order (FreeSWITCH answers a socket's
# commands one after another).
ApiBatchSender = Callable[[Sequence[str]], list[str]]
_TARGETS = ("all", "last", "non_moderator")
_VOLUME = re.compile(r"^\+OK Volume OUT (\d+) = (-?\d+)")
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def _target(target: int | str) -> str:
    if isinstance(target, int) and target > 0:
        return str(target)
    if target in _TARGETS:
        return str(target)
    raise UnsafeArgument(f"bad member target {target!r}")


def all_rooms(send: ApiSender) -> list[dict[str, Any]]:
    """Every conference FreeSWITCH has right now (`conference json_list`)."""
    reply = send("conference json_list")
    if not reply.startswith("["):
        raise ValueError(f"json_list answered {reply.strip()[:80]!r}")
    rooms = json.loads(reply)
    return [r for r in rooms if isinstance(r, dict)]


class ConferenceApi:
    """The commands one room needs, sent through whatever socket the caller holds."""

    def __init__(
        self, send: ApiSender, name: str, send_many: ApiBatchSender | None = None
    ) -> None:
        if not _NAME.match(name):
            raise UnsafeArgument(f"bad conference name {name!r}")
        self._send = send
        self._send_many = send_many
        self.name = name

    def _call(self, args: str) -> str:
        return self._send(f"conference {self.name} {args}")

    def play_each(self, plays: Sequence[tuple[str, int]]) -> list[bool]:
        """(file, member) plays in one write rather than a round trip each: a join
        announced to a room of fifty is a hundred commands. Each member hears its files
        in the order given. Every argument is checked before anything is sent."""
        files: dict[str, str] = {}  # each distinct file checked once, not once per member
        for file, _ in plays:
            if file not in files:
                files[file] = f"conference {self.name} play {safe_arg(file)} "
        commands = [files[file] + _target(member) for file, member in plays]
        if self._send_many is None:
            replies = [self._send(c) for c in commands]
        else:
            replies = self._send_many(commands)
        return [reply.startswith("+OK") for reply in replies]

    def mute(self, target: int | str, quiet: bool = False) -> str:
        return self._call(f"mute {_target(target)}{' quiet' if quiet else ''}")

    def unmute(self, target: int | str, quiet: bool = False) -> str:
        return self._call(f"unmute {_target(target)}{' quiet' if quiet else ''}")

    def toggle_mute(self, member_id: int) -> bool | None:
        """tmute; returns True when the member is now muted, None if it failed."""
        reply = self._call(f"tmute {_target(member_id)} quiet")
        if reply.startswith("+OK mute"):
            return True
        if reply.startswith("+OK unmute"):
            return False
        return None

    def kick(self, target: int | str, sound: str | None = None) -> str:
        return self._call(f"kick {_target(target)}{' ' + safe_arg(sound) if sound else ''}")

    def hup(self, target: int | str) -> str:
        return self._call(f"hup {_target(target)}")

    def lock(self) -> bool:
        return self._call("lock").startswith("+OK")

    def unlock(self) -> bool:
        return self._call("unlock").startswith("+OK")

    def volume_out(self, member_id: int, step: str) -> int | None:
        if step not in ("up", "down", ""):
            raise UnsafeArgument(f"bad volume step {step!r}")
        reply = self._call(f"volume_out {_target(member_id)} {step}".rstrip())
        match = _VOLUME.match(reply)
        return int(match.group(2)) if match else None

    # -- recording: `conference <name> recording start <path> | stop all | check`, which
    # conference_api_sub_recording maps onto record / norecord / chkrecord. Replies as in
    # the 1.10.12 reference (esl-protocol.md 5.4): "+OK Record file <path>", "+OK Stopped
    # recording <n> file(s)", check: "+OK Record file <path>" lines or
    # "-ERR Conference is not being recorded.".

    def recording_start(self, path: str) -> bool:
        return self._call(f"recording start {safe_arg(path)}").startswith("+OK Record file")

    def recording_stop(self) -> str:
        return self._call("recording stop all")

    def recording_check(self) -> list[str]:
        """The paths being recorded now (empty when none)."""
        reply = self._call("recording check")
        prefix = "+OK Record file "
        return [
            line[len(prefix):].removesuffix(" (Auto)")
            for line in reply.splitlines() if line.startswith(prefix)
        ]

    def json_list(self) -> dict[str, Any] | None:
        reply = self._call("json_list")
        if not reply.startswith("["):
            return None
        try:
            rooms = json.loads(reply)
        except ValueError:
            log.warning("conference %s: unreadable json_list reply", self.name)
            return None
        return rooms[0] if rooms else None
