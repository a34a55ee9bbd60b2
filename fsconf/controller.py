"""The controller: the outbound Event Socket server wired to the call flows.

Library code: it does not monkey-patch; `fsconf serve` (the entry point) does that.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from fsconf.callflow.context import CallContext
from fsconf.callflow.invite import InviteFlow
from fsconf.callflow.join import JoinFlow
from fsconf.callflow.line import PhoneLine
from fsconf.config import Settings
from fsconf.db.session import Database
from fsconf.esl.server import OutboundServer
from fsconf.esl.session import CallGone, OutboundSession
from fsconf.services.callstore import CallStore
from fsconf.services.dialout_policy import DialOutPolicy, default_policy, policy_from_config

log = logging.getLogger(__name__)


def dialout_policy(settings: Settings) -> DialOutPolicy:
    d = settings.dialout
    limits = {"max_concurrent": d.max_concurrent, "max_per_hour": d.max_per_hour}
    if d.allow or d.deny:
        config: dict[str, object] = dict(limits)
        if d.allow:
            config["allow"] = list(d.allow)
        if d.deny:
            config["deny"] = list(d.deny)
        return policy_from_config(config)
    return replace(default_policy(), **limits)


class Controller:
    def __init__(self, settings: Settings, db: Database | None = None) -> None:
        self.settings = settings
        self.db = db or Database(
            settings.database_url, busy_timeout=settings.database.sqlite_busy_timeout
        )
        self.store = CallStore(self.db, settings.security)
        self.ctx = CallContext(settings=settings, store=self.store, policy=dialout_policy(settings))
        c = settings.controller
        self.server = OutboundServer(
            c.host, c.port, handler=self.handle_call, busy_handler=self.handle_busy,
            max_calls=c.max_calls, timeout=c.command_timeout,
        )

    @property
    def address(self) -> tuple[str, int]:
        return self.server.address

    def start(self) -> None:
        self.server.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop accepting; give calls still in the join flow time to finish.

        Calls already in a conference go on: FreeSWITCH owns their media.
        """
        self.server.stop(self.settings.controller.graceful_stop_timeout if timeout is None
                         else timeout)

    def handle_call(self, session: OutboundSession) -> None:
        line = PhoneLine(session, self.settings.ivr)
        invite_id = session.var("fsconf_invite_id") or ""
        if invite_id:
            if not invite_id.isdigit():
                log.warning("call %s: malformed fsconf_invite_id %r", session.uuid, invite_id)
                session.hangup()
                return
            InviteFlow(self.ctx, line, int(invite_id)).run()
        else:
            JoinFlow(self.ctx, line).run()

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
