"""The XML dialplan (mod_dialplan_xml) and the session thread that runs its actions."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

import gevent

from fsconf.sim.apps import separate
from fsconf.sim.xmlconf import hunt

if TYPE_CHECKING:
    from fsconf.sim.channel import Channel
    from fsconf.sim.xmlconf import Extension

log = logging.getLogger(__name__)

_BPART_APP = re.compile(r"^&([\w-]+)(?:\((.*)\))?$", re.S)


class XmlDialplan:
    """A Dialplan (ports.py) over the contexts of the loaded configuration."""

    def __init__(self, contexts: dict[str, list[Extension]]) -> None:
        self.contexts = contexts

    def route(self, context: str, fields: dict[str, str]) -> list[tuple[str, str]]:
        return hunt(self.contexts, context, fields)

    def run_actions(self, ch: Channel, actions: list[tuple[str, str]]) -> None:
        def run() -> None:
            try:
                for app, data in actions:
                    if not ch.up:
                        break
                    ch.execute(app, data)
            except Exception:  # a simulator bug must not leave a zombie channel
                log.exception("[%s] dialplan runner failed", ch.uuid)
            finally:
                ch.finish()

        ch.runner = gevent.spawn(run)

    def run_bpart(self, ch: Channel, bpart: str) -> None:
        """&app(args) or '<exten> [XML] [<context>]' for an originated leg."""
        match = _BPART_APP.match(bpart.strip())
        if match:
            self.run_actions(ch, [(match.group(1), match.group(2) or "")])
            return
        words = separate(bpart)
        exten = words[0] if words else ""
        context = (
            words[2]
            if len(words) > 2
            else (words[1] if len(words) == 2 and words[1].upper() != "XML" else "default")
        )
        ch.profile.destination_number = exten
        ch.profile.context = context
        actions = self.route(context, self._fields(ch))
        if not actions:
            ch.hangup("NO_ROUTE_DESTINATION")
        self.run_actions(ch, actions)

    def _fields(self, ch: Channel) -> dict[str, str]:
        fields = {
            "destination_number": ch.profile.destination_number,
            "context": ch.profile.context,
            "caller_id_number": ch.profile.caller_id_number,
            "caller_id_name": ch.profile.caller_id_name,
            "uuid": ch.uuid,
        }
        fields.update({"var:" + k: v for k, v in ch.variables.items()})
        return fields

    def app_transfer(self, ch: Channel, arg: str) -> str | None:
        words = separate(arg)
        if not words:
            return None
        exten = words[0]
        context = words[2] if len(words) > 2 else ch.profile.context
        ch.profile.destination_number = exten
        ch.profile.context = context
        actions = self.route(context, self._fields(ch))
        if not actions:
            ch.hangup("NO_ROUTE_DESTINATION")
            return None
        for app, data in actions:
            if not ch.up:
                break
            ch.execute(app, data)
        return None
