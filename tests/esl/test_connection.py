"""The controller's transport under hostile input, over a real socket pair."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import gevent
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fsconf.esl.connection import CommandTimeout, ConnectionClosed, EslConnection, EslError
from fsconf.esl.protocol import Event, encode_api_response, encode_event_plain
from fsconf.esl.session import DTMF_BUFFER, CallGone, OutboundSession, Subscription


def _pair(events: list[Event], timeout: float = 2.0) -> tuple[EslConnection, socket.socket]:
    ours, theirs = socket.socketpair()
    conn = EslConnection(ours, on_event=events.append, timeout=timeout, name="test")
    conn.start()
    return conn, theirs


def _until(predicate: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    """Waits for a condition the code under test brings about (never a fixed sleep)."""
    with gevent.Timeout(timeout, AssertionError(f"timed out waiting for {what}")):
        while not predicate():
            gevent.sleep(0.001)


def _expect(theirs: socket.socket, wanted: bytes) -> None:
    """Reads from the switch's end until exactly `wanted` has arrived: the command is out."""
    got = b""
    theirs.settimeout(5)
    while len(got) < len(wanted):
        chunk = theirs.recv(len(wanted) - len(got))
        assert chunk, f"closed after {got!r}"
        got += chunk
    assert got == wanted


def _finish(conn: EslConnection, theirs: socket.socket) -> None:
    theirs.close()
    conn._reader.join(timeout=5)  # type: ignore[union-attr]
    assert conn._reader.dead and conn._reader.exception is None  # type: ignore[union-attr]
    assert conn.closed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=3000), chunk=st.integers(min_value=1, max_value=700))
def test_any_bytes_never_crash_the_reader(data: bytes, chunk: int) -> None:
    events: list[Event] = []
    conn, theirs = _pair(events)
    try:
        for i in range(0, len(data), chunk):
            theirs.sendall(data[i : i + chunk])
            gevent.sleep(0)
    except OSError:
        pass  # the reader may already have dropped a connection that sent garbage
    _finish(conn, theirs)


def test_megabyte_body_and_encoded_newlines_arrive_intact() -> None:
    events: list[Event] = []
    conn, theirs = _pair(events)
    body = b"x" * (1024 * 1024)
    theirs.sendall(encode_event_plain([("Event-Name", "BACKGROUND_JOB"),
                                       ("Caller-Caller-ID-Name", "a\nb\r\nc")], body))
    theirs.sendall(b"Content-Length: 60\nContent-Type: text/event-plain\n\n"
                   b"Event-Name: DTMF\nDTMF-Digit: %23\nX: %0Aapi%20hupall%0A\n\n\n\n\n\n")
    _until(lambda: len(events) == 2, "both events")
    assert len(events[0].body or "") == len(body)
    assert events[0].get("Caller-Caller-ID-Name") == "a\nb\r\nc"
    assert events[1].get("X") == "\napi hupall\n" and events[1].get("DTMF-Digit") == "#"
    _finish(conn, theirs)


@pytest.mark.parametrize("frame", [b"Content-Length: 99999999999\n\n",
                                   b"Content-Length: -1\n\n", b"Content-Length: 1e3\n\n"])
def test_bad_content_length_drops_only_that_connection(frame: bytes) -> None:
    conn, theirs = _pair([])
    theirs.sendall(frame)
    conn._reader.join(timeout=5)  # type: ignore[union-attr]
    assert conn.closed
    other, peer = _pair([])  # another connection is unaffected
    pending = gevent.spawn(other.command, "api status")
    _expect(peer, b"api status\n\n")
    peer.sendall(encode_api_response(b"UP 0 years\n"))
    assert pending.get(timeout=5).text == "UP 0 years\n"
    _finish(other, peer)
    theirs.close()


def test_waiters_get_connection_closed_never_an_empty_reply() -> None:
    conn, theirs = _pair([])
    result = gevent.spawn(conn.command, "api status")
    _expect(theirs, b"api status\n\n")  # a waiter is registered
    theirs.close()
    with pytest.raises(ConnectionClosed):
        result.get(timeout=5)


def test_no_reply_times_out_and_drops_the_connection() -> None:
    conn, theirs = _pair([], timeout=0.2)
    with pytest.raises(CommandTimeout):
        conn.command("api status")
    assert conn.closed
    theirs.close()


def test_injected_newline_is_refused_before_anything_is_sent() -> None:
    conn, theirs = _pair([])
    with pytest.raises(ValueError):
        conn.command("api conference 1 play x.wav\napi hupall")
    theirs.setblocking(False)
    with pytest.raises(BlockingIOError):
        theirs.recv(10)
    _finish(conn, theirs)


def _reply(text: str) -> bytes:
    return f"Content-Type: command/reply\nReply-Text: {text}\n\n".encode()


def test_pipelined_commands_go_out_in_one_write_and_replies_pair_in_order() -> None:
    conn, theirs = _pair([])
    result = gevent.spawn(conn.commands, ["myevents json", "linger", "event json CUSTOM"])
    theirs.settimeout(5)
    sent = theirs.recv(4096)  # the first read returns everything: it was one write
    assert sent == b"myevents json\n\nlinger\n\nevent json CUSTOM\n\n"
    theirs.sendall(_reply("+OK Events Enabled") + _reply("+OK will linger")
                   + _reply("-ERR no keywords supplied"))
    replies = result.get(timeout=5)
    assert [r.text for r in replies] == [
        "+OK Events Enabled", "+OK will linger", "-ERR no keywords supplied"]
    assert [r.ok for r in replies] == [True, True, False]
    _finish(conn, theirs)


def test_a_command_larger_than_the_socket_buffer_goes_out_whole_while_others_run() -> None:
    conn, theirs = _pair([])
    theirs.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    body = bytes(range(256)) * 8192  # 2 MiB: many short writes into a full socket
    sender = gevent.spawn(conn.command, "sendevent CUSTOM", [("Event-Subclass", "x")], body)
    ticks = 0
    received = bytearray()
    theirs.settimeout(5)
    head = b"sendevent CUSTOM\nEvent-Subclass: x\nContent-Length: %d\n\n" % len(body)
    while len(received) < len(head) + len(body):
        chunk = theirs.recv(65536)
        if not chunk:
            break  # dropped the connection: fewer bytes than the command
        received += chunk
        ticks += 1
        gevent.sleep(0)  # the writer waits in the hub, it does not spin
    assert bytes(received) == head + body
    assert ticks > 1 and not sender.ready()  # it took several writes; the reply is awaited
    theirs.sendall(_reply("+OK"))
    assert sender.get(timeout=5).ok
    _finish(conn, theirs)


def test_pipelined_commands_missing_a_reply_time_out_and_drop_the_connection() -> None:
    conn, theirs = _pair([], timeout=0.3)
    result = gevent.spawn(conn.commands, ["myevents", "linger"])
    _expect(theirs, b"myevents\n\nlinger\n\n")
    theirs.sendall(_reply("+OK Events Enabled"))
    with pytest.raises(CommandTimeout, match="linger"):
        result.get(timeout=5)
    assert conn.closed
    theirs.close()


def test_pipelined_commands_refuse_an_injected_newline_before_sending_any() -> None:
    conn, theirs = _pair([])
    with pytest.raises(ValueError):
        conn.commands(["linger", "filter Unique-ID x\napi hupall"])
    theirs.setblocking(False)
    with pytest.raises(BlockingIOError):
        theirs.recv(10)
    _finish(conn, theirs)


def test_dtmf_flood_is_bounded_per_call() -> None:
    ours, theirs = socket.socketpair()
    session = OutboundSession(ours, timeout=2)
    for _ in range(1000):
        theirs.sendall(encode_event_plain([("Event-Name", "DTMF"), ("DTMF-Digit", "5")]))
    _until(lambda: session.dtmf_dropped >= 1000 - DTMF_BUFFER, "the flood to be read")
    assert session.dtmf_dropped == 1000 - DTMF_BUFFER
    assert len(list(session.drain_dtmf())) == DTMF_BUFFER
    theirs.close()


def test_connections_sharing_the_receive_buffer_keep_their_own_bytes() -> None:
    """All readers of a thread read into one buffer; interleaved partial frames on many
    sockets must still come out whole and on the right connection."""
    pairs = []
    for n in range(20):
        events: list[Event] = []
        conn, theirs = _pair(events)
        frame = encode_event_plain([("Event-Name", "DTMF"), ("DTMF-Digit", str(n % 10)),
                                    ("Unique-ID", f"call-{n}")], b"b" * (n * 500))
        pairs.append((conn, theirs, events, frame))
    for cut in range(0, max(len(p[3]) for p in pairs), 97):
        for _, theirs, _, frame in pairs:
            if cut < len(frame):
                theirs.sendall(frame[cut : cut + 97])
        gevent.sleep(0)
    _until(lambda: all(p[2] for p in pairs), "an event on every connection")
    for n, (conn, theirs, events, _) in enumerate(pairs):
        assert [(e.get("Unique-ID"), e.get("DTMF-Digit"), len(e.body or "")) for e in events] == [
            (f"call-{n}", str(n % 10), n * 500)
        ]
        _finish(conn, theirs)


def test_connect_keeps_the_caller_fields_and_our_own_variables_only() -> None:
    ours, theirs = socket.socketpair()
    session = OutboundSession(ours, timeout=2, subscription=Subscription(variable_prefix="fsconf_"))
    reply = [("Content-Type", "command/reply"), ("Reply-Text", "+OK"),
             ("Unique-ID", "u-1"), ("Caller-Caller-ID-Number", "0612345678"),
             ("Caller-Caller-ID-Name", "Jan%20Jansen"), ("Caller-Destination-Number", "0201234567"),
             ("variable_fsconf_attendance_id", "42"), ("variable_sip_user_agent", "phone"),
             ("Channel-Read-Codec-Name", "PCMA")]
    theirs.sendall(b"".join(f"{k}: {v}\n".encode() for k, v in reply) + b"\n")
    channel = session.connect()
    assert session.uuid == "u-1"
    assert channel == {"Unique-ID": "u-1", "Caller-Caller-ID-Number": "0612345678",
                       "Caller-Caller-ID-Name": "Jan Jansen",
                       "Caller-Destination-Number": "0201234567",
                       "variable_fsconf_attendance_id": "42"}
    assert session.var("fsconf_attendance_id") == "42"
    assert session.var("sip_user_agent") is None
    theirs.close()


def test_connect_also_keeps_the_variables_named_by_further_prefixes() -> None:
    ours, theirs = socket.socketpair()
    session = OutboundSession(ours, timeout=2, subscription=Subscription(
        variable_prefix="fsconf_", more_variable_prefixes=("sip_h_X-Fsconf-", "sofia_profile")))
    reply = [("Content-Type", "command/reply"), ("Reply-Text", "+OK"), ("Unique-ID", "u-2"),
             ("Caller-Context", "fsconf_internal"), ("variable_sofia_profile_name", "internal"),
             ("variable_sip_h_X-Fsconf-Room", "123456"), ("variable_sip_h_X-Other", "x")]
    theirs.sendall(b"".join(f"{k}: {v}\n".encode() for k, v in reply) + b"\n")
    session.connect()
    assert session.var("sip_h_X-Fsconf-Room") == "123456"
    assert session.var("sofia_profile_name") == "internal"
    assert session.channel["Caller-Context"] == "fsconf_internal"
    assert session.var("sip_h_X-Other") is None
    theirs.close()


def _fake_switch(theirs: socket.socket, answer) -> gevent.Greenlet:  # type: ignore[no-untyped-def]
    """Reads commands off the socket and writes whatever `answer(command)` returns."""
    from fsconf.esl.protocol import CommandParser

    def run() -> None:
        parser = CommandParser()
        while data := theirs.recv(65536):
            for command in parser.feed(data):
                theirs.sendall(answer(command))

    return gevent.spawn(run)


def _execute_complete(app_uuid: str) -> bytes:
    return encode_event_plain([("Event-Name", "CHANNEL_EXECUTE_COMPLETE"),
                               ("Application-UUID", app_uuid),
                               ("Application-Response", "FILE PLAYED")])


def test_refused_application_fails_at_once_and_later_replies_stay_paired() -> None:
    ours, theirs = socket.socketpair()
    session = OutboundSession(ours, timeout=5)

    def answer(command) -> bytes:  # type: ignore[no-untyped-def]
        if command.line == "sendmsg":
            app = command.headers["execute-app-name"]
            if app == "bogus":
                return _reply("-ERR no such application")
            return _reply("+OK") + _execute_complete(command.headers["Event-UUID"])
        return encode_api_response(f"+OK answer to {command.line}".encode())

    switch = _fake_switch(theirs, answer)
    # at the refusal, long before the application's own timeout
    with (
        gevent.Timeout(10, AssertionError("waited for the application's timeout")),
        pytest.raises(EslError, match="bogus refused: -ERR no such application"),
    ):
        session.execute("bogus", timeout=60)
    assert session.execute("playback", "x.wav").response == "FILE PLAYED"
    assert session.api("status") == "+OK answer to api status"
    theirs.close()
    switch.kill()


def test_application_on_a_closed_connection_is_call_gone() -> None:
    ours, theirs = socket.socketpair()
    session = OutboundSession(ours, timeout=5)
    running = session.start("playback", "x.wav")  # queued; the switch goes away unanswered
    theirs.close()
    with pytest.raises(CallGone):
        running.wait(timeout=2)


def _sequential_switch(  # type: ignore[no-untyped-def]
    theirs: socket.socket, seconds: dict[str, float], sent: list[str],
    completed: list[str] | None = None,
):
    """Answers each sendmsg at once and runs the applications one after another, as a
    channel does, each taking seconds[app]; completion events follow in that order."""
    from gevent.queue import Queue

    runs: Queue = Queue()

    def runner() -> None:
        for app, app_uuid in runs:
            gevent.sleep(seconds.get(app, 0.0))  # the application playing, not a test wait
            theirs.sendall(_execute_complete(app_uuid))
            if completed is not None:
                completed.append(app)

    def answer(command) -> bytes:  # type: ignore[no-untyped-def]
        app = command.headers["execute-app-name"]
        sent.append(app)
        runs.put((app, command.headers["Event-UUID"]))
        return _reply("+OK")

    return _fake_switch(theirs, answer), gevent.spawn(runner)


def test_queued_application_runs_first_and_its_time_counts_into_the_next_wait() -> None:
    ours, theirs = socket.socketpair()
    session = OutboundSession(ours, timeout=5)
    sent: list[str] = []
    completed: list[str] = []
    greenlets = _sequential_switch(
        theirs, {"playback": 0.6, "play_and_get_digits": 0.2}, sent, completed
    )
    started = time.monotonic()
    session.queue("playback", "welcome.wav", timeout=1.0)
    assert completed == []  # queued, not waited for
    # Its own 0.5 s would not cover the 0.6 s welcome still playing in front of it.
    result = session.execute("play_and_get_digits", "1 9 ...", timeout=0.5)
    assert result.response == "FILE PLAYED"
    assert sent == completed == ["playback", "play_and_get_digits"]
    assert time.monotonic() - started > 0.7  # it did wait out both
    theirs.close()
    gevent.killall(greenlets)


def test_hang_up_fails_applications_queued_behind_the_playing_one() -> None:
    ours, theirs = socket.socketpair()
    session = OutboundSession(ours, timeout=5)
    sent: list[str] = []
    greenlets = _sequential_switch(theirs, {"playback": 30.0}, sent)  # never completes
    session.queue("playback", "record-name.wav")
    waiting = gevent.spawn(session.execute, "record", "/rec/x.wav 5 200 2", timeout=60)
    _until(lambda: sent == ["playback", "record"], "both applications at the switch")
    theirs.sendall(encode_event_plain([("Event-Name", "CHANNEL_HANGUP"),
                                       ("Hangup-Cause", "NORMAL_CLEARING")]))
    with pytest.raises(CallGone):  # at the hang-up, long before the record's 60 s
        waiting.get(timeout=10)
    theirs.close()
    gevent.killall(greenlets)


def test_a_refused_queued_application_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    ours, theirs = socket.socketpair()
    session = OutboundSession(ours, timeout=5)
    session.uuid = "0f1e2d3c"

    def answer(command) -> bytes:  # type: ignore[no-untyped-def]
        if command.headers["execute-app-name"] == "bogus":
            return _reply("-ERR no such application")
        return _reply("+OK") + _execute_complete(command.headers["Event-UUID"])

    switch = _fake_switch(theirs, answer)
    session.queue("bogus")
    assert session.execute("playback", "x.wav").response == "FILE PLAYED"
    assert "call 0f1e2d3c: queued bogus refused: -ERR no such application" in caplog.text
    theirs.close()
    switch.kill()


def test_close_says_exit_and_does_not_wait_for_the_goodbye() -> None:
    ours, theirs = socket.socketpair()
    session = OutboundSession(ours, timeout=60)
    with gevent.Timeout(10, AssertionError("close waited for the goodbye")):
        session.close()  # this switch never answers
    theirs.settimeout(2)
    assert theirs.recv(100) == b"exit\n\n"
    assert theirs.recv(100) == b""  # and the socket is closed


def test_subscribe_says_what_the_caller_names_and_the_session_needs() -> None:
    ours, theirs = socket.socketpair()
    wanted = Subscription(
        extra_events=("BACKGROUND_JOB", "CUSTOM", "conference::maintenance"),
        event_names=("BACKGROUND_JOB",), actions=("add-member", "mute-member"),
    )  # fmt: skip
    session = OutboundSession(ours, timeout=2, subscription=wanted)
    done = gevent.spawn(session.subscribe)
    got = b""
    while got.count(b"\n\n") < 5:
        got += theirs.recv(4096)
    theirs.sendall(b"Content-Type: command/reply\nReply-Text: +OK\n\n" * 5)
    done.get(timeout=2)
    assert got.decode().split("\n\n")[:5] == [
        "myevents json", "linger", "event json BACKGROUND_JOB CUSTOM conference::maintenance",
        "filter Event-Name /^(CHANNEL_EXECUTE_COMPLETE|CHANNEL_HANGUP|BACKGROUND_JOB)$/",
        "filter Action /^(add-member|mute-member)$/",
    ]
    theirs.close()


@pytest.mark.parametrize("bad", ["DTMF)|(.*", "CUSTOM conference::maintenance", "a\nb", ""])
def test_a_subscription_refuses_names_that_would_change_the_command(bad: str) -> None:
    with pytest.raises(ValueError):
        Subscription(event_names=(bad,))
    with pytest.raises(ValueError):
        Subscription(actions=(bad,))
