"""Simulated far ends for sofia/gateway/<gw>/<number> (behaviour from SimSettings.callees)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from fsconf.sim.channel import CallerProfile, Channel

if TYPE_CHECKING:
    from fsconf.sim.ports import ChannelHost, Dialplan
    from fsconf.sim.settings import CalleeBehaviour


class Callees:
    def __init__(
        self, host: ChannelHost, dialplan: Dialplan, register: Callable[[Channel], None]
    ) -> None:
        self.host = host
        self.dialplan = dialplan
        self.register = register

    def dial(
        self,
        variables: dict[str, str],
        endpoint: str,
        gateway: str,
        number: str,
        bpart: str,
        cid: tuple[str, str] | None,
    ) -> Channel | str:
        s = self.host.settings
        clock = self.host.clock
        behaviour = s.callees.get(number, s.default_callee)
        if behaviour.action == "busy":
            return "USER_BUSY"
        if behaviour.action == "reject":
            return "CALL_REJECTED"
        if behaviour.action == "unallocated":
            return "UNALLOCATED_NUMBER"
        timeout = float(variables.get("originate_timeout", "60"))
        if behaviour.action == "no_answer":
            clock.sleep(min(behaviour.ring_s, timeout))
            return "NO_ANSWER"
        if behaviour.answer_after_s > timeout:
            clock.sleep(timeout)
            return "NO_ANSWER"
        clock.sleep(behaviour.answer_after_s)
        name = variables.get("origination_caller_id_name") or (cid[0] if cid else "")
        num = variables.get("origination_caller_id_number") or (cid[1] if cid else "")
        ch = Channel(
            self.host,
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
        self.register(ch)
        self.dialplan.run_bpart(ch, bpart)
        if behaviour.digits:
            self._press_later(ch, behaviour)
        if behaviour.hangup_after_s is not None:
            clock.call_later(behaviour.hangup_after_s, ch.hangup, "NORMAL_CLEARING")
        return ch

    def _press_later(self, ch: Channel, behaviour: CalleeBehaviour) -> None:
        """The callee types its digits (DTMF arriving on the callee leg, RTP)."""
        s = self.host.settings
        clock = self.host.clock

        def press() -> None:
            for digit in behaviour.digits:
                if not ch.up:
                    return
                ch.queue_dtmf(digit)
                if s.dtmf_interdigit_ms > 0:
                    clock.sleep(s.dtmf_interdigit_ms / 1000)

        wanted = behaviour.digits_after_prompt
        if wanted is None:
            clock.call_later(behaviour.digits_delay_s, press)
            return

        def heard(path: str) -> None:
            if wanted in path:
                ch.on_playback.remove(heard)
                clock.call_later(behaviour.digits_delay_s, press)

        ch.on_playback.append(heard)
