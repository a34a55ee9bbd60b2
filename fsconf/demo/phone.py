"""A terminal "phone": type keys, see the prompts you would hear."""

from __future__ import annotations

import os

import gevent
from gevent import select

from fsconf.demo.stage import ACCESS_NUMBER, Stage
from fsconf.testing.driver import DriverCall

HELP = "Type keys (0-9 * #) and Enter to send them; 'q' hangs up."
PROMPT = "keys> "


class KeyReader:
    """Lines typed on the terminal (or piped in), read without blocking gevent's hub, so
    the calls go on meanwhile and a hang-up can end the wait (a thread stuck in input()
    could not be interrupted, and would leave `keys>` asking after the call ended)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buffer = b""
        self._eof = False

    def readline(self) -> str | None:
        """The next line without its newline; None at the end of input."""
        while b"\n" not in self._buffer and not self._eof:
            select.select([self.fd], [], [])
            chunk = os.read(self.fd, 4096)
            self._eof = not chunk
            self._buffer += chunk
        if not self._buffer:
            return None
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode("utf-8", "replace")


def run_phone(
    stage: Stage, number: str, moderator_pin: str, participant_pin: str, keys_fd: int = 0
) -> None:
    out = stage.out
    out.write(
        f"\nYou are calling {ACCESS_NUMBER}. Conference {number}: moderator PIN "
        f"{moderator_pin}, participant PIN {participant_pin}.\n{HELP}\n\n"
    )
    call = stage.dial("You", "0600000000")
    reader = KeyReader(keys_fd)
    transcript = stage.transcript
    transcript.prompt_live = lambda: call.hangup_cause is None
    while call.hangup_cause is None:
        keys = _next_keys(stage, call, reader)
        if keys is None:  # the call ended while waiting: nothing more to type
            break
        if keys.strip().lower() in ("q", "quit", "exit"):
            call.hangup()
            break
        clean = "".join(k for k in keys if k in "0123456789*#")
        if clean != keys.strip():
            out.write("  (only 0-9, * and # are keys on a phone)\n")
        if clean and call.hangup_cause is None:
            stage.press(call, clean)
    call.wait_hangup(10)
    out.write(f"call ended ({call.hangup_cause})\n")


def _next_keys(stage: Stage, call: DriverCall, reader: KeyReader) -> str | None:
    """What the person typed, or None when the call ended first (or input ended: 'q')."""
    transcript = stage.transcript
    transcript.prompt = PROMPT
    transcript.show_prompt()
    typed = gevent.spawn(reader.readline)
    try:
        # A person's pace: look for a hang-up ten times a second while they type.
        while not typed.ready() and call.hangup_cause is None:
            typed.join(0.1)
        answered = typed.ready()
    finally:
        if not typed.ready():
            typed.kill()
    line = typed.value if answered else None
    # A terminal echoed the line and moved on; piped keys are shown as it would have.
    echoed = line is not None and os.isatty(reader.fd)
    transcript.end_prompt(typed=echoed)
    if line is not None and not echoed:
        stage.out.write(f"{PROMPT}{line}\n")
    if not answered:
        return None
    return "q" if line is None else line
