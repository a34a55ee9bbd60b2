"""`*8` invitations: the moderator's side (policy, originate, outcome) and the callee's.

The callee is originated through the configured dial string into the dialplan's invite
extension, which hands the answered leg to this controller like any other call; the
channel variable `fsconf_invite_id` ties it to its dial-out attempt.
"""

from __future__ import annotations

import logging

import gevent
from gevent.event import AsyncResult

from fsconf.callflow.context import CallContext
from fsconf.callflow.line import PhoneLine
from fsconf.callflow.member import Membership, close_attendance
from fsconf.clock import utcnow
from fsconf.conference.keypad import Inviter, MemberControls
from fsconf.domain.dialout_policy import decide
from fsconf.domain.prompts import prompt
from fsconf.domain.roles import Role
from fsconf.domain.states import EndReason
from fsconf.domain.validate import digits_only, safe_arg
from fsconf.esl.connection import EslError
from fsconf.esl.protocol import Event
from fsconf.esl.server import ControllerStopping
from fsconf.esl.session import CallGone
from fsconf.store.call_queries import ConferenceInfo
from fsconf.store.callstore import StoreUnavailable

log = logging.getLogger(__name__)

# Hang-up causes that mean "nobody took the call" rather than "it could not be placed".
_NOT_ANSWERED = {
    "NO_ANSWER", "NO_USER_RESPONSE", "USER_BUSY", "CALL_REJECTED", "ORIGINATOR_CANCEL",
    "ALLOTTED_TIMEOUT", "RECOVERY_ON_TIMER_EXPIRE", "SUBSCRIBER_ABSENT",
}
# After the callee answered: time to hear the invitation, accept and record a name.
ACCEPT_WINDOW_SECONDS = 120.0


def make_inviter(ctx: CallContext, conference: ConferenceInfo) -> Inviter:
    def invite(controls: MemberControls, number: str) -> None:
        try:
            _invite(ctx, conference, controls, number)
        except (CallGone, EslError) as exc:
            log.info("invite to %s by %s ended early: %s", number, controls.member.call_uuid, exc)
        except StoreUnavailable as exc:
            log.warning("invite by %s: database unavailable: %s", controls.member.call_uuid, exc)

    return invite


def _invite(
    ctx: CallContext, conference: ConferenceInfo, controls: MemberControls, number: str
) -> None:
    room = controls.room
    decision = decide(
        number, ctx.policy, room.invites_in_progress, ctx.store.invites_last_hour(conference.id)
    )
    requested_by = controls.member.call_uuid
    if not decision.allowed:
        log.warning(
            "call %s conference %s: dial-out to %r refused (%s)",
            requested_by, conference.number, number, decision.reason,
        )
        ctx.store.create_dialout(
            conference_id=conference.id, meeting_id=room.meeting_id, requested_by=requested_by,
            number=number[:32], result=f"refused_{decision.reason}"[:32],
        )
        limited = decision.reason.startswith("too_many")
        controls.tell("invite_limit" if limited else "invite_refused")
        return
    attempt_id = ctx.store.create_dialout(
        conference_id=conference.id, meeting_id=room.meeting_id, requested_by=requested_by,
        number=number,
    )
    outcome: AsyncResult = AsyncResult()
    ctx.invites[attempt_id] = outcome
    room.invites_in_progress += 1
    try:
        controls.tell("invite_calling")
        reply = _originate(ctx, controls, attempt_id, digits_only(number))
        if not reply.startswith("+OK"):
            cause = reply.removeprefix("-ERR").strip() or "UNKNOWN"
            result = "busy" if cause == "USER_BUSY" else (
                "no_answer" if cause in _NOT_ANSWERED else "failed"
            )
            log.info("conference %s: invite to %s not answered (%s)", conference.number,
                     number, cause)
            ctx.store.finish_dialout(attempt_id, result)
            controls.tell("invite_not_answered")
            return
        final = outcome.get(timeout=ACCEPT_WINDOW_SECONDS)
        controls.tell({"joined": "invite_joined", "full": "conference_full"}.get(
            final, "invite_declined"))
    except gevent.Timeout:
        controls.tell("invite_declined")
    finally:
        room.invites_in_progress -= 1
        ctx.invites.pop(attempt_id, None)


def _originate(ctx: CallContext, controls: MemberControls, attempt_id: int, number: str) -> str:
    """bgapi originate on the moderator's socket; returns the job's result text."""
    fs = ctx.settings.freeswitch
    variables = ",".join(
        [
            f"fsconf_invite_id={attempt_id}",
            f"origination_caller_id_number={digits_only(fs.dialout_caller_id_number)}",
            f"originate_timeout={int(ctx.settings.dialout.answer_timeout_seconds)}",
        ]
    )
    endpoint = safe_arg(fs.dialout_string.format(number=number))
    command = (
        f"originate {{{variables}}}{endpoint} {safe_arg(fs.invite_extension)} XML "
        f"{safe_arg(fs.invite_context)}"
    )
    session = controls.session
    done: AsyncResult = AsyncResult()
    job_uuid = session.new_job_uuid()

    def on_job(event: Event) -> None:
        if event.name == "BACKGROUND_JOB" and event.get("Job-UUID") == job_uuid:
            done.set((event.body or "").strip())

    session.add_listener(on_job)
    try:
        session.bgapi(command, job_uuid=job_uuid)
        wait = ctx.settings.dialout.answer_timeout_seconds + session.timeout
        return done.get(timeout=wait)
    except gevent.Timeout:
        return "-ERR TIMEOUT"
    finally:
        session.remove_listener(on_job)


class InviteFlow:
    """The invited callee: hear who invites you, press 1, say your name, join."""

    def __init__(self, ctx: CallContext, line: PhoneLine, attempt_id: int) -> None:
        self.ctx = ctx
        self.line = line
        self.attempt_id = attempt_id
        self.attendance_id: int | None = None
        self.membership: Membership | None = None
        self.detached = False
        self.result = "hung_up"

    def run(self) -> None:
        reason = EndReason.HUNG_UP
        try:
            attempt = self.ctx.store.dialout(self.attempt_id)
            conference = (
                self.ctx.store.conference_by_id(attempt.conference_id) if attempt else None
            )
            if attempt is None or conference is None:
                log.warning("call %s: unknown invitation %s", self.line.uuid, self.attempt_id)
                self.line.hangup()
                return
            self.attendance_id = self.ctx.store.open_attendance(
                call_uuid=self.line.uuid, access_number=None,
                caller_id_number=attempt.number, caller_id_name=None,
                invited_by_dialout_id=self.attempt_id, conference_id=conference.id,
                node=self.ctx.store.node,
            )
            self.ctx.store.update_dialout(
                self.attempt_id, answered_at=utcnow(), callee_call_uuid=self.line.uuid,
                result="answered",
            )
            self.line.answer()
            if conference.language != self.line.language:
                self.line.set_language(conference.language)
            if not self._accepted(conference, attempt.requested_by_call_uuid):
                self.result = "declined"
                self.line.play("goodbye")
                self._report("declined")
                reason = EndReason.DECLINED_INVITE
                self.line.hangup()
                return
            self.membership = Membership(
                self.ctx, self.line, conference, Role.PARTICIPANT, self.attendance_id,
                may_pass_lock=True, on_joined=lambda: self._report("joined"),
            )
            reason = self.membership.run()
            self.result = "joined" if self.membership.member is not None else (
                "full" if reason is EndReason.REJECTED_FULL else reason.value[:32]
            )
            self._report(self.result)
            if reason is not EndReason.HUNG_UP:
                self.line.hangup()
        except CallGone:
            reason = EndReason.HUNG_UP
        except ControllerStopping:
            self.detached = True
            raise
        except StoreUnavailable as exc:
            log.warning("call %s: database unavailable: %s", self.line.uuid, exc)
            reason = EndReason.REJECTED_TECHNICAL
        finally:
            if not self.detached:
                self._wrap_up(reason)

    def _wrap_up(self, reason: EndReason) -> None:
        self._report(self.result)
        if self.membership is not None:
            self.membership.leave()
        if self.attendance_id is not None:
            m = self.membership
            close_attendance(
                self.ctx.store, self.attendance_id, self.line.uuid, reason,
                unused_name=m.name_file if m is not None and m.member is None else None,
                member_id=m.member_id if m else None,
            )
        self.ctx.store.finish_dialout(self.attempt_id, self.result)

    def _accepted(self, conference: ConferenceInfo, inviter_uuid: str) -> bool:
        inviter_name = self._inviter_name(conference, inviter_uuid)
        # One playlist, so a "1" pressed while the invitation is still playing counts.
        files = [
            prompt("invited_by").file,
            inviter_name or prompt("moderator_marker").file,
            prompt("invite_press_one").file,
        ]
        return any(self.line.collect_during(files, 1) == "1" for _ in range(2))

    def _inviter_name(self, conference: ConferenceInfo, inviter_uuid: str) -> str | None:
        room = self.ctx.rooms.get(self.ctx.fs_conference_name(conference.number))
        if room is None:
            return None
        for member in room.present():
            if member.call_uuid == inviter_uuid:
                return member.name_file
        return None

    def _report(self, outcome: str) -> None:
        waiter = self.ctx.invites.get(self.attempt_id)
        if waiter is not None and not waiter.ready():
            waiter.set(outcome)
