"""Event construction and fan-out (mod_event_socket's subscription and filter model).

Events are cheap when nobody listens: headers are built by a closure only when at least
one listener wants the event, and each wire format is serialised at most once.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol

from fsconf.esl.protocol import encode_event_json, encode_event_plain

if TYPE_CHECKING:
    from fsconf.sim.settings import SimSettings

Headers = list[tuple[str, str]]

# mod_event_socket.c: the fixed list 'myevents' subscribes to.
MYEVENTS = frozenset(
    [
        "CHANNEL_ANSWER",
        "CHANNEL_APPLICATION",
        "CHANNEL_BRIDGE",
        "CHANNEL_CREATE",
        "CHANNEL_DATA",
        "CHANNEL_DESTROY",
        "CHANNEL_EXECUTE",
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_HANGUP",
        "CHANNEL_HANGUP_COMPLETE",
        "CHANNEL_ORIGINATE",
        "CHANNEL_UUID",
        "CHANNEL_OUTGOING",
        "CHANNEL_PARK",
        "CHANNEL_PROGRESS",
        "CHANNEL_PROGRESS_MEDIA",
        "CHANNEL_STATE",
        "CHANNEL_UNBRIDGE",
        "CHANNEL_UNPARK",
        "DETECTED_SPEECH",
        "DTMF",
        "NOTALK",
        "TALK",
    ]
)

KNOWN_EVENTS = MYEVENTS | frozenset(
    [
        "CUSTOM",
        "PLAYBACK_START",
        "PLAYBACK_STOP",
        "RECORD_START",
        "RECORD_STOP",
        "BACKGROUND_JOB",
        "API",
        "CHANNEL_CALLSTATE",
        "SESSION_HEARTBEAT",
        "HEARTBEAT",
        "RE_SCHEDULE",
        "SHUTDOWN",
        "STARTUP",
        "LOG",
        "PRESENCE_IN",
        "PRESENCE_OUT",
        "MESSAGE_WAITING",
        "RECV_MESSAGE",
    ]
)


class SimEvent:
    """One fired event; headers materialised lazily, bytes encoded once per format."""

    __slots__ = (
        "name",
        "subclass",
        "uuid",
        "job_owner",
        "_build",
        "_headers",
        "_index",
        "_body",
        "_plain",
        "_json",
    )

    def __init__(
        self,
        name: str,
        build: Callable[[], Headers],
        *,
        uuid: str | None = None,
        subclass: str | None = None,
        job_owner: str | None = None,
        body: bytes | None = None,
    ) -> None:
        self.name = name
        self.subclass = subclass
        self.uuid = uuid
        self.job_owner = job_owner
        self._build = build
        self._headers: Headers | None = None
        self._index: dict[str, str] | None = None
        self._body = body
        self._plain: bytes | None = None
        self._json: bytes | None = None

    @property
    def headers(self) -> Headers:
        if self._headers is None:
            self._headers = self._build()
        return self._headers

    def header(self, name: str) -> str | None:
        """Case-insensitive; with a repeated header the last one wins."""
        if name == "Event-Name":
            return self.name  # the commonest filter, without building the index
        if self._index is None:
            # Built once per event: every filtering listener asks for several headers.
            self._index = {key.lower(): value for key, value in self.headers}
        return self._index.get(name.lower())

    def encoded(self, fmt: str) -> bytes:
        if fmt == "json":
            if self._json is None:
                self._json = encode_event_json(self.headers, self._body)
            return self._json
        if self._plain is None:
            self._plain = encode_event_plain(self.headers, self._body)
        return self._plain


class Subscriber(Protocol):
    my_uuid: str | None

    def wants(self, event: SimEvent) -> bool: ...

    def deliver(self, event: SimEvent) -> None: ...


class Subscription:
    """What one ESL connection asked for: event types, subclasses, filters, myevents."""

    def __init__(self) -> None:
        self.fmt = "plain"
        self.enabled = False
        self.all = False
        self.types: set[str] = set()
        self.subclasses: set[str] = set()
        self.filters: list[tuple[str, str]] = []
        self.my_uuid: str | None = None

    def add(self, fmt: str, words: Iterable[str]) -> None:
        self.fmt = fmt
        self.enabled = True
        custom = False
        for word in words:
            upper = word.upper()
            if custom and upper not in KNOWN_EVENTS and upper != "ALL":
                self.subclasses.add(word)
                continue
            if upper == "ALL":
                self.all = True
            elif upper == "CUSTOM":
                custom = True
                self.types.add("CUSTOM")
            elif upper in KNOWN_EVENTS:
                self.types.add(upper)
            else:
                # FS looks the name up in its event table; unknown names are ignored
                # except when they follow CUSTOM (then they are subclasses).
                pass

    def remove(self, words: Iterable[str]) -> None:
        custom = False
        for word in words:
            upper = word.upper()
            if custom and upper not in KNOWN_EVENTS:
                self.subclasses.discard(word)
            elif upper == "ALL":
                self.all = False
                self.types.clear()
                self.subclasses.clear()
            elif upper == "CUSTOM":
                custom = True
            else:
                self.types.discard(upper)

    def clear(self) -> None:
        self.enabled = False
        self.all = False
        self.types.clear()
        self.subclasses.clear()

    def wants(self, event: SimEvent) -> bool:
        if not self.enabled:
            return False
        if not self.all:
            if event.name not in self.types:
                return False
            if event.name == "CUSTOM" and event.subclass not in self.subclasses:
                return False
        if self.my_uuid is not None and self.my_uuid not in (event.uuid, event.job_owner):
            return False
        if self.filters:
            return self._pass_filters(event)
        return True

    def _pass_filters(self, event: SimEvent) -> bool:
        """mod_event_socket's event_handler, step for step: with any filter set, an event
        passes only if a positive filter matches and no negative one vetoes it (so
        negative filters alone let nothing through); once it passes, further positive
        filters are not looked at."""
        send = False
        for name, value in self.filters:
            comp, positive, pattern = _parse_filter(value)
            if send and positive:
                continue
            actual = event.header(name)
            if actual is None:
                continue
            if pattern is not None:
                matched = pattern is not _BAD_REGEX and pattern.search(actual) is not None
            else:
                matched = comp.lower() == actual.lower()  # strcasecmp
            if matched:
                if not positive:
                    return False
                send = True
        return send


# A filter value that switch_regex_perform refuses: it matches nothing.
_BAD_REGEX = re.compile("(?!)")


@functools.lru_cache(maxsize=256)
def _parse_filter(value: str) -> tuple[str, bool, re.Pattern[str] | None]:
    """(text compared, positive?, compiled regex or None) of one filter value.

    Leading '+', '-' and spaces set the sign (the last one wins). Only a value whose very
    first character is '/' is a regex (so '-/x/' compares the text '/x/'), in
    switch_regex_perform's '/expression/flags' form with flags i and s.
    """
    comp, positive = value, True
    while comp and comp[0] in "+- ":
        if comp[0] != " ":
            positive = comp[0] == "+"
        comp = comp[1:]
    if not value.startswith("/"):
        return comp, positive, None
    end = comp.rfind("/")
    if end <= 0:
        return comp, positive, _BAD_REGEX  # missing closing '/': FreeSWITCH logs an error
    flags = (re.IGNORECASE if "i" in comp[end + 1 :] else 0) | (
        re.DOTALL if "s" in comp[end + 1 :] else 0
    )
    try:
        return comp, positive, re.compile(comp[1:end], flags)
    except re.error:
        return comp, positive, _BAD_REGEX


@functools.lru_cache(maxsize=4)
def _event_dates(second: int) -> tuple[str, str]:
    """Event-Date-Local and Event-Date-GMT of one whole second (time.localtime and
    time.gmtime ignore the fraction), formatted once per second rather than per event."""
    return (
        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second)),
        time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(second)),
    )


class EventBus:
    """Fan-out: listeners restricted by 'myevents' are indexed by channel UUID."""

    def __init__(self, settings: SimSettings) -> None:
        self.settings = settings
        self._sequence = itertools.count(1)
        self._global: list[Subscriber] = []
        self._by_uuid: dict[str, list[Subscriber]] = {}
        # Where each attached subscriber was filed (its my_uuid may change before it is
        # detached): detaching looks there instead of scanning every channel's list, which
        # made each of a call's (re)subscriptions cost O(calls) with thousands held.
        self._filed: dict[int, tuple[Subscriber, str | None]] = {}
        self._identity_key: tuple[str, str, str, str] | None = None
        self._identity_headers: Headers = []

    def attach(self, sub: Subscriber) -> None:
        self.detach(sub)
        key = sub.my_uuid
        if key is None:
            self._global.append(sub)
        else:
            self._by_uuid.setdefault(key, []).append(sub)
        self._filed[id(sub)] = (sub, key)

    def detach(self, sub: Subscriber) -> None:
        filed = self._filed.pop(id(sub), None)
        if filed is None:
            return
        key = filed[1]
        if key is None:
            self._global.remove(sub)
            return
        subs = self._by_uuid[key]
        subs.remove(sub)
        if not subs:
            del self._by_uuid[key]

    def core_headers(
        self, name: str, calling: tuple[str, str, int], subclass: str | None = None
    ) -> Headers:
        return self._core_at(name, calling, subclass, time.time(), next(self._sequence))

    def _core_at(
        self,
        name: str,
        calling: tuple[str, str, int],
        subclass: str | None,
        now: float,
        sequence: int,
    ) -> Headers:
        """The core headers of an event fired at `now` with number `sequence`."""
        local, gmt = _event_dates(math.floor(now))
        headers: Headers = [] if subclass is None else [("Event-Subclass", subclass)]
        headers.append(("Event-Name", name))
        headers += self._identity()
        headers += [
            ("Event-Date-Local", local),
            ("Event-Date-GMT", gmt),
            ("Event-Date-Timestamp", str(int(now * 1_000_000))),
            ("Event-Calling-File", calling[0]),
            ("Event-Calling-Function", calling[1]),
            ("Event-Calling-Line-Number", str(calling[2])),
            ("Event-Sequence", str(sequence)),
        ]
        return headers

    def _identity(self) -> Headers:
        """The switch's identity headers, rebuilt only if the settings change."""
        s = self.settings
        key = (s.core_uuid, s.hostname, s.ipv4, s.ipv6)
        if key != self._identity_key:
            self._identity_key = key
            self._identity_headers = [
                ("Core-UUID", s.core_uuid),
                ("FreeSWITCH-Hostname", s.hostname),
                ("FreeSWITCH-Switchname", s.hostname),
                ("FreeSWITCH-IPv4", s.ipv4),
                ("FreeSWITCH-IPv6", s.ipv6),
            ]
        return self._identity_headers

    def fire(
        self,
        name: str,
        calling: tuple[str, str, int],
        extra: Callable[[], Headers],
        *,
        uuid: str | None = None,
        subclass: str | None = None,
        job_owner: str | None = None,
        body: bytes | None = None,
    ) -> None:
        # FreeSWITCH numbers every event it fires, whether or not anyone listens.
        sequence = next(self._sequence)
        targets: list[Subscriber] = list(self._global)
        if uuid is not None and uuid in self._by_uuid:
            targets += self._by_uuid[uuid]
        if job_owner is not None and job_owner in self._by_uuid and job_owner != uuid:
            targets += self._by_uuid[job_owner]
        if not targets:
            return
        # Timestamp and sequence are taken now (fire time); formatting them, like the rest
        # of the headers, waits until a listener wants the event.
        now = time.time()

        def build() -> Headers:
            return self._core_at(name, calling, subclass, now, sequence) + extra()

        event = SimEvent(name, build, uuid=uuid, subclass=subclass, job_owner=job_owner, body=body)
        wanted = [t for t in targets if t.wants(event)]
        if not wanted:
            return
        _ = event.headers  # snapshot channel state at fire time
        for target in wanted:
            target.deliver(event)
