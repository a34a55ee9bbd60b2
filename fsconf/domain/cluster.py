"""Scale-out rules, pure: where a new room lives, and the signed X-Fsconf headers that
bring a caller from the node they rang to the room's owner node.

The headers travel in the SIP INVITE between nodes (`sip_h_X-Fsconf-*` on the bridging
side, `variable_sip_h_X-Fsconf-*` in the owner's `connect` data: G_two_nodes_bridge
FINDINGS 5-6). The owner admits a leg without a second IVR only when the HMAC over them
checks out and has not expired, so a forged header from the trunk never skips a PIN.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fsconf.domain.roles import Role

HEADER_PREFIX = "X-Fsconf-"
# The headers, in the order they are signed.
SIGNED = ("Room", "Role", "Attendance", "Epoch", "Expires")
SIGNATURE = "Signature"
ROOM_USER_PREFIX = "fsconf-room-"

_DIGITS = re.compile(r"^[0-9]{1,18}$")
_HEX = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class NodeLoad:
    name: str
    members: int
    alive: bool
    drained: bool


def place_room(first: str, nodes: Sequence[NodeLoad], max_members: int) -> str:
    """The node a new room goes to: the one its first caller landed on, unless that node
    is drained or at its load limit; then the least-loaded live node (by name on a tie).
    With no better node the caller's own node hosts it: a meeting beats a refusal."""

    def fits(n: NodeLoad) -> bool:
        return n.alive and not n.drained and (max_members <= 0 or n.members < max_members)

    own = next((n for n in nodes if n.name == first), None)
    if own is not None and fits(own):
        return first
    candidates = [n for n in nodes if fits(n)]
    if not candidates:
        candidates = [n for n in nodes if n.alive and not n.drained]
    if not candidates:
        return first
    return min(candidates, key=lambda n: (n.members, n.name)).name


@dataclass(frozen=True)
class RoomTicket:
    """What the answering node vouches for: this attendance may join this room as role,
    under the owner's lease epoch, until `expires` (Unix seconds)."""

    room: str
    role: Role
    attendance_id: int
    epoch: int
    expires: int

    def values(self) -> dict[str, str]:
        return {
            "Room": self.room,
            "Role": self.role.value,
            "Attendance": str(self.attendance_id),
            "Epoch": str(self.epoch),
            "Expires": str(self.expires),
        }


class BadTicket(ValueError):
    """Headers missing, malformed, forged or expired: the leg gets no shortcut."""


def _mac(secret: str, values: Mapping[str, str]) -> str:
    message = "|".join(values[name] for name in SIGNED).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(ticket: RoomTicket, secret: str) -> dict[str, str]:
    """The headers (without the X-Fsconf- prefix) with their HMAC-SHA256."""
    if not secret:
        raise ValueError("no cluster secret")
    values = ticket.values()
    for name in ("Room", "Attendance", "Epoch", "Expires"):
        if not _DIGITS.fullmatch(values[name]):
            raise ValueError(f"{name} must be digits")
    return {**values, SIGNATURE: _mac(secret, values)}


def verify(headers: Mapping[str, str], secret: str, now: float) -> RoomTicket:
    """Check the headers (without prefix) against the secret and the clock `now`."""
    if not secret:
        raise BadTicket("no cluster secret configured")
    try:
        values = {name: headers[name] for name in SIGNED}
        signature = headers[SIGNATURE]
    except KeyError as exc:
        raise BadTicket(f"missing header {exc.args[0]}") from None
    for name in ("Room", "Attendance", "Epoch", "Expires"):
        if not _DIGITS.fullmatch(values[name]):
            raise BadTicket(f"malformed {name}")
    if values["Role"] not in (Role.MODERATOR.value, Role.PARTICIPANT.value):
        raise BadTicket("malformed Role")
    if not _HEX.fullmatch(signature):
        raise BadTicket("malformed signature")
    # Constant time: the time taken says nothing about how close a forgery came.
    if not hmac.compare_digest(signature.encode(), _mac(secret, values).encode()):
        raise BadTicket("bad signature")
    if int(values["Expires"]) < now:
        raise BadTicket("expired")
    return RoomTicket(
        room=values["Room"], role=Role(values["Role"]), attendance_id=int(values["Attendance"]),
        epoch=int(values["Epoch"]), expires=int(values["Expires"]),
    )


def room_user(number: str) -> str:
    """The SIP user a room leg is sent to (the internal context routes fsconf-room-<digits>)."""
    if not _DIGITS.fullmatch(number):
        raise ValueError("conference number must be digits")
    return f"{ROOM_USER_PREFIX}{number}"
