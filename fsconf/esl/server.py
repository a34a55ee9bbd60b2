"""The outbound Event Socket server: FreeSWITCH dials in, one greenlet owns each call.

Accepting uses gevent's StreamServer, which waits on the listening socket instead of
polling it (greenswitch's accept loop sleeps 100 ms whenever nobody is waiting, adding up
to 100 ms to every call set-up).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable

import gevent
from gevent.server import StreamServer

from fsconf.acl import Network, admitted
from fsconf.esl.connection import EslError
from fsconf.esl.session import CallGone, OutboundSession, Subscription

log = logging.getLogger(__name__)

CallHandler = Callable[[OutboundSession], None]


class ControllerStopping(gevent.GreenletExit):
    """Raised into a call's greenlet when the controller stops while the call goes on in
    FreeSWITCH: unwind without recording an ending (the next controller takes it over)."""


class OutboundServer:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        handler: CallHandler,
        busy_handler: CallHandler,
        max_calls: int,
        timeout: float = 10.0,
        allow_from: tuple[Network, ...] | None = None,
        subscription: Subscription = Subscription(),
    ) -> None:
        self._handler = handler
        self.allow_from = allow_from  # None: every peer (tests and tools of our own)
        self.refused_peers = 0
        self.subscription = subscription
        self._busy_handler = busy_handler
        self.max_calls = max_calls
        self.timeout = timeout
        self.active: set[gevent.Greenlet] = set()
        self.sessions: dict[gevent.Greenlet, OutboundSession] = {}
        self.accepted = 0
        self.refused_busy = 0
        self.stopping = False
        self._server = StreamServer((host, port), self._handle)
        # A burst of FreeSWITCH channels connecting at once must not be refused by the kernel.
        self._server.backlog = 1024

    @property
    def address(self) -> tuple[str, int]:
        return self._server.address

    def start(self) -> None:
        self._server.start()
        log.info("outbound Event Socket server listening on %s:%s", *self.address)

    def stop_accepting(self) -> None:
        self.stopping = True
        self._server.close()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every call greenlet has finished; False if some are still running."""
        if self.active:
            gevent.joinall(list(self.active), timeout=timeout)
        return not self.active

    def stop(self, timeout: float) -> None:
        self.stop_accepting()
        if not self.wait_idle(timeout):
            log.warning("stopping with %d calls still running", len(self.active))
            self.detach(list(self.active))

    def detach(self, greenlets: list[gevent.Greenlet]) -> None:
        """Let go of calls without hanging them up (FreeSWITCH keeps them)."""
        gevent.killall(greenlets, exception=ControllerStopping, timeout=5)

    def _handle(self, sock: socket.socket, address: tuple[str, int]) -> None:
        if self.allow_from is not None and not admitted(address[0], self.allow_from):
            self.refused_peers += 1
            log.warning(
                "refused a connection from %s: not in [controller] allow_from", address[0]
            )
            sock.close()
            return
        current = gevent.getcurrent()
        self.active.add(current)
        self.accepted += 1
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        session = OutboundSession(sock, timeout=self.timeout, subscription=self.subscription)
        self.sessions[current] = session
        try:
            session.connect()
            session.subscribe()
            if len(self.active) > self.max_calls:
                self.refused_busy += 1
                self._busy_handler(session)
            else:
                self._handler(session)
        except CallGone:
            pass
        except EslError as exc:
            log.warning("call %s from %s: %s", session.uuid or "?", address[0], exc)
        except Exception:
            if self.stopping:
                # Interrupted by the stop itself: the call goes on in FreeSWITCH.
                log.info("call %s left to FreeSWITCH mid-operation", session.uuid or "?")
            else:
                log.exception("call %s: unexpected error", session.uuid or "?")
                session.hangup("NORMAL_TEMPORARY_FAILURE")
        finally:
            session.close()
            self.active.discard(current)
            self.sessions.pop(current, None)
