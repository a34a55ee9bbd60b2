"""mod_sofia between simulated nodes: the SIP network (SipFabric), the sofia profiles
of a node, and the pure SIP facts the captures show (status codes, causes, DIALSTATUS,
RFC 2833 pacing, the originate timeout).

Each node binds its sofia profiles' addresses (sip-ip:sip-port of sofia.conf) in a
SipFabric; `bridge {..}sofia/<profile>/<user>@<host:port>` on one node then creates the far
node's inbound SIP channel (sofia.py, sipleg.py). No SIP is parsed: a Dialog carries what
the INVITE, its responses, BYE and RFC 2833 DTMF would, with the timing and the channel
data of two real FreeSWITCH 1.10.12 nodes (G_two_nodes_bridge captures).
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fsconf.sim.sofia import SipNode

# One SIP hop between nodes on a loopback network (captured: ~20 ms per message).
SIP_HOP_S = 0.02
# Port closed: the ICMP port-unreachable makes sofia answer itself 503 (captured 41 ms).
PORT_CLOSED_S = 0.041
# switch_ivr_originate's wait for an answer when no originate_timeout is set.
ORIGINATE_TIMEOUT_S = 60
# Timer B: an INVITE without any response fails after 64*T1 (captured 32.0 s, 408).
TIMER_B_S = 32.0
# RFC 2833 DTMF as FreeSWITCH sends it: the first digit arrives ~0.29 s after the
# uuid_send_dtmf, the next ones ~0.64 s apart (captured +0.29, +0.93, +1.57 s).
DTMF_FIRST_S = 0.29
DTMF_SPACING_S = 0.64

SIP_PHRASES = {
    200: "OK",
    403: "Forbidden",
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


def originate_wait_s(
    value: str | None, start_epoch: float, default_s: float = ORIGINATE_TIMEOUT_S
) -> float:
    """originate_timeout (default 60 s) from start_epoch: switch_ivr_originate compares
    whole seconds of time(NULL), so it fires between N-1 and N s (captured 4.35 s for 5)."""
    seconds = int(value) if value and value.isdigit() else default_s
    return math.floor(start_epoch) + seconds - start_epoch


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
    inbound_codecs: tuple[str, ...] = ("PCMU", "PCMA")
    outbound_codecs: tuple[str, ...] = ("PCMU", "PCMA")
    inbound_acl: str = ""  # apply-inbound-acl: the acl.conf list INVITEs must pass

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
            codec_names(p.get("inbound-codec-prefs")),
            codec_names(p.get("outbound-codec-prefs")),
            p.get("apply-inbound-acl") or "",
        )
    return profiles


AclList = tuple[str, list[tuple[str, str]]]  # (default, [(node type, cidr), ...])

# Lists FreeSWITCH builds itself at start-up (switch_core.c); only loopback.auto modelled.
BUILTIN_ACLS: dict[str, AclList] = {
    "loopback.auto": ("deny", [("allow", "127.0.0.0/8"), ("allow", "::1/128")]),
}


def acl_allows(acl: AclList | None, ip: str) -> bool:
    """switch_check_network_list_ip: the most specific node containing `ip` decides, else
    the list's default; a list that does not exist admits nobody."""
    if acl is None:
        return False
    default, nodes = acl
    best: tuple[int, bool] | None = None
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    for kind, cidr in nodes:
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            continue
        inside = addr.version == net.version and addr in net
        if inside and (best is None or net.prefixlen >= best[0]):
            best = (net.prefixlen, kind == "allow")
    return best[1] if best is not None else default == "allow"


def codec_names(prefs: str | None) -> tuple[str, ...]:
    """'PCMA,PCMU@20i' -> ("PCMA", "PCMU"); unset: PCMU,PCMA (the captured profiles')."""
    names = tuple(c.split("@")[0].strip().upper() for c in (prefs or "").split(","))
    return tuple(n for n in names if n) or ("PCMU", "PCMA")


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
