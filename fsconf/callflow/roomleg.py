"""The owner node's side of a bridged caller: admit the leg, join it, serve its keys.

Admitted only when the leg came in on the internal SIP profile into its context (the
`connect` data: `variable_sofia_profile_name`, `Caller-Context`; G_two_nodes_bridge
FINDINGS 6) AND its X-Fsconf headers carry a valid, unexpired HMAC AND this node holds
the room's lease at the epoch they name. A trunk call never gets here (see
`is_internal_leg`): forged headers there just meet the normal IVR.
"""

from __future__ import annotations

import logging
import os
import time

from fsconf.callflow.context import CallContext
from fsconf.callflow.invite import make_inviter
from fsconf.callflow.line import PhoneLine
from fsconf.callflow.member import Membership, remove_quietly
from fsconf.domain.cluster import HEADER_PREFIX, SIGNATURE, SIGNED, BadTicket, room_user, verify
from fsconf.domain.states import EndReason
from fsconf.esl.server import ControllerStopping
from fsconf.esl.session import CallGone, OutboundSession
from fsconf.store.callstore import StoreUnavailable

log = logging.getLogger(__name__)


def is_internal_leg(ctx: CallContext, session: OutboundSession) -> bool:
    """Did this call come from another node over the internal profile?"""
    c = ctx.settings.cluster
    return (
        c.enabled
        and session.var("sofia_profile_name") == c.internal_profile
        and session.channel.get("Caller-Context") == c.internal_context
    )


class RoomLegFlow:
    def __init__(self, ctx: CallContext, line: PhoneLine) -> None:
        assert ctx.cluster is not None
        self.ctx = ctx
        self.cluster = ctx.cluster
        self.line = line

    def run(self) -> None:
        session = self.line.session
        headers = {
            name: session.var(f"sip_h_{HEADER_PREFIX}{name}") or ""
            for name in (*SIGNED, SIGNATURE)
        }
        try:
            ticket = verify(headers, self.ctx.settings.cluster.secret, time.time())
            if self.line.destination != room_user(ticket.room):
                raise BadTicket("destination is not the ticket's room")
            admitted = self.cluster.admission(ticket.attendance_id, ticket.room, ticket.epoch)
            conference = (
                self.ctx.store.conference_by_id(admitted.conference_id) if admitted else None
            )
        except (BadTicket, ValueError) as exc:
            log.warning("call %s: room leg refused: %s", self.line.uuid, exc)
            self._refuse()
            return
        except StoreUnavailable as exc:
            log.warning("call %s: room leg refused, database unavailable: %s", self.line.uuid, exc)
            self._refuse()
            return
        if admitted is None or conference is None:
            # Not our room at that epoch (taken over, or never ours): the far node
            # follows the lease to the right owner.
            log.warning("call %s: room leg for conference %s epoch %d: not the lease holder",
                        self.line.uuid, ticket.room, ticket.epoch)
            self._refuse()
            return
        membership = Membership(
            self.ctx, self.line, conference, ticket.role, ticket.attendance_id,
            inviter=make_inviter(self.ctx, conference),
        )
        membership.held_elsewhere = membership.seated_earlier = True
        reason = EndReason.HUNG_UP
        try:
            self.line.answer()
            if conference.language != self.line.language:
                self.line.set_language(conference.language)
            membership.name_file = name_here(
                self.ctx, ticket.attendance_id, conference.number, self.line.uuid
            )
            # Held for the chair like a local caller, as the owner judges it now (the
            # answering node's seat may predate a moderator's arrival). The recording
            # notice was played on the answering node, before the bridge.
            reason = membership.enter(
                admitted.meeting_id, locked=admitted.locked, muted_all=admitted.muted_all,
                epoch=ticket.epoch, chair_arrived=admitted.chair_arrived,
                recording=admitted.recording, hand_raised_at=admitted.hand_raised_at,
            )
        except CallGone:
            reason = EndReason.HUNG_UP
        except ControllerStopping:
            raise  # the member stays in the room; the next controller adopts nothing here
        finally:
            membership.leave()
            remove_quietly(membership.name_file)
        log.info("call %s: room leg of attendance %d left conference %s (%s)",
                 self.line.uuid, ticket.attendance_id, conference.number, reason.value)
        if not self.line.session.gone.is_set():
            # Our hang-up ends the bridge on the caller's node (FINDINGS 15), whose
            # controller records how the call ended.
            try:
                self.line.hangup()
            except CallGone:
                pass

    def _refuse(self) -> None:
        try:
            self.line.hangup("CALL_REJECTED")  # 603 to the bridging node (FINDINGS 32)
        except CallGone:
            pass


def name_here(ctx: CallContext, attendance_id: int, number: str, leg_uuid: str) -> str | None:
    """The caller's name recording, written from the database to this node's disk (kept
    if it is there already: a restarted controller takes the leg back)."""
    assert ctx.cluster is not None
    folder = os.path.join(ctx.settings.freeswitch.recordings_dir, number)
    path = os.path.join(folder, f"{leg_uuid}.wav")
    if os.path.exists(path):
        return path
    try:
        audio = ctx.cluster.load_name(attendance_id)
    except StoreUnavailable:
        return None
    if not audio:
        return None
    os.makedirs(folder, exist_ok=True)
    with open(path, "wb") as f:
        f.write(audio)
    return path
