"""What inbound and outbound Event Socket connections share: framing, subscriptions,
api/bgapi, event/nixevent/noevents/filter, ordered writes."""

from __future__ import annotations

import logging
import socket
import uuid as uuidlib
from collections.abc import Callable
from typing import TYPE_CHECKING

import gevent
from gevent.event import Event as GEvent
from gevent.queue import Queue

from fsconf.esl.protocol import (
    Command,
    CommandParser,
    ProtocolError,
    encode_api_response,
    encode_command_reply,
    encode_disconnect_notice,
)
from fsconf.sim.channel import QueuedCommand
from fsconf.sim.events import SimEvent, Subscription

if TYPE_CHECKING:
    from fsconf.sim.channel import Channel
    from fsconf.sim.ports import ListenerHost

log = logging.getLogger(__name__)

# What the writer greenlet takes: bytes, or a bench-trace marker run once written.
Outgoing = bytes | Callable[[], None]


class EslConnection:
    """One Event Socket connection seen from the switch side."""

    outbound = False

    def __init__(self, host: ListenerHost, sock: socket.socket) -> None:
        self.host = host
        self.sock = sock
        self.sub = Subscription()
        self._out: Queue[Outgoing | None] = Queue()
        self._held: list[Outgoing] | None = None  # events held back while an api runs
        self.closing = False
        self.closed = GEvent()
        self._writer = gevent.spawn(self._write_loop)
        self._reader: gevent.Greenlet | None = None

    # --- subscriber protocol for EventBus ---------------------------------------------

    @property
    def my_uuid(self) -> str | None:
        return self.sub.my_uuid

    def wants(self, event: SimEvent) -> bool:
        return not self.closing and self.sub.wants(event)

    def deliver(self, event: SimEvent) -> None:
        data = event.encoded(self.sub.fmt)
        if self._held is not None:
            self._held.append(data)
        else:
            self._out.put(data)
        trace = self.host.trace
        if trace is not None and self.outbound and event.name == "DTMF":
            # bench-trace knob only: timestamp once the event's bytes are written. The
            # socket's own channel, whether it asked for `myevents` or filters Unique-ID.
            uuid, digit = self.controlled_uuid(), event.header("DTMF-Digit") or ""
            self.send_marker(lambda: trace.dtmf_written(uuid, digit))

    # --- I/O --------------------------------------------------------------------------

    def start(self) -> None:
        self._reader = gevent.spawn(self._read_loop)

    def send(self, data: bytes) -> None:
        if not self.closing:
            self._out.put(data)

    def send_marker(self, callback: Callable[[], None]) -> None:
        """Run callback once everything queued before it is written (bench-trace knob)."""
        if self._held is not None:
            self._held.append(callback)
        elif not self.closing:
            self._out.put(callback)

    def reply(self, text: str, extra: list[tuple[str, str]] | None = None) -> None:
        self.send(encode_command_reply(text, extra or ()))

    def close(self, notice: bytes | None = None) -> None:
        """Write the notice after everything queued, then close the socket."""
        if self.closing:
            return
        if notice is not None:
            self._out.put(notice)
        self.closing = True
        self.host.bus.detach(self)
        self._out.put(None)

    def abort(self) -> None:
        """The switch process dies: the socket closes with nothing more written."""
        self.closing = True
        self.host.bus.detach(self)
        while self._out.qsize():
            self._out.get_nowait()
        self._out.put(None)

    def _write_loop(self) -> None:
        try:
            while True:
                data = self._out.get()
                if data is None:
                    break
                if callable(data):  # a bench-trace marker, not bytes
                    data()
                    continue
                # Coalesce what is already queued into one write (same byte stream, far
                # fewer syscalls under load); markers and the close sentinel end a batch.
                # qsize() rather than catching Empty: an exception per batch is costly.
                batch = [data]
                while len(batch) < 64 and self._out.qsize():
                    nxt = self._out.peek_nowait()
                    if nxt is None or callable(nxt):
                        break
                    self._out.get_nowait()
                    batch.append(nxt)
                self._send_all(data if len(batch) == 1 else b"".join(batch))
        except OSError:
            pass
        finally:
            self.closing = True
            self.host.bus.detach(self)
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()
            self.closed.set()
            self.on_closed()

    def _send_all(self, data: bytes) -> None:
        """sock.sendall without gevent's per-call SO_SNDBUF getsockopt and chunking: one
        send() normally takes it all; a short write loops on the rest (same bytes)."""
        sent = self.sock.send(data)
        if sent < len(data):
            view = memoryview(data)[sent:]
            while view:
                view = view[self.sock.send(view) :]

    def _read_loop(self) -> None:
        parser = CommandParser()
        try:
            while not self.closing:
                data = self.sock.recv(65536)
                if not data:
                    break
                for cmd in parser.feed(data):
                    if self.closing:
                        break
                    self.handle(cmd)
        except ProtocolError as exc:
            log.warning("dropping Event Socket connection: %s", exc)
        except OSError:
            pass
        finally:
            self.on_peer_gone()

    def on_peer_gone(self) -> None:
        self.close()

    def on_closed(self) -> None:
        pass

    # --- commands ---------------------------------------------------------------------

    def handle(self, cmd: Command) -> None:
        raise NotImplementedError

    def handle_common(self, cmd: Command, verb: str, rest: str) -> bool:
        """Commands both socket kinds understand; False if not one of them."""
        if verb == "api":
            self.do_api(rest)
        elif verb == "bgapi":
            self.do_bgapi(rest, cmd.header("Job-UUID"))
        elif verb == "event":
            self.do_event(rest)
        elif verb == "nixevent":
            words = rest.split()
            if not words:
                self.reply("-ERR no keywords supplied")
            else:
                self.sub.remove(words)
                self.reply("+OK events nixed")
        elif verb == "noevents":
            self.sub.clear()
            self.reply("+OK no longer listening for events")
        elif verb == "filter":
            self.do_filter(rest)
        elif verb == "divert_events":
            if rest.strip().lower() == "on":
                self.reply("+OK events diverted")
            elif rest.strip().lower() == "off":
                self.reply("+OK events not diverted")
            else:
                self.reply("-ERR missing value.")
        elif verb == "log":
            self.reply("+OK log level  [7]")
        elif verb == "nolog":
            self.reply("+OK no longer logging")
        elif verb == "exit":
            self.reply("+OK bye")
            self.close(encode_disconnect_notice(self.controlled_uuid()))
        else:
            return False
        return True

    def controlled_uuid(self) -> str | None:
        return None

    def do_event(self, rest: str) -> None:
        words = rest.split()
        fmt = "plain"
        if words and words[0].lower() in ("plain", "json", "xml"):
            fmt = words.pop(0).lower()
        if not words:
            self.reply("-ERR no keywords supplied")
            return
        self.sub.add(fmt, words)
        self.host.bus.attach(self)
        self.reply(f"+OK event listener enabled {fmt}")

    def do_filter(self, rest: str) -> None:
        words = rest.split(None, 2)
        if words and words[0].lower() == "delete":
            header = words[1] if len(words) > 1 else ""
            value = words[2] if len(words) > 2 else ""
            if header.lower() == "all":
                self.sub.filters.clear()
            else:
                self.sub.filters = [
                    (h, v)
                    for h, v in self.sub.filters
                    if not (h.lower() == header.lower() and (not value or v == value))
                ]
            self.reply(f"+OK filter deleted. [{header}][{value}]")
            return
        if len(words) < 2:
            self.reply("-ERR invalid syntax")
            return
        header, value = words[0], rest.split(None, 1)[1]
        self.sub.filters.append((header, value))
        self.reply(f"+OK filter added. [{header}]=[{value}]")

    def do_api(self, rest: str) -> None:
        trace = self.host.trace
        if trace is not None and self.outbound:
            trace.api_received(self.controlled_uuid(), rest)
        # While the API runs nothing else is written to this socket.
        self._held = []
        try:
            body = self.host.api(rest)
            self.send(encode_api_response(body.encode("utf-8")))
        finally:
            held, self._held = self._held, None
            for data in held or []:
                self._out.put(data)

    def do_bgapi(self, rest: str, job_uuid: str | None) -> None:
        job = job_uuid or str(uuidlib.uuid4())
        self.reply(f"+OK Job-UUID: {job}", [("Job-UUID", job)])
        owner = self.controlled_uuid()
        gevent.spawn(self.host.bgapi, rest, job, owner)

    def do_sendmsg(self, cmd: Command, target: str | None) -> None:
        """sendmsg to `target`, or without one to the channel this socket controls."""
        if target:
            ch = self.host.channels.get(target)
            if ch is None:
                self.reply(f"-ERR invalid session id [{target}]")
                return
        else:
            ch = self.controlled_channel()
            if ch is None:
                self.reply("-ERR invalid session id []")
                return
        queue_sendmsg(ch, cmd)
        self.reply("+OK")

    def controlled_channel(self) -> Channel | None:
        return None


def queue_sendmsg(ch: Channel, cmd: Command) -> None:
    call_command = (cmd.header("call-command") or "").lower()
    if call_command == "execute":
        arg = cmd.header("execute-app-arg")
        if arg is None and cmd.body:
            arg = cmd.body.decode("utf-8", errors="replace")
        loops = cmd.header("loops") or "1"
        ch.queue_command(
            QueuedCommand(
                kind="execute",
                app=cmd.header("execute-app-name") or "",
                arg=arg or "",
                event_uuid=cmd.header("Event-UUID"),
                event_uuid_name=cmd.header("Event-UUID-Name"),
                lock=(cmd.header("event-lock") or "").lower() == "true",
                loops=int(loops) if loops.lstrip("-").isdigit() else 1,
            )
        )
    elif call_command == "hangup":
        ch.queue_command(
            QueuedCommand(kind="hangup", cause=cmd.header("hangup-cause") or "NORMAL_CLEARING")
        )
