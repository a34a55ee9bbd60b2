"""One Event Socket connection over a gevent socket.

What greenswitch taught us to do differently:
- a lock is held while the reply waiter is queued *and* the command is written, so a
  reply can never be matched to the wrong command;
- every byte of a command is written (a `send` loop that finishes short writes; gevent's
  `sendall` would also ask the kernel for SO_SNDBUF on every call);
- every wait has a timeout;
- when the peer goes away, every waiter gets `ConnectionClosed`, never an empty reply.

Events are handed to `on_event` from the reader greenlet, in wire order. Handlers must
not block (they queue or set flags); anything slow belongs in the call's own greenlet.
"""

from __future__ import annotations

import logging
import socket
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import gevent
from gevent.event import AsyncResult
from gevent.lock import Semaphore
from gevent.monkey import get_original

from fsconf.esl.protocol import (
    Event,
    Frame,
    FrameParser,
    ProtocolError,
    decode_reply_headers,
    encode_command,
    encode_commands,
    parse_event,
)

log = logging.getLogger(__name__)

READ_SIZE = 256 * 1024
# Frames one connection may handle before it lets other greenlets run.
FRAMES_PER_TURN = 16


# One receive buffer per OS thread, copied out by the parser before anything can yield:
# a fresh 256 KiB per recv bloated the heap per held call (bench/results/README.md).
# The original thread-local, because gevent's is per greenlet.
_thread_local = get_original("threading", "local")()


def _receive_buffer() -> memoryview:
    buf: memoryview | None = getattr(_thread_local, "esl_receive_buffer", None)
    if buf is None:
        buf = memoryview(bytearray(READ_SIZE))
        _thread_local.esl_receive_buffer = buf
    return buf


class EslError(Exception):
    """Base of the transport's errors."""


class ConnectionClosed(EslError):
    """The peer closed the connection (or we did); nothing more will arrive."""


class CommandTimeout(EslError):
    """No reply arrived within the timeout; the connection is no longer trustworthy."""


class Reply(NamedTuple):
    """A command/reply (text = Reply-Text) or an api/response (text = body).

    A NamedTuple: a join into a room of 500 reads a thousand of these, and a frozen
    dataclass costs several times more to build."""

    text: str
    headers: dict[str, str]

    @property
    def ok(self) -> bool:
        return self.text.startswith("+OK")


class _Batch:
    """One route standing for the replies of several commands written at once: the
    reader appends each reply, and the writer wakes once, when the last has come
    (not once per reply, nor with an AsyncResult each)."""

    __slots__ = ("done", "expected", "replies")

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.replies: list[Reply] = []
        self.done = AsyncResult()

    def set(self, value: Reply) -> None:
        self.replies.append(value)
        if len(self.replies) == self.expected:
            self.done.set(self.replies)

    def set_exception(self, exception: BaseException) -> None:
        if not self.done.ready():
            self.done.set_exception(exception)


@dataclass(frozen=True)
class DisconnectNotice:
    linger: bool
    body: str


def describe_command(line: str, headers: Sequence[tuple[str, str]] = ()) -> str:
    """A command as a person reads it (for debug logs and the demo's transcript)."""
    if line.startswith("auth "):
        return "auth ***"
    if line.startswith("sendmsg"):
        fields = {name.lower(): value for name, value in headers}
        if fields.get("call-command") == "execute":
            app = fields.get("execute-app-name", "?")
            arg = fields.get("execute-app-arg", "")
            return f"execute {app} {arg}".rstrip()
        return f"sendmsg {fields.get('call-command', '')}".rstrip()
    return line


class ReplyRoute(Protocol):
    """Where a reply goes: an AsyncResult someone waits on, or a callback object that the
    reader greenlet calls (it must not block)."""

    def set(self, value: Reply) -> None: ...

    def set_exception(self, exception: BaseException) -> None: ...


EventHandler = Callable[[Event], None]
NoticeHandler = Callable[[DisconnectNotice], None]
CloseHandler = Callable[[], None]


class EslConnection:
    def __init__(
        self,
        sock: socket.socket,
        *,
        on_event: EventHandler,
        on_notice: NoticeHandler | None = None,
        on_close: CloseHandler | None = None,
        timeout: float = 10.0,
        name: str = "esl",
    ) -> None:
        self._sock = sock
        self._on_event = on_event
        self._on_notice = on_notice
        self._on_close = on_close
        self.timeout = timeout
        self.name = name
        self._parser = FrameParser()
        self._waiters: deque[ReplyRoute] = deque()
        self._write_lock = Semaphore()
        self._reader: gevent.Greenlet | None = None
        self.closed = False
        # The first frame an inbound client gets is auth/request, not a reply.
        self.greeting = AsyncResult()

    def start(self) -> None:
        self._reader = gevent.spawn(self._read_loop)

    # -- commands ---------------------------------------------------------------------

    def command(
        self,
        line: str,
        headers: Sequence[tuple[str, str]] = (),
        body: bytes | None = None,
        timeout: float | None = None,
    ) -> Reply:
        """Send one command and wait for its reply (raises ValueError on CR/LF in it)."""
        data = encode_command(line, headers, body)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s -> %s", self.name, describe_command(line, headers))
        return self._exchange(data, [line], timeout)[0]

    def commands(self, lines: Sequence[str], timeout: float | None = None) -> list[Reply]:
        """Send several header-less commands in one write and collect their replies.

        FreeSWITCH reads and answers a socket's commands one after another, so the
        replies come back in order; this saves a round trip per command (used for a
        call's subscription, four commands that each only say +OK).
        """
        data = encode_commands(lines)
        if log.isEnabledFor(logging.DEBUG):
            for line in lines:
                log.debug("%s -> %s", self.name, describe_command(line, ()))
        return self._exchange(data, lines, timeout)

    def _exchange(
        self, data: bytes, lines: Sequence[str], timeout: float | None
    ) -> list[Reply]:
        """Write `data` (the encoded `lines`) at once, then wait for one reply per line."""
        if not lines:
            return []
        batch = _Batch(len(lines))
        self._send(data, [batch] * len(lines))
        try:
            replies: list[Reply] = batch.done.get(
                timeout=self.timeout if timeout is None else timeout
            )
        except gevent.Timeout:
            # The reply stream is now out of step with our waiters: drop the connection.
            missing = lines[len(batch.replies)]
            self._shutdown(f"no reply to {missing.split(' ', 1)[0]!r}")
            raise CommandTimeout(f"{self.name}: no reply to {missing!r}") from None
        return replies

    def command_routed(
        self, line: str, headers: Sequence[tuple[str, str]], route: ReplyRoute
    ) -> None:
        """Send one command without waiting; its reply goes to `route` when it comes.

        For `sendmsg execute`: its +OK only says the application was queued, and the
        caller waits for the application's CHANNEL_EXECUTE_COMPLETE anyway. Waiting for
        the reply first woke the call's greenlet twice per application.
        """
        data = encode_command(line, headers)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s -> %s", self.name, describe_command(line, headers))
        self._send(data, [route])

    def _send(self, data: bytes, routes: Sequence[ReplyRoute]) -> None:
        """Queue one route per command in `data` and write it, under one lock, so a reply
        can never be matched to the wrong command. A failed write closes the connection,
        which fails the routes."""
        with self._write_lock:
            if self.closed:
                raise ConnectionClosed(f"{self.name}: connection closed")
            self._waiters.extend(routes)
            try:
                self._write(data)
            except OSError as exc:
                self._shutdown(f"write failed: {exc}")

    def api(self, command: str, timeout: float | None = None) -> str:
        """`api <command>`; returns the response body."""
        return self.command(f"api {command}", timeout=timeout).text

    def api_many(self, commands: Sequence[str], timeout: float | None = None) -> list[str]:
        """Several `api` commands in one write; their response bodies, in order."""
        if not commands:
            return []
        return [r.text for r in self.commands([f"api {c}" for c in commands], timeout)]

    def send_no_reply(self, line: str) -> None:
        """For the few commands FreeSWITCH never answers; nothing waits."""
        data = encode_command(line)
        with self._write_lock:
            if self.closed:
                raise ConnectionClosed(f"{self.name}: connection closed")
            self._write(data)

    def _write(self, data: bytes) -> None:
        """All of `data`, under the write lock. One send() normally takes a whole command;
        a short write (full socket buffer) goes on with the rest once gevent says it may."""
        sent = self._sock.send(data)
        if sent < len(data):
            view = memoryview(data)[sent:]
            while view:
                view = view[self._sock.send(view) :]

    def close(self) -> None:
        self._shutdown("closed locally")
        if self._reader is not None and self._reader is not gevent.getcurrent():
            self._reader.join(timeout=2)

    # -- reading ----------------------------------------------------------------------

    def _read_loop(self) -> None:
        reason = "peer closed the connection"
        unyielded = 0
        buf = _receive_buffer()
        try:
            while True:
                # No yield between the read and the parser's copy: gevent's recv_into
                # returns as soon as the kernel has filled the buffer.
                size = self._sock.recv_into(buf)
                if not size:
                    break
                frames = self._parser.feed(buf[:size])
                for frame in frames:
                    self._dispatch(frame)
                # A recv with data waiting does not yield, so a flood on one socket could
                # starve every other call; every few frames, not every read (that cost CPU).
                unyielded += len(frames)
                if unyielded >= FRAMES_PER_TURN:
                    unyielded = 0
                    gevent.sleep(0)
        except ProtocolError as exc:
            reason = f"protocol error: {exc}"
            log.warning("%s: %s; dropping the connection", self.name, reason)
        except OSError as exc:
            reason = f"read failed: {exc}"
        finally:
            self._shutdown(reason)

    def _dispatch(self, frame: Frame) -> None:
        ctype = frame.headers.get("Content-Type") or frame.content_type
        if ctype == "api/response":  # first: a big room's join reads a thousand of them
            self._resolve(Reply(frame.body.decode("utf-8", errors="replace"), frame.headers))
        elif ctype in ("text/event-plain", "text/event-json"):
            try:
                event = parse_event(frame)
            except ProtocolError as exc:
                log.warning("%s: undecodable event dropped: %s", self.name, exc)
                return
            self._on_event(event)
        elif ctype == "command/reply":
            headers = decode_reply_headers(frame)
            self._resolve(Reply(text=headers.get("Reply-Text", "").strip(), headers=headers))
        elif ctype == "auth/request":
            self.greeting.set(True)
        elif ctype in ("text/disconnect-notice", "text/rude-rejection"):
            linger = frame.headers.get("Content-Disposition") == "linger"
            if self._on_notice is not None:
                self._on_notice(
                    DisconnectNotice(linger, frame.body.decode("utf-8", errors="replace"))
                )
        else:
            log.warning("%s: ignoring frame of unknown type %r", self.name, ctype)

    def _resolve(self, reply: Reply) -> None:
        if not self._waiters:
            log.warning("%s: reply with nobody waiting: %r", self.name, reply.text[:80])
            return
        self._waiters.popleft().set(reply)

    def _shutdown(self, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self._sock.close()
        except OSError:
            pass
        error = ConnectionClosed(f"{self.name}: {reason}")
        while self._waiters:
            self._waiters.popleft().set_exception(error)
        if not self.greeting.ready():
            self.greeting.set_exception(error)
        if self._on_close is not None:
            self._on_close()
