"""Simulator-only measurement knob for the benchmark (``fsconf sim --bench-trace``).

Nothing here exists in a real FreeSWITCH. When enabled, the simulator records, per
channel, the moment the bytes of a DTMF event have been written to the controller's
outbound socket, and the moment the next ``api conference ...`` command arrives on that
same socket; the difference is the controller's keypad latency, on one clock. Two extra
API commands expose it over the inbound Event Socket:

- ``api sim_trace`` returns the samples as JSON; ``api sim_trace reset`` also clears them.
- ``api sim_flood <uuid> <count>`` writes <count> copies of one conference::maintenance
  ``start-talking`` event for that channel to its outbound socket at once (what a busy
  switch can queue up for a slow reader); the keypad trace then shows how long a key
  press queued behind them takes to get an answer.
- ``bgapi sim_kill`` (registered in core.py) makes this node die as a SIGKILLed
  FreeSWITCH would (Simulator.kill): the cluster benchmark's owner death, for a node
  that shares its process with the nodes it bridges to.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from fsconf.esl.protocol import encode_event_json, encode_event_plain
from fsconf.sim.conference import Member
from fsconf.sim.listener import EslConnection

if TYPE_CHECKING:
    from fsconf.sim.channel import Channel
    from fsconf.sim.ports import EventHub


class BenchTrace:
    def __init__(self, channels: Mapping[str, Channel], bus: EventHub) -> None:
        self.channels = channels
        self.bus = bus
        self.reset()

    def reset(self) -> None:
        self._last_dtmf: dict[str, tuple[float, str]] = {}
        # (latency s, verb, digit, uuid, arrival time on the simulator's monotonic clock)
        self.samples: list[tuple[float, str, str, str, float]] = []
        self.dtmf_count = 0
        self.api_count = 0
        self.floods: list[dict[str, object]] = []

    # -- hooks (called by the listener when the knob is on) ------------------------------

    def dtmf_written(self, uuid: str | None, digit: str) -> None:
        if uuid is None:
            return
        self.dtmf_count += 1
        self._last_dtmf[uuid] = (time.monotonic(), digit)

    def api_received(self, uuid: str | None, command: str) -> None:
        if uuid is None or not command.startswith("conference "):
            return
        now = time.monotonic()
        self.api_count += 1
        last = self._last_dtmf.pop(uuid, None)
        if last is not None:
            words = command.split()
            verb = words[2] if len(words) > 2 else ""
            self.samples.append((now - last[0], verb, last[1], uuid, now))

    # -- API ---------------------------------------------------------------------------

    def api_trace(self, args: str) -> str:
        out = json.dumps(
            {
                "samples": self.samples,
                "dtmf_written": self.dtmf_count,
                "conference_api_received": self.api_count,
                "floods": self.floods,
                "now": time.monotonic(),
            }
        )
        if args.strip() == "reset":
            self.reset()
        return out

    def api_flood(self, args: str) -> str:
        argv = args.split()
        if len(argv) != 2 or not argv[1].isdigit():
            return "-USAGE: sim_flood <uuid> <count>\n"
        ch = self.channels.get(argv[0])
        if ch is None or not isinstance(ch.session, EslConnection):
            return "-ERR no outbound socket for that channel\n"
        member = ch.member if isinstance(ch.member, Member) else None
        headers = self.bus.core_headers(
            "CUSTOM", ("conference_member.c", "conference_member_check_talking", 1), SUBCLASS
        )
        if member is not None:
            headers += member.conf.headers() + member.headers()
        else:
            headers += ch.basic_headers()
        headers.append(("Action", "start-talking"))
        session = ch.session
        # In the format the socket subscribed in, as FreeSWITCH would queue them.
        encode = encode_event_json if session.sub.fmt == "json" else encode_event_plain
        one = encode(headers, None)
        count = int(argv[1])
        record: dict[str, object] = {"uuid": ch.uuid, "count": count, "bytes": len(one) * count}
        self.floods.append(record)
        record["start"] = time.monotonic()
        chunk = one * min(count, 1000)  # the same chunk object, queued again and again
        full, rest = divmod(count, 1000)
        for _ in range(full if count >= 1000 else 0):
            session.send(chunk)
        if count >= 1000 and rest:
            session.send(one * rest)
        elif count < 1000:
            session.send(chunk)
        session.send_marker(lambda: record.__setitem__("written", time.monotonic()))
        return f"+OK flooding {count} events ({len(one) * count} bytes)\n"


SUBCLASS = "conference::maintenance"
