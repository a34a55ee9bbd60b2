"""Channel model: variables, caller profile, DTMF queue, private command queue and the
application execution rules of switch_core_session_exec (events, event-lock, nesting)."""

from __future__ import annotations

import functools
import logging
import random
import re
import uuid as uuidlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TYPE_CHECKING, NamedTuple

import gevent
from gevent.event import Event as GEvent

from fsconf.sim.events import IN_FRAME, Headers, InFrame, lower_names

if TYPE_CHECKING:
    from fsconf.sim.ports import CallSocket, ChannelHost, Seat

log = logging.getLogger(__name__)

STATE_NUMBERS = {
    "CS_NEW": 0,
    "CS_INIT": 1,
    "CS_ROUTING": 2,
    "CS_SOFT_EXECUTE": 3,
    "CS_EXECUTE": 4,
    "CS_EXCHANGE_MEDIA": 5,
    "CS_PARK": 6,
    "CS_CONSUME_MEDIA": 7,
    "CS_HIBERNATE": 8,
    "CS_RESET": 9,
    "CS_HANGUP": 10,
    "CS_REPORTING": 11,
    "CS_DESTROY": 12,
}

# Event types that carry variable_* headers (switch_channel_event_set_extended_data).
EXTENDED = frozenset(
    [
        "CHANNEL_CREATE",
        "CHANNEL_ORIGINATE",
        "CHANNEL_UUID",
        "CHANNEL_ANSWER",
        "CHANNEL_PARK",
        "CHANNEL_UNPARK",
        "CHANNEL_BRIDGE",
        "CHANNEL_UNBRIDGE",
        "CHANNEL_PROGRESS",
        "CHANNEL_PROGRESS_MEDIA",
        "CHANNEL_HANGUP",
        "CHANNEL_HANGUP_COMPLETE",
        "REQUEST_PARAMS",
        "CHANNEL_DATA",
        "CHANNEL_EXECUTE",
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_DESTROY",
        "SESSION_HEARTBEAT",
        "API",
        "RECORD_START",
        "RECORD_STOP",
        "PLAYBACK_START",
        "PLAYBACK_STOP",
        "CALL_UPDATE",
        "MEDIA_BUG_START",
        "MEDIA_BUG_STOP",
        "CHANNEL_HOLD",
        "CHANNEL_UNHOLD",
        "TEXT",
        "CUSTOM",
    ]
)

_BIT_RATES = {"L16": "128000", "PCMU": "64000", "PCMA": "64000"}


def codec_headers(name: str, rate: str = "8000") -> Headers:
    """Channel-Read/Write-Codec-* of a channel whose codec is `name`."""
    bits = _BIT_RATES.get(name, "64000")
    return [
        ("Channel-Read-Codec-Name", name),
        ("Channel-Read-Codec-Rate", rate),
        ("Channel-Read-Codec-Bit-Rate", bits),
        ("Channel-Write-Codec-Name", name),
        ("Channel-Write-Codec-Rate", rate),
        ("Channel-Write-Codec-Bit-Rate", bits),
    ]


_CODEC_HEADERS: Headers = [
    ("Channel-Read-Codec-Name", "L16"),
    ("Channel-Read-Codec-Rate", "8000"),
    ("Channel-Read-Codec-Bit-Rate", "128000"),
    ("Channel-Write-Codec-Name", "L16"),
    ("Channel-Write-Codec-Rate", "8000"),
    ("Channel-Write-Codec-Bit-Rate", "128000"),
]

# The caller-profile fields in event order (values: Channel.profile_headers).
_PROFILE_FIELDS = (
    "Direction",
    "Logical-Direction",
    "Dialplan",
    "Caller-ID-Name",
    "Caller-ID-Number",
    "Orig-Caller-ID-Name",
    "Orig-Caller-ID-Number",
    "Callee-ID-Name",
    "Callee-ID-Number",
    "ANI",
    "Destination-Number",
    "Unique-ID",
    "Source",
    "Context",
    "Channel-Name",
    "Profile-Index",
    "Profile-Created-Time",
    "Channel-Created-Time",
    "Channel-Answered-Time",
    "Channel-Progress-Time",
    "Channel-Progress-Media-Time",
    "Channel-Hangup-Time",
    "Channel-Transfer-Time",
    "Channel-Resurrect-Time",
    "Channel-Bridged-Time",
    "Channel-Last-Hold",
    "Channel-Hold-Accum",
    "Screen-Bit",
    "Privacy-Hide-Name",
    "Privacy-Hide-Number",
)

_VALUE = itemgetter(1)


@functools.lru_cache(maxsize=16)
def _profile_names(prefix: str) -> tuple[str, ...]:
    """The names "<prefix>-<field>" of every profile field (they never change)."""
    return tuple(f"{prefix}-{name}" for name in _PROFILE_FIELDS)


# Every name basic_headers (with the "Caller" profile) can give an event; its variables
# are "variable_<name>". Event filters that ask for anything else (Action,
# Playback-File-Path) are answered without building them: see SimEvent. Tests run with
# FSCONF_SIM_SELF_CHECK=1, which fails on a name missing here.
CHANNEL_HEADER_NAMES = lower_names(
    "Channel-State", "Channel-Call-State", "Channel-State-Number", "Channel-Name",
    "Unique-ID", "Call-Direction", "Presence-Call-Direction", "Channel-HIT-Dialplan",
    "Channel-Call-UUID", "Answer-State", "Hangup-Cause",
    *(name for name, _ in _CODEC_HEADERS), *_profile_names("Caller"),
    # a SIP leg's profile, and the originatee profile of a channel that bridged (sip.py)
    "Caller-Username", "Caller-Network-Addr", "Other-Type", "Other-Leg-Network-Addr",
    *_profile_names("Other-Leg"),
)


def in_channel_frame(lname: str) -> bool:
    """May a channel's headers (state, caller profile, variables) include `lname`?"""
    return lname in CHANNEL_HEADER_NAMES or lname.startswith("variable_")


_VAR_REF = re.compile(r"\$\{([^${}]+)\}")

App = Callable[["Channel", str], "str | None"]


@dataclass
class QueuedCommand:
    kind: str  # "execute" or "hangup"
    app: str = ""
    arg: str = ""
    event_uuid: str | None = None
    event_uuid_name: str | None = None
    lock: bool = False
    loops: int = 1
    cause: str = "NORMAL_CLEARING"


@dataclass
class AudioSegment:
    """Audio a channel sends while it plays something (times: Clock.monotonic, simulated s).

    mod_loopback hands it to the other leg, whose `record` counts it."""

    start: float
    end: float  # planned end; moved earlier when the playback stops early
    energy: int  # mean |sample|: compared with a record silence threshold
    path: str | None  # the WAV being played, when there is one
    offset_s: float = 0.0  # simulated seconds into that file at `start`


@dataclass
class CallerProfile:
    caller_id_name: str = ""
    caller_id_number: str = "0000000000"
    callee_id_name: str = ""
    callee_id_number: str = ""
    destination_number: str = ""
    context: str = "default"
    dialplan: str = "xml"
    source: str = "mod_loopback"
    ani: str = ""
    extra: dict[str, str] = field(default_factory=dict)


class Dtmf(NamedTuple):
    """One queued digit as switch_dtmf_t carries it: duration and source travel with it
    from channel to channel (None: the receiving channel's own, see dtmf_duration)."""

    digit: str
    duration: str | None = None
    source: str | None = None


class Channel:
    def __init__(
        self,
        host: ChannelHost,
        name: str,
        direction: str,
        profile: CallerProfile,
        *,
        uuid: str | None = None,
    ) -> None:
        self.host = host
        self.uuid = uuid or str(uuidlib.uuid4())
        self.name = name
        self.direction = direction
        self.profile = profile
        self.variables: dict[str, str] = {}
        self.state = "CS_NEW"
        self.call_state = "DOWN"
        self.answered = False
        self.hangup_cause: str | None = None
        self.created_us = int(host.clock.time() * 1_000_000)
        self.answered_us = 0
        self.hangup_us = 0
        self.peer: Channel | None = None
        self.dtmf: deque[Dtmf] = deque()
        self.commands: deque[QueuedCommand] = deque()
        self.lock_depth = 0
        self.break_flag = False
        self.wake = GEvent()
        self.session: CallSocket | None = None  # the outbound socket controlling it
        self.member: Seat | None = None  # its conference membership
        self.runner: gevent.Greenlet | None = None
        self.finished = GEvent()
        self.current_app = ""
        self.current_app_data = ""
        self.hit_dialplan = True
        self.tx_audio: list[AudioSegment] = []  # what this leg plays (loopback: peer hears it)
        self.rx_version = 0  # bumped when the audio this leg hears changes
        self.recording = False
        self.media_depth = 0  # playback/record frames being read right now
        self.on_playback: list[Callable[[str], None]] = []  # hooks: a prompt starts
        self._pending_hangup: str | None = None
        self._race: random.Random | None = None
        self.codec: Headers = _CODEC_HEADERS  # its read/write codec headers (L16: loopback)
        # The originatee profile ("Other-Type" + "Other-Leg-*") once this channel bridged:
        # FreeSWITCH keeps it in every later event of the channel, even after the bridge.
        self.other_leg: Callable[[], Headers] | None = None
        self.variables["direction"] = direction
        self.variables["uuid"] = self.uuid
        self.variables["session_id"] = str(host.next_session_id())
        self.variables["channel_name"] = name
        for key, value in (
            ("read_codec", "L16"),
            ("read_rate", "8000"),
            ("write_codec", "L16"),
            ("write_rate", "8000"),
        ):
            self.variables[key] = value

    # --- state -----------------------------------------------------------------------

    @property
    def up(self) -> bool:
        return self.hangup_cause is None

    def race(self) -> random.Random | None:
        """The generator that decides this channel's races (None: captured order)."""
        seed = self.host.settings.race_seed
        if seed is None:
            return None
        if self._race is None:
            self._race = random.Random(f"{seed}/{self.variables.get('session_id', '')}")
        return self._race

    def set_var(self, name: str, value: str | None) -> None:
        if value is None or value == "":
            self.variables.pop(name, None)
        else:
            self.variables[name] = value

    def get_var(self, name: str) -> str | None:
        value = self.variables.get(name)
        if value is None and name == "uuid":
            return self.uuid
        return value

    def expand(self, text: str) -> str:
        """${var} expansion from channel variables, then global variables."""
        if "${" not in text:
            return text

        def repl(m: re.Match[str]) -> str:
            name = m.group(1)
            value = self.get_var(name)
            if value is None:
                value = self.host.global_vars.get(name, "")
            return value

        for _ in range(5):  # nested references
            new = _VAR_REF.sub(repl, text)
            if new == text:
                break
            text = new
        return text

    def answer_state(self) -> str:
        if not self.up:
            return "hangup"
        if self.answered:
            return "answered"
        if self.call_state == "EARLY":
            return "early"
        return "ringing"

    def mark_answered(self) -> None:
        self.answered = True
        self.call_state = "ACTIVE"
        if not self.answered_us:
            self.answered_us = int(self.host.clock.time() * 1_000_000)

    def answer(self) -> None:
        if self.answered or not self.up:
            return
        self.mark_answered()
        self.fire(
            "CHANNEL_ANSWER", ("switch_channel.c", "switch_channel_perform_mark_answered", 3741)
        )
        if self.peer is not None and not self.peer.answered:
            self.peer.answer()

    # --- event headers ---------------------------------------------------------------

    def basic_headers(self) -> Headers:
        headers: Headers = [
            ("Channel-State", self.state),
            ("Channel-Call-State", self.call_state),
            ("Channel-State-Number", str(STATE_NUMBERS.get(self.state, 4))),
            ("Channel-Name", self.name),
            ("Unique-ID", self.uuid),
            ("Call-Direction", self.direction),
            ("Presence-Call-Direction", self.direction),
            ("Channel-HIT-Dialplan", "true" if self.hit_dialplan else "false"),
            ("Channel-Call-UUID", self.uuid),
            ("Answer-State", self.answer_state()),
        ]
        if self.hangup_cause is not None:
            headers.append(("Hangup-Cause", self.hangup_cause))
        headers += self.codec
        headers += self.profile_headers("Caller")
        if self.other_leg is not None:
            headers += self.other_leg()
        return headers

    def profile_headers(self, prefix: str) -> Headers:
        p = self.profile
        values = (  # in _PROFILE_FIELDS order
            self.direction,
            self.direction,
            p.dialplan,
            p.caller_id_name,
            p.caller_id_number,
            p.caller_id_name,
            p.caller_id_number,
            p.callee_id_name,
            p.callee_id_number,
            p.ani or p.caller_id_number,
            p.destination_number,
            self.uuid,
            p.source,
            p.context,
            self.name,
            "1",
            str(self.created_us),
            str(self.created_us),
            str(self.answered_us),
            "0",
            "0",
            str(self.hangup_us),
            "0",
            "0",
            "0",
            "0",
            "0",
            "true",
            "false",
            "false",
        )
        # Empty values are never added to an event (switch_event_add_header); filter() on
        # the value keeps the pairs whose value is not "".
        return list(filter(_VALUE, zip(_profile_names(prefix), values, strict=True)))

    def variable_headers(self) -> Headers:
        return [("variable_" + k, v) for k, v in self.variables.items() if v != ""]

    def event_headers(self, name: str, extra: Headers | None = None) -> Headers:
        headers = self.basic_headers()
        if name in EXTENDED:
            headers += self.variable_headers()
        if extra:
            headers += extra
        return headers

    def fire(
        self,
        name: str,
        calling: tuple[str, str, int],
        extra: Callable[[], Headers] | None = None,
        *,
        prefix: Callable[[], Headers] | None = None,
    ) -> None:
        def build() -> Headers:
            head = prefix() if prefix else []
            return head + self.event_headers(name, extra() if extra else None)

        def own() -> Headers:
            return (prefix() if prefix else []) + (extra() if extra else [])

        self.host.bus.fire(name, calling, build, uuid=self.uuid, own=own, frame=self.frame_lookup)

    def frame_lookup(self, lname: str) -> str | None | InFrame:
        """A header of this channel's event frame, where cheap (see SimEvent): Unique-ID
        is what socket filters that follow one call ask every event for."""
        if lname == "unique-id":
            return self.uuid
        return IN_FRAME if in_channel_frame(lname) else None

    def channel_data_headers(self) -> Headers:
        """The CHANNEL_DATA body of the outbound 'connect' reply (without reply headers)."""
        return self.profile_headers("Channel") + self.basic_headers() + self.variable_headers()

    # --- audio ----------------------------------------------------------------------

    def transmit(
        self, seconds: float, energy: int, path: str | None, offset_s: float = 0.0
    ) -> AudioSegment:
        """This leg starts playing something (its loopback peer hears it)."""
        now = self.host.clock.monotonic()
        seg = AudioSegment(now, now + max(0.0, seconds), energy, path, offset_s)
        self.tx_audio.append(seg)
        if len(self.tx_audio) > 16:
            del self.tx_audio[0]
        self._audio_changed()
        return seg

    def end_transmit(self, seg: AudioSegment) -> None:
        now = self.host.clock.monotonic()
        if now < seg.end:
            seg.end = now
            self._audio_changed()

    def _audio_changed(self) -> None:
        peer = self.peer
        if peer is not None:
            peer.rx_version += 1
            if peer.recording:
                peer.wake.set()

    def heard_audio(self) -> list[AudioSegment]:
        """What this leg receives: a loopback leg hears what the other leg plays; a parked
        leg plays nothing, so the other side hears no audio at all (CNG)."""
        return self.peer.tx_audio if self.peer is not None else []

    # --- DTMF ------------------------------------------------------------------------

    def queue_dtmf(
        self, digits: str, duration: str | None = None, source: str | None = None
    ) -> None:
        """switch_channel_queue_dtmf: digits arrive on this channel (no event yet)."""
        if not self.up:
            return
        for digit in digits:
            if digit.upper() in "0123456789*#ABCD":
                self.dtmf.append(Dtmf(digit.upper(), duration, source))
        self.wake.set()

    def take_dtmf(self) -> Dtmf | None:
        """switch_channel_dequeue_dtmf: take one digit; this is where FreeSWITCH fires
        the DTMF event (switch_channel.c, captured as line 677 on 1.10.12), whoever
        reads it: an application, the conference, or a bridge passing it on."""
        if not self.dtmf:
            return None
        queued = self.dtmf.popleft()
        dtmf = Dtmf(
            queued.digit,
            queued.duration or self.dtmf_duration(),
            queued.source or self.dtmf_source(),
        )
        if self.get_var("sensitive_dtmf") != "true":
            self.fire(
                "DTMF",
                ("switch_channel.c", "switch_channel_dequeue_dtmf", 677),
                lambda: [
                    ("DTMF-Digit", dtmf.digit),
                    ("DTMF-Duration", dtmf.duration or ""),
                    ("DTMF-Source", dtmf.source or ""),
                ],
            )
        return dtmf

    def dequeue_dtmf(self) -> str | None:
        dtmf = self.take_dtmf()
        return dtmf.digit if dtmf is not None else None

    def send_dtmf(self, dtmf: Dtmf) -> None:
        """switch_core_session_send_dtmf: hand a digit to the endpoint to send. No event
        fires here. mod_loopback's channel_send_dtmf queues it on the other loopback leg
        (switch_channel_queue_dtmf(tech_pvt->other_channel, dtmf)); any other endpoint
        sends it out of the switch (SipChannel: RFC 2833 to the far node)."""
        if self.peer is not None:
            self.peer.queue_dtmf(dtmf.digit, dtmf.duration, dtmf.source)

    def dtmf_duration(self) -> str:
        return "2000"

    def dtmf_source(self) -> str:
        return "UNKNOWN" if self.name.startswith("loopback/") else "RTP"

    # --- commands and waiting --------------------------------------------------------

    def queue_command(self, cmd: QueuedCommand) -> None:
        self.commands.append(cmd)
        self.wake.set()

    def run_queued(self) -> bool:
        """switch_ivr_parse_all_events: run queued commands unless an app holds the lock."""
        ran = False
        while self.commands and self.lock_depth == 0:
            cmd = self.commands.popleft()
            ran = True
            if cmd.kind == "hangup":
                self.hangup(cmd.cause)
            elif cmd.kind == "execute":
                for _ in range(max(1, cmd.loops)):
                    if not self.up:
                        break
                    self.execute(
                        cmd.app,
                        cmd.arg,
                        event_uuid=cmd.event_uuid,
                        event_uuid_name=cmd.event_uuid_name,
                        lock=cmd.lock,
                        from_socket=True,
                    )
        return ran

    def media_wait(
        self,
        seconds: float | None,
        on_digit: Callable[[str], bool] | None = None,
        *,
        consume_dtmf: bool = True,
        until: Callable[[], bool] | None = None,
    ) -> str:
        """Wait in simulated time while serving the channel like a media loop does.

        Runs queued commands (nested apps), dequeues DTMF (firing DTMF events) and hands
        each digit to on_digit, which returns True to stop.  Returns "hangup", "break",
        "dtmf", "until" or "timeout".
        """
        clock = self.host.clock
        deadline = None if seconds is None else clock.monotonic() + seconds
        while True:
            self.wake.clear()
            if not self.up or self._pending_hangup is not None:
                return "hangup"
            if self.break_flag:
                self.break_flag = False
                return "break"
            if self.run_queued():
                continue
            if until is not None and until():
                return "until"
            if consume_dtmf:
                while self.dtmf:
                    digit = self.dequeue_dtmf()
                    if digit is not None and on_digit is not None and on_digit(digit):
                        return "dtmf"
                    if not self.up:
                        return "hangup"
            elif self.dtmf:
                return "dtmf"
            if deadline is None:
                self.wake.wait()
                continue
            remaining = deadline - clock.monotonic()
            if remaining <= 0:
                return "timeout"
            clock.wait(self.wake, remaining)

    # --- execution -------------------------------------------------------------------

    def execute(
        self,
        app_name: str,
        arg: str,
        *,
        event_uuid: str | None = None,
        event_uuid_name: str | None = None,
        lock: bool = False,
        from_socket: bool = False,
    ) -> None:
        app = self.host.apps.get(app_name.lower())
        if app is None:
            log.info("[%s] Invalid Application %s", self.uuid, app_name)
            self.hangup("DESTINATION_OUT_OF_ORDER")
            return
        if not self.up:
            return  # after hangup a queued app is skipped silently
        data = self.expand(arg)
        app_uuid = event_uuid or str(uuidlib.uuid4())
        if from_socket:
            self.variables["current_loop"] = "1"
            self.variables["total_loops"] = "1"
        self.set_var("current_application_data", data)
        self.variables["current_application"] = app_name
        self.variables.pop("current_application_response", None)
        self.current_app, self.current_app_data = app_name, data

        def app_headers(complete: bool) -> Callable[[], Headers]:
            def build() -> Headers:
                headers: Headers = [("Application", app_name)]
                if data:
                    headers.append(("Application-Data", data))
                if complete:
                    headers.append(
                        (
                            "Application-Response",
                            self.variables.get("current_application_response", "_none_"),
                        )
                    )
                headers.append(("Application-UUID", app_uuid))
                if event_uuid_name:
                    headers.append(("Application-UUID-Name", event_uuid_name))
                return headers

            return build

        self.fire(
            "CHANNEL_EXECUTE",
            ("switch_core_session.c", "switch_core_session_exec", 2909),
            app_headers(False),
        )
        if lock:
            self.lock_depth += 1
        try:
            response = app(self, data)
        finally:
            if lock:
                self.lock_depth -= 1
        if response:
            self.variables["current_application_response"] = response
        self.fire(
            "CHANNEL_EXECUTE_COMPLETE",
            ("switch_core_session.c", "switch_core_session_exec", 2972),
            app_headers(True),
        )

    def hangup(self, cause: str = "NORMAL_CLEARING") -> None:
        if not self.up or self._pending_hangup is not None:
            return
        rng = self.race()
        if self.media_depth and rng is not None and rng.random() < 0.5:
            # Race: the media thread notices first and closes the file, so PLAYBACK_STOP
            # (still "answered") precedes CHANNEL_HANGUP (1_ivr_apps/call3); the other
            # order is call5.  The media app calls flush_hangup() after its STOP event.
            self._pending_hangup = cause
            self.wake.set()
            return
        self._hangup_now(cause)

    def flush_hangup(self) -> None:
        """Complete a hang-up that waited for the media app to report its end."""
        cause, self._pending_hangup = self._pending_hangup, None
        if cause is not None:
            self._hangup_now(cause)

    def _hangup_now(self, cause: str) -> None:
        if not self.up:
            return
        if self.session is not None:
            self.session.hangup_begins()
        self.hangup_cause = cause
        self.hangup_us = int(self.host.clock.time() * 1_000_000)
        self.fire("CHANNEL_HANGUP", ("switch_channel.c", "switch_channel_perform_hangup", 3447))
        self.wake.set()
        if self.member is not None:
            self.member.wake()
        peer = self.peer
        if peer is not None and peer.up:
            # mod_loopback: either leg going down takes the other with it.
            peer.hangup("NORMAL_CLEARING")

    def finish(self) -> None:
        """The reporting state after the app stack has unwound (runner greenlet)."""
        self.flush_hangup()
        if self.up:
            self.hangup("NORMAL_CLEARING")
        self.set_var("hangup_cause", self.hangup_cause)
        self.set_var("hangup_cause_q850", str(Q850.get(self.hangup_cause or "", 16)))
        duration = max(0, (self.hangup_us - self.created_us) // 1_000_000)
        billsec = (
            max(0, (self.hangup_us - self.answered_us) // 1_000_000) if self.answered_us else 0
        )
        self.set_var("duration", str(duration))
        self.set_var("billsec", str(billsec))
        for state in ("CS_HANGUP", "CS_REPORTING"):
            self.state = state
            if state == "CS_REPORTING":
                # The call state stays what it was (ACTIVE, RINGING) through CHANNEL_HANGUP
                # and CS_HANGUP; it reads HANGUP from CS_REPORTING on (every capture).
                self.call_state = "HANGUP"
            self.fire(
                "CHANNEL_STATE", ("switch_core_state_machine.c", "switch_core_session_run", 627)
            )
        self.fire(
            "CHANNEL_HANGUP_COMPLETE",
            ("switch_core_state_machine.c", "switch_core_session_reporting_state", 948),
            prefix=lambda: [("Hangup-Cause", self.hangup_cause or "NORMAL_CLEARING")],
        )
        if self.session is not None:
            # The listener holds the session until it lets go (linger keeps it longer).
            self.session.channel_gone()
            self.session.closed.wait()
        self.state = "CS_DESTROY"
        self.fire("CHANNEL_DESTROY", ("switch_core_session.c", "switch_core_session_destroy", 1653))
        self.host.unregister(self)
        self.finished.set()


Q850 = {
    "NORMAL_CLEARING": 16,
    "USER_BUSY": 17,
    "NO_USER_RESPONSE": 18,
    "NO_ANSWER": 19,
    "CALL_REJECTED": 21,
    "DESTINATION_OUT_OF_ORDER": 27,
    "NO_ROUTE_DESTINATION": 3,
    "UNALLOCATED_NUMBER": 1,
    "ORIGINATOR_CANCEL": 487,
    "ALLOTTED_TIMEOUT": 602,
    "NORMAL_TEMPORARY_FAILURE": 41,
    "MANAGER_REQUEST": 503,
}
