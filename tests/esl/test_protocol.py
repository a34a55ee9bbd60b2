"""Tests of the pure Event Socket parser/serialiser against recorded FreeSWITCH bytes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsconf.esl.protocol import (
    GOODBYE_BODY,
    CommandParser,
    Frame,
    FrameParser,
    ProtocolError,
    decode_reply_headers,
    encode_api_response,
    encode_command,
    encode_command_reply,
    encode_commands,
    encode_disconnect_notice,
    encode_event_json,
    encode_event_plain,
    parse_event,
    url_decode,
    url_encode,
)
from tests.data import capture as _raw


def _parse_all(data: bytes) -> list[Frame]:
    return FrameParser().feed(data)


@pytest.mark.parametrize(
    "relative",
    ["3_inbound_basics/c1_wrong_password.recv.raw", "3_inbound_basics/c2_main.recv.raw"],
)
def test_recorded_stream_split_at_every_byte_gives_same_frames(relative: str) -> None:
    data = _raw(relative)
    expected = _parse_all(data)
    assert expected
    for cut in range(len(data) + 1):
        parser = FrameParser()
        frames = parser.feed(data[:cut]) + parser.feed(data[cut:])
        assert frames == expected, cut


def test_recorded_outbound_call_fed_byte_by_byte() -> None:
    data = _raw("1_ivr_apps/call2_outbound.recv.raw")
    expected = _parse_all(data)
    parser = FrameParser()
    frames: list[Frame] = []
    for i in range(len(data)):
        frames += parser.feed(data[i : i + 1])
    assert frames == expected


def test_recorded_connect_reply_and_hangup_sequence() -> None:
    frames = _parse_all(_raw("1_ivr_apps/call2_outbound.recv.raw"))
    connect = frames[0]
    assert connect.content_type == "command/reply"
    assert "Content-Length" not in connect.headers
    assert connect.headers["Reply-Text"] == "%2BOK%0A"
    decoded = decode_reply_headers(connect)
    assert decoded["Reply-Text"] == "+OK\n"
    assert decoded["Socket-Mode"] == "async"
    assert decoded["Control"] == "full"
    assert decoded["Channel-Name"] == "loopback/5000-b"
    names = [parse_event(f).name for f in frames if f.content_type == "text/event-plain"]
    tail = names[-6:]
    assert tail == [
        "CHANNEL_HANGUP",
        "CHANNEL_UNPARK",
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_STATE",
        "CHANNEL_STATE",
        "CHANNEL_HANGUP_COMPLETE",
    ]
    assert frames[-1].content_type == "text/disconnect-notice"
    assert frames[-1].body == GOODBYE_BODY


def test_recorded_background_job_body_is_kept() -> None:
    frames = _parse_all(_raw("3_inbound_basics/c2_main.recv.raw"))
    jobs = [
        parse_event(f)
        for f in frames
        if f.content_type == "text/event-plain" and b"BACKGROUND_JOB" in f.body[:40]
    ]
    assert jobs
    assert jobs[0].body is not None and "FreeSWITCH (Version" in jobs[0].body
    assert jobs[0].get("Job-Command") == "status"


def test_recorded_json_events_parse() -> None:
    frames = _parse_all(_raw("3_inbound_basics/c4_event_json_conference_maintenance.recv.raw"))
    events = [parse_event(f) for f in frames if f.content_type == "text/event-json"]
    assert events[0].subclass == "conference::maintenance"
    assert events[0].get("Action") == "conference-create"


def test_dtmf_pound_is_decoded() -> None:
    frames = _parse_all(_raw("1_ivr_apps/call1_outbound.recv.raw"))
    digits = [
        parse_event(f).get("DTMF-Digit")
        for f in frames
        if f.content_type == "text/event-plain" and b"Event-Name: DTMF\n" in f.body
    ]
    assert "#" in digits
    assert b"DTMF-Digit: %23\n" in _raw("1_ivr_apps/call1_outbound.recv.raw")


def test_encoded_event_reproduces_recorded_bytes() -> None:
    """Re-encoding a decoded recorded event gives the recorded bytes back."""
    data = _raw("1_ivr_apps/call1_outbound.recv.raw")
    frames = _parse_all(data)
    checked = 0
    for frame in frames:
        if frame.content_type != "text/event-plain":
            continue
        pairs = []
        for raw in frame.body.split(b"\n\n", 1)[0].split(b"\n"):
            name, _, value = raw.decode().partition(": ")
            pairs.append((name, url_decode(value)))
        body = None
        if pairs and pairs[-1][0] == "Content-Length":
            pairs.pop()
            body = frame.body.split(b"\n\n", 1)[1]
        rebuilt = encode_event_plain(pairs, body)
        expected = (
            b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(frame.body) + frame.body
        )
        assert rebuilt == expected
        checked += 1
    assert checked > 50


def test_crlf_and_leading_blank_lines() -> None:
    data = b"\r\n\nContent-Type: api/response\r\nContent-Length: 3\r\n\r\nabcContent-Type: x\n\n"
    frames = FrameParser().feed(data)
    assert frames == [
        Frame({"Content-Type": "api/response", "Content-Length": "3"}, b"abc"),
        Frame({"Content-Type": "x"}, b""),
    ]


@pytest.mark.parametrize(
    "head",
    [
        b"Content-Length: 5\nContent-Type: text/event-json\n\n",  # how events start
        b"Content-Type: api/response\nContent-Length: 5\n\n",  # how api responses start
    ],
)
def test_common_frame_heads_read_as_the_general_parser_reads_them(head: bytes) -> None:
    """The one-match reading of the two usual outer headers gives what reading their
    lines one by one gives (CRLF line ends always take the line-by-line path)."""
    data = head + b"hello" + b"Content-Type: command/reply\nReply-Text: +OK\n\n"
    fast = FrameParser().feed(data)
    general = FrameParser().feed(data.replace(b"\n", b"\r\n", 2))
    assert fast == general
    assert list(fast[0].headers) == [line.split(b":")[0].decode() for line in head.split()[::2]]
    assert fast[0].body == b"hello"
    assert fast[1] == Frame({"Content-Type": "command/reply", "Reply-Text": "+OK"}, b"")


def test_common_frame_head_over_the_body_limit_is_refused() -> None:
    with pytest.raises(ProtocolError):
        FrameParser(max_body=1024).feed(b"Content-Length: 1025\nContent-Type: x/y\n\n")


def test_common_frame_head_with_odd_spacing_keeps_the_general_reading() -> None:
    data = b"Content-Length:  3\nContent-Type: api/response \n\nabc"
    assert FrameParser().feed(data) == [
        Frame({"Content-Length": "3", "Content-Type": "api/response "}, b"abc")
    ]


@pytest.mark.parametrize("bad", [b"-1", b"abc", b"99999999999", b"1e3", b""])
def test_bad_content_length_raises_protocol_error(bad: bytes) -> None:
    with pytest.raises(ProtocolError):
        FrameParser(max_body=1024).feed(
            b"Content-Type: api/response\nContent-Length: " + bad + b"\n\n"
        )


def test_parse_event_plain_with_body_and_invalid_utf8() -> None:
    frame_bytes = encode_event_plain(
        [("Event-Name", "BACKGROUND_JOB"), ("X", "a b")], b"+OK \xff\n"
    )
    (frame,) = FrameParser().feed(frame_bytes)
    event = parse_event(frame)
    assert event.name == "BACKGROUND_JOB"
    assert event.get("X") == "a b"
    assert event.body == "+OK \ufffd\n"


def test_repeated_header_keeps_last() -> None:
    frame = Frame({"Content-Type": "text/event-plain"}, b"Hangup-Cause: A\nHangup-Cause: B\n\n")
    assert parse_event(frame).get("Hangup-Cause") == "B"


def test_url_encode_matches_freeswitch_examples() -> None:
    assert url_encode("#") == "%23"
    assert url_encode("*") == "*"
    assert url_encode("conference::maintenance") == "conference%3A%3Amaintenance"
    assert url_encode("+OK\n") == "%2BOK%0A"
    assert url_encode("2023-11-14 22:13:20") == "2023-11-14%2022%3A13%3A20"
    assert url_encode("%41 already") == "%41%20already"
    assert url_encode("%4a") == "%254a"  # lowercase hex is not "already encoded"
    assert url_encode("é") == "%C3%A9"
    assert url_encode("!$'()*,-./_~") == "!$'()*,-./_~"


def test_url_decode_keeps_plus() -> None:
    assert url_decode("a+b%20c") == "a+b c"
    assert url_decode("%zz") == "%zz"


def test_encode_command_rejects_injection() -> None:
    with pytest.raises(ValueError):
        encode_command("api status\n\nexit")
    with pytest.raises(ValueError):
        encode_command("sendmsg", [("execute-app-arg", "x\r\nfoo: bar")])
    with pytest.raises(ValueError):
        encode_command("sendmsg", [("bad\0name", "x")])
    assert encode_command("sendmsg", [("a", "b")]) == b"sendmsg\na: b\n\n"
    assert (
        encode_command("sendmsg", [("a", "b")], b"xy") == b"sendmsg\na: b\nContent-Length: 2\n\nxy"
    )


@given(st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=5))
def test_commands_in_one_write_are_the_single_encodings_or_the_same_refusal(
    lines: list[str],
) -> None:
    try:
        single = b"".join(encode_command(line) for line in lines)
    except ValueError:
        with pytest.raises(ValueError):
            encode_commands(lines)
        return
    assert encode_commands(lines) == single


def test_a_repeated_frame_head_is_still_held_to_each_parsers_body_limit() -> None:
    frame = b"Content-Type: api/response\nContent-Length: 100\n\n" + b"x" * 100
    assert FrameParser().feed(frame)[0].body == b"x" * 100
    with pytest.raises(ProtocolError, match="exceeds limit"):
        FrameParser(max_body=50).feed(frame)


def test_frames_with_the_same_head_get_headers_of_their_own() -> None:
    frame = b"Content-Type: api/response\nContent-Length: 3\n\n+OK"
    first, second = FrameParser().feed(frame * 2)
    first.headers["X-Mine"] = "1"
    assert "X-Mine" not in second.headers
    assert second.headers == {"Content-Type": "api/response", "Content-Length": "3"}


def test_command_parser_reads_line_headers_and_body() -> None:
    parser = CommandParser()
    cmds = parser.feed(b"sendmsg\nCall-Command: execute\nContent-Length: 2\n\nhiapi status\n\n")
    assert cmds[0].line == "sendmsg"
    assert cmds[0].header("call-command") == "execute"
    assert cmds[0].body == b"hi"
    assert cmds[1].line == "api status"


def test_a_command_line_is_never_read_as_a_header() -> None:
    # mod_event_socket's read_packet takes the first line as the command and looks for
    # Content-Length only among the lines after it.
    cmds = CommandParser().feed(b"Content-Length: 5\n\napi status\n\n")
    assert [(c.line, c.headers, c.body) for c in cmds] == [
        ("Content-Length: 5", {}, b""), ("api status", {}, b"")]


def test_replies_and_notices_framing() -> None:
    assert (
        encode_command_reply("+OK bye") == b"Content-Type: command/reply\nReply-Text: +OK bye\n\n"
    )
    assert encode_command_reply("+OK Job-UUID: x", [("Job-UUID", "x")]) == (
        b"Content-Type: command/reply\nReply-Text: +OK Job-UUID: x\nJob-UUID: x\n\n"
    )
    assert (
        encode_api_response(b"+OK\n") == b"Content-Type: api/response\nContent-Length: 4\n\n+OK\n"
    )
    assert encode_disconnect_notice() == (
        b"Content-Type: text/disconnect-notice\nContent-Length: 67\n\n" + GOODBYE_BODY
    )
    assert encode_disconnect_notice("u1") == (
        b"Content-Type: text/disconnect-notice\nControlled-Session-UUID: u1\n"
        b"Content-Disposition: disconnect\nContent-Length: 67\n\n" + GOODBYE_BODY
    )
    assert encode_disconnect_notice("u1", linger=-1, channel_name="loopback/5000-b") == (
        b"Content-Type: text/disconnect-notice\nControlled-Session-UUID: u1\n"
        b"Content-Disposition: linger\nChannel-Name: loopback/5000-b\nLinger-Time: -1\n"
        b"Content-Length: 0\n\n"
    )


def test_event_json_round_trip() -> None:
    data = encode_event_json([("Event-Name", "BACKGROUND_JOB"), ("A", "x y#")], b"+OK\n")
    (frame,) = FrameParser().feed(data)
    event = parse_event(frame)
    assert event.get("A") == "x y#"
    assert event.body == "+OK\n"
    assert json.loads(frame.body)["Content-Length"] == "4"


def test_json_array_header_reads_as_the_plain_format_carries_it() -> None:
    # The same event in both formats must read the same, whichever a socket asked for.
    body = b'{"Event-Name":"CUSTOM","X-List":["a","b c"],"Unique-ID":"u1"}'
    frame = FrameParser().feed(
        b"Content-Length: %d\nContent-Type: text/event-json\n\n" % len(body) + body
    )[0]
    plain = parse_event(
        FrameParser().feed(
            encode_event_plain([("Event-Name", "CUSTOM"), ("X-List", "ARRAY::a|:b c")])
        )[0]
    )
    assert parse_event(frame).get("X-List") == plain.get("X-List") == "ARRAY::a|:b c"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"Event-Name":"DTMF","Caller-Caller-ID-Name":"Jos\xe9"}', "Jos\ufffd"),  # not UTF-8
        (b'{"Event-Name":"DTMF","Caller-Caller-ID-Name":"a\\ud800b"}', "a\ud800b"),
        (b'{"Event-Name":"DTMF","Caller-Caller-ID-Name":"\xc3\xa9\\n"}', "\u00e9\n"),
    ],
)
def test_json_events_a_strict_decoder_refuses_still_read(body: bytes, expected: str) -> None:
    frame = FrameParser().feed(
        b"Content-Length: %d\nContent-Type: text/event-json\n\n" % len(body) + body
    )[0]
    event = parse_event(frame)
    assert event.name == "DTMF" and event.get("Caller-Caller-ID-Name") == expected


# --- property tests ---------------------------------------------------------------

_header_names = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters=":"),
    min_size=1,
    max_size=12,
)
_values = st.text(max_size=30)


@settings(max_examples=200, deadline=None)
@given(
    events=st.lists(
        st.tuples(
            st.lists(st.tuples(_header_names, _values), min_size=1, max_size=6),
            st.one_of(st.none(), st.binary(max_size=40)),
        ),
        min_size=1,
        max_size=4,
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=6),
)
def test_events_survive_random_split_points(
    events: list[tuple[list[tuple[str, str]], bytes | None]], cuts: list[int]
) -> None:
    stream = b"".join(encode_event_plain(h, b) for h, b in events)
    points = sorted({c % (len(stream) + 1) for c in cuts})
    parser = FrameParser()
    frames: list[Frame] = []
    last = 0
    for point in [*points, len(stream)]:
        frames += parser.feed(stream[last:point])
        last = point
    assert len(frames) == len(events)
    for frame, (headers, body) in zip(frames, events, strict=True):
        event = parse_event(frame)
        expected = {}
        for name, value in headers:
            expected[name] = value if url_encode(value) else "_undef_"
        if body is not None:
            expected["Content-Length"] = str(len(body))
        decoded = {k: v for k, v in event.headers.items()}
        # values containing an already-encoded %XX decode differently, by FreeSWITCH design
        for name, value in headers:
            if "%" in value:
                decoded.pop(name, None)
                expected.pop(name, None)
        assert decoded == expected
        assert (event.body is None) == (body is None)


@given(st.text().filter(lambda s: "%" not in s))
def test_url_encode_decode_round_trip(value: str) -> None:
    encoded = url_encode(value)
    assert all(0x20 < ord(c) < 0x7F for c in encoded)
    assert url_decode(encoded) == value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


@given(st.binary(max_size=300), st.integers(min_value=0, max_value=300))
def test_garbage_raises_only_protocol_error(data: bytes, cut: int) -> None:
    parser = FrameParser(max_body=1000)
    try:
        frames = parser.feed(data[:cut]) + parser.feed(data[cut:])
    except ProtocolError:
        return
    for frame in frames:
        try:
            parse_event(frame)
        except ProtocolError:
            pass


@given(st.binary(max_size=200))
def test_garbage_commands_raise_only_protocol_error(data: bytes) -> None:
    try:
        CommandParser(max_body=1000).feed(data)
    except ProtocolError:
        pass
