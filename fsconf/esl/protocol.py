"""Pure FreeSWITCH Event Socket parser and serialiser (no I/O).

Used by both sides: the controller (parsing replies/events, encoding commands) and the
simulator (parsing commands, encoding replies/events).  Wire facts come from
/work/shared/reference/esl-protocol.md sections 1-3 and the FS 1.10.12 captures.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import NamedTuple
from urllib.parse import unquote

import orjson

__all__ = [
    "GOODBYE_BODY",
    "Command",
    "CommandParser",
    "Event",
    "Frame",
    "FrameParser",
    "ProtocolError",
    "decode_reply_headers",
    "encode_api_response",
    "encode_command",
    "encode_commands",
    "encode_command_reply",
    "encode_disconnect_notice",
    "encode_event_json",
    "encode_event_plain",
    "parse_event",
    "url_decode",
    "url_encode",
]

DEFAULT_MAX_BODY = 16 * 1024 * 1024
# FreeSWITCH gives up on a header block of about 10 MiB; so do we.
MAX_HEADER_BLOCK = 10 * 1024 * 1024

GOODBYE_BODY = b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
assert len(GOODBYE_BODY) == 67

# A header block ends at the first empty line; LF and CRLF may be mixed.
_END_OF_BLOCK = re.compile(rb"\n\r?\n")
# The outer header block of nearly every frame FreeSWITCH writes: events put
# Content-Length first, api/response puts Content-Type first. Read in one match instead of
# line by line (that was a quarter of the controller's part of a key press); anything
# else — other headers, CR, extra spaces, a block not yet complete — takes the general
# path, which reads these bytes to the same result.
_FRAME_HEAD = re.compile(
    rb"Content-Length: ([0-9]{1,12})\nContent-Type: ([!-~]+)\n\n"
    rb"|Content-Type: ([!-~]+)\nContent-Length: ([0-9]{1,12})\n\n"
)


# Decoded frame heads by their bytes; the limit is checked at each parse, so one stays
# valid for every parser (they all have the same maximum unless a test says otherwise).
_HEAD_CACHE: dict[bytes, tuple[dict[str, str], int]] = {}
_HEAD_CACHE_SIZE = 1024


class ProtocolError(ValueError):
    """The peer sent bytes that cannot be Event Socket framing; drop the connection."""


class Frame(NamedTuple):
    """One frame as read from the wire: header block (values not decoded) and raw body.

    A NamedTuple rather than a frozen dataclass: every frame a call brings is built once
    and read once, and a tuple is several times cheaper to build.
    """

    headers: dict[str, str]
    body: bytes = b""

    @property
    def content_type(self) -> str:
        return _get_ci(self.headers, "Content-Type") or ""


@dataclass(frozen=True)
class Command:
    """One command as read by a server: first line, headers (raw values), body."""

    line: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str, default: str | None = None) -> str | None:
        """Header lookup is case-insensitive, as in FreeSWITCH."""
        value = _get_ci(self.headers, name)
        return default if value is None else value


def _get_ci(headers: dict[str, str], name: str) -> str | None:
    if name in headers:
        return headers[name]
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def _decode_line(line: bytes) -> str:
    return line.decode("utf-8", errors="replace")


def _split_header(line: str) -> tuple[str, str] | None:
    name, sep, value = line.partition(":")
    if not sep:
        return None
    return name.strip(), value.lstrip(" ")


def _parse_content_length(raw: str | None, max_body: int) -> int | None:
    if raw is None:
        return None
    text = raw.strip()
    if not text.isdigit() or not text.isascii():
        raise ProtocolError(f"invalid Content-Length {raw!r}")
    length = int(text)
    if length > max_body:
        raise ProtocolError(f"Content-Length {length} exceeds limit {max_body}")
    return length


class _BlockParser:
    """Splits a byte stream into (first line, headers, body) blocks, resumable at any byte.

    A block's header lines are decoded and split once; Content-Length (the last one, in
    any letter case) is read from them as they go by. With `first_line` (commands), the
    block's first line is returned apart rather than read as a header.
    """

    def __init__(self, max_body: int, first_line: bool) -> None:
        self._buf = bytearray()
        self._max_body = max_body
        self._first_line = first_line
        # A block whose header lines are read, awaiting its body.
        self._pending: tuple[str, dict[str, str], int] | None = None
        self._scanned = 0  # bytes of _buf already searched for the end of a header block

    def feed(self, data: bytes | memoryview) -> list[tuple[str, dict[str, str], bytes]]:
        buf = self._buf
        buf += data
        out: list[tuple[str, dict[str, str], bytes]] = []
        pos = 0  # consumed bytes, removed from the buffer once at the end
        size = len(buf)
        while True:
            if self._pending is not None:
                first, headers, length = self._pending
                if size - pos < length:
                    break
                out.append((first, headers, bytes(buf[pos : pos + length])))
                pos += length
                self._pending = None
                continue
            # Skip leading blank lines (LF or CRLF) between frames.
            while pos < size:
                byte = buf[pos]
                if byte == 0x0A:
                    pos += 1
                elif byte == 0x0D and pos + 1 < size and buf[pos + 1] == 0x0A:
                    pos += 2
                else:
                    break
            if pos >= size or (pos == size - 1 and buf[pos] == 0x0D):
                self._scanned = 0
                break
            head = None if self._first_line else _FRAME_HEAD.match(buf, pos)
            if head is not None:
                self._scanned = 0
                pos = head.end()
                self._pending = self._read_frame_head(head)
                continue
            # Resume the search near where the previous feed stopped (keeps feeding
            # one byte at a time linear instead of quadratic).
            match = _END_OF_BLOCK.search(buf, max(pos, pos + self._scanned - 2))
            if match is None:
                self._scanned = size - pos
                if self._scanned > MAX_HEADER_BLOCK:
                    raise ProtocolError("header block too large")
                break
            self._scanned = 0
            first, headers, length_raw = self._read_block(buf[pos : match.start()])
            pos = match.end()
            body_length = _parse_content_length(length_raw, self._max_body)
            if body_length is None:
                out.append((first, headers, b""))
            else:
                self._pending = (first, headers, body_length)
        if pos:
            del buf[:pos]
        return out

    def _read_frame_head(self, head: re.Match[bytes]) -> tuple[str, dict[str, str], int]:
        # Most heads repeat byte for byte (a thousand `+OK` replies of one length): decode
        # each once. A copy of the headers per frame: consumers keep them.
        known = _HEAD_CACHE.get(head.group())
        if known is not None and known[1] <= self._max_body:
            return "", dict(known[0]), known[1]
        decoded = self._decode_frame_head(head)
        if len(_HEAD_CACHE) >= _HEAD_CACHE_SIZE:
            _HEAD_CACHE.clear()
        _HEAD_CACHE[head.group()] = (decoded[1], decoded[2])
        return decoded

    def _decode_frame_head(self, head: re.Match[bytes]) -> tuple[str, dict[str, str], int]:
        length_first, type_second, type_first, length_second = head.groups()
        if length_first is not None:
            raw = length_first
            headers = {"Content-Length": raw.decode(), "Content-Type": type_second.decode()}
        else:
            raw = length_second
            headers = {"Content-Type": type_first.decode(), "Content-Length": raw.decode()}
        length = _parse_content_length(headers["Content-Length"], self._max_body)
        assert length is not None  # the regex matched digits
        return "", headers, length

    def _read_block(self, block: bytearray) -> tuple[str, dict[str, str], str | None]:
        lines = block.decode("utf-8", errors="replace").split("\n")
        first = lines[0].rstrip("\r").strip() if self._first_line else ""
        headers: dict[str, str] = {}
        length: str | None = None
        for line in lines[1:] if self._first_line else lines:
            parsed = _split_header(line.rstrip("\r"))
            if parsed is None:
                continue
            name, value = parsed
            headers[name] = value
            if name[:1] in "Cc" and name.lower() == "content-length":
                length = value
        return first, headers, length

    @property
    def buffered(self) -> int:
        return len(self._buf)


class FrameParser:
    """Incremental parser for frames sent by FreeSWITCH (replies, events, notices)."""

    def __init__(self, max_body: int = DEFAULT_MAX_BODY) -> None:
        self._blocks = _BlockParser(max_body, first_line=False)

    def feed(self, data: bytes | memoryview) -> list[Frame]:
        return [Frame(headers, body) for _, headers, body in self._blocks.feed(data)]


class CommandParser:
    """Incremental parser for commands sent to FreeSWITCH (first line + headers + body)."""

    def __init__(self, max_body: int = DEFAULT_MAX_BODY) -> None:
        self._blocks = _BlockParser(max_body, first_line=True)

    def feed(self, data: bytes) -> list[Command]:
        return [Command(first, headers, body) for first, headers, body in self._blocks.feed(data)]


@dataclass
class Event:
    """A decoded event: URL-decoded header values (last one wins) and optional body."""

    headers: dict[str, str]
    body: str | None = None

    @property
    def name(self) -> str | None:
        return self.headers.get("Event-Name")

    @property
    def subclass(self) -> str | None:
        return self.headers.get("Event-Subclass")

    @property
    def uuid(self) -> str | None:
        return self.headers.get("Unique-ID")

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.headers.get(key, default)


def parse_event(frame: Frame) -> Event:
    """Decode a text/event-plain or text/event-json frame into an Event."""
    ctype = frame.content_type
    if ctype == "text/event-plain":
        return _parse_plain(frame.body)
    if ctype == "text/event-json":
        return _parse_json(frame.body)
    raise ProtocolError(f"not an event frame: {ctype!r}")


def _parse_plain(data: bytes) -> Event:
    match = _END_OF_BLOCK.search(data)
    block = data if match is None else data[: match.start()]
    rest = b"" if match is None else data[match.end() :]
    headers: dict[str, str] = {}
    for raw in block.split(b"\n"):
        parsed = _split_header(_decode_line(raw.rstrip(b"\r")))
        if parsed is not None:
            headers[parsed[0]] = url_decode(parsed[1])
    body: str | None = None
    inner = headers.get("Content-Length")
    if inner is not None:
        text = inner.strip()
        if not text.isdigit() or not text.isascii():
            raise ProtocolError(f"invalid inner Content-Length {inner!r}")
        body = rest[: int(text)].decode("utf-8", errors="replace")
    return Event(headers=headers, body=body)


def _parse_json(data: bytes) -> Event:
    try:
        # orjson reads a call's ~3.5 KB events in well under half the time json does;
        # the JSON events are most of what the controller parses.
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        # What orjson refuses and json takes: invalid UTF-8 (replaced), lone surrogate
        # escapes, NaN, integers beyond 64 bits. Anything else is not JSON.
        obj = _loads_lenient(data)
    if type(obj) is not dict:
        raise ProtocolError("JSON event is not an object")
    raw_body = obj.pop("_body", None)
    body = None if raw_body is None else _as_text(raw_body)
    # FreeSWITCH writes every header as a string; only the odd array header needs work,
    # so look for those instead of copying ~90 headers per event.
    for key in [k for k, v in obj.items() if type(v) is not str]:
        value = obj[key]
        if isinstance(value, list):  # array header: the same text the plain format carries
            obj[key] = "ARRAY::" + "|:".join(str(item) for item in value)
        else:
            obj[key] = _as_text(value)
    return Event(headers=obj, body=body)


def _loads_lenient(data: bytes) -> object:
    try:
        try:
            return json.loads(data)
        except UnicodeDecodeError:
            return json.loads(data.decode("utf-8", errors="replace"))
    except ValueError as exc:
        raise ProtocolError(f"invalid JSON event: {exc}") from None


def _as_text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def decode_reply_headers(frame: Frame) -> dict[str, str]:
    """command/reply headers, percent-decoded (the connect reply's values are URL-encoded)."""
    return {key: url_decode(value) for key, value in frame.headers.items()}


_UNSAFE = frozenset(b'\r\n #%&+:;<=>?@[\\]^`{|}"')
_HEX = frozenset(b"0123456789ABCDEF")


# Values switch_url_encode_opt leaves alone: most of them (UUIDs, numbers, names).
_URL_SAFE = re.compile(r"[A-Za-z0-9!$'()*,\-./_~]+\Z")


def url_encode(value: str) -> str:
    """switch_url_encode_opt: %XX for unsafe and non-printable bytes; existing %XX kept."""
    if _URL_SAFE.match(value):
        return value
    return _url_encode_bytes_cached(value)


def _url_encode_bytes(value: str) -> str:
    raw = value.encode("utf-8", errors="surrogatepass")
    out: list[str] = []
    size = len(raw)
    for i, byte in enumerate(raw):
        if byte == 0x25 and i + 2 < size and raw[i + 1] in _HEX and raw[i + 2] in _HEX:
            out.append("%")
        elif byte < 0x20 or byte > 0x7E or byte in _UNSAFE:
            out.append(f"%{byte:02X}")
        else:
            out.append(chr(byte))
    return "".join(out)


# The simulator encodes every header of every event it writes; values recur a lot.
_url_encode_bytes_cached = functools.lru_cache(maxsize=32768)(_url_encode_bytes)


def url_decode(value: str) -> str:
    """Percent-decoding only ('+' stays '+'); invalid UTF-8 becomes U+FFFD."""
    if "%" not in value:
        return value
    return unquote(value, errors="replace")


def _check_clean(kind: str, text: str) -> None:
    if "\r" in text or "\n" in text or "\0" in text:
        raise ValueError(f"{kind} contains CR, LF or NUL: {text!r}")


def encode_command(
    line: str, headers: Sequence[tuple[str, str]] = (), body: bytes | None = None
) -> bytes:
    """Serialise a command; refuses CR/LF/NUL anywhere (our injection guard)."""
    _check_clean("command line", line)
    if not line.strip():
        raise ValueError("empty command line")
    parts = [line, "\n"]
    for name, value in headers:
        _check_clean("header name", name)
        _check_clean("header value", value)
        if not name or ":" in name:
            raise ValueError(f"invalid header name {name!r}")
        if body is not None and name.lower() == "content-length":
            raise ValueError("Content-Length is computed from the body")
        parts += [name, ": ", value, "\n"]
    if body is None:
        parts.append("\n")
        return "".join(parts).encode("utf-8")
    parts += ["Content-Length: ", str(len(body)), "\n\n"]
    return "".join(parts).encode("utf-8") + body


def encode_commands(lines: Sequence[str]) -> bytes:
    """Several header-less commands as one write: what `encode_command` gives for each,
    joined, with the same refusals (checked on the whole, then line by line only to
    name the culprit): a join into a room of 500 sends a thousand of them."""
    text = "\n\n".join(lines)
    if (
        "\r" in text or "\0" in text or text.count("\n") != 2 * (len(lines) - 1)
        or not all(line.strip() for line in lines)
    ):
        for line in lines:
            encode_command(line)  # raises, naming the line
    return (text + "\n\n").encode("utf-8")


@functools.lru_cache(maxsize=32768)
def _plain_value(value: str) -> str:
    # A C-level cache hit is cheaper than even url_encode's regex match.
    return url_encode(value) or "_undef_"


_NAMES = itemgetter(0)
_VALUES = itemgetter(1)


def encode_event_plain(headers: Sequence[tuple[str, str]], body: bytes | None = None) -> bytes:
    """An event frame exactly as mod_event_socket writes it (text/event-plain).

    Joined by C-level map/zip/join: the simulator writes every event through this.
    """
    values = map(_plain_value, map(_VALUES, headers))
    text = "\n".join(map(": ".join, zip(map(_NAMES, headers), values, strict=True)))
    if body is None:
        inner = (text + "\n\n").encode("utf-8") if headers else b"\n"
    else:
        head = (text + "\n").encode("utf-8") if headers else b""
        inner = head + b"Content-Length: %d\n\n" % len(body) + body
    return b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(inner) + inner


# One encoder, built once: the simulator encodes every event it delivers with it.
_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def encode_event_json(headers: Sequence[tuple[str, str]], body: bytes | None = None) -> bytes:
    """An event frame as text/event-json (values not URL-encoded, unformatted JSON).

    dict() keeps a repeated header at its first position with its last value.
    """
    obj = dict(headers)
    if body is not None:
        obj["Content-Length"] = str(len(body))
        obj["_body"] = body.decode("utf-8", errors="replace")
    inner = _JSON.encode(obj).encode("utf-8")
    return b"Content-Length: %d\nContent-Type: text/event-json\n\n" % len(inner) + inner


def encode_command_reply(reply_text: str, extra: Sequence[tuple[str, str]] = ()) -> bytes:
    lines = ["Content-Type: command/reply", f"Reply-Text: {reply_text}"]
    lines += [f"{name}: {value}" for name, value in extra]
    return ("\n".join(lines) + "\n\n").encode("utf-8")


def encode_api_response(body: bytes) -> bytes:
    return b"Content-Type: api/response\nContent-Length: %d\n\n" % len(body) + body


def encode_disconnect_notice(
    uuid: str | None = None, linger: int | None = None, channel_name: str | None = None
) -> bytes:
    """The goodbye notice (67-byte body) or, with linger, the linger notice (Content-Length: 0).

    Channel-Name is printed raw (not URL-encoded) in the linger form, as FreeSWITCH does.
    """
    head = "Content-Type: text/disconnect-notice\n"
    if linger is not None:
        head += f"Controlled-Session-UUID: {uuid or ''}\nContent-Disposition: linger\n"
        if channel_name is not None:
            head += f"Channel-Name: {channel_name}\n"
        head += f"Linger-Time: {linger}\nContent-Length: 0\n\n"
        return head.encode("utf-8")
    if uuid is not None:
        head += f"Controlled-Session-UUID: {uuid}\nContent-Disposition: disconnect\n"
    head += f"Content-Length: {len(GOODBYE_BODY)}\n\n"
    return head.encode("utf-8") + GOODBYE_BODY
