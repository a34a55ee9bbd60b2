"""A sofia leg (SipChannel) and the SIP dialog between two simulated nodes (Dialog):
what an INVITE, its responses, BYE and RFC 2833 DTMF carry, one hop apart."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Callable
from typing import TYPE_CHECKING

import gevent

from fsconf.sim.channel import CallerProfile, Channel, Dtmf, codec_headers
from fsconf.sim.events import Headers
from fsconf.sim.sip import (
    SIP_HOP_S,
    TIMER_B_S,
    cause_at_near_side,
    final_status,
    first_dtmf_delay,
)

if TYPE_CHECKING:
    from fsconf.sim.ports import ChannelHost
    from fsconf.sim.sofia import SipNode


class SipChannel(Channel):
    """A sofia leg: caller profile and headers as mod_sofia fills them."""

    def __init__(
        self,
        host: ChannelHost,
        name: str,
        direction: str,
        profile: CallerProfile,
        *,
        network_addr: str,
        username: str = "",
        uuid: str | None = None,
    ) -> None:
        super().__init__(host, name, direction, profile, uuid=uuid)
        self.network_addr = network_addr
        self.username = username
        self.dialog: Dialog | None = None
        # The channel whose `bridge` holds this (outgoing) leg: its bridge loop serves
        # this leg's DTMF, as the leg's own audio_bridge_thread does in FreeSWITCH.
        self.bridged_by: Channel | None = None
        # media_timeout (ms) as the RTP session took it when media started (answer);
        # set on the channel later it does not reach that session.
        self.rtp_timeout_ms = 0
        # An outgoing leg offers only its originator's codec (README finding 1); an
        # incoming one accepts its profile's inbound-codec-prefs.
        self.offered_codec = "PCMU"
        self.accepts: tuple[str, ...] = ("PCMU", "PCMA")
        # No codec before negotiation (late negotiation): no codec headers or variables.
        self.codec = []
        for key in ("read_codec", "read_rate", "write_codec", "write_rate"):
            self.variables.pop(key, None)

    def dtmf_duration(self) -> str:
        return "2080"  # RFC 2833 end packet duration as the captures show it

    def queue_dtmf(
        self, digits: str, duration: str | None = None, source: str | None = None
    ) -> None:
        super().queue_dtmf(digits, duration, source)
        if self.bridged_by is not None:
            self.bridged_by.wake.set()

    def send_dtmf(self, dtmf: Dtmf) -> None:
        """sofia's send_dtmf: an RFC 2833 telephone-event to the other node (none to a
        phone outside the simulation: it leaves the switch)."""
        if self.dialog is not None and self.up:
            self.dialog.send_dtmf(self, dtmf.digit)

    def profile_headers(self, prefix: str) -> Headers:
        p = self.profile
        pairs: Headers = [
            (f"{prefix}-Direction", self.direction),
            (f"{prefix}-Logical-Direction", self.direction),
            (f"{prefix}-Username", self.username),
            (f"{prefix}-Dialplan", p.dialplan),
            (f"{prefix}-Caller-ID-Name", p.caller_id_name),
            (f"{prefix}-Caller-ID-Number", p.caller_id_number),
            (f"{prefix}-Orig-Caller-ID-Name", p.caller_id_name),
            (f"{prefix}-Orig-Caller-ID-Number", p.caller_id_number),
            (f"{prefix}-Callee-ID-Name", p.callee_id_name),
            (f"{prefix}-Callee-ID-Number", p.callee_id_number),
            (f"{prefix}-Network-Addr", self.network_addr),
            (f"{prefix}-ANI", p.ani or p.caller_id_number),
            (f"{prefix}-Destination-Number", p.destination_number),
            (f"{prefix}-Unique-ID", self.uuid),
            (f"{prefix}-Source", p.source),
            (f"{prefix}-Context", p.context),
            (f"{prefix}-Channel-Name", self.name),
            (f"{prefix}-Profile-Index", "1"),
            *self._times(prefix),
            (f"{prefix}-Screen-Bit", "true"),
            (f"{prefix}-Privacy-Hide-Name", "false"),
            (f"{prefix}-Privacy-Hide-Number", "false"),
        ]
        return [(k, v) for k, v in pairs if v]

    def _times(self, prefix: str) -> Headers:
        return [
            (f"{prefix}-Profile-Created-Time", str(self.created_us)),
            (f"{prefix}-Channel-Created-Time", str(self.created_us)),
            (f"{prefix}-Channel-Answered-Time", str(self.answered_us)),
            (f"{prefix}-Channel-Progress-Time", "0"),
            (f"{prefix}-Channel-Progress-Media-Time", "0"),
            (f"{prefix}-Channel-Hangup-Time", str(self.hangup_us)),
            (f"{prefix}-Channel-Transfer-Time", "0"),
            (f"{prefix}-Channel-Resurrect-Time", "0"),
            (f"{prefix}-Channel-Bridged-Time", "0"),
            (f"{prefix}-Channel-Last-Hold", "0"),
            (f"{prefix}-Channel-Hold-Accum", "0"),
        ]

    def originatee_headers(self) -> Headers:
        """This (outgoing) leg as the bridging channel's "Other-Leg" profile: the
        profile switch_ivr_originate cloned from the caller (source, context)."""
        headers = self.profile_headers("Other-Leg")
        # The cloned profile has no username and no profile index.
        drop = {"Other-Leg-Username", "Other-Leg-Profile-Index"}
        return [("Other-Type", "originatee")] + [(k, v) for k, v in headers if k not in drop]

    def answer(self) -> None:
        """Late negotiation (inbound-late-negotiation): 183 first, then the 200 OK."""
        if self.answered or not self.up:
            return
        codec = self.dialog.offered_codec if self.dialog is not None else self.offered_codec
        if self.direction == "inbound" and codec not in self.accepts:
            # Nothing in common with the offer: 488 (captured run 0: L16 offered).
            self.variables["endpoint_disposition"] = "CODEC NEGOTIATION ERROR"
            self.hangup("INCOMPATIBLE_DESTINATION")
            return
        self.codec = codec_headers(codec)  # the SDP answer goes out with the 183 / 200
        if self.direction == "inbound" and self.call_state != "EARLY":
            self.variables["endpoint_disposition"] = "EARLY MEDIA"
            self.fire(
                "CHANNEL_PROGRESS_MEDIA",
                ("switch_channel.c", "switch_channel_perform_mark_pre_answered", 3612),
            )
            self.call_state = "EARLY"
        for key, value in (("read_codec", codec), ("read_rate", "8000")):
            self.variables.setdefault(key, value)
        timeout = self.get_var("media_timeout") or ""
        self.rtp_timeout_ms = int(timeout) if timeout.isdigit() else 0
        self.answered = True
        if not self.answered_us:
            self.answered_us = int(self.host.clock.time() * 1_000_000)
        self.fire(
            "CHANNEL_ANSWER", ("switch_channel.c", "switch_channel_perform_mark_answered", 3741)
        )
        self.call_state = "ACTIVE"
        self.variables["endpoint_disposition"] = "ANSWER"
        if self.dialog is not None and self.direction == "inbound":
            self.dialog.far_answered()

    def _hangup_now(self, cause: str) -> None:
        if not self.up:
            return
        super()._hangup_now(cause)
        if self.dialog is not None:
            self.dialog.leg_hung_up(self, cause)
        if self.runner is None:  # a bridged leg runs no dialplan: report it ourselves
            self.runner = gevent.spawn(self.finish)


class Dialog:
    """One INVITE dialog from a near node's outgoing leg to a far node's inbound leg."""

    def __init__(self, near_node: SipNode, near: SipChannel, caller: Channel) -> None:
        self.near_node = near_node
        self.near = near
        self.caller = caller
        self.far_node: SipNode | None = None
        self.far: SipChannel | None = None
        self.call_id = str(uuidlib.uuid4())
        self.answered = False
        self.failure: tuple[str, int | None] | None = None  # (cause, SIP status)
        self.end_status: int | None = None  # final status of the BYE that ended it
        self._last_dtmf_at: dict[int, float] = {}  # per receiving leg

    @property
    def offered_codec(self) -> str:
        return self.near.offered_codec

    # --- messages, each delivered one hop later on the receiving node's clock ---------

    def _to(self, node: SipNode | None, fn: Callable[..., object], *args: object) -> None:
        if node is None or not node.alive:
            return

        def deliver() -> None:
            if node.alive:
                fn(*args)

        node.host.clock.call_later(SIP_HOP_S, deliver)

    def far_answered(self) -> None:
        self._to(self.near_node, self._near_answered)

    def _near_answered(self) -> None:
        self.answered = True
        self.caller.wake.set()

    def leg_hung_up(self, leg: SipChannel, cause: str) -> None:
        if leg is self.far:
            if self.far_node is not None:
                self.far_node.dialogs.discard(self)  # its node is done with it
                if not self.far_node.alive:
                    return  # the process is gone: no BYE, no response (SIGKILL)
            if self.answered or leg.answered:
                self._to(self.near_node, self._near_bye, cause_at_near_side(cause))
            else:
                status = final_status(cause)
                self._to(self.near_node, self._near_refused, cause_at_near_side(cause), status)
        elif leg is self.near:
            self.near_node.dialogs.discard(self)
            self.caller.wake.set()
            far = self.far
            if far is not None and self.near_node.alive:
                follow = "NORMAL_CLEARING" if self.answered else "ORIGINATOR_CANCEL"
                self._to(self.far_node, self._far_ends, far, follow)

    def _near_bye(self, cause: str) -> None:
        self.end_status = 200
        if self.near.up:
            self.near.set_var("sip_hangup_disposition", "recv_bye")
            self.near.hangup(cause)

    def no_response(self) -> None:
        """Timer B expired: not even a 100 Trying came back (408, generated locally)."""
        self._near_refused("RECOVERY_ON_TIMER_EXPIRE", 408)

    def _near_refused(self, cause: str, status: int) -> None:
        if self.failure is None:
            self.failure = (cause, status)
        self.caller.wake.set()

    def _far_ends(self, far: SipChannel, cause: str) -> None:
        if far.up:
            far.set_var("sip_hangup_disposition", "recv_bye" if self.answered else "recv_cancel")
            if self.answered:
                far.set_var("sip_term_status", "200")
                far.set_var("sip_term_cause", "16")
            far.hangup(cause)

    def send_dtmf(self, sender: SipChannel, digit: str) -> None:
        """An RFC 2833 digit from one leg of the dialog to the other, paced as FreeSWITCH
        sends them (captured B->A; the other direction is the same sofia code).
        The receiving leg queues it (switch_channel_queue_dtmf); its reader fires DTMF."""
        if sender is self.near:
            to, node = self.far, self.far_node
        else:
            to, node = self.near, self.near_node
        if to is None or node is None or not node.alive:
            return
        clock = node.host.clock
        now = clock.monotonic()
        at = first_dtmf_delay(now, self._last_dtmf_at.get(id(to)))
        self._last_dtmf_at[id(to)] = at
        clock.call_later(at - now, self._digit_arrives, node, to, digit)

    @staticmethod
    def _digit_arrives(node: SipNode, leg: SipChannel, digit: str) -> None:
        if node.alive:
            leg.queue_dtmf(digit)

    def peer_died(self, dead: SipNode) -> None:
        """The other node vanished (SIGKILL): no BYE comes. Only an RTP media timeout set
        on the surviving leg ends it; an unanswered INVITE fails at Timer B."""
        survivor = self.near if dead is self.far_node else self.far
        node = self.near_node if dead is self.far_node else self.far_node
        if survivor is None or node is None:
            return
        clock = node.host.clock
        if survivor is self.near and not self.answered:
            clock.call_later(TIMER_B_S, self.no_response)
            return
        timeout_ms = survivor.rtp_timeout_ms
        if timeout_ms > 0:
            # The RTP timer notices a frame later (captured 3.02-3.04 s for 3000 ms). The
            # far leg of a dead near node times out the same way when its controller set
            # media_timeout before answering (same RTP code; not captured that way round).
            clock.call_later(timeout_ms / 1000 + SIP_HOP_S, self._media_timeout, survivor)

    def _media_timeout(self, leg: SipChannel) -> None:
        if leg.up:
            leg.set_var("sip_hangup_disposition", "send_bye")
            leg.hangup("MEDIA_TIMEOUT")
