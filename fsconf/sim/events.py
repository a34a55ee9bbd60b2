"""Event construction and fan-out (mod_event_socket's subscription and filter model).

Events are cheap when nobody listens: headers are built by a closure only when at least
one listener wants the event, and each wire format is serialised at most once.
"""

from __future__ import annotations

import enum
import functools
import itertools
import math
import os
import re
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Final, Protocol

from fsconf.esl.protocol import encode_event_json, encode_event_plain

if TYPE_CHECKING:
    from fsconf.sim.clock import Clock
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


def lower_names(*names: str) -> frozenset[str]:
    """A vocabulary of header names, in lower case as header lookups compare them."""
    return frozenset(name.lower() for name in names)


# The headers EventBus puts in front of every event.
CORE_HEADER_NAMES = lower_names(
    "Event-Subclass", "Event-Name", "Core-UUID", "FreeSWITCH-Hostname",
    "FreeSWITCH-Switchname", "FreeSWITCH-IPv4", "FreeSWITCH-IPv6", "Event-Date-Local",
    "Event-Date-GMT", "Event-Date-Timestamp", "Event-Calling-File",
    "Event-Calling-Function", "Event-Calling-Line-Number", "Event-Sequence",
)

# Tests set this (FSCONF_SIM_SELF_CHECK=1): every event fired with a split (see SimEvent)
# is checked against its whole header list, so a frame header missing from the frame's
# vocabulary fails the test that fires it instead of silently mis-filtering.
SELF_CHECK = os.environ.get("FSCONF_SIM_SELF_CHECK") == "1"


class SplitMismatch(AssertionError):
    """An event's split disagrees with its whole header list (a simulator bug)."""


# Mismatches found, kept for the test run to fail on: the exception itself is raised in
# whatever greenlet fired the event, where a test might never see it.
SPLIT_MISMATCHES: list[str] = []


class InFrame(enum.Enum):
    """What a frame lookup answers for a name the frame may carry but cannot give cheaply
    (an enum so that `is IN_FRAME` narrows the type)."""

    IN_FRAME = "IN_FRAME"

    def __repr__(self) -> str:
        return "IN_FRAME"


IN_FRAME: Final = InFrame.IN_FRAME

# frame(lower-case name) -> its value in the frame, None if the frame cannot carry it, or
# IN_FRAME: see SimEvent.
FrameLookup = Callable[[str], "str | None | InFrame"]


class SimEvent:
    """One fired event; headers materialised lazily, bytes encoded once per format.

    Most events are a large, regular *frame* (core headers, a channel's or a member's
    state, channel variables) around a few headers of their own (Action,
    Playback-File-Path, ...). A socket's filters mostly ask for the latter or for
    Unique-ID, and most events they look at are turned away. With a split (`own` builds
    the event's own headers; `frame(name)` gives a lower-case name's value in the frame
    when that is cheap, None when the frame cannot carry it, IN_FRAME otherwise), such a
    lookup never builds the frame. The answer is the same as the whole list's:
    SELF_CHECK (on in tests) compares them for every split event built or looked up.
    """

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
        "_own",
        "_frame",
        "_own_index",
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
        own: Callable[[], Headers] | None = None,
        frame: FrameLookup | None = None,
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
        self._own = own if frame is not None else None
        self._frame = frame
        self._own_index: dict[str, str] | None = None

    @property
    def headers(self) -> Headers:
        if self._headers is None:
            self._headers = self._build()
            if SELF_CHECK and self._own is not None:
                self._check_split(self._headers)
        return self._headers

    def header(self, name: str) -> str | None:
        """Case-insensitive; with a repeated header the last one wins."""
        if name == "Event-Name":
            return self.name  # the commonest filter, without building the index
        lname = name.lower()
        if self._index is None:
            if self._own is not None:
                value = self._split_lookup(lname)
                if value is not IN_FRAME:
                    if SELF_CHECK:
                        _ = self.headers  # builds the whole event and checks the split
                    return value
            # Built once per event: every filtering listener asks for several headers.
            self._index = {key.lower(): value for key, value in self.headers}
        return self._index.get(lname)

    def _split_lookup(self, lname: str) -> str | None | InFrame:
        """The value from the split, or IN_FRAME when only the whole event can tell."""
        if lname in CORE_HEADER_NAMES:
            return IN_FRAME
        assert self._frame is not None
        framed = self._frame(lname)
        if framed is IN_FRAME:
            return IN_FRAME
        own = self._own_headers().get(lname)
        if framed is None:
            return own
        # In both: which one comes last depends on where the own headers sit.
        return framed if own is None else IN_FRAME

    def _own_headers(self) -> dict[str, str]:
        if self._own_index is None:
            assert self._own is not None
            self._own_index = {key.lower(): value for key, value in self._own()}
        return self._own_index

    def _check_split(self, headers: Headers) -> None:
        """Every name the split answers for gets the whole list's answer."""
        whole = {key.lower(): value for key, value in headers}
        names = set(whole) | set(self._own_headers()) | {"unique-id"}
        problems = []
        for key in sorted(names):
            split = self._split_lookup(key)
            if split is not IN_FRAME and split != whole.get(key):
                problems.append(
                    f"{self.name} header {key!r}: the whole event says {whole.get(key)!r}, "
                    f"the split {split!r}"
                )
        if problems:
            SPLIT_MISMATCHES.extend(problems)
            raise SplitMismatch("; ".join(problems))

    def encoded(self, fmt: str) -> bytes:
        if fmt == "json":
            if self._json is None:
                self._json = encode_event_json(self.headers, self._body)
            return self._json
        if self._plain is None:
            self._plain = encode_event_plain(self.headers, self._body)
        return self._plain


class Subscriber(Protocol):
    """An Event Socket connection as the bus sees it (a channel's myevents narrows it)."""

    @property
    def my_uuid(self) -> str | None: ...

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

    def __init__(self, settings: SimSettings, clock: Clock | None = None) -> None:
        self.settings = settings
        # Bound once: firing stamps every event (ScaledClock.time is time.time itself).
        self._time = time.time if clock is None else clock.time
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
        return self._core_at(name, calling, subclass, self._time(), next(self._sequence))

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
        own: Callable[[], Headers] | None = None,
        frame: FrameLookup | None = None,
    ) -> None:
        """`extra` builds everything after the core headers; `own`/`frame` (optional,
        together) split it for cheap filtering, as SimEvent describes."""
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
        now = self._time()

        def build() -> Headers:
            return self._core_at(name, calling, subclass, now, sequence) + extra()

        event = SimEvent(
            name, build, uuid=uuid, subclass=subclass, job_owner=job_owner, body=body,
            own=own, frame=frame,
        )
        wanted = [t for t in targets if t.wants(event)]
        if not wanted:
            return
        _ = event.headers  # snapshot channel state at fire time
        for target in wanted:
            target.deliver(event)
