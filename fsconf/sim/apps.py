"""Dialplan applications (mod_dptools / switch_ivr_play_say semantics, simulated time)."""

from __future__ import annotations

import re
import struct
import time
import wave
from pathlib import Path
from typing import TYPE_CHECKING

from fsconf.sim.say import say_files

if TYPE_CHECKING:
    from fsconf.sim.channel import App, AudioSegment, Channel

ALL_DIGITS = "1234567890*#ABCD"


def separate(text: str, delim: str = " ") -> list[str]:
    """switch_separate_string: quotes group, '' is an empty arg, backslash escapes."""
    if text.startswith("^^") and len(text) > 2:
        delim, text = text[2], text[3:]
    args: list[str] = []
    cur: list[str] = []
    in_quote = False
    have = False
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            mapped = {"n": "\n", "r": "\r", "t": "\t", "s": " "}.get(nxt)
            if nxt in "'\"\\":
                cur.append(nxt)
            elif mapped is not None:
                cur.append(mapped)
            else:
                cur.append(c + nxt)
            have = True
            i += 2
            continue
        if c == "'":
            in_quote = not in_quote
            have = True
        elif c == delim and not in_quote:
            if have or cur:
                args.append("".join(cur))
            cur, have = [], False
        else:
            cur.append(c)
            have = True
        i += 1
    if have or cur:
        args.append("".join(cur))
    return args


def terminators_of(ch: Channel) -> str:
    value = ch.get_var("playback_terminators")
    if value is None:
        return "*"
    if value == "any":
        return ALL_DIGITS
    if value == "none":
        return ""
    return value


def play_file(
    ch: Channel,
    name: str,
    on_digit=None,
    terms: str | None = None,
    prefix: str | None = None,
) -> str:
    """switch_ivr_play_file: returns "FILE PLAYED", "FILE NOT FOUND" or "PLAYBACK ERROR"."""
    found = ch.sim.sounds.locate(ch, name, prefix)
    if found is None:
        return "FILE NOT FOUND"
    path, seconds = found.display, found.seconds
    terms = terminators_of(ch) if terms is None else terms
    ch.fire(
        "PLAYBACK_START",
        ("switch_ivr_play_say.c", "switch_ivr_play_file", 1689),
        lambda: [("Playback-File-Path", path)],
    )
    for hook in list(ch.on_playback):
        hook(path)
    started = time.monotonic()

    def digit(d: str) -> bool:
        if on_digit is not None:
            return bool(on_digit(d))
        if d in terms:
            ch.variables["playback_terminator_used"] = d
            return True
        return False

    segment = ch.transmit(seconds, ch.sim.sounds.energy(found), found.path)
    ch.media_depth += 1
    try:
        reason = ch.media_wait(seconds, digit)
    finally:
        ch.media_depth -= 1
        ch.end_transmit(segment)
    played = min(seconds, (time.monotonic() - started) * ch.sim.settings.speed)
    samples = int(played * 8000)
    ch.variables["playback_last_offset_pos"] = str(samples)
    ch.variables["playback_seconds"] = str(int(played))
    ch.variables["playback_ms"] = str(int(played * 1000))
    ch.variables["playback_samples"] = str(samples)
    status = "break" if reason in ("dtmf", "break") else "done"
    ch.fire(
        "PLAYBACK_STOP",
        ("switch_ivr_play_say.c", "switch_ivr_play_file", 2081),
        lambda: [("Playback-File-Path", path), ("Playback-Status", status)],
    )
    ch.flush_hangup()
    if reason == "hangup":
        return "PLAYBACK ERROR"
    return "FILE PLAYED"


def app_answer(ch: Channel, arg: str) -> str | None:
    ch.answer()
    return None


def app_pre_answer(ch: Channel, arg: str) -> str | None:
    if ch.call_state not in ("ACTIVE", "HANGUP"):
        ch.call_state = "EARLY"
    return None


def app_playback(ch: Channel, arg: str) -> str | None:
    ch.variables.pop("playback_terminator_used", None)
    return play_file(ch, arg)


def _collect(
    ch: Channel,
    prompt: str,
    min_d: int,
    max_d: int,
    timeout_ms: int,
    terms: str,
    digit_timeout_ms: int,
) -> tuple[str, str | None, str]:
    """One read attempt: (digits, terminator, status) with status ok/timeout/noprompt/hangup."""
    digits: list[str] = []
    term: list[str] = []

    def take(d: str) -> bool:
        if d in terms:
            term.append(d)
            return True
        digits.append(d)
        return len(digits) >= max_d

    if prompt and prompt != "silence":
        result = play_file(ch, prompt, on_digit=lambda d: take(d) or True)
        if result == "FILE NOT FOUND":
            return "", None, "noprompt"
        if not ch.up:
            return "".join(digits), None, "hangup"
    first = True
    while not term and len(digits) < max_d:
        wait_ms = timeout_ms if first and not digits else digit_timeout_ms
        first = False
        reason = ch.media_wait(wait_ms / 1000, take)
        if reason == "hangup":
            return "".join(digits), None, "hangup"
        if reason == "timeout":
            return "".join(digits), None, "timeout"
    return "".join(digits), (term[0] if term else None), "ok"


def app_play_and_get_digits(ch: Channel, arg: str) -> str | None:
    a = separate(arg)
    if len(a) < 9:
        return None
    try:
        min_d, max_d, tries, timeout = int(a[0]), int(a[1]), int(a[2]), int(a[3])
    except ValueError:
        return None
    terms = a[4] or "#"
    prompt, invalid, var, regex = a[5], a[6], a[7], a[8]
    digit_timeout = int(a[9]) if len(a) > 9 and a[9].isdigit() and int(a[9]) > 0 else timeout
    max_d = max(max_d, min_d)
    timeout = max(timeout, 1000)
    for attempt in range(tries):
        ch.variables.pop("read_result", None)
        ch.variables.pop(var, None)
        digits, term, status = _collect(
            ch, prompt, min_d, max_d, timeout, terms.lstrip("="), digit_timeout
        )
        if status == "hangup" or not ch.up:
            break
        if term:
            ch.variables["read_terminator_used"] = term
        if status != "noprompt":
            if digits:
                ch.variables[var] = digits
            ok = len(digits) >= min_d and (min_d > 0 or digits or term)
            if ok and regex and digits and re.search(regex, digits) is None:
                ch.variables.pop(var, None)
                ch.variables[f"{var}_invalid"] = digits
                ok = False
            if ok:
                ch.variables["read_result"] = "success"
                return None
            ch.variables["read_result"] = "failure"
        if invalid and invalid != "silence":
            play_file(ch, invalid)
        if attempt == tries - 1:
            break
    return None


def app_read(ch: Channel, arg: str) -> str | None:
    a = separate(arg)
    if len(a) < 4:
        return None
    min_d = max(1, int(a[0]) if a[0].isdigit() else 1)
    max_d = max(min_d, int(a[1]) if a[1].isdigit() else min_d)
    prompt, var = a[2], a[3]
    timeout = max(1000, int(a[4]) if len(a) > 4 and a[4].isdigit() else 1000)
    terms = a[5] if len(a) > 5 and a[5] else "#"
    digit_timeout = int(a[6]) if len(a) > 6 and a[6].isdigit() else timeout
    ch.variables.pop(var, None)
    digits, term, status = _collect(ch, prompt, min_d, max_d, timeout, terms, digit_timeout)
    if term:
        ch.variables["read_terminator_used"] = term
    if digits:
        ch.variables[var] = digits
    ch.variables["read_result"] = "success" if len(digits) >= min_d else "failure"
    return None


FRAME = 160  # samples per 20 ms frame at 8 kHz: record writes whole frames


def _wav_header(samples: int) -> bytes:
    data_len = samples * 2
    header = b"RIFF" + struct.pack("<I", 36 + data_len) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)
    return header + b"data" + struct.pack("<I", data_len)


def _source_pcm(path: str | None, offset: int, count: int) -> bytes:
    """`count` samples of an 8 kHz mono 16-bit WAV from `offset` (silence otherwise)."""
    if path is not None:
        try:
            with wave.open(path, "rb") as src:
                fmt = (src.getframerate(), src.getnchannels(), src.getsampwidth())
                if fmt == (8000, 1, 2) and offset < src.getnframes():
                    src.setpos(offset)
                    data = src.readframes(count)
                    return data + b"\0" * (count * 2 - len(data))
        except (OSError, wave.Error, EOFError):
            pass
    return b"\0" * (count * 2)


def _set_last(ch: Channel, name: str, value: str) -> None:
    """switch_channel_set_variable re-adds a variable at the end of the list."""
    ch.variables.pop(name, None)
    ch.variables[name] = value


def _silence_deadline(
    segments: list[AudioSegment], start: float, now: float, thresh: int, hits_wall: float
) -> float:
    """When `hits` seconds of uninterrupted silence will have passed (wall clock)."""
    last_voice = start
    for seg in segments:
        if seg.energy >= thresh and seg.start <= now and seg.end > start:
            last_voice = max(last_voice, seg.end)
    return last_voice + hits_wall


def app_record(ch: Channel, arg: str) -> str | None:
    """switch_ivr_record_file: writes what the channel hears (a loopback leg hears what the
    other leg plays, e.g. after `uuid_broadcast <a-leg> <file> aleg`); a parked leg sends
    no audio (CNG), which is neither written nor counted but is silence to the detector."""
    a = separate(arg)
    if not a:
        return None
    path = Path(a[0])
    limit = float(a[1].lstrip("+")) if len(a) > 1 and a[1].lstrip("+").isdigit() else None
    thresh = int(a[2]) if len(a) > 2 and a[2].isdigit() else 0
    hits = int(a[3]) if len(a) > 3 and a[3].isdigit() else (3 if thresh else 0)
    try:
        path.write_bytes(_wav_header(0))
    except OSError:
        ch.hangup("DESTINATION_OUT_OF_ORDER")
        return None
    terms = terminators_of(ch)
    settings = ch.sim.settings
    ch.variables.pop("playback_terminator_used", None)
    _set_last(ch, "silence_hits_exhausted", "false")
    ch.fire(
        "RECORD_START",
        ("switch_ivr_async.c", "switch_ivr_record_file", 1893),
        lambda: [("Record-File-Path", str(path))],
    )

    def digit(d: str) -> bool:
        if d in terms:
            _set_last(ch, "playback_terminator_used", d)
            return True
        return False

    start = time.monotonic()
    limit_at = start + settings.wall(limit) if limit else None
    silence = False
    ended_at: float | None = None  # the limit or silence deadline that stopped it, if any
    ch.recording = True
    ch.media_depth += 1
    try:
        while True:
            seen = ch.rx_version
            now = time.monotonic()
            deadline = limit_at
            silence_at = None
            if thresh and hits:
                silence_at = _silence_deadline(
                    ch.heard_audio(), start, now, thresh, settings.wall(hits)
                )
                deadline = silence_at if deadline is None else min(deadline, silence_at)
            wait = None if deadline is None else max(0.0, deadline - now) * settings.speed
            reason = ch.media_wait(wait, digit, until=lambda seen=seen: ch.rx_version != seen)
            if reason == "until":
                continue
            if reason == "timeout" and silence_at is not None:
                silence = limit_at is None or silence_at < limit_at
            if reason == "timeout":
                ended_at = deadline
            break
    finally:
        ch.media_depth -= 1
        ch.recording = False
    # The switch's media clock stops the file at the deadline; a late wake-up of this
    # greenlet on a busy machine must not add frames a real switch would not write.
    end = time.monotonic() if ended_at is None else min(time.monotonic(), ended_at)
    pcm: list[bytes] = []
    samples = 0
    for seg in ch.heard_audio():
        lo, hi = max(seg.start, start), min(seg.end, end)
        if hi <= lo:
            continue
        count = int((hi - lo) * settings.speed * 8000) // FRAME * FRAME
        if count <= 0:
            continue
        offset = int(((lo - seg.start) * settings.speed + seg.offset_s) * 8000)
        pcm.append(_source_pcm(seg.path, offset, count))
        samples += count
    size = 44 + samples * 2
    try:
        with open(path, "wb") as fh:
            fh.write(_wav_header(samples))
            for chunk in pcm:
                fh.write(chunk)
    except OSError:
        pass
    if silence:
        _set_last(ch, "silence_hits_exhausted", "true")
    ms = samples // 8
    for name, value in (
        ("record_record_file_size", str(size)),
        ("record_file_size", str(size)),
        ("record_seconds", str(ms // 1000)),
        ("record_ms", str(ms)),
        ("record_samples", str(samples)),
    ):
        _set_last(ch, name, value)
    ch.fire(
        "RECORD_STOP",
        ("switch_ivr_async.c", "switch_ivr_record_file", 2178),
        lambda: [("Record-File-Path", str(path))],
    )
    ch.flush_hangup()
    if not ch.up:
        ch.hangup("DESTINATION_OUT_OF_ORDER")
    return None


def app_say(ch: Channel, arg: str) -> str | None:
    a = separate(arg)
    if len(a) not in (4, 5):
        return None
    module = a[0].split(":", 1)[0]
    if (
        module not in ch.sim.config.phrase_languages.values()
        and module not in ch.sim.config.phrase_languages
    ):
        return None  # "Can't find phrases tag": plays nothing
    say_type, method, text = a[1], a[2], a[-1]
    files = say_files(module, say_type, method, text)
    if not files:
        return None
    total = 0.0
    for f in files:
        resolved = ch.sim.sounds.resolve(ch, f)
        if resolved is None:
            return None
        total += resolved[1]
    path = "file_string://" + "!".join(files)
    ch.fire(
        "PLAYBACK_START",
        ("switch_ivr_play_say.c", "switch_ivr_play_file", 1689),
        lambda: [("Playback-File-Path", path)],
    )
    terms = terminators_of(ch)
    segment = ch.transmit(total, ch.sim.sounds.default_energy, None)
    ch.media_depth += 1
    try:
        reason = ch.media_wait(total, lambda d: d in terms)
    finally:
        ch.media_depth -= 1
        ch.end_transmit(segment)
    status = "break" if reason in ("dtmf", "break") else "done"
    ch.fire(
        "PLAYBACK_STOP",
        ("switch_ivr_play_say.c", "switch_ivr_play_file", 2081),
        lambda: [("Playback-File-Path", path), ("Playback-Status", status)],
    )
    ch.flush_hangup()
    return None


def app_sleep(ch: Channel, arg: str) -> str | None:
    try:
        ms = int(arg.strip() or "0")
    except ValueError:
        return None
    if ch.get_var("sleep_eat_digits") == "true":
        terms = terminators_of(ch)
        ch.media_wait(ms / 1000, lambda d: d in terms)
    else:
        ch.media_wait(ms / 1000, consume_dtmf=False)
    return None


def app_set(ch: Channel, arg: str) -> str | None:
    name, sep, value = arg.partition("=")
    if name.strip():
        ch.set_var(name.strip(), value if sep else None)
    return None


def app_export(ch: Channel, arg: str) -> str | None:
    app_set(ch, arg.removeprefix("nolocal:"))
    name = arg.partition("=")[0].strip()
    if ch.peer is not None and name:
        ch.peer.set_var(name, ch.get_var(name))
    return None


def app_unset(ch: Channel, arg: str) -> str | None:
    ch.set_var(arg.strip(), None)
    return None


def app_multiset(ch: Channel, arg: str) -> str | None:
    for part in separate(arg):
        app_set(ch, part)
    return None


def app_hangup(ch: Channel, arg: str) -> str | None:
    ch.hangup(arg.strip() or "NORMAL_CLEARING")
    return None


def app_park(ch: Channel, arg: str) -> str | None:
    ch.state = "CS_EXECUTE"
    ch.media_wait(None)
    return None


def app_log(ch: Channel, arg: str) -> str | None:
    return None


def app_sched_hangup(ch: Channel, arg: str) -> str | None:
    a = separate(arg)
    if not a:
        return None
    secs = int(a[0].lstrip("+")) if a[0].lstrip("+").isdigit() else 0
    cause = a[1] if len(a) > 1 else "ALLOTTED_TIMEOUT"
    import gevent

    gevent.spawn_later(ch.sim.settings.wall(secs), ch.hangup, cause)
    return None


def base_apps() -> dict[str, App]:
    return {
        "answer": app_answer,
        "pre_answer": app_pre_answer,
        "playback": app_playback,
        "play_and_get_digits": app_play_and_get_digits,
        "read": app_read,
        "record": app_record,
        "say": app_say,
        "sleep": app_sleep,
        "set": app_set,
        "export": app_export,
        "unset": app_unset,
        "multiset": app_multiset,
        "hangup": app_hangup,
        "park": app_park,
        "log": app_log,
        "sched_hangup": app_sched_hangup,
    }
