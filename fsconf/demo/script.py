"""The scripted meeting: Anna moderates, Bram and Carla join, Daan is invited.

Every step waits for what a caller would hear before pressing the next keys, exactly as
the integration tests do; the transcript shows each prompt and each command.
"""

from __future__ import annotations

import gevent

from fsconf.demo.stage import INVITEE, DemoConference, Stage
from fsconf.testing.driver import DriverCall

WAIT = 30.0


def join(stage: Stage, who: str, caller: str, pin: str, conf: DemoConference) -> DriverCall:
    call = stage.dial(who, caller)
    call.wait_prompt("enter-conference-number", WAIT)
    stage.press(call, conf.number + "#")
    call.wait_prompt("enter-pin", WAIT)
    stage.press(call, pin + "#")
    say_name(stage, call, who)
    call.wait_member(WAIT)
    return call


def say_name(stage: Stage, call: DriverCall, who: str) -> None:
    """At the tone: once `record` runs (the prompt before it is seconds long with real
    or stand-in sounds, and speech during it is not recorded), speak, then press #."""
    call.wait_prompt("tone", WAIT)
    call.driver.wait_for(lambda: any(
        e.name == "CHANNEL_EXECUTE" and e.uuid == call.b_uuid
        and e.get("Application") == "record" for e in call.events), WAIT, "the recording")
    stage.transcript.line(who.split(" ")[0], "says their name")
    call.speak(_name_sound(stage, call))  # the caller's audio, as uuid_broadcast sends it
    gevent.sleep(1.6 / stage.speed)
    stage.press(call, "#")


def _name_sound(stage: Stage, call: DriverCall) -> str:
    """A second and a half of 'voice' (a tone loud enough to pass the silence detector)."""
    path = stage.workdir / "voice.wav"
    if not path.exists():
        import math
        import struct
        import wave

        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(b"".join(
                struct.pack("<h", int(8000 * math.sin(2 * math.pi * 220 * i / 8000)))
                for i in range(12000)))
    return str(path)


def run_meeting(stage: Stage, conf: DemoConference) -> None:
    t = stage.transcript
    t.line("--", f"conference {conf.number}: moderator PIN {conf.moderator_pin}, "
                 f"participant PIN {conf.participant_pin}")
    anna = join(stage, "Anna (moderator)", "0201111111", conf.moderator_pin, conf)
    bram = join(stage, "Bram (participant)", "0302222222", conf.participant_pin, conf)
    carla = join(stage, "Carla (participant)", "0403333333", conf.participant_pin, conf)

    t.line("--", "Bram asks who is there")
    stage.press(bram, "*3")
    bram.wait_prompt("roll-call", WAIT)
    bram.wait_prompt("moderator-marker", WAIT)

    t.line("--", "Anna locks the meeting")
    stage.press(anna, "*21")
    anna.wait_prompt("conference-now-locked", WAIT)

    t.line("--", "Anna mutes all participants")
    stage.press(anna, "*11")
    anna.wait_prompt("all-muted", WAIT)

    t.line("--", f"Anna invites {INVITEE} (the callee answers and presses 1)")
    stage.press(anna, f"*8{INVITEE}#")
    anna.wait_prompt("invite-calling", WAIT)
    anna.wait_prompt("invite-joined", WAIT)

    t.line("--", "Anna removes the participant who joined last (the invitee)")
    stage.press(anna, "*31")
    anna.wait_prompt("participant-removed", WAIT)

    t.line("--", "Anna ends the meeting")
    stage.press(anna, "*30")
    for call in (anna, bram, carla):
        call.wait_hangup(WAIT)
    assert stage.driver is not None
    stage.driver.wait_for(lambda: stage.controller is not None
                          and not stage.controller.server.active, WAIT, "calls to finish")
