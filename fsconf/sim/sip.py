"""mod_sofia between simulated nodes: several Simulators joined by SIP, in one process.

Each node binds its sofia profiles' addresses (sip-ip:sip-port of sofia.conf) in a SipFabric;
`bridge {..}sofia/<profile>/<user>@<host:port>` on one node then creates the far node's
inbound SIP channel, which runs that node's dialplan. No SIP is parsed: a Dialog carries
what the INVITE, its responses, BYE and RFC 2833 DTMF would, with the timing and the
channel data of two real FreeSWITCH 1.10.12 nodes (G_two_nodes_bridge captures).
"""

from __future__ import annotations

import logging
import math
import re
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import gevent

from fsconf.sim.channel import CallerProfile, Channel
from fsconf.sim.events import Headers

if TYPE_CHECKING:
    from fsconf.sim.clock import Clock
    from fsconf.sim.ports import ChannelHost, Dialplan

log = logging.getLogger(__name__)

# One SIP hop between nodes on a loopback network (captured: ~20 ms per message).
SIP_HOP_S = 0.02
# Port closed: the ICMP port-unreachable makes sofia answer itself 503 (captured 41 ms).
PORT_CLOSED_S = 0.041
# Timer B: an INVITE without any response fails after 64*T1 (captured 32.0 s, 408).
TIMER_B_S = 32.0
# RFC 2833 DTMF as FreeSWITCH sends it: the first digit arrives ~0.29 s after the
# uuid_send_dtmf, the next ones ~0.64 s apart (captured +0.29, +0.93, +1.57 s).
DTMF_FIRST_S = 0.29
DTMF_SPACING_S = 0.64

SIP_PHRASES = {
    200: "OK",
    404: "Not Found",
    408: "Request Timeout",
    480: "Temporarily Unavailable",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    503: "Service Unavailable",
    603: "Decline",
}

# sofia's hangup_cause_to_sip for a call refused before answer (the captured ones:
# no route 404, CALL_REJECTED 603, dialplan ended without answer 480).
_FINAL_STATUS = {
    "NO_ROUTE_DESTINATION": 404,
    "UNALLOCATED_NUMBER": 404,
    "USER_BUSY": 486,
    "CALL_REJECTED": 603,
    "INCOMPATIBLE_DESTINATION": 488,
    "ORIGINATOR_CANCEL": 487,
    "NORMAL_TEMPORARY_FAILURE": 503,
    "RECOVERY_ON_TIMER_EXPIRE": 408,
}

# Causes with a Q.850 number: they travel in the Reason header and the near side takes
# them over; anything else (SYSTEM_SHUTDOWN: "SIP;cause=701") ends as NORMAL_CLEARING.
_Q850_CAUSES = frozenset(
    [
        "UNALLOCATED_NUMBER",
        "NO_ROUTE_DESTINATION",
        "NORMAL_CLEARING",
        "USER_BUSY",
        "NO_USER_RESPONSE",
        "NO_ANSWER",
        "CALL_REJECTED",
        "DESTINATION_OUT_OF_ORDER",
        "NORMAL_TEMPORARY_FAILURE",
        "INCOMPATIBLE_DESTINATION",
    ]
)

# DIALSTATUS spells a few causes its own way (captured: DONTCALL, NOANSWER).
_DIALSTATUS = {"CALL_REJECTED": "DONTCALL", "NO_ANSWER": "NOANSWER", "USER_BUSY": "BUSY"}

_SOFIA_URL = re.compile(r"^sofia/([^/]+)/([^@/]+)@([^/;:]+)(?::(\d+))?$")


def parse_sofia_url(endpoint: str) -> tuple[str, str, str] | None:
    """'sofia/<profile>/<user>@<host>[:<port>]' -> (profile, user, "host:port")."""
    m = _SOFIA_URL.match(endpoint)
    if m is None:
        return None
    return m.group(1), m.group(2), f"{m.group(3)}:{m.group(4) or '5060'}"


def final_status(cause: str) -> int:
    """The SIP final response a node sends when its inbound leg ends before answer."""
    return _FINAL_STATUS.get(cause, 480)


def cause_at_near_side(cause: str) -> str:
    return cause if cause in _Q850_CAUSES else "NORMAL_CLEARING"


def dial_status(cause: str) -> str:
    return _DIALSTATUS.get(cause, cause)


def continues_on_fail(value: str | None, cause: str) -> bool:
    """continue_on_fail: "true" or a comma list of causes the caller survives."""
    if not value:
        return False
    if value.lower() in ("true", "yes", "on", "1"):
        return True
    return cause in {c.strip() for c in value.split(",")}


def first_dtmf_delay(now: float, last_at: float | None) -> float:
    """When (on the clock of `now`) the next RFC 2833 digit reaches the far leg."""
    earliest = now + DTMF_FIRST_S
    if last_at is None:
        return earliest
    return max(earliest, last_at + DTMF_SPACING_S)


@dataclass(frozen=True)
class SipProfile:
    name: str
    ip: str
    port: int
    context: str
    dialplan: str

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"


def sip_profiles(params: dict[str, dict[str, str]]) -> dict[str, SipProfile]:
    profiles = {}
    for name, p in params.items():
        port = p.get("sip-port", "5060")
        profiles[name] = SipProfile(
            name,
            p.get("sip-ip") or "127.0.0.1",
            int(port) if port.isdigit() else 5060,
            p.get("context") or "public",
            p.get("dialplan") or "XML",
        )
    return profiles


class SipFabric:
    """Which simulated node listens on which SIP address (the network between nodes)."""

    def __init__(self) -> None:
        self._bound: dict[str, tuple[SipNode, SipProfile]] = {}
        self._holes: set[str] = set()

    def black_hole(self, address: str) -> None:
        """Something at `address` takes SIP and never answers (a hung host; the captures'
        UDP socket that swallows the INVITE): INVITEs there end by Timer B or timeout."""
        self._holes.add(address)

    def swallows(self, address: str) -> bool:
        return address in self._holes and self.lookup(address) is None

    def bind(self, node: SipNode, profile: SipProfile) -> bool:
        current = self._bound.get(profile.address)
        if current is not None and current[0] is not node and current[0].alive:
            return False
        self._bound[profile.address] = (node, profile)
        return True

    def unbind(self, node: SipNode) -> None:
        for address, (bound, _) in list(self._bound.items()):
            if bound is node:
                del self._bound[address]

    def lookup(self, address: str) -> tuple[SipNode, SipProfile] | None:
        found = self._bound.get(address)
        if found is None or not found[0].alive:
            return None
        return found


# Nodes built without a fabric of their own share this one (all nodes of a process).
FABRIC = SipFabric()


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
        self.negotiated = False  # codec known (after answer: late negotiation)
        # A SIP leg has no codec before negotiation: no read/write codec variables.
        for key in ("read_codec", "read_rate", "write_codec", "write_rate"):
            self.variables.pop(key, None)

    def dtmf_duration(self) -> str:
        return "2080"  # RFC 2833 end packet duration as the captures show it

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

    def basic_headers(self) -> Headers:
        headers = super().basic_headers()
        if not self.negotiated:
            return [(k, v) for k, v in headers if not k.startswith("Channel-Read-Codec")
                    and not k.startswith("Channel-Write-Codec")]
        return [(k, _PCMU.get(k, v)) for k, v in headers]

    def answer(self) -> None:
        """Late negotiation (inbound-late-negotiation): 183 first, then the 200 OK."""
        if self.answered or not self.up:
            return
        self.negotiated = True  # the SDP answer goes out with the 183 / 200
        if self.direction == "inbound" and self.call_state != "EARLY":
            self.variables["endpoint_disposition"] = "EARLY MEDIA"
            self.fire(
                "CHANNEL_PROGRESS_MEDIA",
                ("switch_channel.c", "switch_channel_perform_mark_pre_answered", 3612),
            )
            self.call_state = "EARLY"
        for key, value in (("read_codec", "PCMU"), ("read_rate", "8000")):
            self.variables.setdefault(key, value)
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


_PCMU = {
    "Channel-Read-Codec-Name": "PCMU",
    "Channel-Write-Codec-Name": "PCMU",
    "Channel-Read-Codec-Bit-Rate": "64000",
    "Channel-Write-Codec-Bit-Rate": "64000",
}


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
        self._last_dtmf_at: float | None = None

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
            if self.far_node is not None and not self.far_node.alive:
                return  # the process is gone: no BYE, no response (SIGKILL)
            if self.answered or leg.answered:
                self._to(self.near_node, self._near_bye, cause_at_near_side(cause))
            else:
                status = final_status(cause)
                self._to(self.near_node, self._near_refused, cause_at_near_side(cause), status)
        elif leg is self.near:
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

    def send_dtmf(self, digit: str) -> None:
        """An RFC 2833 digit from the near side, paced as FreeSWITCH sends them."""
        far, node = self.far, self.far_node
        if far is None or node is None or not node.alive:
            return
        clock = node.host.clock
        now = clock.monotonic()
        at = first_dtmf_delay(now, self._last_dtmf_at)
        self._last_dtmf_at = at
        clock.call_later(at - now, lambda: node.alive and far.queue_dtmf(digit))

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
        timeout_ms = survivor.get_var("media_timeout") or ""
        if timeout_ms.isdigit() and int(timeout_ms) > 0:
            # The RTP timer notices a frame later (captured 3.02-3.04 s for 3000 ms).
            clock.call_later(int(timeout_ms) / 1000 + SIP_HOP_S, self._media_timeout, survivor)

    def _media_timeout(self, leg: SipChannel) -> None:
        if leg.up:
            leg.set_var("sip_hangup_disposition", "send_bye")
            leg.hangup("MEDIA_TIMEOUT")


def _timeout_s(value: str | None, clock: Clock) -> float:
    """originate_timeout (default 60 s) from now: switch_ivr_originate compares whole
    seconds of time(NULL), so it fires between N-1 and N s (captured 4.35 s for 5)."""
    seconds = int(value) if value and value.isdigit() else 60
    start = clock.time()
    return math.floor(start) + seconds - start


class SipNode:
    """A node's mod_sofia: its profiles on the fabric, `bridge`, incoming INVITEs."""

    def __init__(
        self,
        host: ChannelHost,
        dialplan: Dialplan,
        register: Callable[[Channel], None],
        profiles: dict[str, dict[str, str]],
        fabric: SipFabric | None = None,
    ) -> None:
        self.host = host
        self.dialplan = dialplan
        self.register = register
        self.profiles = sip_profiles(profiles)
        self.fabric = fabric if fabric is not None else FABRIC
        self.alive = False
        self.dialogs: set[Dialog] = set()

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        self.alive = True
        for profile in self.profiles.values():
            if not self.fabric.bind(self, profile):
                # As sofia: the profile fails to start, the switch runs on without it.
                log.warning(
                    "SIP profile %s: %s is in use, profile not started",
                    profile.name,
                    profile.address,
                )

    def stop(self) -> None:
        self.fabric.unbind(self)
        self.alive = False

    def kill(self) -> None:
        """The process dies at once: its peers hear nothing more from it."""
        self.alive = False
        self.fabric.unbind(self)
        for dialog in list(self.dialogs):
            other = dialog.far_node if dialog.near_node is self else dialog.near_node
            if other is not None and other.alive:
                dialog.peer_died(self)
        self.dialogs.clear()

    # --- the far side: an INVITE arrives ----------------------------------------------

    def invite(self, dialog: Dialog, profile: SipProfile, headers: dict[str, str]) -> None:
        near = dialog.near
        cid_name = near.profile.caller_id_name
        cid_number = near.profile.caller_id_number
        user = near.profile.destination_number
        from_ip = dialog.near_node.source_ip(near)
        ch = SipChannel(
            self.host,
            f"sofia/{profile.name}/{cid_number}@{from_ip}",
            "inbound",
            CallerProfile(
                caller_id_name=cid_name,
                caller_id_number=cid_number,
                destination_number=user,
                context=profile.context,
                dialplan=profile.dialplan,
                source="mod_sofia",
            ),
            network_addr=from_ip,
            username=cid_number,
        )
        now_us = str(ch.created_us)
        from_uri = f"{cid_number}@{from_ip}"
        req_uri = f"{user}@{profile.address}"
        sip_vars = [
            ("sip_from_user", cid_number),
            ("sip_from_uri", from_uri),
            ("sip_from_host", from_ip),
            ("video_media_flow", "disabled"),
            ("audio_media_flow", "disabled"),
            ("text_media_flow", "disabled"),
            ("channel_name", ch.name),
            ("sip_call_id", dialog.call_id),
            ("sip_local_network_addr", profile.ip),
            ("sip_network_ip", from_ip),
            ("sip_network_port", "5080"),
            ("sip_invite_stamp", now_us),
            ("sip_received_ip", from_ip),
            ("sip_received_port", "5080"),
            ("sip_via_protocol", "udp"),
            ("sip_from_user_stripped", cid_number),
            ("sip_from_tag", dialog.call_id[:13]),
            ("sofia_profile_name", profile.name),
            ("sofia_profile_url", f"sip:mod_sofia@{profile.address}"),
            ("recovery_profile_name", profile.name),
            (
                "sip_Remote-Party-ID",
                f'"{cid_name}" <sip:{from_uri}>;party=calling;screen=yes;privacy=off',
            ),
            ("sip_cid_type", "rpid"),
            ("sip_from_display", cid_name),
            ("sip_full_from", f'"{cid_name}" <sip:{from_uri}>;tag={dialog.call_id[:13]}'),
            ("sip_full_to", f"<sip:{req_uri}>"),
            ("sip_req_user", user),
            ("sip_req_uri", req_uri),
            ("sip_req_host", profile.ip),
            ("sip_req_port", str(profile.port)),
            ("sip_to_user", user),
            ("sip_to_uri", req_uri),
            ("sip_to_host", profile.ip),
            ("sip_to_port", str(profile.port)),
            ("sip_user_agent", "FreeSWITCH-mod_sofia/1.10.12-release~64bit"),
            ("max_forwards", "70"),
        ]
        # The X- headers of the INVITE, as sip_h_<name> with the name as sent.
        sip_vars += [(f"sip_h_{name}", value) for name, value in headers.items()]
        sip_vars += [
            ("ep_codec_string", "CORE_PCM_MODULE.PCMU@8000h@20i@64000b"),
            ("endpoint_disposition", "DELAYED NEGOTIATION"),
        ]
        for key, value in sip_vars:
            ch.set_var(key, value)
        ch.variables["call_uuid"] = ch.uuid
        ch.call_state = "RINGING"
        ch.state = "CS_EXECUTE"
        ch.dialog = dialog
        dialog.far, dialog.far_node = ch, self
        self.dialogs.add(dialog)
        self.register(ch)
        fields = {
            "destination_number": user,
            "context": profile.context,
            "caller_id_number": cid_number,
            "caller_id_name": cid_name,
            "uuid": ch.uuid,
        }
        actions = self.dialplan.route(profile.context, fields)
        if not actions:
            ch.hangup("NO_ROUTE_DESTINATION")
            return
        self.dialplan.run_actions(ch, actions)

    def source_ip(self, leg: SipChannel) -> str:
        """The address this node's INVITE comes from: its profile's sip-ip."""
        name = leg.name.split("/")[1] if leg.name.count("/") >= 2 else ""
        profile = self.profiles.get(name)
        return profile.ip if profile is not None else "127.0.0.1"

    # --- the near side: the bridge application ----------------------------------------

    def app_bridge(self, ch: Channel, arg: str) -> str | None:
        from fsconf.sim.originate import split_originate

        variables, endpoint, _ = split_originate(arg)
        target = parse_sofia_url(endpoint)
        if target is None or target[0] not in self.profiles:
            # Only sofia URLs to a profile of this node are modelled; a real switch has
            # more endpoints (loopback/, user/, gateways), which the simulator lacks here.
            log.warning("[%s] bridge: endpoint %r not supported", ch.uuid, endpoint)
            return self._failed(ch, None, "CHAN_NOT_IMPLEMENTED", None)
        _, user, address = target
        name = variables.get("origination_caller_id_name") or ch.profile.caller_id_name
        number = variables.get("origination_caller_id_number") or ch.profile.caller_id_number
        profile = CallerProfile(
            caller_id_name=name,
            caller_id_number=number,
            callee_id_name=user,
            callee_id_number=user,
            destination_number=user,
            context=ch.profile.context,
            source=ch.profile.source,
        )
        leg = self._new_leg(endpoint, address, profile, variables)
        leg.state = "CS_EXCHANGE_MEDIA"
        dialog = Dialog(self, leg, ch)
        leg.dialog = dialog
        self.dialogs.add(dialog)
        try:
            return self._bridge(ch, leg, dialog, address, variables)
        finally:
            if not leg.up:
                self.dialogs.discard(dialog)

    def _new_leg(
        self, endpoint: str, address: str, profile: CallerProfile, variables: dict[str, str]
    ) -> SipChannel:
        leg = SipChannel(
            self.host,
            endpoint,
            "outbound",
            profile,
            network_addr=address.rpartition(":")[0],
            uuid=variables.get("origination_uuid"),
        )
        for key, value in variables.items():
            leg.set_var(key, value)
        leg.variables["call_uuid"] = leg.uuid
        leg.hit_dialplan = False
        self.register(leg)
        return leg

    def originate(
        self,
        variables: dict[str, str],
        endpoint: str,
        bpart: str,
        cid: tuple[str, str] | None,
    ) -> Channel | str | None:
        """`originate sofia/<profile>/<user>@<host:port> ...` (None: not a URL of ours):
        the leg runs `bpart` once the far node has answered."""
        target = parse_sofia_url(endpoint)
        if target is None or target[0] not in self.profiles:
            return None
        _, user, address = target
        profile = CallerProfile(
            caller_id_name=variables.get("origination_caller_id_name")
            or (cid[0] if cid else "")
            or "FreeSWITCH",
            caller_id_number=variables.get("origination_caller_id_number")
            or (cid[1] if cid else "")
            or "0000000000",
            callee_id_name="Outbound Call",
            callee_id_number=user,
            destination_number=user,
            context="default",
            source="mod_sofia",
        )
        leg = self._new_leg(endpoint, address, profile, variables)
        leg.state = "CS_EXECUTE"
        dialog = Dialog(self, leg, leg)
        leg.dialog = dialog
        self.dialogs.add(dialog)
        clock = self.host.clock
        if not self._send_invite(dialog, address, variables):
            leg.hangup("NORMAL_TEMPORARY_FAILURE")
            return "NORMAL_TEMPORARY_FAILURE"
        deadline = clock.monotonic() + _timeout_s(variables.get("originate_timeout"), clock)
        while not (dialog.answered or dialog.failure is not None or not leg.up):
            remaining = deadline - clock.monotonic()
            if remaining <= 0:
                break
            leg.wake.clear()
            clock.wait(leg.wake, remaining)
        if dialog.failure is not None or not dialog.answered:
            cause = dialog.failure[0] if dialog.failure is not None else "NO_ANSWER"
            leg.hangup(cause)
            return cause
        leg.answer()
        self.dialplan.run_bpart(leg, bpart)
        return leg

    def _send_invite(self, dialog: Dialog, address: str, variables: dict[str, str]) -> bool:
        """Send the INVITE; False when nothing listens there (port closed: sofia answers
        itself 503 after the ICMP error). Nobody answering at all ends at Timer B."""
        clock = self.host.clock
        found = self.fabric.lookup(address)
        if found is None:
            if self.fabric.swallows(address):
                clock.call_later(TIMER_B_S, dialog.no_response)
                return True
            clock.sleep(PORT_CLOSED_S)
            return False
        far_node, far_profile = found
        # The X- headers of the INVITE: the leg's sip_h_X-... variables, names as given.
        headers = {k[len("sip_h_") :]: v for k, v in variables.items() if k.startswith("sip_h_")}
        dialog._to(far_node, far_node.invite, dialog, far_profile, headers)
        return True

    def _bridge(
        self,
        ch: Channel,
        leg: SipChannel,
        dialog: Dialog,
        address: str,
        variables: dict[str, str],
    ) -> str | None:
        clock = self.host.clock
        if not self._send_invite(dialog, address, variables):
            return self._failed(ch, leg, "NORMAL_TEMPORARY_FAILURE", 503)
        timeout = variables.get("originate_timeout") or ch.get_var("originate_timeout")
        wait_s = _timeout_s(timeout, clock)
        outcome = ch.media_wait(
            wait_s, until=lambda: dialog.answered or dialog.failure is not None or not leg.up
        )
        if outcome == "hangup" or not ch.up:
            leg.hangup("ORIGINATOR_CANCEL")
            return None
        if dialog.failure is not None:
            cause, status = dialog.failure
            return self._failed(ch, leg, cause, status)
        if not dialog.answered:
            return self._failed(ch, leg, "NO_ANSWER" if leg.up else leg.hangup_cause or "", None)
        return self._bridged(ch, leg, dialog)

    def _bridged(self, ch: Channel, leg: SipChannel, dialog: Dialog) -> str | None:
        leg.answer()
        user = leg.profile.destination_number
        ch.profile.callee_id_name = ch.profile.callee_id_number = user
        for key, value in (
            ("originated_legs", f"{leg.uuid};Outbound Call;{user}"),
            ("originate_disposition", "SUCCESS"),
            ("DIALSTATUS", "SUCCESS"),
            ("originate_causes", f"{leg.uuid};NONE"),
            ("signal_bond", leg.uuid),
        ):
            ch.variables.pop(key, None)  # re-set: a variable keeps its first position
            ch.set_var(key, value)
        ch.other_leg = leg.originatee_headers

        def bridge_ids() -> Headers:
            return [("Bridge-A-Unique-ID", ch.uuid), ("Bridge-B-Unique-ID", leg.uuid)]

        ch.fire(
            "CHANNEL_BRIDGE",
            ("switch_ivr_bridge.c", "switch_ivr_multi_threaded_bridge", 1689),
            prefix=bridge_ids,
        )

        def forward(digit: str) -> bool:
            dialog.send_dtmf(digit)
            return False

        ch.media_wait(None, forward, until=lambda: not leg.up)
        if not ch.up:
            leg.hangup("NORMAL_CLEARING")
            ch.set_var("bridge_hangup_cause", "NORMAL_CLEARING")
        else:
            cause = leg.hangup_cause or "NORMAL_CLEARING"
            for key in ("last_bridge_to", "bridge_channel", "bridge_uuid"):
                ch.variables.pop(key, None)
            ch.set_var("last_bridge_to", leg.uuid)
            ch.set_var("bridge_channel", leg.name)
            ch.set_var("bridge_uuid", leg.uuid)
            ch.set_var("last_sent_callee_id_name", user)
            ch.set_var("last_sent_callee_id_number", user)
            status = dialog.end_status
            if status is not None:
                ch.set_var("sip_reason", f'Q.850;cause=16;text="{cause}"')
                ch.set_var("sip_hangup_phrase", SIP_PHRASES.get(status, ""))
            ch.set_var("last_bridge_hangup_cause", cause)
            if status is not None:
                ch.set_var("last_bridge_proto_specific_hangup_cause", f"sip:{status}")
            else:
                # A bridge that ended without a SIP message (media timeout) has none.
                ch.variables.pop("last_bridge_proto_specific_hangup_cause", None)
                ch.variables.pop("sip_hangup_phrase", None)
            ch.set_var("bridge_hangup_cause", cause)
        ch.fire(
            "CHANNEL_UNBRIDGE",
            ("switch_ivr_bridge.c", "switch_ivr_multi_threaded_bridge", 1786),
            prefix=bridge_ids,
        )
        return None

    def _failed(
        self, ch: Channel, leg: SipChannel | None, cause: str, status: int | None
    ) -> str | None:
        """switch_ivr_originate failed: the variables, then the caller hangs up unless
        continue_on_fail covers the cause (captured: CHANNEL_HANGUP before the
        bridge's EXECUTE_COMPLETE)."""
        if leg is not None:
            ch.set_var("originate_causes", f"{leg.uuid};{cause}")
            ch.set_var("originate_signal_bond", leg.uuid)
        ch.set_var("originate_disposition", cause)
        ch.set_var("DIALSTATUS", dial_status(cause))
        ch.set_var("originate_failed_cause", cause)
        ch.set_var("last_bridge_hangup_cause", cause)
        if status is not None:
            ch.set_var("last_bridge_proto_specific_hangup_cause", f"sip:{status}")
            ch.set_var("sip_hangup_phrase", SIP_PHRASES.get(status, ""))
        if leg is not None and leg.up:
            leg.hangup(cause)
        if not continues_on_fail(ch.get_var("continue_on_fail"), cause):
            ch.hangup(cause)
        return None
