"""The simulator's per-event caches and fast paths give the bytes and answers of the plain
code they replace, and notice when what they cache changes."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import gevent
import pytest
from gevent.server import StreamServer

from fsconf.esl.protocol import encode_event_json, encode_event_plain
from fsconf.sim import events
from fsconf.sim.channel import CallerProfile, Channel
from fsconf.sim.clock import ManualClock
from fsconf.sim.events import IN_FRAME, EventBus, SimEvent, Subscription
from fsconf.sim.outbound import _connect
from fsconf.sim.settings import SimSettings
from fsconf.sim.sounds import Sounds
from fsconf.sounds.wav import write_silence

VALUES = ["", "plain", "a b:c", 'quo"te', "back\\slash", "tab\there", "line\nbreak", "Zoë ✓"]


def _headers() -> list[tuple[str, str]]:
    headers = [(f"H-{i}", v) for i, v in enumerate(VALUES)]
    # A repeated header: JSON keeps the first position with the last value.
    return headers + [("H-1", "again"), ("Event-Name", "CUSTOM")]


@pytest.mark.parametrize("body", [None, b"+OK 1234\n", "Zoë\n".encode()])
def test_encoders_match_the_protocol_module(body: bytes | None) -> None:
    headers = _headers()
    frame = encode_event_json(headers, body)
    obj = json.loads(frame.split(b"\n\n", 1)[1])
    assert list(obj)[:3] == ["H-0", "H-1", "H-2"] and obj["H-1"] == "again"
    no_headers = encode_event_plain([], body)
    assert no_headers.split(b"\n\n", 1)[1] == (
        b"\n" if body is None else b"Content-Length: %d\n\n" % len(body) + body
    )


def test_header_lookup_is_case_insensitive_last_wins() -> None:
    event = SimEvent("CUSTOM", lambda: [("Action", "a"), ("action", "b"), ("X", "y")])
    assert event.header("ACTION") == "b"
    assert event.header("x") == "y"
    assert event.header("missing") is None


def _split_event(
    frame: list[tuple[str, str]], own: list[tuple[str, str]], frame_names: set[str]
) -> tuple[SimEvent, list[int]]:
    """An event of `frame` then `own` headers; the list counts whole-event builds."""
    builds: list[int] = []

    def build() -> list[tuple[str, str]]:
        builds.append(1)
        return frame + own

    def lookup(lname: str) -> str | None | object:
        if lname == "unique-id":
            return dict((k.lower(), v) for k, v in frame).get("unique-id")
        return IN_FRAME if lname in frame_names else None

    return SimEvent("CUSTOM", build, own=lambda: list(own), frame=lookup), builds


def test_a_filter_on_an_event_s_own_header_does_not_build_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(events, "SELF_CHECK", False)  # it builds every event to compare
    frame = [("Unique-ID", "u1"), ("Channel-State", "CS_EXECUTE")]
    event, builds = _split_event(frame, [("Action", "add-member")], {"unique-id", "channel-state"})
    sub = Subscription()
    sub.add("json", ["ALL"])
    sub.filters = [("Action", "/^(mute-member|unmute-member)$/"), ("Unique-ID", "u2")]
    # A socket following other calls turns it away without building its ~100 headers.
    assert not sub.wants(event)
    assert event.header("action") == "add-member" and event.header("Playback-File-Path") is None
    assert builds == []
    sub.filters = [("Unique-ID", "u1")]
    assert sub.wants(event) and builds == []
    # A frame header other than Unique-ID is read from the whole event.
    assert event.header("Channel-State") == "CS_EXECUTE" and builds == [1]


def test_a_name_in_both_frame_and_own_headers_is_read_from_the_whole_event() -> None:
    # The last one wins, and only the whole list knows which one is last.
    event, builds = _split_event(
        [("Unique-ID", "u1")], [("Unique-ID", "u9"), ("Action", "x")], {"unique-id"}
    )
    assert event.header("Unique-ID") == "u9" and builds == [1]


class _Sink:
    my_uuid: str | None = None

    def __init__(self) -> None:
        self.events: list[SimEvent] = []

    def wants(self, event: SimEvent) -> bool:
        return True

    def deliver(self, event: SimEvent) -> None:
        self.events.append(event)


def _fired(bus: EventBus, count: int = 1) -> list[SimEvent]:
    sink = _Sink()
    bus.attach(sink)
    for _ in range(count):
        bus.fire("HEARTBEAT", ("f.c", "fn", 1), lambda: [])
    bus.detach(sink)
    return sink.events


def test_core_headers_follow_the_clock_and_the_settings() -> None:
    settings = SimSettings()
    bus = EventBus(settings)
    first, second = _fired(bus, 2)
    assert int(first.header("Event-Sequence") or 0) + 1 == int(second.header("Event-Sequence") or 0)
    stamp = int(first.header("Event-Date-Timestamp") or 0) / 1_000_000
    assert first.header("Event-Date-Local") == time.strftime(
        "%Y-%m-%d %H:%M:%S", time.localtime(stamp)
    )
    assert first.header("Event-Date-GMT") == time.strftime(
        "%a, %d %b %Y %H:%M:%S GMT", time.gmtime(stamp)
    )
    settings.hostname = "renamed"
    (later,) = _fired(bus)
    assert later.header("FreeSWITCH-Hostname") == "renamed"
    assert later.header("FreeSWITCH-Switchname") == "renamed"


def test_events_nobody_hears_still_take_a_sequence_number() -> None:
    bus = EventBus(SimSettings())
    (first,) = _fired(bus)
    for _ in range(3):  # fired with no listener attached
        bus.fire("HEARTBEAT", ("f.c", "fn", 1), lambda: [])
    (later,) = _fired(bus)
    assert int(later.header("Event-Sequence") or 0) == int(first.header("Event-Sequence") or 0) + 4


def test_a_listener_that_turns_to_myevents_hears_only_its_channel_until_detached() -> None:
    bus = EventBus(SimSettings())
    sink, other = _Sink(), _Sink()
    sink.my_uuid, other.my_uuid = None, "b"
    bus.attach(sink)
    bus.attach(other)
    sink.my_uuid = "a"  # `myevents`: the listener is filed again, under its channel
    bus.attach(sink)
    for uuid in ("a", "b", None):
        bus.fire("DTMF", ("f.c", "fn", 1), lambda: [], uuid=uuid)
    bus.detach(sink)
    bus.detach(sink)  # a second detach (close after the read loop ended) is harmless
    bus.fire("DTMF", ("f.c", "fn", 1), lambda: [], uuid="a")
    bus.fire("DTMF", ("f.c", "fn", 1), lambda: [], uuid="b")
    assert [e.uuid for e in sink.events] == ["a"]
    assert [e.uuid for e in other.events] == ["b", "b"]


class _Sim:
    clock = ManualClock()

    def next_session_id(self) -> int:
        return 1


def test_channel_headers_carry_changed_values() -> None:
    profile = CallerProfile(caller_id_name="Bob", destination_number="100")
    ch = Channel(_Sim(), "loopback/1-a", "inbound", profile)  # type: ignore[arg-type]
    before = dict(ch.event_headers("CHANNEL_EXECUTE"))
    assert before["Caller-Caller-ID-Name"] == "Bob"
    assert "Caller-Callee-ID-Name" not in before  # empty values are left out
    ch.profile.caller_id_name = "Alice"
    ch.profile.callee_id_name = "Carol"
    ch.variables["current_application"] = "playback"
    ch.variables["empty"] = ""
    after = dict(ch.event_headers("CHANNEL_EXECUTE"))
    assert after["Caller-Caller-ID-Name"] == "Alice"
    assert after["Caller-Orig-Caller-ID-Name"] == "Alice"
    assert after["Caller-Callee-ID-Name"] == "Carol"
    assert after["variable_current_application"] == "playback"
    assert "variable_empty" not in after
    assert dict(ch.channel_data_headers())["Channel-Caller-ID-Name"] == "Alice"
    ch.answered_us = 1_700_000_000_000_001
    ch.profile.destination_number = ""
    again = dict(ch.event_headers("CHANNEL_ANSWER"))
    assert again["Caller-Channel-Answered-Time"] == "1700000000000001"
    assert "Caller-Destination-Number" not in again
    assert dict(ch.channel_data_headers())["Channel-Channel-Answered-Time"] == "1700000000000001"


def test_sound_lookup_sees_files_appear_change_and_go(tmp_path: Path) -> None:
    """Recorded names come and go during a call: nothing about their existence is cached."""
    sounds = Sounds(tmp_path, frozenset(), 1000)
    name = str(tmp_path / "names" / "caller")
    assert sounds.locate(None, name) is None
    write_silence(tmp_path / "names" / "caller.wav", 1000)
    found = sounds.locate(None, name)
    assert found is not None and found.path == str(tmp_path / "names" / "caller.wav")
    assert found.seconds == 1.0
    write_silence(tmp_path / "names" / "caller.wav", 2000)  # rewritten: longer
    found = sounds.locate(None, name)
    assert found is not None and found.seconds == 2.0
    write_silence(tmp_path / "names" / "8000" / "caller.wav", 500)  # a rate directory wins
    found = sounds.locate(None, name)
    assert found is not None and found.path == str(tmp_path / "names" / "8000" / "caller.wav")
    os.remove(tmp_path / "names" / "8000" / "caller.wav")
    os.remove(tmp_path / "names" / "caller.wav")
    assert sounds.locate(None, name) is None


def test_numeric_connect_reaches_the_listener() -> None:
    seen: list[bytes] = []

    def handle(sock: socket.socket, _addr: tuple[str, int]) -> None:
        seen.append(sock.recv(16))

    server = StreamServer(("127.0.0.1", 0), handle)
    server.start()
    try:
        sock = _connect("127.0.0.1", server.server_port, 2.0)
        sock.sendall(b"hello")
        sock.close()
        with gevent.Timeout(5):
            while not seen:
                gevent.sleep(0.01)
        assert seen == [b"hello"]
        with pytest.raises(OSError):
            _connect("127.0.0.1", 9, 2.0)  # discard port: nothing listens
    finally:
        server.stop()
