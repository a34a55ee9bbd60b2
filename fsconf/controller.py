"""The controller: the outbound Event Socket server wired to the call flows.

Library code: it does not monkey-patch; `fsconf serve` (the entry point) does that.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import TypeVar

import gevent

from fsconf.acl import parse_networks
from fsconf.callflow.adopted import Adoption
from fsconf.callflow.context import CallContext
from fsconf.callflow.events import CALL_SUBSCRIPTION
from fsconf.callflow.invite import InviteFlow
from fsconf.callflow.join import JoinFlow
from fsconf.callflow.line import PhoneLine
from fsconf.callflow.roomleg import RoomLegFlow, is_internal_leg
from fsconf.conference import takeover
from fsconf.conference.commands import ConferenceApi, all_rooms
from fsconf.conference.follower import FOLLOW_EVENTS, Follower
from fsconf.conference.room import Room
from fsconf.config import Settings
from fsconf.domain.dialout_policy import policy_from_settings
from fsconf.domain.states import EndReason
from fsconf.esl.connection import EslError
from fsconf.esl.inbound import InboundClient
from fsconf.esl.server import OutboundServer
from fsconf.esl.session import CallGone, OutboundSession
from fsconf.store.callstore import CallStore, StoreUnavailable
from fsconf.store.clusterstore import ClusterStore
from fsconf.store.reconcile import ReconcileReport
from fsconf.store.session import Database

log = logging.getLogger(__name__)
T = TypeVar("T")


class Controller:
    """Serves calls; on start reconciles with FreeSWITCH and adopts surviving members."""

    def __init__(self, settings: Settings, db: Database | None = None) -> None:
        self.settings = settings
        # Checkpoints of the embedded database's log run in a thread of their own: inside
        # a commit they would stall every call in the process (see WalCheckpointer).
        self.db = db or Database(
            settings.database_url, busy_timeout=settings.database.sqlite_busy_timeout,
            synchronous=settings.database.sqlite_synchronous, background_checkpoint=True,
        )
        self.store = CallStore(self.db, settings.security, node=settings.node)
        cl = settings.cluster
        # Cluster: the heartbeat and lease renewals get connections of their own (the
        # same database), so a busy node keeps its rooms (ClusterStore).
        self.duty_db = Database(self.db.url) if cl.enabled else None
        self.ctx = CallContext(
            settings=settings, store=self.store, policy=policy_from_settings(settings.dialout),
            cluster=ClusterStore(
                self.store, cl.node, cl.internal_sip, cl.lease_seconds, cl.max_members,
                cl.esl_address or f"{settings.freeswitch.host}:{settings.freeswitch.port}",
                duties=CallStore(self.duty_db, settings.security, node=settings.node),
            ) if self.duty_db is not None else None,
        )
        c = settings.controller
        self.server = OutboundServer(
            c.host, c.port, handler=self.handle_call, busy_handler=self.handle_busy,
            max_calls=c.max_calls, timeout=c.command_timeout, subscription=CALL_SUBSCRIPTION,
            allow_from=parse_networks(c.allow_from),
        )
        self.follower = Follower()
        self.adoption = Adoption(self.ctx, self.follower, self._room_api)
        self.inbound: InboundClient | None = None
        self._heartbeat: gevent.Greenlet | None = None
        self._cluster_loop: gevent.Greenlet | None = None
        self.last_reconcile: ReconcileReport | None = None

    @property
    def address(self) -> tuple[str, int]:
        return self.server.address

    def start(self) -> None:
        node = self.settings.node
        if self.settings.controller.reconcile_on_start:
            self._since = self._safely(lambda: self.store.last_known_alive(node))
            fs = self.settings.freeswitch
            self.inbound = InboundClient(
                fs.host, fs.port, fs.password, timeout=self.settings.controller.command_timeout,
                events=FOLLOW_EVENTS, on_event=self.follower.on_event,
                on_reconnect=self.resync, reconnect=True,
            )
            self.follower.attach(self.inbound)
            self.inbound.connect()
            self.resync()
        self._safely(lambda: self.store.heartbeat(node, started=True))
        self._heartbeat = gevent.spawn(self._beat)
        if self.ctx.cluster is not None:
            cluster = self.ctx.cluster
            self._safely(lambda: cluster.beat(started=True))
            self._cluster_loop = gevent.spawn(self._cluster_duties)
        self.server.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop accepting; give calls still in the join flow time to finish.

        Calls already in a conference go on: FreeSWITCH owns their media, and the next
        controller to start takes their keypads back.
        """
        grace = self.settings.controller.graceful_stop_timeout if timeout is None else timeout
        self.server.stop_accepting()
        deadline = time.monotonic() + grace
        while self._calls_in_join_flow() and time.monotonic() < deadline:
            gevent.sleep(0.1)
        # Member loops let go at their next safe point; the rest (calls still in the join
        # flow after the grace period) are interrupted and reconciled by the next controller.
        self.ctx.stopping = True
        for session in list(self.server.sessions.values()):
            session.wake()
        self.follower.detach_all()
        if not self.server.wait_idle(5.0):
            log.info("leaving %d calls to FreeSWITCH", len(self.server.active))
            self.server.detach(list(self.server.active))
        if self._heartbeat is not None:
            self._heartbeat.kill()
        if self._cluster_loop is not None:
            self._cluster_loop.kill()
        self._safely(lambda: self.store.mark_stopped(self.settings.node))
        if self.inbound is not None:
            self.inbound.close()
        if self.duty_db is not None:
            self.duty_db.dispose()

    def _calls_in_join_flow(self) -> int:
        in_conf = self.ctx.in_conference
        return sum(1 for s in self.server.sessions.values() if s.uuid not in in_conf)

    def _beat(self) -> None:
        while True:
            gevent.sleep(self.settings.controller.heartbeat_seconds)
            self._safely(lambda: self.store.heartbeat(self.settings.node))

    def _cluster_duties(self) -> None:
        """Cluster: heartbeat on the database clock, renew the leases of the rooms this
        node hosts (a refused renewal means another node took the room over: fenced),
        and close the calls of nodes that died. A few times per lease."""
        cluster = self.ctx.cluster
        assert cluster is not None
        while True:
            self.cluster_tick()
            gevent.sleep(max(0.1, self.settings.cluster.lease_seconds / 3))

    def cluster_tick(self) -> None:
        cluster = self.ctx.cluster
        if cluster is None:
            return
        self._safely(cluster.beat)
        for room in self.ctx.rooms:
            if not room.epoch or room.fenced:
                continue
            renewed = self._safely(
                lambda r=room: cluster.renew(r.conference_id, r.epoch)  # type: ignore[misc]
            )
            if renewed is False:
                log.warning("conference %s: lease epoch %d lost to another node; fenced",
                            room.number, room.epoch)
                room.fenced = True
                self._step_down(room)
        closed = self._safely(cluster.close_dead_nodes_calls) or []
        if closed:
            log.warning("closed %d calls of dead nodes as lost", len(closed))

    @staticmethod
    def _safely(work: Callable[[], T]) -> T | None:
        try:
            return work()
        except StoreUnavailable as exc:
            log.warning("database unavailable: %s", exc)
            return None

    # -- reconciliation -------------------------------------------------------------------

    def resync(self) -> None:
        """Make the database agree with FreeSWITCH; take back surviving members' keypads."""
        inbound = self.inbound
        if inbound is None or not inbound.connected:
            return
        self.follower.apply_filters()
        try:
            rooms = all_rooms(inbound.api)
            channels = json.loads(inbound.api("show channels as json") or "{}")
        except (EslError, ValueError) as exc:
            log.warning("reconciliation skipped: %s", exc)
            return
        members = {
            m.get("uuid"): m for room in rooms if isinstance(room, dict)
            for m in room.get("members", []) if m.get("type") == "caller"
        }
        present = {
            room.get("conference_name", ""): {
                m.get("uuid") for m in room.get("members", []) if m.get("type") == "caller"
            }
            for room in rooms
        }
        alive = {row.get("uuid") for row in channels.get("rows", []) or []}
        try:
            legs = Adoption.room_legs(inbound, list(members)) if self.ctx.cluster else None
            report = self.store.reconcile(
                node=self.settings.node, present=present,
                channel_exists=alive.__contains__, since=getattr(self, "_since", None),
                room_legs=legs,
            )
        except EslError as exc:
            log.warning("reconciliation skipped: %s", exc)
            return
        except StoreUnavailable as exc:
            log.warning("reconciliation postponed, database unavailable: %s", exc)
            return
        self.last_reconcile = report
        adopted = sum(
            self.adoption.adopt(kept, members.get(kept.call_uuid, {})) for kept in report.kept
        )
        log.info(
            "reconciled with FreeSWITCH: %d calls closed as lost, %d meetings closed, "
            "%d members kept (%d keypads taken back)",
            len(report.closed_calls), len(report.closed_meetings), len(report.kept), adopted,
        )
        for room in self.ctx.rooms:
            if room.fenced and not room.stepped_down:
                # Taken over while this controller was away: the meeting lives elsewhere.
                self._step_down(room)
                self.adoption.let_go_strangers(inbound, room, rooms, set((legs or {}).values()))

    def _step_down(self, room: Room) -> None:
        api = self._room_api(room)
        if api is not None:
            takeover.step_down(room, api)

    def _room_api(self, room: Room) -> ConferenceApi | None:
        """Commands for a room on behalf of the node: over the inbound socket, else over
        any member's own socket."""
        inbound = self.inbound
        if inbound is not None and inbound.connected:
            return ConferenceApi(inbound.api, room.fs_name, inbound.api_many)
        send = next((m.send for m in room.present() if m.send is not None), None)
        return ConferenceApi(send, room.fs_name) if send is not None else None

    def handle_call(self, session: OutboundSession) -> None:
        line = PhoneLine(session, self.settings.ivr)
        returning = session.var("fsconf_attendance_id") or ""
        if returning:
            self._returning_member(session, returning)
            return
        if is_internal_leg(self.ctx, session):
            RoomLegFlow(self.ctx, line).run()
            return
        invite_id = session.var("fsconf_invite_id") or ""
        if invite_id:
            if not invite_id.isdigit():
                log.warning("call %s: malformed fsconf_invite_id %r", session.uuid, invite_id)
                session.hangup()
                return
            InviteFlow(self.ctx, line, int(invite_id)).run()
        else:
            JoinFlow(self.ctx, line).run()

    def _returning_member(self, session: OutboundSession, attendance_id: str) -> None:
        """A member whose controller went away left the conference and the dialplan sent
        the call here (its next socket action): record how it ended and hang up."""
        if not attendance_id.isdigit():
            session.hangup()
            return
        try:
            ended, meeting_end = self.store.attendance_state(int(attendance_id))
            if ended is None:
                reason = EndReason(meeting_end) if meeting_end in (
                    EndReason.ENDED_BY_MODERATOR, EndReason.ENDED_BY_OPERATOR
                ) else EndReason.KICKED
                self.store.finish(int(attendance_id), session.uuid, reason)
        except StoreUnavailable as exc:
            log.warning("call %s: could not record its end: %s", session.uuid, exc)
        session.hangup()

    def handle_busy(self, session: OutboundSession) -> None:
        log.warning("call %s refused: %d calls in progress", session.uuid,
                    len(self.server.active) - 1)
        line = PhoneLine(session, self.settings.ivr)
        try:
            line.answer()
            line.play("busy_try_later")
        except CallGone:
            return
        line.hangup("NORMAL_CLEARING")
