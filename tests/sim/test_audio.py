"""Caller audio: `uuid_broadcast <a-leg> <file> aleg` (DriverCall.speak) makes the a-leg
play a file; mod_loopback carries it to the b-leg, whose `record` counts it.

Figures from the 1.10.12 capture (F_.../1_ivr_apps, record 5 200 3): ended by # after
1.34 s of audio; limit with 4.4 s of audio -> record_ms 4380; 1 s of audio then silence ->
silence_hits_exhausted true, record_ms 960; parked a-leg -> record_ms 0 and a 44-byte WAV.
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

import gevent
import pytest
from gevent.event import Event as GEvent

from fsconf.sounds.wav import write_silence

from .conftest import Controller, ControllerConn

SPEED = 10.0
TOL_MS = 450  # scheduling slack at SPEED (45 ms wall)
FRAME_MS = 20  # a recording counts whole 20 ms frames


def _tone(path: Path, ms: int, amplitude: int = 6000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        n = 8 * ms
        w.writeframes(
            b"".join(
                struct.pack("<h", int(amplitude * math.sin(2 * math.pi * 440 * i / 8000)))
                for i in range(n)
            )
        )
    return path




class RecordRun:
    """One call whose controller answers, sets playback_terminators=# and records.

    With `speaking`, the caller starts playing that file first and the recording starts
    only once the a-leg's PLAYBACK_START has been seen: the whole window then overlaps the
    speech, however late the test's greenlets run."""

    def __init__(self, make_sim, driver_for, record_arg: str, speaking: Path | None = None) -> None:
        answered = GEvent()
        go = GEvent()
        if speaking is None:
            go.set()
        self.started = GEvent()
        self.done = GEvent()
        self.result: dict[str, str | None] = {}
        self.events: list[str] = []

        def script(conn: ControllerConn) -> None:
            conn.command("connect")
            conn.command("myevents")
            conn.command("event plain RECORD_START RECORD_STOP")
            conn.command("linger")
            conn.execute("answer")
            conn.execute("set", "playback_terminators=#")
            conn.wait_complete("set", 5)
            answered.set()
            go.wait(10)
            conn.execute("record", record_arg)
            conn.wait(lambda: any(e.name == "RECORD_START" for e in conn.events), 5)
            self.started.set()
            ev = conn.wait_complete("record", 30)
            self.result = {
                k: ev.get("variable_" + k)
                for k in (
                    "record_ms",
                    "record_samples",
                    "record_seconds",
                    "record_file_size",
                    "record_record_file_size",
                    "silence_hits_exhausted",
                    "playback_terminator_used",
                )
            }
            self.result["response"] = ev.get("Application-Response")
            self.events = [e.name for e in conn.events]
            self.done.set()

        self.sim = make_sim(Controller(script), speed=SPEED)
        self.driver = driver_for(self.sim)
        self.call = self.driver.place_call("5000")
        if speaking is not None:
            assert answered.wait(5)
            assert self.call.speak(str(speaking)) == "+OK Message sent\n"
            self.driver.wait_for(lambda: self.speech_started(), 5, "the caller's speech")
            go.set()
        assert self.started.wait(5)
        self.t0 = gevent.get_hub().loop.now()

    def wait(self) -> dict[str, str | None]:
        assert self.done.wait(30), "record did not complete"
        return self.result

    def speech_started(self) -> bool:
        return any(
            e.uuid == self.call.a_uuid and e.name == "PLAYBACK_START" for e in self.driver.events
        )

    def sim_elapsed(self) -> float:
        return (gevent.get_hub().loop.now() - self.t0) * SPEED


def _ms(result: dict[str, str | None]) -> int:
    return int(result["record_ms"] or -1)


def _check_file(path: Path, result: dict[str, str | None]) -> int:
    samples = int(result["record_samples"] or -1)
    assert samples % 160 == 0  # whole 20 ms frames
    assert int(result["record_ms"] or -1) == samples // 8
    assert int(result["record_seconds"] or -1) == samples // 8000
    assert path.stat().st_size == 44 + 2 * samples
    assert result["record_file_size"] == result["record_record_file_size"] == str(44 + 2 * samples)
    with wave.open(str(path), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        assert w.getnframes() == samples
        data = w.readframes(samples)
    return max((abs(v) for (v,) in struct.iter_unpack("<h", data)), default=0)


def test_parked_caller_sends_no_audio(make_sim, driver_for, tmp_path: Path) -> None:
    out = tmp_path / "nosound.wav"
    run = RecordRun(make_sim, driver_for, f"{out} 2")
    result = run.wait()
    assert result["record_ms"] == "0" and result["record_samples"] == "0"
    assert result["silence_hits_exhausted"] == "false"
    assert result["response"] == "_none_"
    assert out.stat().st_size == 44
    assert run.events[-2:] == ["RECORD_START", "RECORD_STOP"]  # then EXECUTE_COMPLETE


def test_silence_detection_without_audio(make_sim, driver_for, tmp_path: Path) -> None:
    out = tmp_path / "quiet.wav"
    run = RecordRun(make_sim, driver_for, f"{out} 20 200 2")
    result = run.wait()
    assert result["record_ms"] == "0"
    assert result["silence_hits_exhausted"] == "true"  # not its 20 s limit
    assert run.sim_elapsed() > 1.5  # two seconds of silence were waited for


def test_speech_then_silence_ends_by_silence_hits(make_sim, driver_for, tmp_path: Path) -> None:
    voice = _tone(tmp_path / "voice" / "hello.wav", 1500)
    out = tmp_path / "name.wav"
    run = RecordRun(make_sim, driver_for, f"{out} 20 200 2")
    assert run.call.speak(str(voice)) == "+OK Message sent\n"
    result = run.wait()
    assert abs(_ms(result) - 1500) <= TOL_MS, result
    assert result["silence_hits_exhausted"] == "true"
    assert run.sim_elapsed() > 3.0  # 1.5 s of speech + 2 s of silence, not its 20 s limit
    assert _check_file(out, result) > 1000  # the caller's audio, not zeros


def test_time_limit_cuts_long_speech(make_sim, driver_for, tmp_path: Path) -> None:
    voice = _tone(tmp_path / "voice" / "long.wav", 6000)
    out = tmp_path / "limit.wav"
    run = RecordRun(make_sim, driver_for, f"{out} 2 200 3", speaking=voice)
    result = run.wait()
    assert 2000 - FRAME_MS <= _ms(result) <= 2000, result  # the limit, to the frame
    assert result["silence_hits_exhausted"] == "false"
    _check_file(out, result)


def test_pound_ends_recording_and_dtmf_still_flows(make_sim, driver_for, tmp_path: Path) -> None:
    voice = _tone(tmp_path / "voice" / "long.wav", 6000)
    out = tmp_path / "pound.wav"
    run = RecordRun(make_sim, driver_for, f"{out} 20 200 3")
    run.call.speak(str(voice))
    run.driver.wait_for(run.speech_started, 5, "the caller's speech")
    gevent.sleep(1.0 / SPEED)  # the caller speaks for (at least) a simulated second
    run.call.send_dtmf("#")
    result = run.wait()
    assert result["playback_terminator_used"] == "#"
    assert result["silence_hits_exhausted"] == "false"
    assert 1000 - FRAME_MS <= _ms(result) < 6000, result  # cut by #, before the speech ended
    assert "DTMF" in run.events
    assert run.call.dtmf == ["#"]  # the DTMF event of the b-leg, as without audio
    _check_file(out, result)


def test_quiet_audio_is_recorded_but_counts_as_silence(
    make_sim, driver_for, tmp_path: Path
) -> None:
    hum = write_silence(tmp_path / "voice" / "hum.wav", 5000)  # energy 0 < threshold 200
    out = tmp_path / "hum_rec.wav"
    run = RecordRun(make_sim, driver_for, f"{out} 20 200 1", speaking=hum)
    result = run.wait()
    assert result["silence_hits_exhausted"] == "true"
    # frames were written for the one second the detector waited, then silence won
    assert 1000 - FRAME_MS <= _ms(result) <= 1000, result


def test_no_threshold_records_until_limit(make_sim, driver_for, tmp_path: Path) -> None:
    voice = _tone(tmp_path / "voice" / "short.wav", 1000)
    out = tmp_path / "nothresh.wav"
    run = RecordRun(make_sim, driver_for, f"{out} 3")
    run.call.speak(str(voice))
    result = run.wait()
    assert abs(_ms(result) - 1000) <= TOL_MS, result
    assert result["silence_hits_exhausted"] == "false"
    assert run.sim_elapsed() > 2.5  # ran to its 3 s limit, not stopped at the speech's end


def test_speech_before_recording_is_not_captured(make_sim, driver_for, tmp_path: Path) -> None:
    """Only the overlap of the caller's audio with the recording window counts."""
    voice = _tone(tmp_path / "voice" / "v.wav", 2000)
    out = tmp_path / "late.wav"
    run = RecordRun(make_sim, driver_for, f"{out} 20 200 2")
    run.call.speak(str(voice))
    result = run.wait()
    assert _ms(result) <= 2000
    # and the a-leg's own events: the broadcast ran `playback` on the a-leg
    a_events = [
        (e.name, e.get("Application"))
        for e in run.driver.events
        if e.uuid == run.call.a_uuid and e.name.startswith("CHANNEL_EXECUTE")
    ]
    assert ("CHANNEL_EXECUTE", "playback") in a_events


def test_uuid_broadcast_replies(make_sim, driver_for) -> None:
    sim = make_sim()
    d = driver_for(sim)
    assert d.api("uuid_broadcast") == "-USAGE: <uuid> <path> [aleg|bleg|holdb|both]\n"
    assert d.api("uuid_broadcast 1234").startswith("-USAGE")


@pytest.mark.parametrize("legs", ["aleg", ""])
def test_broadcast_default_and_aleg_play_on_the_a_leg(make_sim, driver_for, tmp_path, legs):
    def script(conn: ControllerConn) -> None:
        conn.command("connect")
        conn.execute("park", lock=False)

    sim = make_sim(Controller(script), speed=SPEED)
    d = driver_for(sim)
    call = d.place_call("5000")
    voice = _tone(tmp_path / "v.wav", 300)
    reply = d.api(f"uuid_broadcast {call.a_uuid} {voice} {legs}".strip())
    assert reply == "+OK Message sent\n"
    d.wait_for(
        lambda: any(e.uuid == call.a_uuid and e.name == "PLAYBACK_START" for e in d.events),
        5,
        "a-leg playback",
    )
    assert not any(e.uuid == call.b_uuid and e.name == "PLAYBACK_START" for e in d.events)
    call.hangup()
    call.wait_hangup(5)
