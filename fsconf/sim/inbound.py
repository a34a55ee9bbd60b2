"""Inbound Event Socket server (mod_event_socket listening on 8021)."""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING

from gevent.server import StreamServer

from fsconf.esl.protocol import Command, encode_disconnect_notice
from fsconf.sim.events import MYEVENTS
from fsconf.sim.listener import EslConnection

if TYPE_CHECKING:
    from fsconf.sim.ports import ListenerHost

log = logging.getLogger(__name__)


class InboundConnection(EslConnection):
    def __init__(self, host: ListenerHost, sock: socket.socket) -> None:
        super().__init__(host, sock)
        self.authed = False

    def handle(self, cmd: Command) -> None:
        verb, _, rest = cmd.line.partition(" ")
        verb = verb.lower()
        if not self.authed:
            if verb == "auth":
                if rest.strip() == self.host.password:
                    self.authed = True
                    self.reply("+OK accepted")
                else:
                    self.reply("-ERR invalid")
                    self.close(encode_disconnect_notice())
            elif verb == "exit":
                self.reply("+OK bye")
                self.close(encode_disconnect_notice())
            else:
                self.reply("-ERR command not found")
            return
        if self.handle_common(cmd, verb, rest):
            return
        if verb in ("linger", "nolinger"):
            self.reply("-ERR not controlling a session")
        elif verb == "sendmsg":
            self.do_sendmsg(cmd, rest.strip() or cmd.header("session-id"))
        elif verb == "myevents":
            self.do_myevents_inbound(rest)
        else:
            self.reply("-ERR command not found")

    def do_myevents_inbound(self, rest: str) -> None:
        words = rest.split()
        uuid = next((w for w in words if w not in ("plain", "json", "xml")), None)
        if uuid is None or self.host.channels.get(uuid) is None:
            self.reply("-ERR invalid uuid")
            return
        fmt = "json" if "json" in rest else "plain"
        self.sub.add(fmt, MYEVENTS)
        self.sub.my_uuid = uuid
        self.host.bus.attach(self)
        self.reply("+OK Events Enabled")


class InboundServer:
    def __init__(self, switch: ListenerHost, host: str, port: int) -> None:
        self.switch = switch
        self.server = StreamServer((host, port), self._accept)
        self.connections: set[InboundConnection] = set()

    def start(self) -> None:
        self.server.start()

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def _accept(self, sock: socket.socket, address: tuple[str, int]) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = InboundConnection(self.switch, sock)
        self.connections.add(conn)
        conn.send(b"Content-Type: auth/request\n\n")
        conn.start()
        conn.closed.wait()
        self.connections.discard(conn)

    def stop(self) -> None:
        for conn in list(self.connections):
            conn.close()
        self.server.stop(timeout=1)
