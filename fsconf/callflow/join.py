"""The join flow of SPEC.md, in order: answer, conference number, PIN, checks, name,
head count, join. Every exit path records how the call ended.
"""

from __future__ import annotations

import logging

from fsconf.callflow.context import CallContext
from fsconf.callflow.invite import make_inviter
from fsconf.callflow.line import PhoneLine
from fsconf.callflow.member import Membership, close_attendance
from fsconf.domain.roles import Role
from fsconf.domain.states import EndReason
from fsconf.esl.server import ControllerStopping
from fsconf.esl.session import CallGone
from fsconf.store.call_queries import (
    AccessScope,
    CallStart,
    ConferenceChoice,
    ConferenceInfo,
    role_for_pin,
)
from fsconf.store.callstore import StoreUnavailable

log = logging.getLogger(__name__)


class Rejected(Exception):
    """The caller cannot go on; the prompts were played, the reason is recorded."""

    def __init__(self, reason: EndReason) -> None:
        super().__init__(reason.value)
        self.reason = reason


class JoinFlow:
    def __init__(self, ctx: CallContext, line: PhoneLine) -> None:
        self.ctx = ctx
        self.line = line
        self.ivr = ctx.settings.ivr
        self.attendance_id: int | None = None
        self.membership: Membership | None = None
        self.detached = False

    def run(self) -> None:
        reason = EndReason.HUNG_UP
        try:
            start = self.ctx.store.start_call(
                call_uuid=self.line.uuid,
                dialled=self.line.destination,
                caller_id_number=clean_caller_text(self.line.caller_id_number, 64),
                caller_id_name=clean_caller_text(self.line.caller_id_name, 128),
                lockout_caller=self._caller(),
            )
            self.attendance_id = start.attendance_id
            self.line.answer()
            reason = self._steps(start)
            if reason is not EndReason.HUNG_UP:
                self.line.hangup()
        except Rejected as exc:
            reason = exc.reason
            self.line.hangup()
        except CallGone:
            reason = EndReason.HUNG_UP
        except ControllerStopping:
            self.detached = True
            raise
        except StoreUnavailable as exc:
            log.warning("call %s: database unavailable: %s", self.line.uuid, exc)
            reason = EndReason.REJECTED_TECHNICAL
            self._technical_problem()
        finally:
            if not self.detached:
                self._finish(reason)

    def _steps(self, start: CallStart) -> EndReason:
        if start.scope is None:
            log.warning("call %s: unknown access number %r", self.line.uuid, self.line.destination)
            self.line.play("unknown_access_number", "goodbye")
            raise Rejected(EndReason.REJECTED_UNKNOWN_ACCESS_NUMBER)
        if start.suspended:
            # The customer's own number: nothing to ask when there is no service.
            self._no_service()
        self._refuse(start.blocked, conference_id=None)
        self.line.play("welcome", wait=False)  # the number prompt follows it
        choice = self._ask_conference(start.scope)
        conference = choice.conference
        assert conference is not None
        if conference.language != self.line.language:
            self.line.set_language(conference.language)
        self._refuse(choice.blocked, conference_id=conference.id)
        role = self._ask_pin(conference)
        self._check_before_name(choice, role)
        self.membership = Membership(
            self.ctx, self.line, conference, role, self.attendance_id or 0,
            inviter=make_inviter(self.ctx, conference),
        )
        return self.membership.run()

    # -- steps ----------------------------------------------------------------------------------

    def _ask_conference(self, scope: AccessScope) -> ConferenceChoice:
        for _ in range(self.ivr.tries):
            number = self.line.collect(
                "enter_conference_number", self.ivr.conference_number_max_digits
            )
            if number is None:
                continue
            choice = self.ctx.store.choose_conference(
                scope, number, self.attendance_id or 0, self._caller()
            )
            if choice.conference is not None:
                return choice
            self.ctx.store.record_failure(
                "conference_number", self.line.uuid, self._caller(), None
            )
            self.line.play("unknown_conference")
            self._refuse_if_blocked(conference_id=None)
        self.line.play("goodbye")
        raise Rejected(EndReason.REJECTED_BAD_NUMBER)

    def _ask_pin(self, conference: ConferenceInfo) -> Role:
        for _ in range(self.ivr.tries):
            pin = self.line.collect("enter_pin", self.ivr.pin_max_digits)
            if pin is None:
                # Nothing (usable) typed: no guess was made, so nothing is wrong and no
                # failure is recorded; the prompt is asked again and it uses up a try.
                continue
            role = role_for_pin(conference, pin)
            if role is not None:
                return role
            self.ctx.store.record_failure("pin", self.line.uuid, self._caller(), conference.id)
            self.line.play("wrong_pin")
            self._refuse_if_blocked(conference_id=conference.id)
        self.line.play("goodbye")
        raise Rejected(EndReason.REJECTED_BAD_PIN)

    def _caller(self) -> str | None:
        """The caller ID that PIN failures and lockouts are counted against: cleaned and
        bounded like the stored one (a hostile 300-character number must not break the
        insert), so it also matches the calls a conference knows."""
        return clean_caller_text(self.line.caller_id_number, 64)

    def _refuse_if_blocked(self, conference_id: int | None) -> None:
        self._refuse(self.ctx.store.lockout(self._caller(), conference_id), conference_id)

    def _refuse(self, side: str | None, conference_id: int | None) -> None:
        if side is None:
            return
        log.warning(
            "call %s: PIN entry blocked (too many failures for this %s; caller %r, conference %s)",
            self.line.uuid, side, self.line.caller_id_number, conference_id,
        )
        self.line.play("pin_entry_blocked", "goodbye")
        raise Rejected(EndReason.REJECTED_LOCKOUT)

    def _check_before_name(self, choice: ConferenceChoice, role: Role) -> None:
        """Refuse early where we can, so nobody records a name only to be turned away.

        The answers were read with the conference number; the seat claim after the name
        is the authoritative check (a lock or the last seat may still come meanwhile).
        """
        conference = choice.conference
        assert conference is not None
        if conference.status != "active" or choice.suspended:
            self._no_service()
        if role is Role.PARTICIPANT and choice.locked:
            self.line.play("conference_locked", "goodbye")
            raise Rejected(EndReason.REJECTED_LOCKED)
        if role is Role.PARTICIPANT and choice.full:
            self.line.play("conference_full", "goodbye")
            raise Rejected(EndReason.REJECTED_FULL)

    def _no_service(self) -> None:
        """Suspended, cancelled and past its month, or not yet activated: one prompt."""
        self.line.play("service_suspended", "goodbye")
        raise Rejected(EndReason.REJECTED_SUSPENDED)

    # -- endings --------------------------------------------------------------------------------

    def _technical_problem(self) -> None:
        try:
            if not self.line.answered:
                self.line.answer()
            self.line.play("technical_problem", "goodbye")
            self.line.hangup()
        except CallGone:
            pass

    def _finish(self, reason: EndReason) -> None:
        if self.membership is not None:
            self.membership.leave()
        if self.attendance_id is None:
            return
        m = self.membership
        close_attendance(
            self.ctx.store, self.attendance_id, self.line.uuid, reason,
            unused_name=m.name_file if m is not None and m.member is None else None,
            member_id=m.member_id if m else None,
        )


def clean_caller_text(value: str, limit: int) -> str | None:
    """Caller ID as we store it: printable, bounded. Never used in a command."""
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in value)[:limit]
    return cleaned or None
