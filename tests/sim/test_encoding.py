"""The fast paths of the event encoder (used for every event the simulator writes) give
exactly the bytes of the plain per-byte rule and the plain line format."""

from __future__ import annotations

import pytest

from fsconf.esl.protocol import _url_encode_bytes, encode_event_plain, url_encode

VALUES = [
    "",
    "plain",
    "7f4de4bc-17d7-11dd-b7a0-db4edd065621",
    "conference::maintenance",
    "2023-11-14 22:13:20",
    "sofia/internal/1000@10.0.0.5:5060",
    "#",
    "*",
    "+OK\n",
    "100%",
    "100%AB",
    "100%ab",
    "a%2",
    "Zoë Ünïcode ✓",
    "tab\there",
    "~!$'()*,-./_",
    "{a=b,c=d}",
    "line\r\nbreak",
    "x" * 300,
]


@pytest.mark.parametrize("value", VALUES)
def test_fast_url_encode_matches(value: str) -> None:
    assert url_encode(value) == _url_encode_bytes(value)


@pytest.mark.parametrize("body", [None, b"+OK 1234\n", "Zoë\n".encode()])
def test_encode_plain_matches(body: bytes | None) -> None:
    headers = [(f"H-{i}", v) for i, v in enumerate(VALUES)]
    inner = "".join(f"{k}: {_url_encode_bytes(v) or '_undef_'}\n" for k, v in headers).encode()
    inner += b"\n" if body is None else b"Content-Length: %d\n\n" % len(body) + body
    expected = b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(inner) + inner
    assert encode_event_plain(headers, body) == expected
