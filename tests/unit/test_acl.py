"""Who may hand the controller a call: [controller] allow_from."""

from __future__ import annotations

import logging
import socket

import gevent
import pytest

from fsconf.acl import admitted, exposure, parse_networks
from fsconf.config import ConfigError, load_settings
from fsconf.esl.server import OutboundServer

LOOPBACK = parse_networks(("127.0.0.0/8", "::1"))


@pytest.mark.parametrize(
    ("peer", "allowed"),
    [
        ("127.0.0.1", True),
        ("127.3.4.5", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),  # IPv4 peer on a dual-stack socket
        ("10.0.0.5", False),
        ("::ffff:10.0.0.5", False),
        ("fe80::1%eth0", False),
        ("not an address", False),
    ],
)
def test_loopback_acl(peer: str, allowed: bool) -> None:
    assert admitted(peer, LOOPBACK) is allowed


def test_networks_and_single_hosts() -> None:
    acl = parse_networks(["10.0.0.0/24", " 192.0.2.7 "])
    assert admitted("10.0.0.200", acl) and admitted("192.0.2.7", acl)
    assert not admitted("10.0.1.1", acl) and not admitted("192.0.2.8", acl)


def test_exposure_only_when_reachable_from_elsewhere_and_admitting_everyone() -> None:
    assert exposure("127.0.0.1", ["0.0.0.0/0"]) == ""
    assert exposure("0.0.0.0", ["127.0.0.0/8"]) == ""
    assert exposure("0.0.0.0", ["10.0.0.0/8", "0.0.0.0/0"]).startswith(
        "the controller listens on 0.0.0.0"
    )
    assert exposure("::", ["::/0"])


@pytest.mark.parametrize(
    ("value", "message"),
    [("", "at least one"), ("10.0.0.0/33", "'10.0.0.0/33' is not an IP address"),
     ("example.org", "'example.org' is not")],
)  # fmt: skip
def test_bad_allow_from_is_refused_naming_the_key(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match="controller.allow_from") as exc:
        load_settings(environ={"FSCONF_CONTROLLER_ALLOW_FROM": value})
    assert message in str(exc.value)


def test_default_admits_loopback_only() -> None:
    acl = parse_networks(load_settings(environ={}).controller.allow_from)
    assert admitted("127.0.0.1", acl) and admitted("::1", acl)
    assert not admitted("192.0.2.1", acl)


def _served(allow: str, caplog: pytest.LogCaptureFixture) -> tuple[bytes, OutboundServer]:
    handled: list[object] = []
    server = OutboundServer(
        "127.0.0.1", 0, handler=handled.append, busy_handler=handled.append, max_calls=5,
        timeout=2.0, allow_from=parse_networks([allow]),
    )  # fmt: skip
    server.start()
    try:
        with socket.create_connection(server.address, timeout=5) as peer:
            peer.settimeout(5)
            first = peer.recv(64)  # an admitted peer is sent `connect`; a refused one EOF
    finally:
        server.stop(timeout=1)
        gevent.sleep(0)
    assert handled == []
    return first, server


def test_a_peer_outside_allow_from_is_closed_at_once_with_a_warning(caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="fsconf.esl.server"):
        first, server = _served("192.0.2.0/24", caplog)
    assert first == b"" and server.refused_peers == 1 and server.accepted == 0
    assert "refused a connection from 127.0.0.1" in caplog.text


def test_a_peer_inside_allow_from_gets_the_session(caplog) -> None:
    first, server = _served("127.0.0.1", caplog)
    assert first.startswith(b"connect") and server.refused_peers == 0
