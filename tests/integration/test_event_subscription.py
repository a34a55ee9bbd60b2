"""What a call's socket subscribes to: JSON events, only the types the controller acts on."""

from __future__ import annotations

from collections import Counter

import gevent
import pytest

from fsconf.callflow import events as call_events
from fsconf.esl import session as esl_session
from fsconf.esl.protocol import Event
from tests.integration.conftest import Rig, provision


@pytest.fixture
def delivered(monkeypatch: pytest.MonkeyPatch) -> list[Event]:
    """Every event that reached any call's socket, in order."""
    events: list[Event] = []
    original = esl_session.OutboundSession._on_event

    def recording(self: esl_session.OutboundSession, event: Event) -> None:
        events.append(event)
        original(self, event)

    monkeypatch.setattr(esl_session.OutboundSession, "_on_event", recording)
    return events


def test_call_socket_receives_only_the_events_the_call_flow_uses(
    rig: Rig, delivered: list[Event]
) -> None:
    def seen() -> Counter[str]:
        return Counter(e.name or "" for e in delivered)

    p = provision(rig.db)
    call = rig.join(p, p.moderator_pin)
    # The switch side of the call's socket: JSON, the format the controller asked for.
    assert rig.sim.channels[call.b_uuid].session.sub.fmt == "json"
    # The number, PIN and name steps ran on completions alone: their ~15 key presses
    # stayed inside the switch (play_and_get_digits and record collect them).
    assert seen()["DTMF"] == 0
    assert seen()["CHANNEL_EXECUTE_COMPLETE"] >= 5 and seen()["CUSTOM"] >= 1
    # In the meeting the keypad is heard: *1 mutes.
    call.send_dtmf("*1")
    call.wait_prompt("/muted.wav")
    assert seen()["DTMF"] == 2
    call.hangup()
    call.wait_hangup(5)
    with gevent.Timeout(5):
        while not seen()["CHANNEL_HANGUP"]:
            gevent.sleep(0.01)
    # Nothing else reached the socket (myevents alone would add CHANNEL_EXECUTE,
    # CHANNEL_STATE, CHANNEL_UNPARK and more, about a third of the traffic).
    assert set(seen()) <= set(call_events.EVENTS_USED)


def test_meeting_chatter_stays_in_the_switch_but_room_changes_arrive(
    rig: Rig, delivered: list[Event]
) -> None:
    p = provision(rig.db)
    moderator = rig.join(p, p.moderator_pin)
    participant = rig.join(p, p.participant_pin, caller="0698765432")
    moderator.wait_prompt("has-joined")  # the announcement of the second caller
    moderator.send_dtmf("*1")
    moderator.wait_prompt("/muted.wav")
    room = f"fsconf-{p.conference_number}"
    # An operator's mute through the inbound socket: the room must learn of it.
    assert rig.driver.api(f"conference {room} mute {participant.member_id}").startswith("+OK")
    live = rig.controller.ctx.rooms.get(room)
    assert live is not None
    with gevent.Timeout(5):
        while not live.members[participant.member_id].muted:
            gevent.sleep(0.01)
    # The switch played prompts to members (play-file-member, play-file-member-done) ...
    fired = Counter(
        e.get("Action") for e in rig.driver.events if e.subclass == "conference::maintenance"
    )
    assert fired["play-file-member"] >= 3 and fired["play-file-member-done"] >= 1
    # ... none of which reached a call's socket; the joins and the mutes did.
    actions = Counter(
        e.get("Action") or "" for e in delivered if e.subclass == "conference::maintenance"
    )
    assert set(actions) <= set(call_events.MEMBER_ACTIONS_USED)
    assert actions["add-member"] == 2 and actions["mute-member"] == 2
    moderator.hangup()
    participant.hangup()
