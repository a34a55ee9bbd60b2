"""The demo's stage: a fresh SQLite database, a demo customer, the simulator and the
controller running together in this process, and a transcript of what happens.

Library code: the entry point (`fsconf demo`) has already monkey-patched gevent.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

from fsconf.config import Settings
from fsconf.controller import Controller
from fsconf.domain.prompts import CATALOGUE, LANGUAGES, Prompt
from fsconf.esl.protocol import Event
from fsconf.services import conference_admin, customers, numbers
from fsconf.sim import CalleeBehaviour, SimSettings, Simulator
from fsconf.sim.core import free_port
from fsconf.sounds.wav import silent_prompt_tree
from fsconf.store import migrate
from fsconf.store.session import Database
from fsconf.testing.driver import CallDriver, DriverCall

ACCESS_NUMBER = "0201234567"
INVITEE = "0612345678"
SPEED = 8.0  # the scripted demo: simulated seconds per wall-clock second
REAL_TIME = 1.0  # the interactive phone: a person types at the prompts' own pace
_WORDS_PER_SECOND = 2.5


@dataclass
class DemoConference:
    customer_id: int
    number: str
    moderator_pin: str
    participant_pin: str
    language: str = "nl"
    conference_id: int = 0


def stand_in_sounds(root: Path) -> Path:
    """Silent WAVs as long as the words would take to say, so the timing feels right."""
    def spoken_ms(language: str, p: Prompt) -> int:
        return int(1000 * max(0.3, len(p.text(language).split()) / _WORDS_PER_SECOND))

    return silent_prompt_tree(root, spoken_ms, digit_ms=400)


class Transcript:
    """Who heard what, who pressed what, and what FreeSWITCH was told — in time order."""

    def __init__(self, out: TextIO, speed: float = SPEED, language: str = "nl") -> None:
        self.out = out
        self.speed = speed
        self.start = time.monotonic()
        self.names: dict[str, str] = {}  # b-leg uuid -> "Anna (moderator)"
        # Two-node demo: caller ID -> who, to name the leg a caller's node bridges to the
        # room's owner (it arrives there on the internal SIP profile with that caller ID).
        self.callers: dict[str, str] = {}
        self.language = language  # until a played file shows a call's language
        self.languages: dict[str, str] = {}  # uuid -> language of what it last heard
        # The interactive phone's "keys> ": shown again after each line while it waits,
        # never once `prompt_live()` says the call is over.
        self.prompt = ""
        self.prompt_live: Callable[[], bool] = lambda: False
        self._at_prompt = False

    def line(self, who: str, what: str) -> None:
        elapsed = time.monotonic() - self.start
        # Over the prompt (a line is always longer than it): one `keys>`, at the bottom.
        start = "\r" if self._at_prompt else ""
        self.out.write(f"{start}{elapsed * self.speed:7.1f}s  {pad(who, 22)} {what}\n")
        self._at_prompt = False
        if self.prompt and self.prompt_live():
            self.show_prompt()
        self.out.flush()

    def show_prompt(self) -> None:
        if not self.out.isatty():
            return  # a file or a pipe gets the transcript, not the prompts
        self.out.write(self.prompt)
        self.out.flush()
        self._at_prompt = True

    def end_prompt(self, typed: bool) -> None:
        """The phone stops waiting: after Enter (the terminal already moved to a new line)
        or because the call ended (the prompt is wiped: nothing is left asking)."""
        if self._at_prompt and not typed:
            self.out.write("\r" + " " * len(self.prompt) + "\r")
            self.out.flush()
        self._at_prompt = False
        self.prompt = ""

    def heard(self, uuid: str, file: str) -> None:
        who = self.names.get(uuid)
        if who is None:
            return
        language = self.languages.get(uuid, self.language)
        language = self.languages[uuid] = language_of(file, language)
        self.line(f"{who} {conjugate(who, 'hears')}", _words(file, language))

    def on_event(self, ev: Event, where: str = "") -> None:
        uuid = ev.uuid or ""
        channel = ev.get("Channel-Name") or ""
        if uuid and uuid not in self.names and INVITEE in channel:
            self.names[uuid] = "Daan (invited)"
        caller = self.callers.get(ev.get("Caller-Caller-ID-Number") or "")
        if uuid and uuid not in self.names and caller and channel.startswith("sofia/internal/"):
            self.names[uuid] = f"{caller.split(' ')[0]} (bridged to {where or 'owner'})"
        if ev.name == "PLAYBACK_START":
            self.heard(ev.uuid or "", ev.get("Playback-File-Path") or "")
        elif ev.subclass == "conference::maintenance":
            action = ev.get("Action") or ""
            if action == "play-file-member":
                self.heard(ev.uuid or "", ev.get("File") or "")
            elif action in ("add-member", "del-member", "lock", "unlock", "mute-member",
                            "unmute-member", "kick-member", "conference-destroy"):
                who = self.names.get(ev.uuid or "", "")
                source = f"  FreeSWITCH {where}".rstrip()
                self.line(f"{source} event", f"{action} {who}".rstrip())


class _CommandLog(logging.Handler):
    """Shows each command the controller sends to FreeSWITCH (the transport logs them)."""

    def __init__(self, transcript: Transcript) -> None:
        super().__init__(logging.DEBUG)
        self.transcript = transcript

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno == logging.DEBUG and record.args and len(record.args) == 2:
            conn, command = record.args
            if str(command).startswith(("execute set", "myevents", "linger", "event", "exit")):
                return
            if str(command) in ("connect",):
                return
            who = self.transcript.names.get(str(conn).removeprefix("call "), "controller")
            self.transcript.line("  -> FreeSWITCH", f"{command}   [{who.split(' ')[0]}]")


def conjugate(who: str, verb: str) -> str:
    """'Anna hears', but 'You hear' (the interactive phone's caller is "You")."""
    if who.split(" ")[0] != "You":
        return verb
    return verb[:-2] if verb.endswith("sses") else verb.removesuffix("s")


def pad(text: str, width: int) -> str:
    """Left-justify by terminal columns: a wide (East Asian) character takes two."""
    used = sum(0 if unicodedata.combining(ch) else
               2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)
    return text + " " * max(0, width - used)


def language_of(file: str, default: str) -> str:
    """The language folder a played file came from (`<sounds>/<nl|en>/fsconf/...`, as the
    controller's per-call sound_prefix makes it), else `default`."""
    parts = file.removeprefix("file_string://").split("!")[0].split("/")
    found = [p for p in parts[:-1] if p in LANGUAGES]
    return found[-1] if found else default


def _words(file: str, language: str) -> str:
    if file.startswith("file_string://"):
        parts = file.removeprefix("file_string://").split("!")
        return " ".join(_words(part, language_of(part, language)) for part in parts)
    if file.startswith("silence_stream://"):
        return "(silence)"
    name = Path(file).name.removesuffix(".wav")
    for p in CATALOGUE.values():
        if Path(p.file).name == f"{name}.wav":
            return f"\u201c{p.text(language)}\u201d"
    if "/digits/" in file or file.startswith("digits/"):
        return f"(the number {name})"
    if "/recordings/" in file or file.endswith(".wav"):
        return "(a recorded name)"
    return file


class DemoDriver(CallDriver):
    """The call driver, telling the transcript about every event it sees."""

    transcript: Transcript | None = None
    where = ""  # the node's name in a two-node demo

    def _dispatch(self, ev: Event) -> None:
        super()._dispatch(ev)
        if self.transcript is not None:
            self.transcript.on_event(ev, self.where)


@dataclass
class Stage:
    settings: Settings
    workdir: Path
    out: TextIO
    callees: dict[str, CalleeBehaviour] = field(default_factory=dict)
    speed: float = SPEED
    language: str = "nl"  # the demo conference's

    def __post_init__(self) -> None:
        self.transcript = Transcript(self.out, self.speed, self.settings.ivr.default_language)
        self.db: Database | None = None
        self.controller: Controller | None = None
        self.sim: Simulator | None = None
        self.driver: DemoDriver | None = None
        self._log_handler: _CommandLog | None = None

    def open(self) -> DemoConference:
        url = self.settings.database_url
        migrate.upgrade(url)
        self.db = Database(url)
        conference = self._provision()
        port = free_port()
        self.sim = Simulator(
            SimSettings(
                port=0, speed=self.speed, sounds_dir=Path(self.settings.ivr.sounds_dir),
                global_vars={"fsconf_controller": f"127.0.0.1:{port}",
                             "fsconf_controller_backup": "127.0.0.1:9"},
                callees=self.callees,
            )
        )
        self.sim.start()
        self.settings = replace(
            self.settings,
            controller=replace(self.settings.controller, port=port),
            freeswitch=replace(self.settings.freeswitch, port=self.sim.port),
        )
        self.controller = Controller(self.settings, db=self.db)
        self.controller.start()
        self.driver = DemoDriver("127.0.0.1", self.sim.port, timeout=10.0)
        self.driver.transcript = self.transcript
        self._log_handler = _CommandLog(self.transcript)
        esl_log = logging.getLogger("fsconf.esl.connection")
        esl_log.addHandler(self._log_handler)
        esl_log.setLevel(logging.DEBUG)
        esl_log.propagate = False
        return conference

    def close(self) -> None:
        if self._log_handler is not None:
            logging.getLogger("fsconf.esl.connection").removeHandler(self._log_handler)
        if self.driver is not None:
            self.driver.close()
        if self.controller is not None:
            self.controller.stop(timeout=2)
        if self.sim is not None:
            self.sim.stop()
        if self.db is not None:
            self.db.dispose()

    def _provision(self) -> DemoConference:
        assert self.db is not None
        with self.db.unit_of_work() as s:
            customer = customers.add_customer(
                s, name="Demo Customer B.V.", email="demo@example.org",
                activated_on=dt.date.today(), actor="demo",
            )
            numbers.add_number(s, ACCESS_NUMBER, customer_id=customer["id"], actor="demo")
            conf = conference_admin.create_conference(
                s, customer_id=customer["id"], max_participants=10, language=self.language,
                security=self.settings.security, actor="demo",
            )
        return DemoConference(customer["id"], conf["number"], conf["moderator_pin"],
                              conf["participant_pin"], conf["language"], conf["id"])

    def dial(self, who: str, caller: str, driver: DemoDriver | None = None) -> DriverCall:
        """Place the call (on `driver`'s node in the two-node demo, else the one node)."""
        driver = driver or self.driver
        assert driver is not None
        node = f" on node {driver.where}" if driver.where else ""
        self.transcript.line(who.split(" ")[0], f"{conjugate(who, 'dials')} {ACCESS_NUMBER}"
                                                f" (caller ID {caller}){node}")
        seen = len(driver.events)
        call = driver.place_call(ACCESS_NUMBER, caller_id_number=caller,
                                 caller_id_name=who.split(" ")[0])
        self.transcript.names[call.b_uuid] = who
        self.transcript.callers[caller] = who
        # What this call heard before we knew its uuid (the welcome prompt may be that fast).
        for event in driver.events[seen:]:
            if event.uuid == call.b_uuid:
                self.transcript.on_event(event, driver.where)
        return call

    def press(self, call: DriverCall, keys: str) -> None:
        who = self.transcript.names.get(call.b_uuid, "?").split(" ")[0]
        self.transcript.line(who, f"{conjugate(who, 'presses')} {keys}")
        call.send_dtmf(keys)


def demo_settings(
    base: Settings, workdir: Path, sounds: Path | None, language: str | None = None
) -> Settings:
    """The user's settings, pointed at a throwaway database, sounds and recordings; with
    `language`, the whole call (welcome included) is in it."""
    sounds_dir = sounds if sounds is not None else stand_in_sounds(workdir / "sounds")
    return replace(
        base,
        database=replace(base.database, url=f"sqlite:///{workdir / 'demo.sqlite3'}"),
        controller=replace(base.controller, port=0, graceful_stop_timeout=2.0),
        ivr=replace(base.ivr, sounds_dir=str(sounds_dir), keypad_inter_digit_timeout=0.4,
                    default_language=language or base.ivr.default_language,
                    first_digit_timeout_ms=30000, inter_digit_timeout_ms=30000),
        freeswitch=replace(base.freeswitch, recordings_dir=str(workdir / "recordings")),
    )
