"""Call driver: places and steers test calls through the inbound Event Socket.

Knows nothing simulator-specific: the same code drives a real FreeSWITCH 1.10 that has
fsconf's freeswitch/conf loaded (originate loopback/..., uuid_send_dtmf, uuid_kill).
Several nodes (simulated or real): one CallDriver per node's Event Socket places calls
on that node and presses keys on them.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable

import gevent
from gevent.event import Event as GEvent
from gevent.lock import Semaphore
from gevent.queue import Queue

from fsconf.esl.protocol import (
    Event,
    Frame,
    FrameParser,
    decode_reply_headers,
    encode_command,
    parse_event,
)

SUBSCRIBE = (
    "event plain CHANNEL_HANGUP CHANNEL_HANGUP_COMPLETE CHANNEL_EXECUTE "
    "CHANNEL_EXECUTE_COMPLETE PLAYBACK_START PLAYBACK_STOP DTMF "
    "CUSTOM conference::maintenance"
)


class DriverCall:
    """One placed call: the a-leg we steer and the b-leg that runs the dialplan."""

    def __init__(self, driver: CallDriver, a_uuid: str, b_uuid: str) -> None:
        self.driver = driver
        self.a_uuid = a_uuid
        self.b_uuid = b_uuid
        self.heard: list[str] = []
        self.dtmf: list[str] = []  # keys reaching the service (DTMF on the b-leg)
        self.received: list[str] = []  # keys the far end sent to this caller (a-leg)
        self.events: list[Event] = []
        self.member_id: int | None = None
        self.conference_name: str | None = None
        self.hangup_cause: str | None = None
        self._cursor = 0

    def on_event(self, ev: Event) -> None:
        self.events.append(ev)
        name = ev.name
        if name == "PLAYBACK_START" and ev.uuid == self.b_uuid:
            self.heard.extend(_playlist(ev.get("Playback-File-Path") or ""))
        elif name == "DTMF" and ev.uuid == self.b_uuid:
            self.dtmf.append(ev.get("DTMF-Digit") or "")
        elif name == "DTMF" and ev.uuid == self.a_uuid:
            # loopback hands keys sent to the b-leg over to the parked a-leg, whose park
            # reads them: that is where a caller's phone would play them
            self.received.append(ev.get("DTMF-Digit") or "")
        elif name == "CHANNEL_HANGUP" and ev.uuid in (self.a_uuid, self.b_uuid):
            self.hangup_cause = self.hangup_cause or ev.get("Hangup-Cause") or "UNKNOWN"
        elif name == "CUSTOM" and ev.subclass == "conference::maintenance":
            action = ev.get("Action")
            if ev.uuid == self.b_uuid:
                if action == "add-member":
                    self.member_id = int(ev.get("Member-ID") or 0) or None
                    self.conference_name = ev.get("Conference-Name")
                elif action == "del-member":
                    self.member_id = None
                elif action == "play-file-member":
                    self.heard.append(ev.get("File") or "")
            elif (
                action == "play-file"
                and self.member_id is not None
                and ev.get("Conference-Name") == self.conference_name
            ):
                self.heard.append(ev.get("File") or "")

    def send_dtmf(self, digits: str) -> str:
        return self.driver.api(f"uuid_send_dtmf {self.a_uuid} {digits}")

    def hangup(self, cause: str = "NORMAL_CLEARING") -> str:
        return self.driver.api(f"uuid_kill {self.a_uuid} {cause}")

    def speak(self, file: str) -> str:
        """The caller "speaks": the a-leg plays `file` and the loopback carries the audio to
        the b-leg (what its `record` captures).  Works on a real switch too."""
        return self.driver.api(f"uuid_broadcast {self.a_uuid} {file} aleg")

    def wait_prompt(self, name_substring: str, timeout: float = 10.0) -> str:
        """Wait for a prompt after the ones already matched; returns its path."""

        def found() -> bool:
            return any(name_substring in h for h in self.heard[self._cursor :])

        self.driver.wait_for(
            found,
            timeout,
            lambda: f"prompt {name_substring!r} on call {self.b_uuid}; heard so far: {self.heard}",
        )
        for i in range(self._cursor, len(self.heard)):
            if name_substring in self.heard[i]:
                self._cursor = i + 1
                return self.heard[i]
        raise AssertionError("unreachable")

    def wait_member(self, timeout: float = 10.0) -> int:
        self.driver.wait_for(
            lambda: self.member_id is not None,
            timeout,
            lambda: f"call {self.b_uuid} to join a conference",
        )
        assert self.member_id is not None
        return self.member_id

    def wait_hangup(self, timeout: float = 10.0) -> str:
        self.driver.wait_for(
            lambda: self.hangup_cause is not None,
            timeout,
            lambda: (
                f"hang-up of call {self.b_uuid}; events seen: {[e.name for e in self.events][-10:]}"
            ),
        )
        assert self.hangup_cause is not None
        return self.hangup_cause


class CallDriver:
    def __init__(
        self, host: str, port: int, password: str = "ClueCon", timeout: float = 10.0
    ) -> None:
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(None)
        self._parser = FrameParser()
        self._replies: Queue[Frame] = Queue()
        self._lock = Semaphore()
        self._changed = GEvent()
        self.calls: dict[str, DriverCall] = {}
        self.events: list[Event] = []
        self._history: dict[str, list[Event]] = {}
        self.closed = False
        self._reader = gevent.spawn(self._read_loop)
        greeting = self._next_reply()
        if greeting.content_type != "auth/request":
            raise ConnectionError(f"unexpected greeting {greeting.headers}")
        reply = self.command(f"auth {password}")
        if not reply.startswith("+OK"):
            self.close()
            raise PermissionError(f"authentication failed: {reply}")
        reply = self.command(SUBSCRIBE)
        if not reply.startswith("+OK"):
            raise ConnectionError(f"subscription failed: {reply}")

    # --- transport --------------------------------------------------------------------

    def _read_loop(self) -> None:
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                for frame in self._parser.feed(data):
                    ctype = frame.content_type
                    if ctype.startswith("text/event"):
                        self._dispatch(parse_event(frame))
                    elif ctype in ("command/reply", "api/response", "auth/request"):
                        self._replies.put(frame)
        except OSError:
            pass
        finally:
            self.closed = True
            self._replies.put(Frame({"Content-Type": "closed"}, b""))
            self._notify()

    def _dispatch(self, ev: Event) -> None:
        self.events.append(ev)
        uuid = ev.uuid
        if uuid is not None:
            self._history.setdefault(uuid, []).append(ev)
        for call in list(self.calls.values()):
            call.on_event(ev)
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = GEvent()

    def _next_reply(self) -> Frame:
        try:
            frame = self._replies.get(timeout=self.timeout)
        except gevent.queue.Empty:
            raise TimeoutError(f"no reply from the switch within {self.timeout}s") from None
        if frame.content_type == "closed":
            raise ConnectionError("Event Socket connection closed")
        return frame

    def command(self, line: str) -> str:
        with self._lock:
            self.sock.sendall(encode_command(line))
            frame = self._next_reply()
        return decode_reply_headers(frame).get("Reply-Text", "")

    def api(self, cmd: str) -> str:
        with self._lock:
            self.sock.sendall(encode_command(f"api {cmd}"))
            frame = self._next_reply()
        return frame.body.decode("utf-8", errors="replace")

    def close(self) -> None:
        if not self.closed:
            try:
                self.sock.sendall(encode_command("exit"))
            except OSError:
                pass
        self._reader.join(timeout=2)
        self.sock.close()

    # --- calls ------------------------------------------------------------------------

    def place_call(
        self,
        access_number: str,
        caller_id_number: str = "0000000000",
        caller_id_name: str = "",
        context: str = "fsconf",
        extra_vars: dict[str, str] | None = None,
    ) -> DriverCall:
        variables = {"origination_caller_id_number": caller_id_number}
        if caller_id_name:
            variables["origination_caller_id_name"] = caller_id_name
        variables.update(extra_vars or {})
        spec = ",".join(f"{k}={_quote(v)}" for k, v in variables.items())
        reply = self.api(f"originate {{{spec}}}loopback/{access_number}/{context} &park()")
        if not reply.startswith("+OK "):
            raise RuntimeError(f"originate to {access_number} failed: {reply.strip()}")
        a_uuid = reply[4:].strip()
        b_uuid = self.api(f"uuid_getvar {a_uuid} other_loopback_leg_uuid").strip()
        if b_uuid.startswith("-ERR") or b_uuid == "_undef_":
            raise RuntimeError(f"no b-leg for {a_uuid}: {b_uuid}")
        return self._track(DriverCall(self, a_uuid, b_uuid))

    def follow(self, uuid: str) -> DriverCall:
        """Watch a channel this driver did not place, e.g. the leg another node bridged
        to this one: what it hears is what its caller there hears through the bridge.
        Keys and hang-ups act on that leg itself (it has no loopback partner)."""
        return self._track(DriverCall(self, uuid, uuid))

    def _track(self, call: DriverCall) -> DriverCall:
        for uuid in dict.fromkeys((call.a_uuid, call.b_uuid)):  # events before we knew it
            for ev in self._history.get(uuid, []):
                call.on_event(ev)
        for ev in self.events:  # room-wide events after it joined
            if ev.uuid is None and call.member_id is not None:
                call.on_event(ev)
        self.calls[call.b_uuid] = call
        return call

    def conference_json(self, name: str) -> list[dict[str, object]] | None:
        body = self.api(f"conference {name} json_list")
        if body.startswith("-ERR"):
            return None
        result = json.loads(body)
        return result if isinstance(result, list) else None

    def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float | None = None,
        what: Callable[[], str] | str = "condition",
    ) -> None:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                text = what() if callable(what) else what
                raise TimeoutError(f"timed out waiting for {text}")
            self._changed.wait(min(remaining, 0.05))


def _playlist(path: str) -> list[str]:
    """A file_string:// playlist is one playback to FreeSWITCH, several prompts to a caller."""
    if path.startswith("file_string://"):
        return path.removeprefix("file_string://").split("!")
    return [path]


def _quote(value: str) -> str:
    value = value.replace(",", "\\,")
    return f"'{value}'" if " " in value else value
