"""The narrow interfaces the simulator's parts see of each other.

Each part (channels and their apps, mod_conference, mod_commands, the originators, the
Event Socket listeners) is handed an object satisfying one of these protocols, never the
whole Simulator; Simulator (core.py) is only the wiring that satisfies them all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Protocol

from fsconf.sim.clock import Clock

if TYPE_CHECKING:
    from gevent.event import Event as GEvent

    from fsconf.sim.benchtrace import BenchTrace
    from fsconf.sim.channel import App, Channel
    from fsconf.sim.events import FrameLookup, Headers, Subscriber
    from fsconf.sim.settings import SimSettings
    from fsconf.sim.sounds import Sounds
    from fsconf.sim.xmlconf import Config

__all__ = [
    "ApiHandler",
    "CallSocket",
    "Calling",
    "ChannelHost",
    "Clock",
    "Dialplan",
    "EventHub",
    "EventSink",
    "ListenerHost",
    "Seat",
    "Originator",
]

# (source file, function, line) of an event: Event-Calling-File/-Function/-Line-Number.
Calling = tuple[str, str, int]

# An API verb's handler: its argument text -> the reply body (None: "-ERR no reply").
ApiHandler = Callable[[str], "str | None"]


class EventSink(Protocol):
    """Where events are fired; see EventBus.fire for the meaning of the arguments."""

    def fire(
        self,
        name: str,
        calling: Calling,
        extra: Callable[[], Headers],
        *,
        uuid: str | None = None,
        subclass: str | None = None,
        job_owner: str | None = None,
        body: bytes | None = None,
        own: Callable[[], Headers] | None = None,
        frame: FrameLookup | None = None,
    ) -> None: ...


class EventHub(EventSink, Protocol):
    """The sink as an Event Socket connection sees it: it (un)subscribes."""

    def attach(self, sub: Subscriber) -> None: ...

    def detach(self, sub: Subscriber) -> None: ...

    def core_headers(
        self, name: str, calling: Calling, subclass: str | None = None
    ) -> Headers: ...


class Dialplan(Protocol):
    """Routing and running a channel's dialplan (mod_dialplan_xml, the session thread)."""

    def route(self, context: str, fields: dict[str, str]) -> list[tuple[str, str]]: ...

    def run_actions(self, ch: Channel, actions: list[tuple[str, str]]) -> None: ...

    def run_bpart(self, ch: Channel, bpart: str) -> None: ...


class Originator(Protocol):
    """switch_ivr_originate: create the leg(s) of an endpoint URL, or say why not."""

    def originate(
        self,
        variables: dict[str, str],
        endpoint: str,
        bpart: str,
        cid: tuple[str, str] | None = None,
    ) -> Channel | str: ...


class ChannelHost(Protocol):
    """What a channel and the applications running on it use of the switch."""

    @property
    def bus(self) -> EventSink: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def settings(self) -> SimSettings: ...

    @property
    def global_vars(self) -> dict[str, str]: ...

    @property
    def apps(self) -> Mapping[str, App]: ...

    @property
    def sounds(self) -> Sounds: ...

    @property
    def config(self) -> Config: ...

    def next_session_id(self) -> int: ...

    def unregister(self, ch: Channel) -> None: ...


class ListenerHost(Protocol):
    """What an Event Socket connection (inbound or outbound) uses of the switch."""

    @property
    def bus(self) -> EventHub: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def channels(self) -> Mapping[str, Channel]: ...

    @property
    def password(self) -> str: ...

    @property
    def trace(self) -> BenchTrace | None: ...

    def api(self, line: str) -> str: ...

    def bgapi(self, line: str, job: str, owner: str | None) -> None: ...


class CallSocket(Protocol):
    """The outbound Event Socket controlling a channel, as the channel sees it."""

    @property
    def closed(self) -> GEvent: ...

    def hangup_begins(self) -> None:
        """The channel is about to fire CHANNEL_HANGUP."""
        ...

    def channel_gone(self) -> None:
        """CHANNEL_HANGUP_COMPLETE is out: linger or say goodbye."""
        ...

    def close(self, notice: bytes | None = None) -> None: ...

    def abort(self) -> None:
        """The switch dies: close without writing anything more."""
        ...


class Seat(Protocol):
    """A channel's place in a conference, as the channel sees it."""

    def wake(self) -> None:
        """Let the member loop look at the channel again (it hung up)."""
        ...
