"""The call flow's door to the database: one unit of work per question, outages contained.

A database outage becomes `StoreUnavailable`, which the call flow turns into the
"technical problem" prompt. Writes that record how a call ended are too important to
lose: when they fail they are retried in the background until the database returns, and
only after `retry_for` seconds is the loss logged with the call's UUID.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import TypeVar

import gevent
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from fsconf.config import SecuritySettings
from fsconf.store import call_queries, cluster, meeting_features, reconcile
from fsconf.store.call_queries import (
    AccessScope,
    CallStart,
    ConferenceChoice,
    ConferenceInfo,
    Departure,
    LockoutLimits,
    Seat,
)
from fsconf.store.models import Attendance, DialOutAttempt, EndReason, Meeting, utcnow
from fsconf.store.session import Database

log = logging.getLogger(__name__)
T = TypeVar("T")


class StoreUnavailable(RuntimeError):
    """The database did not answer; the caller hears the technical-problem prompt."""


class RoomFenced(StoreUnavailable):
    """This node no longer holds the room's lease at its epoch: the write is refused."""


class CallStore:
    def __init__(
        self, db: Database, security: SecuritySettings, retry_for: float = 300.0,
        node: str | None = None,
    ) -> None:
        self.db = db
        self.node = node  # the node whose controller holds the calls this store opens
        self.limits = LockoutLimits(
            max_per_conference=security.max_failures_per_conference,
            max_per_caller=security.max_failures_per_caller,
            window=dt.timedelta(seconds=security.window_seconds),
            block=dt.timedelta(seconds=security.block_seconds),
            trusted_for=dt.timedelta(days=security.trusted_caller_days),
        )
        self.retry_for = retry_for
        self.pending_writes = 0
        self.lost_writes = 0

    def _run(self, work: Callable[[Session], T]) -> T:
        try:
            with self.db.unit_of_work() as session:
                return work(session)
        except OperationalError as exc:
            raise StoreUnavailable(_first_line(exc)) from exc
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            raise StoreUnavailable(_first_line(exc)) from exc

    def _run_durably(self, what: str, call_uuid: str, work: Callable[[Session], T]) -> T | None:
        """Try now; if the database is down, keep trying in the background."""
        try:
            return self._run(work)
        except StoreUnavailable as exc:
            log.warning("call %s: %s deferred, database unavailable: %s", call_uuid, what, exc)
            self.pending_writes += 1
            gevent.spawn(self._retry, what, call_uuid, work)
            return None

    def _retry(self, what: str, call_uuid: str, work: Callable[[Session], object]) -> None:
        delay, waited = 0.5, 0.0
        try:
            while waited < self.retry_for:
                gevent.sleep(delay)
                waited += delay
                try:
                    self._run(work)
                    log.info("call %s: deferred %s written after %.1fs", call_uuid, what, waited)
                    return
                except StoreUnavailable:
                    delay = min(delay * 2, 10.0)
            self.lost_writes += 1
            log.error("call %s: %s LOST after %.0fs of database outage", call_uuid, what, waited)
        finally:
            self.pending_writes -= 1

    # -- the join flow's questions -----------------------------------------------------------
    # A call asks four: start_call, choose_conference, claim_seat, finish (which also
    # notes the member id: only people reading the history use it, never a live call).
    # Each unit of work costs a transaction (on SQLite, the process-wide writer lock), so
    # questions asked at the same moment share one.

    def start_call(
        self, *, call_uuid: str, dialled: str, caller_id_number: str | None,
        caller_id_name: str | None, lockout_caller: str | None,
    ) -> CallStart:
        return self._run(
            lambda s: call_queries.start_call(
                s, limits=self.limits, call_uuid=call_uuid, dialled=dialled,
                caller_id_number=caller_id_number, caller_id_name=caller_id_name,
                lockout_caller=lockout_caller, node=self.node,
            )
        )

    def choose_conference(
        self, scope: AccessScope, number: str, attendance_id: int, lockout_caller: str | None
    ) -> ConferenceChoice:
        return self._run(
            lambda s: call_queries.choose_conference(
                s, limits=self.limits, scope=scope, number=number,
                attendance_id=attendance_id, lockout_caller=lockout_caller,
            )
        )

    def open_attendance(self, **kwargs: object) -> int:
        return self._run(lambda s: call_queries.open_attendance(s, **kwargs))  # type: ignore[arg-type]

    def conference_by_id(self, conference_id: int) -> ConferenceInfo | None:
        return self._run(lambda s: call_queries.conference_by_id(s, conference_id))

    def lockout(self, caller_id_number: str | None, conference_id: int | None) -> str | None:
        return self._run(
            lambda s: call_queries.lockout_reason(
                s, limits=self.limits, caller_id_number=caller_id_number,
                conference_id=conference_id,
            )
        )

    def record_failure(
        self, kind: str, call_uuid: str, caller_id_number: str | None, conference_id: int | None
    ) -> None:
        self._run_durably(
            f"{kind} failure",
            call_uuid,
            lambda s: call_queries.record_pin_failure(
                s, limits=self.limits, kind=kind, call_uuid=call_uuid,
                caller_id_number=caller_id_number, conference_id=conference_id,
            ),
        )

    def claim_seat(self, **kwargs: object) -> Seat:
        return self._run(lambda s: call_queries.claim_seat(s, **kwargs))  # type: ignore[arg-type]

    def finish(
        self, attendance_id: int, call_uuid: str, reason: EndReason,
        member_id: int | None = None,
    ) -> Departure | None:
        at = utcnow()
        return self._run_durably(
            f"end of call ({reason})", call_uuid,
            lambda s: call_queries.finish_attendance(s, attendance_id, reason, at, member_id),
        )

    def meeting_end_reason(self, meeting_id: int) -> str | None:
        return self._run(
            lambda s: s.scalar(select(Meeting.end_reason).where(Meeting.id == meeting_id))
        )

    def set_room_flags(
        self, conference_id: int, epoch: int, meeting_id: int, **flags: object
    ) -> None:
        """A clustered room's flags, written only while this node holds the lease at
        `epoch`; a stale owner's write raises RoomFenced (see store.cluster)."""
        values = {k: v for k, v in flags.items() if v is not None}
        node = self.node or ""
        try:
            self._run(
                lambda s: cluster.set_meeting_flags_fenced(
                    s, meeting_id, conference_id, node, epoch, values
                )
            )
        except cluster.Fenced as exc:
            raise RoomFenced(str(exc)) from exc

    def set_meeting_flags(self, meeting_id: int, **flags: object) -> None:
        self._run_durably(
            "meeting state", f"meeting-{meeting_id}",
            lambda s: call_queries.set_meeting_flags(s, meeting_id, **flags),  # type: ignore[arg-type]
        )

    # -- meeting features (issue 22) -----------------------------------------------------------

    def start_recording(
        self, *, conference_id: int, meeting_id: int, path: str, attendance_id: int | None
    ) -> int:
        return self._run(
            lambda s: meeting_features.start_recording(
                s, conference_id=conference_id, meeting_id=meeting_id, path=path,
                attendance_id=attendance_id,
            )
        )

    def stop_recordings(self, meeting_id: int) -> None:
        at = utcnow()
        self._run_durably(
            "recording end", f"meeting-{meeting_id}",
            lambda s: meeting_features.stop_recordings(s, meeting_id, at),
        )

    def set_hand(self, attendance_id: int, raised_at: dt.datetime | None) -> None:
        """The hand's time, kept on the row: a room's next owner queues hands by it."""
        self._run_durably(
            "raised hand", f"attendance-{attendance_id}",
            lambda s: meeting_features.set_hand(s, attendance_id, raised_at),
        )

    def recording_running(self, meeting_id: int) -> bool:
        """A recording row of the meeting is open (on whichever node records it)."""
        return self._run(lambda s: meeting_features.running_recording(s, meeting_id)) is not None

    def resume_recording(
        self, *, conference_id: int, meeting_id: int, path: str, epoch: int
    ) -> int:
        """Cluster: carry a taken-over room's recording on in a new row (fenced: raises
        RoomFenced when this node no longer holds the lease at `epoch`)."""
        node = self.node or ""
        try:
            return self._run(lambda s: meeting_features.resume_recording(
                s, conference_id=conference_id, meeting_id=meeting_id, path=path,
                node=node, epoch=epoch,
            ))
        except cluster.Fenced as exc:
            raise RoomFenced(str(exc)) from exc

    def interrupt_recordings(self, meeting_id: int) -> None:
        at = utcnow()
        self._run_durably(
            "recording interrupted", f"meeting-{meeting_id}",
            lambda s: meeting_features.interrupt_recordings(s, meeting_id, at),
        )

    def seated_moderators(self, meeting_id: int) -> set[int]:
        return self._run(lambda s: meeting_features.seated_moderators(s, meeting_id))

    def set_waited(self, attendance_id: int, seconds: int) -> None:
        self._run_durably(
            "waiting time", f"attendance-{attendance_id}",
            lambda s: meeting_features.set_waited(s, attendance_id, seconds),
        )

    # -- controller life -------------------------------------------------------------------

    def heartbeat(self, node: str, *, started: bool = False) -> None:
        self._run(lambda s: reconcile.heartbeat(s, node, started=started))

    def mark_stopped(self, node: str) -> None:
        self._run(lambda s: reconcile.mark_stopped(s, node))

    def last_known_alive(self, node: str) -> dt.datetime | None:
        return self._run(lambda s: reconcile.last_known_alive(s, node))

    def reconcile(self, **kwargs: object) -> reconcile.ReconcileReport:
        return self._run(lambda s: reconcile.reconcile(s, **kwargs))  # type: ignore[arg-type]

    def attendance_state(self, attendance_id: int) -> tuple[str | None, str | None]:
        """(end_reason, the meeting's end_reason) of one call leg."""
        def work(s: Session) -> tuple[str | None, str | None]:
            row = s.get(Attendance, attendance_id)
            if row is None:
                return (None, None)
            meeting = s.get(Meeting, row.meeting_id) if row.meeting_id else None
            return (row.end_reason, meeting.end_reason if meeting else None)

        return self._run(work)

    # -- dial-out --------------------------------------------------------------------------

    def invites_last_hour(self, conference_id: int) -> int:
        since = utcnow() - dt.timedelta(hours=1)
        return self._run(
            lambda s: s.scalar(
                select(func.count()).where(
                    DialOutAttempt.conference_id == conference_id,
                    DialOutAttempt.requested_at >= since,
                    DialOutAttempt.result != "refused_policy",
                )
            )
            or 0
        )

    def create_dialout(
        self, *, conference_id: int, meeting_id: int | None, requested_by: str, number: str,
        result: str = "pending",
    ) -> int:
        def work(s: Session) -> int:
            row = DialOutAttempt(
                conference_id=conference_id, meeting_id=meeting_id,
                requested_by_call_uuid=requested_by, number=number, result=result,
                ended_at=utcnow() if result != "pending" else None,
            )
            s.add(row)
            s.flush()
            return row.id

        return self._run(work)

    def dialout(self, attempt_id: int) -> DialOutAttempt | None:
        return self._run(lambda s: s.get(DialOutAttempt, attempt_id))

    def update_dialout(self, attempt_id: int, **values: object) -> None:
        self._run_durably(
            "dial-out result", f"dialout-{attempt_id}",
            lambda s: s.execute(
                update(DialOutAttempt).where(DialOutAttempt.id == attempt_id).values(**values)
            ),
        )

    def finish_dialout(self, attempt_id: int, result: str) -> None:
        """Close an attempt; the billable duration runs from answer to hang-up."""
        ended = utcnow()

        def work(s: Session) -> None:
            row = s.get(DialOutAttempt, attempt_id, with_for_update=True)
            if row is None or row.ended_at is not None:
                return
            row.ended_at = ended
            row.result = result
            if row.answered_at is not None:
                row.duration_seconds = max(0, int((ended - row.answered_at).total_seconds()))

        self._run_durably("dial-out end", f"dialout-{attempt_id}", work)


def _first_line(exc: DBAPIError) -> str:
    text = str(exc.orig if exc.orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
