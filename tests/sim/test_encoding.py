"""The simulator's fast event encoder writes exactly the bytes of the shared protocol
module (fsconf.esl.protocol.encode_event_plain / url_encode)."""

from __future__ import annotations

import pytest

from fsconf.esl.protocol import encode_event_plain, url_encode
from fsconf.sim.events import encode_plain, fast_url_encode

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
    assert fast_url_encode(value) == url_encode(value)


@pytest.mark.parametrize("body", [None, b"+OK 1234\n", "Zoë\n".encode()])
def test_encode_plain_matches(body: bytes | None) -> None:
    headers = [(f"H-{i}", v) for i, v in enumerate(VALUES)]
    assert encode_plain(headers, body) == encode_event_plain(headers, body)
