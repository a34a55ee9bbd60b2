"""The second peer: the same join flow, written plainly on genesis (asyncio, uvloop).

What a competent engineer would write with genesis 2026.10 the way its documentation
shows: `Outbound(handler, host, port)` with its defaults (it sends `connect`,
`filter Unique-ID <uuid>` + `event plain all`, and `linger`), the `session.channel`
helpers for answer / playback / say / play_and_get_digits, `sendmsg(..., block=True)` for
the other applications, `session.on(...)` for events and `session.send("api ...")` for
conference commands, with uvloop installed through `genesis.use_uvloop()`. It does exactly
what bench/baseline_greenswitch.py does: answers, asks for the conference number and PIN
(checked against the same database, read-only, the same SQL), records a name, says how
many are present, joins mod_conference, announces the caller to the others with one
`conference play` per member and file, and turns *1 / *7 / *9 / # into `api conference`
commands. No meeting records, no brute-force counters: it does less than fsconf.

    python -m bench.baseline_genesis --config controller.toml --port 8084
    (database: FSCONF_DATABASE_URL, sqlite:///... only)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sqlite3
from typing import Any

from genesis import Outbound, Session, use_uvloop
from genesis.exceptions import GenesisError

from bench import peer_options
from bench.peer_options import Options

log = logging.getLogger("baseline-genesis")
PROFILE = "fsconf"

OPTIONS: Options | None = None
ROOMS: dict[str, dict[int, str]] = {}  # conference name -> member id -> call uuid
_DB: sqlite3.Connection | None = None


def db() -> sqlite3.Connection:
    global _DB
    if _DB is None:
        assert OPTIONS is not None
        _DB = sqlite3.connect(OPTIONS.db_path)
    return _DB


def f(key: str) -> str:
    return f"fsconf/{key}.wav"


class Gone(Exception):
    """The caller hung up."""


class JoinApp:
    def __init__(self, session: Session) -> None:
        self.s = session
        assert session.channel is not None
        self.ch = session.channel
        self.keys: asyncio.Queue[str | None] = asyncio.Queue()
        self.added: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.gone = asyncio.Event()
        self.joined = False
        self.member_id = 0
        self.room = ""

    # -- event handlers (genesis runs each in a task of its own) ---------------------

    async def on_dtmf(self, event: Any) -> None:
        if self.joined:
            self.keys.put_nowait(event.get("DTMF-Digit", ""))

    async def on_conference(self, event: Any) -> None:
        if (
            event.get("Action") == "add-member"
            and event.get("Unique-ID") == self.s.uuid
            and not self.added.done()
        ):
            self.added.set_result(int(event.get("Member-ID") or 0))

    async def on_gone(self, event: Any) -> None:
        self.gone.set()
        self.keys.put_nowait(None)
        if not self.added.done():
            self.added.set_exception(Gone())

    # -- the call ----------------------------------------------------------------------

    async def run(self) -> None:
        s, o = self.s, OPTIONS
        assert o is not None
        try:
            s.on("DTMF", self.on_dtmf)
            s.on("conference::maintenance", self.on_conference)
            s.on("CHANNEL_HANGUP", self.on_gone)
            await s.send("event plain CUSTOM conference::maintenance")
            await self.ch.answer()
            await self.app("set", f"sound_prefix={o.sounds_dir}/nl")
            await self.ch.playback(f("welcome"))
            pins = await self.ask_number()
            if pins is None:
                return await self.bye()
            moderator = await self.ask_pin(pins)
            if moderator is None:
                return await self.bye()
            await self.app("set", "playback_terminators=#")
            await self.ch.playback(f("record-name"))
            await self.ch.playback(f("tone"))
            path = os.path.join(o.recordings_dir, f"gn-{s.uuid}.wav")
            await self.app("record", f"{path} {o.record_s} 200 {o.silence_s}",
                           timeout=o.record_s + 30)
            await self.join(moderator)
            await self.keypad()
        except (TimeoutError, GenesisError, Gone, ConnectionError):
            pass
        finally:
            if self.member_id and self.room in ROOMS:
                ROOMS[self.room].pop(self.member_id, None)
                if not ROOMS[self.room]:
                    del ROOMS[self.room]

    async def app(self, name: str, data: str, timeout: float = 60) -> Any:
        if self.gone.is_set():
            raise Gone()
        return await self.s.sendmsg("execute", name, data, block=True, timeout=timeout)

    async def bye(self) -> None:
        await self.ch.playback(f("goodbye"))
        await self.ch.hangup()

    async def pagd(self, prompt: str, max_digits: int) -> str | None:
        o = OPTIONS
        assert o is not None
        if self.gone.is_set():
            raise Gone()
        wait = (o.first_ms + o.inter_ms * max_digits) / 1000 + 60
        done = await self.ch.play_and_get_digits(
            tries=1, timeout=o.first_ms, terminators="#", file=f(prompt), minimal=1,
            maximum=max_digits, regexp="^[0-9]+$", var_name="fsconf_digits",
            invalid_file="silence_stream://250", digit_timeout=o.inter_ms,
            sendmsg_timeout=wait,
        )
        value = done.get("variable_fsconf_digits")
        return value if isinstance(value, str) and value else None

    async def ask_number(self) -> tuple[str, str] | None:
        access = self.s.context.get("Caller-Destination-Number", "")
        for _ in range(3):
            number = await self.pagd("enter-conference-number", 9)
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
            await self.ch.playback(f("unknown-conference"))
        return None

    async def ask_pin(self, pins: tuple[str, str]) -> bool | None:
        for _ in range(3):
            pin = await self.pagd("enter-pin", 8)
            if pin == pins[0]:
                return True
            if pin == pins[1]:
                return False
            await self.ch.playback(f("wrong-pin"))
        return None

    async def join(self, moderator: bool) -> None:
        present = len(ROOMS.get(self.room, {}))
        await self.ch.playback(f("entering-conference"))
        if present == 0:
            await self.ch.playback(f("you-are-first"))
        elif present == 1:
            await self.ch.playback(f("one-participant-present"))
        else:
            await self.ch.playback(f("participants-present-before"))
            await self.ch.say(str(present), module="nl", kind="NUMBER", method="pronounced")
            await self.ch.playback(f("participants-present-after"))
        flags = "+flags{moderator}" if moderator else ""
        # `conference` runs for the whole meeting: not blocking, the add-member event says
        # when the caller is in.
        await self.s.sendmsg("execute", "conference", f"{self.room}@{PROFILE}{flags}")
        self.member_id = await asyncio.wait_for(self.added, timeout=30)
        room = ROOMS.setdefault(self.room, {})
        others = list(room)
        room[self.member_id] = self.s.uuid or ""
        self.joined = True
        for other in others:
            await self.api(f"play {f('unnamed-caller')} {other}")
            await self.api(f"play {f('has-joined')} {other}")

    async def api(self, args: str) -> str:
        reply = await self.s.send(f"api conference {self.room} {args}")
        return reply.body or ""

    async def keypad(self) -> None:
        while not self.gone.is_set():
            key = await self.keys.get()
            if key is None:
                return
            if key == "#":
                await self.api(f"play {f('help-participant')} {self.member_id}")
            elif key == "*":
                try:
                    nxt = await asyncio.wait_for(self.keys.get(), timeout=1.5)
                except TimeoutError:
                    continue
                if nxt is None:
                    return
                await self.control(nxt)

    async def control(self, key: str) -> None:
        me = self.member_id
        if key == "1":
            reply = await self.api(f"tmute {me} quiet")
            await self.api(f"play {f('muted' if '+OK mute' in reply else 'unmuted')} {me}")
        elif key in ("7", "9"):
            step = "down" if key == "7" else "up"
            await self.api(f"volume_out {me} {step}")
            await self.api(f"play {f('volume-' + step)} {me}")
        else:
            await self.api(f"play {f('invalid-option')} {me}")


async def handler(session: Session) -> None:
    await JoinApp(session).run()


async def serve(port: int) -> None:
    app = Outbound(handler, "127.0.0.1", port)
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    server = asyncio.create_task(app.start())
    await stopping.wait()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(app.stop(), timeout=5)
    server.cancel()
    with contextlib.suppress(BaseException):
        await server


def main(argv: list[str] | None = None) -> int:
    global OPTIONS
    OPTIONS, port = peer_options.parse("python -m bench.baseline_genesis", argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    uvloop = use_uvloop()
    log.info("genesis peer on port %d, uvloop %s", port, "on" if uvloop else "off")
    asyncio.run(serve(port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
