"""A terminal "phone": type keys, see the prompts you would hear."""

from __future__ import annotations

import gevent

from fsconf.demo.stage import ACCESS_NUMBER, Stage

HELP = "Type keys (0-9 * #) and Enter to send them; 'q' hangs up."


def run_phone(stage: Stage, number: str, moderator_pin: str, participant_pin: str) -> None:
    out = stage.out
    out.write(
        f"\nYou are calling {ACCESS_NUMBER}. Conference {number}: moderator PIN "
        f"{moderator_pin}, participant PIN {participant_pin}.\n{HELP}\n\n"
    )
    call = stage.dial("You", "0600000000")
    hub = gevent.get_hub()
    while call.hangup_cause is None:
        try:
            # input() blocks; run it in gevent's thread pool so the calls keep going.
            keys = hub.threadpool.apply(input, ("keys> ",)).strip()
        except EOFError:
            keys = "q"
        if keys.lower() in ("q", "quit", "exit"):
            call.hangup()
            break
        clean = "".join(k for k in keys if k in "0123456789*#")
        if clean != keys:
            out.write("  (only 0-9, * and # are keys on a phone)\n")
        if clean and call.hangup_cause is None:
            stage.press(call, clean)
    call.wait_hangup(10)
    out.write(f"call ended ({call.hangup_cause})\n")
