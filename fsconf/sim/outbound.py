"""The dialplan 'socket' application and the outbound Event Socket session it opens."""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING

from gevent.event import Event as GEvent

from fsconf.esl.protocol import (
    Command,
    encode_disconnect_notice,
    url_encode,
)
from fsconf.sim.events import MYEVENTS, SimEvent
from fsconf.sim.listener import EslConnection

if TYPE_CHECKING:
    from fsconf.sim.channel import App, Channel
    from fsconf.sim.ports import ListenerHost
    from fsconf.sim.settings import SimSettings

log = logging.getLogger(__name__)

# Answered with -ERR command not found on a socket without 'full' (the gate in parse_command).
GATED = frozenset(
    [
        "api",
        "bgapi",
        "linger",
        "nolinger",
        "event",
        "nixevent",
        "noevents",
        "sendevent",
        "log",
        "nolog",
    ]
)


class OutboundSession(EslConnection):
    outbound = True

    def __init__(
        self,
        host: ListenerHost,
        ch: Channel,
        sock: socket.socket,
        arg: str,
        async_mode: bool,
        full: bool,
    ) -> None:
        super().__init__(host, sock)
        self.ch = ch
        self.arg = arg
        self.async_mode = async_mode
        self.full = full
        self.connected = GEvent()
        self.first = True
        self.linger: int | None = None
        self.myevents = False
        self.peer_gone = False
        self.noticed = False  # the linger/goodbye notice went out
        self._notice_after: int | None = None  # race: notice after this many more events
        self._silent = False  # replies dropped (a first command that is not 'connect')

    def reply(self, text: str, extra: list[tuple[str, str]] | None = None) -> None:
        if not self._silent:
            super().reply(text, extra)

    def controlled_uuid(self) -> str | None:
        return self.ch.uuid

    def controlled_channel(self) -> Channel | None:
        return self.ch

    def handle(self, cmd: Command) -> None:
        verb, _, rest = cmd.line.partition(" ")
        verb = verb.lower()
        if self.first:
            self.first = False
            if verb != "connect":
                # Executed but never answered (FreeSWITCH writes no reply for it).
                self._silent = True
                try:
                    self.dispatch(cmd, verb, rest)
                finally:
                    self._silent = False
                return
        self.dispatch(cmd, verb, rest)

    def dispatch(self, cmd: Command, verb: str, rest: str) -> None:
        if verb == "connect":
            self.send_connect_reply()
            self.connected.set()
            self.ch.wake.set()
        elif verb == "myevents":
            if self.myevents:
                self.reply("-ERR aready enabled.")
                return
            self.myevents = True
            fmt = "json" if "json" in rest else ("xml" if "xml" in rest else "plain")
            self.sub.add(fmt, MYEVENTS)
            self.sub.my_uuid = self.ch.uuid
            self.host.bus.attach(self)
            self.reply("+OK Events Enabled")
        elif verb == "getvar":
            value = self.ch.get_var(rest.strip())
            self.reply(value if value else "-ERR command not found")
        elif verb == "resume":
            self.ch.variables["socket_resume"] = "true"
            self.reply("+OK")
        elif verb == "filter":
            self.do_filter(rest)
        elif verb == "divert_events":
            self.handle_common(cmd, verb, rest)
        elif verb == "sendmsg":
            self.do_sendmsg(cmd, rest.strip() or cmd.header("session-id"))
        elif verb == "exit":
            self.handle_common(cmd, verb, rest)
        elif verb in GATED and not self.full:
            self.reply("-ERR command not found")
        elif verb == "linger":
            secs = rest.strip()
            if secs.lstrip("-").isdigit() and int(secs) > 0:
                self.linger = int(secs)
                self.reply(f"+OK will linger {self.linger} seconds")
            else:
                self.linger = -1
                self.reply("+OK will linger")
        elif verb == "nolinger":
            self.linger = None
            self.reply("+OK will not linger")
        elif not self.handle_common(cmd, verb, rest):
            self.reply("-ERR command not found")

    def send_connect_reply(self) -> None:
        headers = self.host.bus.core_headers(
            "CHANNEL_DATA", ("mod_event_socket.c", "parse_command", 2021)
        )
        headers += self.ch.channel_data_headers()
        lines = [f"{k}: {url_encode(v) or '_undef_'}" for k, v in headers]
        lines += [
            "Content-Type: command/reply",
            "Reply-Text: %2BOK%0A",
            f"Socket-Mode: {'async' if self.async_mode else 'static'}",
            f"Control: {'full' if self.full else 'single-channel'}",
        ]
        self.send(("\n".join(lines) + "\n\n").encode("utf-8"))

    def hangup_begins(self) -> None:
        """The channel goes down (just before CHANNEL_HANGUP is fired).

        The listener thread sends its notice when it sees the channel down, while the
        hang-up events reach its queue through the event thread: the notice may overtake
        them (esl-protocol.md 1.6, 9.2).  The captures show it after HANGUP_COMPLETE."""
        rng = self.ch.race()
        if rng is None or self.noticed or self.closing:
            return
        choice = rng.randrange(10)
        if choice >= 7:
            return  # captured order: after CHANNEL_HANGUP_COMPLETE
        if choice == 0:
            self._notify()
        else:
            self._notice_after = choice

    def deliver(self, event: SimEvent) -> None:
        super().deliver(event)
        if self._notice_after is not None:
            self._notice_after -= 1
            if self._notice_after <= 0:
                self._notice_after = None
                self._notify()

    def channel_gone(self) -> None:
        """Called after CHANNEL_HANGUP_COMPLETE: linger or say goodbye."""
        self._notice_after = None
        self._notify()

    def _notify(self) -> None:
        if self.closing or self.noticed:
            return
        self.noticed = True
        if self.linger is None:
            # Without linger the listener says goodbye and closes: later events are lost.
            self.close(encode_disconnect_notice(self.ch.uuid))
            return
        self.send(encode_disconnect_notice(self.ch.uuid, self.linger, self.ch.name))
        if self.linger > 0:
            self.host.clock.call_later(
                self.linger,
                self.close,
                encode_disconnect_notice(self.ch.uuid),
            )

    def on_peer_gone(self) -> None:
        self.peer_gone = True
        self.close()

    def on_closed(self) -> None:
        self.ch.wake.set()


def parse_socket_arg(arg: str) -> tuple[list[tuple[str, int]], bool, bool]:
    words = arg.split()
    targets: list[tuple[str, int]] = []
    if words:
        for spec in words[0].split("|"):
            hostport = spec.split("/", 1)[0]
            host, sep, port = hostport.rpartition(":")
            if not sep:
                host, port = hostport, "8084"
            if host and port.isdigit():
                targets.append((host, int(port)))
    flags = {w.lower() for w in words[1:]}
    return targets, "async" in flags, "full" in flags


def make_app_socket(host: ListenerHost, settings: SimSettings) -> App:
    """The dialplan 'socket' application of a switch whose listeners see `host`."""

    def app(ch: Channel, arg: str) -> str | None:
        return app_socket(host, settings, ch, arg)

    return app


def app_socket(host: ListenerHost, settings: SimSettings, ch: Channel, arg: str) -> str | None:
    targets, async_mode, full = parse_socket_arg(arg)
    sock = None
    for address, port in targets:
        try:
            sock = _connect(address, port, settings.outbound_connect_timeout_s)
            ch.variables["socket_host"] = address
            break
        except OSError:
            log.info("[%s] Socket Error connecting to %s:%s", ch.uuid, address, port)
    if sock is None:
        return None  # the dialplan continues with the next action
    sock.settimeout(None)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    session = OutboundSession(host, ch, sock, arg, async_mode, full)
    ch.session = session
    session.start()
    ch.media_wait(
        settings.connect_timeout_s,
        until=lambda: session.connected.is_set() or session.closing,
    )
    if not session.connected.is_set():
        session.close(encode_disconnect_notice(ch.uuid))
        ch.session = None
        return None
    # async: the channel parks while the listener feeds it commands.
    ch.fire("CHANNEL_PARK", ("switch_ivr.c", "switch_ivr_park", 969))
    ch.media_wait(None, until=lambda: session.closing)
    ch.fire("CHANNEL_UNPARK", ("switch_ivr.c", "switch_ivr_park", 1196))
    if session.closing and ch.up:
        ch.session = None
    return None


def _numeric_family(host: str) -> int | None:
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except OSError:
            continue
        return family
    return None


def _connect(host: str, port: int, timeout: float) -> socket.socket:
    """socket.create_connection, without a resolver lookup for a numeric address (gevent
    hands every getaddrinfo to a thread: a costly round trip per call for an answer known
    in advance).  Names still go through create_connection."""
    family = _numeric_family(host)
    if family is None:
        return socket.create_connection((host, port), timeout=timeout)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.settimeout(timeout)
        sock.connect((host, port))
    except OSError:
        sock.close()
        raise
    return sock
