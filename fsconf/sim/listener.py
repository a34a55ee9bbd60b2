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
from fsconf.sim.events import SimEvent, Subscription

if TYPE_CHECKING:
    from fsconf.sim.core import Simulator

log = logging.getLogger(__name__)


class EslConnection:
    """One Event Socket connection seen from the switch side."""

    outbound = False

    def __init__(self, sim: Simulator, sock: socket.socket) -> None:
        self.sim = sim
        self.sock = sock
        self.sub = Subscription()
        self._out: Queue[bytes | None] = Queue()
        self._held: list[bytes] | None = None  # events held back while an api runs
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
        trace = self.sim.trace
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
            self._held.append(callback)  # type: ignore[arg-type]
        elif not self.closing:
            self._out.put(callback)  # type: ignore[arg-type]

    def reply(self, text: str, extra: list[tuple[str, str]] | None = None) -> None:
        self.send(encode_command_reply(text, extra or ()))

    def close(self, notice: bytes | None = None) -> None:
        """Write the notice after everything queued, then close the socket."""
        if self.closing:
            return
        if notice is not None:
            self._out.put(notice)
        self.closing = True
        self.sim.bus.detach(self)
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
                    batch.append(self._out.get_nowait())
                self._send_all(data if len(batch) == 1 else b"".join(batch))
        except OSError:
            pass
        finally:
            self.closing = True
            self.sim.bus.detach(self)
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
        self.sim.bus.attach(self)
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
        if self.sim.trace is not None and self.outbound:
            self.sim.trace.api_received(self.controlled_uuid(), rest)
        # While the API runs nothing else is written to this socket.
        self._held = []
        try:
            body = self.sim.commands.execute_line(rest, self)
            self.send(encode_api_response(body.encode("utf-8")))
        finally:
            held, self._held = self._held, None
            for data in held or []:
                self._out.put(data)

    def do_bgapi(self, rest: str, job_uuid: str | None) -> None:
        job = job_uuid or str(uuidlib.uuid4())
        self.reply(f"+OK Job-UUID: {job}", [("Job-UUID", job)])
        owner = self.controlled_uuid()
        gevent.spawn(self.sim.commands.background, rest, job, owner)
