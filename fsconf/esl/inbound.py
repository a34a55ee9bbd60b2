"""A client of FreeSWITCH's inbound Event Socket (port 8021): api, bgapi, events.

Used by the operator's `live` commands, `doctor`, and the controller's reconciliation.
With `reconnect=True` a supervisor greenlet re-establishes a lost connection with
exponential backoff, re-subscribes, and calls `on_reconnect` so the owner can resync;
meanwhile `api()` fails at once with `NotConnected` and a message saying why.
"""

from __future__ import annotations

import logging
import socket
import uuid as uuidlib
from collections.abc import Callable, Sequence

import gevent
from gevent import socket as gsocket
from gevent.event import Event as Flag

from fsconf.esl.connection import ConnectionClosed, DisconnectNotice, EslConnection, EslError
from fsconf.esl.protocol import Event

log = logging.getLogger(__name__)


class NotConnected(EslError):
    """FreeSWITCH's Event Socket cannot be reached right now."""


class AuthenticationFailed(EslError):
    """FreeSWITCH refused the password."""


class InboundClient:
    def __init__(
        self,
        host: str,
        port: int,
        password: str,
        *,
        timeout: float = 5.0,
        events: Sequence[str] = (),
        on_event: Callable[[Event], None] | None = None,
        on_reconnect: Callable[[], None] | None = None,
        reconnect: bool = False,
        backoff: tuple[float, float] = (0.5, 10.0),
    ) -> None:
        self.host, self.port = host, port
        self._password = password
        self.timeout = timeout
        self.events = tuple(events)
        self._on_event = on_event
        self._on_reconnect = on_reconnect
        self._reconnect = reconnect
        self._backoff = backoff
        self._conn: EslConnection | None = None
        self._lost = Flag()
        self._stopped = False
        self._supervisor: gevent.Greenlet | None = None
        self.last_error = "not connected yet"
        self.connects = 0

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.closed

    def connect(self) -> InboundClient:
        """Connect and authenticate once; with reconnect=True, keep it connected."""
        try:
            self._open()
        except (OSError, EslError) as exc:
            if not self._reconnect or isinstance(exc, AuthenticationFailed):
                raise
            log.warning("FreeSWITCH Event Socket %s unavailable: %s", self.where, exc)
        if self._reconnect and self._supervisor is None:
            self._supervisor = gevent.spawn(self._supervise)
        return self

    def _open(self) -> None:
        try:
            sock = gsocket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            self.last_error = str(exc)
            raise NotConnected(
                f"cannot reach FreeSWITCH's Event Socket at {self.where}: {exc}"
            ) from None
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = EslConnection(
            sock, on_event=self._dispatch, on_notice=self._notice, on_close=self._closed,
            timeout=self.timeout, name=f"inbound {self.where}",
        )
        conn.start()
        try:
            conn.greeting.get(timeout=self.timeout)
        except gevent.Timeout:
            conn.close()
            raise NotConnected(f"{self.where} sent no auth/request greeting") from None
        except ConnectionClosed as exc:
            raise NotConnected(f"{self.where} closed the connection: {exc}") from None
        reply = conn.command(f"auth {self._password}")
        if not reply.ok:
            conn.close()
            raise AuthenticationFailed(
                f"FreeSWITCH at {self.where} refused the Event Socket password ({reply.text})"
            )
        if self.events:
            # JSON: parsed in C, unlike plain's URL-encoded lines (see OutboundSession).
            sub = conn.command("event json " + " ".join(self.events))
            if not sub.ok:
                conn.close()
                raise EslError(f"event subscription refused: {sub.text}")
        self._conn = conn
        self._lost.clear()
        self.connects += 1
        self.last_error = ""

    def _live(self) -> EslConnection:
        conn = self._conn
        if conn is None or conn.closed:
            raise NotConnected(
                f"FreeSWITCH's Event Socket at {self.where} is not connected"
                + (f" ({self.last_error})" if self.last_error else "")
            )
        return conn

    def api(self, command: str, timeout: float | None = None) -> str:
        return self._live().api(command, timeout=timeout)

    def api_many(self, commands: Sequence[str], timeout: float | None = None) -> list[str]:
        return self._live().api_many(commands, timeout=timeout)

    def command(self, line: str, headers: Sequence[tuple[str, str]] = ()) -> str:
        """A plain Event Socket command (filter, bgapi, ...); returns the reply text."""
        return self._live().command(line, headers).text

    def add_filter(self, header: str, value: str) -> None:
        """Only events whose `header` equals `value` (OR-ed with other filters) arrive."""
        self.command(f"filter {header} {value}")

    def delete_filter(self, header: str, value: str) -> None:
        self.command(f"filter delete {header} {value}")

    @staticmethod
    def new_job_uuid() -> str:
        return str(uuidlib.uuid4())

    def bgapi(self, command: str, job_uuid: str | None = None) -> str:
        job_uuid = job_uuid or self.new_job_uuid()
        self.command(f"bgapi {command}", [("Job-UUID", job_uuid)])
        return job_uuid

    def close(self) -> None:
        self._stopped = True
        if self._supervisor is not None:
            self._supervisor.kill(block=False)
        if self._conn is not None:
            try:
                self._conn.command("exit", timeout=1)
            except (EslError, ValueError):
                pass
            self._conn.close()

    def __enter__(self) -> InboundClient:
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- events and reconnection -------------------------------------------------------------

    def _dispatch(self, event: Event) -> None:
        if self._on_event is not None:
            self._on_event(event)

    def _notice(self, notice: DisconnectNotice) -> None:
        self.last_error = "FreeSWITCH said goodbye"

    def _closed(self) -> None:
        self._lost.set()

    def _supervise(self) -> None:
        delay = self._backoff[0]
        while not self._stopped:
            if self.connected:
                self._lost.wait()
                if self._stopped:
                    return
                log.warning("lost FreeSWITCH's Event Socket at %s; reconnecting", self.where)
            try:
                self._open()
            except AuthenticationFailed as exc:
                log.error("%s", exc)
                self.last_error = str(exc)
            except (OSError, EslError) as exc:
                self.last_error = str(exc)
            else:
                delay = self._backoff[0]
                log.info("reconnected to FreeSWITCH's Event Socket at %s", self.where)
                if self._on_reconnect is not None:
                    try:
                        self._on_reconnect()
                    except Exception:
                        log.exception("resync after reconnect failed")
                continue
            gevent.sleep(delay)
            delay = min(delay * 2, self._backoff[1])
