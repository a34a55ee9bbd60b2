"""The controller's side of one outbound Event Socket connection: one call leg.

It speaks in dialplan applications and API commands; it hides the wire. Completion of an
application is matched by the `Event-UUID` we send (echoed as `Application-UUID`), not by
`variable_current_application`, which nested applications overwrite.
"""

from __future__ import annotations

import itertools
import logging
import re
import socket
import time
import uuid as uuidlib
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import gevent
from gevent.event import AsyncResult
from gevent.event import Event as Flag

from fsconf.esl.connection import (
    CommandTimeout,
    ConnectionClosed,
    DisconnectNotice,
    EslConnection,
    EslError,
    Reply,
)
from fsconf.esl.doorbell import Doorbell
from fsconf.esl.protocol import Event

log = logging.getLogger(__name__)

# Events the session itself acts on, whatever else its caller subscribes to: application
# completions and the hang-up. DTMF it parses too, but only once `listen_for_keys` asks.
SESSION_EVENTS = ("CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HANGUP")
KEYS_FILTER = "filter Event-Name DTMF"
_NAME = re.compile(r"^[A-Za-z0-9_:.-]+$")  # event, subclass, action and variable names


@dataclass(frozen=True)
class Subscription:
    """What a call's socket asks FreeSWITCH for, named by the application above the
    transport; the session only turns it into `myevents`/`event`/`filter` commands."""

    # `event json ...`: event names (and CUSTOM subclasses) that `myevents` lacks.
    extra_events: tuple[str, ...] = ()
    # Event-Name values let through besides SESSION_EVENTS (one regex filter).
    event_names: tuple[str, ...] = ()
    # CUSTOM events (e.g. conference::maintenance) let through by their Action.
    actions: tuple[str, ...] = ()
    # Channel variables `connect` keeps, by name prefix (without `variable_`).
    variable_prefix: str = ""
    # More prefixes kept the same way (e.g. headers a far node set on a SIP leg).
    more_variable_prefixes: tuple[str, ...] = ()
    lines: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in (*self.extra_events, *self.event_names, *self.actions):
            if not _NAME.match(name):
                raise ValueError(f"not an event or action name: {name!r}")
        for prefix in (self.variable_prefix, *self.more_variable_prefixes):
            if prefix and not _NAME.match(prefix):
                raise ValueError(f"not a variable prefix: {prefix!r}")
        names = SESSION_EVENTS + tuple(n for n in self.event_names if n not in SESSION_EVENTS)
        lines = ["myevents json", "linger"]
        if self.extra_events:
            # The format word must be repeated: `event` alone switches back to plain.
            lines.append("event json " + " ".join(self.extra_events))
        # PCRE (`/.../`, as in switch_regex_perform); filters are OR-ed.
        lines.append("filter Event-Name /^(" + "|".join(names) + ")$/")
        if self.actions:
            lines.append("filter Action /^(" + "|".join(self.actions) + ")$/")
        object.__setattr__(self, "lines", tuple(lines))


# What `connect` keeps of the channel's data (see OutboundSession.connect).
CHANNEL_FIELDS = frozenset({
    "Unique-ID", "Channel-Name", "Caller-Caller-ID-Number", "Caller-Caller-ID-Name",
    "Caller-Destination-Number", "Caller-Network-Addr", "Caller-Context",
})
# A caller can press keys faster than anybody should act on them; keep the newest.
DTMF_BUFFER = 64
_VALID_DTMF = frozenset("0123456789*#ABCD")


# Event-UUIDs only need to be unique per socket; a random per-process prefix and a counter
# keep the UUID shape FreeSWITCH logs show, without a urandom call per application.
_UUID_PREFIX = str(uuidlib.uuid4())[:24]
_uuid_counter = itertools.count(1)


def _next_uuid() -> str:
    return f"{_UUID_PREFIX}{next(_uuid_counter) & 0xFFFFFFFFFFFF:012x}"


class CallGone(EslError):
    """The call hung up or its socket went away; unwind and record how it ended."""


@dataclass(frozen=True)
class AppResult:
    """CHANNEL_EXECUTE_COMPLETE of one application run."""

    event: Event

    @property
    def response(self) -> str:
        return self.event.get("Application-Response") or "_none_"

    def var(self, name: str) -> str | None:
        return self.event.get(f"variable_{name}")


class RunningApp:
    """An application started without waiting, e.g. `conference`, which runs for the meeting."""

    def __init__(self, session: OutboundSession, app_uuid: str, waiter: AsyncResult) -> None:
        self._session = session
        self.app_uuid = app_uuid
        self._waiter = waiter

    @property
    def done(self) -> bool:
        return self._waiter.ready()

    @property
    def result(self) -> AsyncResult:
        """For gevent.wait() alongside other events."""
        return self._waiter

    def wait(self, timeout: float | None) -> AppResult:
        try:
            return self._waiter.get(timeout=timeout)
        except gevent.Timeout:
            raise CommandTimeout(f"application {self.app_uuid} did not complete") from None


class _IgnoredReply:
    """A reply nobody needs (to `exit`): taken off the queue and dropped."""

    __slots__ = ()

    def set(self, value: Reply) -> None:
        pass

    def set_exception(self, exception: BaseException) -> None:
        pass


_IGNORED_REPLY = _IgnoredReply()


class _AppQueued:
    """Routes the reply to an application's sendmsg: +OK needs nothing (the completion
    event follows); a refusal fails the application at once instead of at its timeout."""

    __slots__ = ("_app", "_waiter", "_nobody_waits")

    def __init__(self, app: str, waiter: AsyncResult, nobody_waits: str = "") -> None:
        self._app = app
        self._waiter = waiter
        self._nobody_waits = nobody_waits  # the call's UUID, for an application `queue`d

    def set(self, value: Reply) -> None:
        if not value.ok and not self._waiter.ready():
            if self._nobody_waits:
                log.warning("call %s: queued %s refused: %s", self._nobody_waits, self._app,
                            value.text)
            self._waiter.set_exception(EslError(f"{self._app} refused: {value.text}"))

    def set_exception(self, exception: BaseException) -> None:
        if not self._waiter.ready():
            self._waiter.set_exception(CallGone(str(exception)))


EventListener = Callable[[Event], None]


class OutboundSession:
    def __init__(
        self, sock: socket.socket, *, timeout: float = 10.0,
        subscription: Subscription = Subscription(),
    ) -> None:
        self.timeout = timeout
        self.subscription = subscription
        prefixes = tuple(
            f"variable_{p}"
            for p in (subscription.variable_prefix, *subscription.more_variable_prefixes) if p
        )
        self._own_variables = prefixes or None
        self.conn = EslConnection(
            sock,
            on_event=self._on_event,
            on_notice=self._on_notice,
            on_close=self._on_close,
            timeout=timeout,
            name="outbound",
        )
        self.channel: dict[str, str] = {}
        self.uuid = ""
        self.hangup_cause: str | None = None
        self.gone = Flag()
        self._apps: dict[str, AsyncResult] = {}
        # Applications queued without a wait (see `queue`), and how long they may take.
        self._unawaited: set[str] = set()
        self._queued_seconds = 0.0
        self._dtmf: deque[tuple[str, float]] = deque(maxlen=DTMF_BUFFER)
        self._dtmf_ready = Doorbell()
        self.dtmf_dropped = 0
        self._listeners: list[EventListener] = []
        self.conn.start()

    # -- set-up -------------------------------------------------------------------------

    def connect(self) -> dict[str, str]:
        """`connect`: FreeSWITCH answers with the channel's data; we keep what we read.

        The reply carries ~150 headers (every channel variable), about 17 KB of strings
        held for as long as the call lasts, of which the call flow reads a handful:
        `channel` keeps the caller profile fields in CHANNEL_FIELDS and the variables
        named by the subscription's `variable_prefix`.
        """
        reply = self.conn.command("connect")
        own = self._own_variables
        self.channel = {
            name: value
            for name, value in reply.headers.items()
            if name in CHANNEL_FIELDS or (own is not None and name.startswith(own))
        }
        self.uuid = reply.headers.get("Unique-ID", "")
        if not self.uuid:
            raise ConnectionClosed("connect reply without Unique-ID")
        self.conn.name = f"call {self.uuid}"
        return self.channel

    def subscribe(self) -> None:
        """myevents for our leg, linger so we see the end, and what the subscription names.

        JSON rather than plain: parsing events is the controller's largest cost per call,
        and JSON events parse several times faster than URL-encoded plain ones.
        """
        lines = self.subscription.lines
        for line, reply in zip(lines, self.conn.commands(lines), strict=True):
            self._expect_ok(reply, line.split(" ", 1)[0])

    def listen_for_keys(self) -> None:
        """From now on the call's DTMF events reach us (for the keypad in the meeting).

        FreeSWITCH handles the socket's commands in order, so every key pressed after an
        application queued behind this command is delivered.
        """
        self._expect_ok(self.conn.command(KEYS_FILTER), "filter")

    def _expect_ok(self, reply: Reply, what: str) -> None:
        # "-ERR command not found" here means the dialplan lacks `async full`.
        if not reply.ok:
            raise EslError(f"{what} refused: {reply.text} (is the socket app 'async full'?)")

    def var(self, name: str) -> str | None:
        """A channel variable `connect` kept (see Subscription.variable_prefix), as it was
        when the call reached us."""
        return self.channel.get(f"variable_{name}")

    # -- applications -----------------------------------------------------------------

    def start(self, app: str, arg: str = "", *, awaited: bool = True) -> RunningApp:
        """Queue an application and return at once; `RunningApp.wait` collects its result."""
        self.raise_if_gone()
        app_uuid = _next_uuid()
        waiter = AsyncResult()
        self._apps[app_uuid] = waiter
        headers = [("call-command", "execute"), ("execute-app-name", app)]
        if arg:
            headers.append(("execute-app-arg", arg))
        headers += [("event-lock", "true"), ("Event-UUID", app_uuid)]
        try:
            route = _AppQueued(app, waiter, "" if awaited else self.uuid)
            self.conn.command_routed("sendmsg", headers, route)
        except BaseException:
            self._apps.pop(app_uuid, None)
            raise
        return RunningApp(self, app_uuid, waiter)

    def queue(self, app: str, arg: str = "", timeout: float | None = None) -> None:
        """Queue an application and do not wait for it.

        For steps nothing depends on (answer, a prompt before a question): FreeSWITCH runs
        a socket's applications one after another, so the next application we `execute`
        completes after this one, and we wake once instead of twice. Its `timeout` is
        added to that next wait. A refusal is logged; a hang-up surfaces at the next wait.
        """
        running = self.start(app, arg, awaited=False)
        self._unawaited.add(running.app_uuid)
        self._queued_seconds += self.timeout if timeout is None else timeout

    def execute(self, app: str, arg: str = "", timeout: float | None = None) -> AppResult:
        """Run an application to completion; CallGone if the caller hung up meanwhile.

        Applications queued before it run first, so their time counts into the wait.
        """
        running = self.start(app, arg)
        wait = (self.timeout if timeout is None else timeout) + self._queued_seconds
        self._queued_seconds = 0.0
        try:
            result = running.wait(wait)
        except EslError:
            self.raise_if_gone()  # refused because the caller hung up: that is CallGone
            raise
        finally:
            self._apps.pop(running.app_uuid, None)
        self.raise_if_gone()
        return result

    def api(self, command: str, timeout: float | None = None) -> str:
        return self.conn.api(command, timeout=timeout)

    def api_many(self, commands: Sequence[str], timeout: float | None = None) -> list[str]:
        return self.conn.api_many(commands, timeout=timeout)

    @staticmethod
    def new_job_uuid() -> str:
        return _next_uuid()

    def bgapi(self, command: str, job_uuid: str | None = None) -> str:
        """Start a background API; its BACKGROUND_JOB event reaches the listeners.

        Pass your own job_uuid to register a listener before the job can finish.
        """
        job_uuid = job_uuid or self.new_job_uuid()
        self.conn.command(f"bgapi {command}", [("Job-UUID", job_uuid)])
        return job_uuid

    def hangup(self, cause: str = "NORMAL_CLEARING") -> None:
        """uuid_kill rather than the hangup app: it is not stuck behind an event-locked app."""
        if self.gone.is_set() or self.conn.closed:
            return
        try:
            self.api(f"uuid_kill {self.uuid} {cause}")
        except EslError:
            pass

    def close(self) -> None:
        """Tell FreeSWITCH we are done (we linger, so it waits for this), then close.

        Its `+OK bye` is not waited for: FreeSWITCH ends the socket on `exit` or on the
        close that follows, whichever it sees first.
        """
        if not self.conn.closed:
            try:
                self.conn.command_routed("exit", (), _IGNORED_REPLY)
            except (EslError, ValueError):
                pass
        self.conn.close()
        self._fail_apps("session closed")

    # -- state ---------------------------------------------------------------------------

    def raise_if_gone(self) -> None:
        if self.gone.is_set():
            raise CallGone(self.hangup_cause or "connection closed")

    def add_listener(self, listener: EventListener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: EventListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def clear_dtmf(self) -> None:
        self._dtmf.clear()
        self._dtmf_ready.clear()

    def next_dtmf(self, timeout: float | None) -> tuple[str, float] | None:
        """The oldest unread key press and when it arrived (monotonic), or None on timeout."""
        if not self._dtmf:
            self._dtmf_ready.clear()
            self._dtmf_ready.wait(timeout)
        if self._dtmf:
            return self._dtmf.popleft()
        return None

    def wake(self) -> None:
        """Make a waiting next_dtmf return now (e.g. the controller is stopping)."""
        self._dtmf_ready.ring()

    def drain_dtmf(self) -> Iterable[tuple[str, float]]:
        while self._dtmf:
            yield self._dtmf.popleft()

    # -- from the reader greenlet (must not block) ------------------------------------------

    def _on_event(self, event: Event) -> None:
        name = event.name
        if name == "CHANNEL_EXECUTE_COMPLETE":
            app_uuid = event.get("Application-UUID") or ""
            if app_uuid in self._unawaited:
                self._unawaited.discard(app_uuid)
                waiter = self._apps.pop(app_uuid, None)
            else:
                waiter = self._apps.get(app_uuid)
            if waiter is not None and not waiter.ready():
                waiter.set(AppResult(event))
                # Wake a member loop waiting for keys: its conference app may have ended.
                self._dtmf_ready.ring()
        elif name == "DTMF":
            digit = (event.get("DTMF-Digit") or "").upper()
            if digit in _VALID_DTMF:
                if len(self._dtmf) == DTMF_BUFFER:
                    self.dtmf_dropped += 1
                self._dtmf.append((digit, time.monotonic()))
                self._dtmf_ready.ring()
        elif name == "CHANNEL_HANGUP":
            self.hangup_cause = event.get("Hangup-Cause") or "NORMAL_CLEARING"
            self.gone.set()
            self._dtmf_ready.ring()
            # Applications queued behind the one playing never start on a dead channel
            # (no completion will come); whatever completes, the caller is gone.
            self._fail_apps("hung up")
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a listener bug must not kill the reader of this call
                log.exception("call %s: event listener failed", self.uuid)

    def _on_notice(self, notice: DisconnectNotice) -> None:
        if not notice.linger:
            self._mark_gone("disconnected")

    def _on_close(self) -> None:
        self._mark_gone("connection closed")

    def _mark_gone(self, reason: str) -> None:
        if self.hangup_cause is None:
            self.hangup_cause = reason
        self.gone.set()
        self._dtmf_ready.ring()
        self._fail_apps(reason)

    def _fail_apps(self, reason: str) -> None:
        for waiter in list(self._apps.values()):
            if not waiter.ready():
                waiter.set_exception(CallGone(reason))
