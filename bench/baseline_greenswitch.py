"""The baseline peer: the same join flow, written plainly on greenswitch's OutboundESLServer.

What a competent engineer would write in an afternoon with greenswitch 0.0.19 and its
documented API (esl-protocol.md section 8), avoiding the known pitfalls: `async full`
socket, linger, no CHANNEL_EXECUTE_COMPLETE handler, all 11 PAGD arguments, blocking work
spawned out of event handlers. It answers, asks for the conference number and PIN with
play_and_get_digits (checked against the same database, read-only), records a name,
says how many are present, joins mod_conference, announces the caller to the others and
turns *1 / *7 / *9 / # into `api conference ...` commands. It keeps no meeting records,
no brute-force counters and no roster persistence: it does less than fsconf.

    python -m bench.baseline_greenswitch --config controller.toml --port 8084
    (database: FSCONF_DATABASE_URL, sqlite:///... only)
"""

from __future__ import annotations

from gevent import monkey

if __name__ == "__main__":
    monkey.patch_all()

import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sqlite3  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
from gevent.event import AsyncResult  # noqa: E402
from gevent.event import Event as Flag  # noqa: E402
from gevent.queue import Empty, Queue  # noqa: E402
from greenswitch import OutboundESLServer  # noqa: E402
from greenswitch.esl import NotConnectedError, OutboundSessionHasGoneAway  # noqa: E402

log = logging.getLogger("baseline")
PROFILE = "fsconf"

from bench import peer_options  # noqa: E402
from bench.peer_options import Options  # noqa: E402

OPTIONS: Options | None = None
ROOMS: dict[str, dict[int, str]] = {}  # conference name -> member id -> call uuid
_DB = None


def db() -> sqlite3.Connection:
    global _DB
    if _DB is None:
        assert OPTIONS is not None
        _DB = sqlite3.connect(OPTIONS.db_path)
    return _DB


def f(key: str) -> str:
    return f"fsconf/{key}.wav"


class JoinApp:
    def __init__(self, session: Any) -> None:
        self.s = session
        self.keys: Queue[str | None] = Queue()
        self.added: AsyncResult = AsyncResult()
        self.gone = Flag()
        self.joined = False
        self.member_id = 0
        self.room = ""

    # -- handlers: run one at a time in greenswitch's event greenlet; never block ---------

    def on_dtmf(self, event: Any) -> None:
        if self.joined:
            self.keys.put(event.headers.get("DTMF-Digit", ""))

    def on_conference(self, event: Any) -> None:
        h = event.headers
        if h.get("Action") == "add-member" and h.get("Unique-ID") == self.s.uuid:
            self.added.set(int(h.get("Member-ID") or 0))

    def on_gone(self, event: Any) -> None:
        self.gone.set()
        self.keys.put(None)

    # -- the call ------------------------------------------------------------------------

    def run(self) -> None:
        s = self.s
        o = OPTIONS
        assert o is not None
        try:
            s.myevents()
            s.linger()
            s.send("event plain CUSTOM conference::maintenance")
            s.register_handle("DTMF", self.on_dtmf)
            s.register_handle("conference::maintenance", self.on_conference)
            s.register_handle("CHANNEL_HANGUP", self.on_gone)
            s.register_handle("DISCONNECT", self.on_gone)
            s.answer()
            s.call_command("set", f"sound_prefix={o.sounds_dir}/nl")
            s.playback(f("welcome"))
            pins = self.ask_number()
            if pins is None:
                return self.bye()
            moderator = self.ask_pin(pins)
            if moderator is None:
                return self.bye()
            s.call_command("set", "playback_terminators=#")
            s.playback(f("record-name"))
            s.playback(f("tone"))
            path = os.path.join(o.recordings_dir, f"gs-{s.uuid}.wav")
            s.call_command(
                "record", f"{path} {o.record_s} 200 {o.silence_s}", block=True,
                response_timeout=o.record_s + 30,
            )
            self.join(moderator)
            self.keypad()
        except (OutboundSessionHasGoneAway, NotConnectedError, gevent.Timeout):
            pass
        finally:
            if self.member_id and self.room in ROOMS:
                ROOMS[self.room].pop(self.member_id, None)
                if not ROOMS[self.room]:
                    del ROOMS[self.room]

    def bye(self) -> None:
        self.s.playback(f("goodbye"))
        self.s.hangup()

    def pagd(self, prompt: str, max_digits: int) -> str | None:
        o = OPTIONS
        assert o is not None
        wait = (o.first_ms + o.inter_ms * max_digits) / 1000 + 60
        return self.s.play_and_get_digits(
            1, max_digits, 1, o.first_ms, "#", f(prompt), "silence_stream://250",
            "fsconf_digits", "^[0-9]+$", o.inter_ms, "''", response_timeout=wait,
        )

    def ask_number(self) -> tuple[str, str] | None:
        access = self.s.session_data.get("Caller-Destination-Number", "")
        for _ in range(3):
            number = self.pagd("enter-conference-number", 9)
            if number:
                row = db().execute(
                    "SELECT c.moderator_pin, c.participant_pin FROM conferences c "
                    "JOIN access_numbers a ON a.customer_id = c.customer_id "
                    "WHERE a.number = ? AND c.number = ? AND c.deleted_at IS NULL",
                    (access, number),
                ).fetchone()
                if row is not None:
                    self.room = f"fsconf-{number}"
                    return row[0], row[1]
            self.s.playback(f("unknown-conference"))
        return None

    def ask_pin(self, pins: tuple[str, str]) -> bool | None:
        for _ in range(3):
            pin = self.pagd("enter-pin", 8)
            if pin == pins[0]:
                return True
            if pin == pins[1]:
                return False
            self.s.playback(f("wrong-pin"))
        return None

    def join(self, moderator: bool) -> None:
        s = self.s
        present = len(ROOMS.get(self.room, {}))
        s.playback(f("entering-conference"))
        if present == 0:
            s.playback(f("you-are-first"))
        elif present == 1:
            s.playback(f("one-participant-present"))
        else:
            s.playback(f("participants-present-before"))
            s.say("nl", say_type="NUMBER", say_method="pronounced", text=present)
            s.playback(f("participants-present-after"))
        flags = "+flags{moderator}" if moderator else ""
        s.call_command("conference", f"{self.room}@{PROFILE}{flags}")
        self.member_id = self.added.get(timeout=30)
        room = ROOMS.setdefault(self.room, {})
        others = list(room)
        room[self.member_id] = s.uuid
        self.joined = True
        for other in others:
            self.api(f"play {f('unnamed-caller')} {other}")
            self.api(f"play {f('has-joined')} {other}")

    def api(self, args: str) -> str:
        return self.s.send(f"api conference {self.room} {args}").data

    def keypad(self) -> None:
        while not self.gone.is_set():
            key = self.keys.get()
            if key is None:
                return
            if key == "#":
                self.api(f"play {f('help-participant')} {self.member_id}")
            elif key == "*":
                try:
                    nxt = self.keys.get(timeout=1.5)
                except Empty:
                    continue
                if nxt is None:
                    return
                self.control(nxt)

    def control(self, key: str) -> None:
        me = self.member_id
        if key == "1":
            reply = self.api(f"tmute {me} quiet")
            self.api(f"play {f('muted' if '+OK mute' in reply else 'unmuted')} {me}")
        elif key in ("7", "9"):
            step = "down" if key == "7" else "up"
            self.api(f"volume_out {me} {step}")
            self.api(f"play {f('volume-' + step)} {me}")
        else:
            self.api(f"play {f('invalid-option')} {me}")


def main(argv: list[str] | None = None) -> int:
    global OPTIONS
    OPTIONS, port = peer_options.parse("python -m bench.baseline_greenswitch", argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    server = OutboundESLServer(
        bind_address="127.0.0.1", bind_port=port, application=JoinApp,
        max_connections=100000,
    )
    gevent.signal_handler(signal.SIGTERM, server.stop)
    gevent.signal_handler(signal.SIGINT, server.stop)
    server.listen()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
