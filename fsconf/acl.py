"""Who may connect to the controller: `[controller] allow_from`, pure.

An outbound Event Socket connection hands the controller a call and trusts what the
peer says about it, so only FreeSWITCH hosts may open one. Loopback by default.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or networks (``10.0.0.5``, ``10.0.0.0/24``, ``::1``); ValueError names
    the entry that is neither."""
    out = []
    for entry in entries:
        try:
            out.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or network") from None
    return tuple(out)


def admitted(peer: str, networks: Iterable[Network]) -> bool:
    """Whether a connection from `peer` (an address as the socket reports it) is allowed."""
    try:
        address = ipaddress.ip_address(peer.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # an IPv4 peer on a dual-stack socket
    return any(address in net for net in networks)


def admits_everyone(networks: Iterable[Network]) -> bool:
    return any(net.prefixlen == 0 for net in networks)


def is_loopback_host(host: str) -> bool:
    """A listen address only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name or wildcard: assume reachable from elsewhere


def exposure(host: str, allow_from: Iterable[str]) -> str:
    """Why listening on `host` with this ACL lets strangers in, or "" when it does not.

    `serve` logs it at start and `doctor` shows it: an outbound connection is a call
    handed over, and the peer decides the caller ID and the number dialled."""
    if is_loopback_host(host) or not admits_everyone(parse_networks(allow_from)):
        return ""
    return (
        f"the controller listens on {host}, reachable from other hosts, and [controller]"
        " allow_from admits every address: anyone who reaches its port can feed it calls"
    )
