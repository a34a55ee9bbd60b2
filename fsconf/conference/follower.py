"""Keypads of members whose outbound socket is gone (the controller restarted).

Their calls are still in the conference — FreeSWITCH owns the media — but the socket
that carried their DTMF died with the old controller. The follower listens to those
calls on the inbound Event Socket instead (filtered to their UUIDs), runs the same
`MemberControls` for them, and closes their rows when they leave.

Limit: while the controller is down nobody serves keys; keys pressed then are lost.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence

import gevent
from gevent.event import Event as Flag

from fsconf.esl.connection import EslError
from fsconf.esl.doorbell import Doorbell
from fsconf.esl.inbound import InboundClient
from fsconf.esl.protocol import Event
from fsconf.esl.server import ControllerStopping

log = logging.getLogger(__name__)

FOLLOW_EVENTS = (
    "DTMF", "CHANNEL_HANGUP", "CHANNEL_EXECUTE_COMPLETE", "BACKGROUND_JOB",
    "CUSTOM", "conference::maintenance",
)
# A filter nothing matches: until a member is adopted the inbound socket stays quiet.
NO_CALL_FILTER = "fsconf-no-call"
DTMF_BUFFER = 64


class AdoptedLine:
    """What MemberControls needs of a call, served over the inbound socket."""

    def __init__(self, uuid: str, inbound: InboundClient, timeout: float) -> None:
        self.uuid = uuid
        self.inbound = inbound
        self.timeout = timeout
        self.gone = Flag()
        self.left = Flag()
        self._dtmf: deque[tuple[str, float]] = deque(maxlen=DTMF_BUFFER)
        self._ready = Doorbell()
        self._listeners: list[Callable[[Event], None]] = []

    # the MemberControls surface
    def api(self, command: str, timeout: float | None = None) -> str:
        return self.inbound.api(command, timeout=timeout)

    def api_many(self, commands: Sequence[str], timeout: float | None = None) -> list[str]:
        return self.inbound.api_many(commands, timeout=timeout)

    def bgapi(self, command: str, job_uuid: str | None = None) -> str:
        return self.inbound.bgapi(command, job_uuid)

    def new_job_uuid(self) -> str:
        return self.inbound.new_job_uuid()

    def add_listener(self, listener: Callable[[Event], None]) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[Event], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def clear_dtmf(self) -> None:
        self._dtmf.clear()

    def next_dtmf(self, timeout: float | None) -> tuple[str, float] | None:
        if not self._dtmf:
            self._ready.clear()
            self._ready.wait(timeout)
        return self._dtmf.popleft() if self._dtmf else None

    def wake(self) -> None:
        self._ready.ring()

    @property
    def done(self) -> bool:
        """The member's conference application has returned."""
        return self.left.is_set()

    def feed(self, event: Event) -> None:
        name = event.name
        if name == "DTMF":
            digit = (event.get("DTMF-Digit") or "").upper()
            if digit and digit in "0123456789*#ABCD":
                self._dtmf.append((digit, time.monotonic()))
                self._ready.ring()
        elif name == "CHANNEL_HANGUP":
            self.gone.set()
            self._ready.ring()
        elif name == "CHANNEL_EXECUTE_COMPLETE" and event.get("Application") == "conference":
            self.left.set()
            self._ready.ring()
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("call %s: listener failed", self.uuid)


class Follower:
    def __init__(self) -> None:
        self.inbound: InboundClient | None = None
        self.lines: dict[str, AdoptedLine] = {}
        self._greenlets: dict[str, gevent.Greenlet] = {}

    def attach(self, inbound: InboundClient) -> None:
        self.inbound = inbound

    def on_event(self, event: Event) -> None:
        if event.name == "BACKGROUND_JOB":
            for line in list(self.lines.values()):
                line.feed(event)
            return
        adopted = self.lines.get(event.uuid or "")
        if adopted is not None:
            adopted.feed(event)

    def apply_filters(self) -> None:
        """(Re)state the filters after a (re)connect: only adopted calls' events."""
        if self.inbound is None or not self.inbound.connected:
            return
        try:
            self.inbound.add_filter("Unique-ID", NO_CALL_FILTER)
            self.inbound.add_filter("Event-Name", "BACKGROUND_JOB")
            for uuid in list(self.lines):
                self.inbound.add_filter("Unique-ID", uuid)
        except (EslError, ValueError) as exc:
            log.warning("could not set inbound event filters: %s", exc)

    def follow(self, uuid: str, serve: Callable[[AdoptedLine], None], timeout: float) -> bool:
        if self.inbound is None or uuid in self.lines:
            return False
        line = AdoptedLine(uuid, self.inbound, timeout)
        self.lines[uuid] = line
        try:
            self.inbound.add_filter("Unique-ID", uuid)
        except (EslError, ValueError) as exc:
            log.warning("call %s: cannot follow over the inbound socket: %s", uuid, exc)
            del self.lines[uuid]
            return False
        self._greenlets[uuid] = gevent.spawn(self._run, line, serve)
        return True

    def detach_all(self, timeout: float = 5.0) -> None:
        """The controller stops (its `stopping` flag is set): let the followed calls go on."""
        for line in list(self.lines.values()):
            line.wake()
        greenlets = list(self._greenlets.values())
        gevent.joinall(greenlets, timeout=timeout)
        gevent.killall([g for g in greenlets if not g.dead], exception=ControllerStopping,
                       timeout=timeout)

    def _run(self, line: AdoptedLine, serve: Callable[[AdoptedLine], None]) -> None:
        try:
            serve(line)
        except Exception:
            log.exception("call %s: adopted member failed", line.uuid)
        finally:
            self.lines.pop(line.uuid, None)
            self._greenlets.pop(line.uuid, None)
            if self.inbound is not None and self.inbound.connected:
                try:
                    self.inbound.delete_filter("Unique-ID", line.uuid)
                except (EslError, ValueError):
                    pass
