"""Scale-out rules without a network or a database: placement, the signed room ticket,
how a bridge to the owner ended, and the cluster settings."""

from __future__ import annotations

import pytest

from fsconf.callflow.bridged import Outcome, outcome_of
from fsconf.config import ConfigError, cluster_secret_problem, load_settings
from fsconf.domain.cluster import (
    BadTicket,
    NodeLoad,
    RoomTicket,
    place_room,
    room_user,
    sign,
    verify,
)
from fsconf.domain.roles import Role

SECRET = "a-long-enough-cluster-secret"
TICKET = RoomTicket(room="123456", role=Role.MODERATOR, attendance_id=42, epoch=7,
                    expires=1_000_030)


def _n(name: str, members: int = 0, alive: bool = True, drained: bool = False) -> NodeLoad:
    return NodeLoad(name, members, alive, drained)


def test_a_new_room_stays_on_the_node_its_first_caller_rang() -> None:
    assert place_room("b", [_n("a"), _n("b", 30)], max_members=0) == "b"


def test_a_drained_node_sends_new_rooms_to_the_least_loaded_live_node() -> None:
    nodes = [_n("a", 9), _n("b", drained=True), _n("c", 4), _n("d", 1, alive=False)]
    assert place_room("b", nodes, max_members=0) == "c"


def test_a_node_at_its_load_limit_places_elsewhere_and_ties_go_by_name() -> None:
    nodes = [_n("a", 10), _n("c", 3), _n("b", 3)]
    assert place_room("a", nodes, max_members=10) == "b"


def test_with_every_node_full_the_least_loaded_live_one_still_hosts() -> None:
    nodes = [_n("a", 12), _n("b", 11), _n("c", 0, drained=True)]
    assert place_room("a", nodes, max_members=10) == "b"


def test_an_unknown_or_lonely_node_hosts_its_own_room() -> None:
    assert place_room("z", [], max_members=5) == "z"
    assert place_room("z", [_n("a", alive=False)], max_members=5) == "z"


def test_a_signed_ticket_verifies_until_it_expires() -> None:
    headers = sign(TICKET, SECRET)
    assert set(headers) == {"Room", "Role", "Attendance", "Epoch", "Expires", "Signature"}
    assert verify(headers, SECRET, now=1_000_000) == TICKET
    with pytest.raises(BadTicket, match="expired"):
        verify(headers, SECRET, now=1_000_031)


@pytest.mark.parametrize("field,value", [
    ("Role", "participant"), ("Room", "123457"), ("Epoch", "8"), ("Attendance", "43"),
    ("Expires", "9999999999"),
])
def test_changing_any_signed_header_breaks_the_signature(field: str, value: str) -> None:
    headers = {**sign(TICKET, SECRET), field: value}
    with pytest.raises(BadTicket, match="bad signature"):
        verify(headers, SECRET, now=1_000_000)


def test_another_secret_or_a_made_up_signature_is_refused() -> None:
    with pytest.raises(BadTicket, match="bad signature"):
        verify(sign(TICKET, "another-secret-of-some-length"), SECRET, now=1_000_000)
    with pytest.raises(BadTicket, match="bad signature"):
        verify({**TICKET.values(), "Signature": "ab" * 32}, SECRET, now=1_000_000)


@pytest.mark.parametrize("headers,why", [
    ({}, "missing"),
    ({**TICKET.values(), "Signature": "zz"}, "malformed signature"),
    ({**TICKET.values(), "Role": "operator", "Signature": "ab" * 32}, "malformed Role"),
    ({**TICKET.values(), "Room": "1 2", "Signature": "ab" * 32}, "malformed Room"),
    ({**TICKET.values(), "Epoch": "7\n", "Signature": "ab" * 32}, "malformed Epoch"),
])
def test_missing_or_malformed_headers_are_refused(headers: dict[str, str], why: str) -> None:
    with pytest.raises(BadTicket, match=why):
        verify(headers, SECRET, now=1_000_000)


def test_no_secret_no_ticket() -> None:
    with pytest.raises(BadTicket):
        verify(sign(TICKET, SECRET), "", now=1_000_000)
    with pytest.raises(ValueError):
        sign(TICKET, "")


def test_the_room_user_is_digits_only() -> None:
    assert room_user("123456") == "fsconf-room-123456"
    with pytest.raises(ValueError):
        room_user("12@evil")


@pytest.mark.parametrize("disposition,cause,outcome", [
    ("SUCCESS", "NORMAL_CLEARING", Outcome.ENDED),  # the owner hung up its leg (F15)
    ("SUCCESS", "MEDIA_TIMEOUT", Outcome.OWNER_LOST),  # the owner died (F21)
    ("NORMAL_TEMPORARY_FAILURE", "MEDIA_TIMEOUT", Outcome.UNREACHABLE),  # sticky cause (F18)
    ("CALL_REJECTED", None, Outcome.UNREACHABLE),  # stale epoch refused (F32)
    (None, None, Outcome.UNREACHABLE),
])
def test_how_a_bridge_to_the_owner_ended(disposition, cause, outcome) -> None:  # type: ignore[no-untyped-def]
    assert outcome_of(disposition, cause) is outcome


PG = "postgresql+psycopg://u@127.0.0.1/x"


def test_a_cluster_on_sqlite_is_refused_in_one_line() -> None:
    env = {"FSCONF_CLUSTER_NODE": "n1", "FSCONF_CLUSTER_INTERNAL_SIP": "10.0.0.1:5090",
           "FSCONF_DATABASE_URL": "sqlite:////tmp/x.sqlite3"}
    with pytest.raises(ConfigError, match="needs PostgreSQL") as exc:
        load_settings(environ=env)
    assert "\n" not in str(exc.value)


def test_cluster_settings_come_from_the_environment_and_the_secret_is_never_shown(
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    env = {"FSCONF_CLUSTER_NODE": "n1", "FSCONF_CLUSTER_INTERNAL_SIP": "10.0.0.1:5090",
           "FSCONF_DATABASE_URL": PG, "FSCONF_CLUSTER_SECRET": SECRET}
    s = load_settings(environ=env)
    assert s.cluster.enabled and s.node == "n1" and s.cluster.lease_seconds == 10.0
    assert cluster_secret_problem(s) is None
    assert SECRET not in repr(s.redacted()) and s.redacted()["cluster"]["secret"] == "***"
    without = load_settings(environ={k: v for k, v in env.items() if "SECRET" not in k})
    assert "FSCONF_CLUSTER_SECRET" in (cluster_secret_problem(without) or "")
    conf = tmp_path / "fsconf.toml"
    conf.write_text('[cluster]\nnode = "n1"\nsecret = "in-the-file-is-wrong"\n')
    with pytest.raises(ConfigError, match="must not be in the file"):
        load_settings(conf, environ={"FSCONF_DATABASE_URL": PG})


@pytest.mark.parametrize("key,value,message", [
    ("FSCONF_CLUSTER_INTERNAL_SIP", "10.0.0.1", "host:port"),
    ("FSCONF_CLUSTER_NODE", "bad name", "cluster.node"),
    ("FSCONF_CLUSTER_LEASE_SECONDS", "0", "lease_seconds"),
])
def test_bad_cluster_settings_are_refused(key: str, value: str, message: str) -> None:
    env = {"FSCONF_CLUSTER_NODE": "n1", "FSCONF_CLUSTER_INTERNAL_SIP": "10.0.0.1:5090",
           "FSCONF_DATABASE_URL": PG, key: value}
    with pytest.raises(ConfigError, match=message):
        load_settings(environ=env)


def test_single_node_is_the_default() -> None:
    s = load_settings(environ={"FSCONF_DATABASE_URL": "sqlite:////tmp/x.sqlite3"})
    assert not s.cluster.enabled and s.node == s.controller.node
