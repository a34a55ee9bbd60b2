"""Fault injection: a TCP proxy that can cut, refuse, delay, or drop what passes through.

Put it between the controller and the simulator (either Event Socket) or between the
controller and PostgreSQL; each fault is then a repeatable step in a test.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import gevent
from gevent.server import StreamServer


class FaultProxy:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.refusing = False
        self.delay = 0.0  # seconds added before each chunk towards the client
        self.drop: Callable[[bytes], bool] | None = None  # drop matching chunks to the client
        self.connections: list[tuple[socket.socket, socket.socket]] = []
        self.accepted = 0
        self._server = StreamServer(("127.0.0.1", 0), self._handle)
        self._server.start()

    @property
    def port(self) -> int:
        return self._server.address[1]

    def cut(self) -> None:
        """Close every connection now, as a crashed peer or a broken link would."""
        for client, upstream in self.connections:
            for s in (client, upstream):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
        self.connections.clear()

    def close(self) -> None:
        self.cut()
        self._server.stop()

    def _handle(self, client: socket.socket, _addr: tuple[str, int]) -> None:
        if self.refusing:
            client.close()
            return
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        self.accepted += 1
        pair = (client, upstream)
        self.connections.append(pair)
        down = gevent.spawn(self._pump, upstream, client, True)
        self._pump(client, upstream, False)
        down.join()
        if pair in self.connections:
            self.connections.remove(pair)

    def _pump(self, src: socket.socket, dst: socket.socket, to_client: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if to_client:
                    if self.delay:
                        gevent.sleep(self.delay)
                    if self.drop is not None and self.drop(data):
                        continue
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
