"""Simulated far ends for sofia/gateway/<gw>/<number> (behaviour from SimSettings.callees)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import gevent

from fsconf.sim.channel import CallerProfile, Channel

if TYPE_CHECKING:
    from fsconf.sim.core import Simulator
    from fsconf.sim.settings import CalleeBehaviour


class Callees:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def dial(
        self,
        variables: dict[str, str],
        endpoint: str,
        gateway: str,
        number: str,
        bpart: str,
        cid: tuple[str, str] | None,
    ) -> Channel | str:
        s = self.sim.settings
        behaviour = s.callees.get(number, s.default_callee)
        if behaviour.action == "busy":
            return "USER_BUSY"
        if behaviour.action == "reject":
            return "CALL_REJECTED"
        if behaviour.action == "unallocated":
            return "UNALLOCATED_NUMBER"
        timeout = float(variables.get("originate_timeout", "60"))
        if behaviour.action == "no_answer":
            gevent.sleep(s.wall(min(behaviour.ring_s, timeout)))
            return "NO_ANSWER"
        if behaviour.answer_after_s > timeout:
            gevent.sleep(s.wall(timeout))
            return "NO_ANSWER"
        gevent.sleep(s.wall(behaviour.answer_after_s))
        name = variables.get("origination_caller_id_name") or (cid[0] if cid else "")
        num = variables.get("origination_caller_id_number") or (cid[1] if cid else "")
        ch = Channel(
            self.sim,
            endpoint,
            "outbound",
            CallerProfile(
                caller_id_name=name,
                caller_id_number=num or "0000000000",
                callee_id_name="Outbound Call",
                callee_id_number=number,
                destination_number=number,
                context="default",
                source="mod_sofia",
            ),
            uuid=variables.get("origination_uuid"),
        )
        for key, value in variables.items():
            ch.set_var(key, value)
        ch.variables["call_uuid"] = ch.uuid
        ch.variables["sip_gateway_name"] = gateway
        ch.mark_answered()
        ch.variables["endpoint_disposition"] = "ANSWER"
        ch.state = "CS_EXECUTE"
        self.sim.register(ch)
        self.sim.run_bpart(ch, bpart)
        if behaviour.digits:
            self._press_later(ch, behaviour)
        if behaviour.hangup_after_s is not None:
            gevent.spawn_later(s.wall(behaviour.hangup_after_s), ch.hangup, "NORMAL_CLEARING")
        return ch

    def _press_later(self, ch: Channel, behaviour: CalleeBehaviour) -> None:
        """The callee types its digits (DTMF arriving on the callee leg, RTP)."""
        s = self.sim.settings

        def press() -> None:
            for digit in behaviour.digits:
                if not ch.up:
                    return
                ch.queue_dtmf(digit)
                if s.dtmf_interdigit_ms > 0:
                    gevent.sleep(s.wall(s.dtmf_interdigit_ms / 1000))

        wanted = behaviour.digits_after_prompt
        if wanted is None:
            gevent.spawn_later(s.wall(behaviour.digits_delay_s), press)
            return

        def heard(path: str) -> None:
            if wanted in path:
                ch.on_playback.remove(heard)
                gevent.spawn_later(s.wall(behaviour.digits_delay_s), press)

        ch.on_playback.append(heard)
