"""`fsconf live` on a cluster: one API sender that reaches each room where it lives.

Each node's inbound Event Socket knows only its own rooms (per-node `conference
json_list`, G_two_nodes_bridge). So the list is every live node's list together, and a
command for one room goes to the node holding its lease. The live view and the operator
actions (conference/live.py) run unchanged on top of it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping

from fsconf.domain.rooms import number_in

ApiSender = Callable[[str], str]
_ROOM_COMMAND = re.compile(r"^conference (fsconf-[0-9]+) ")


class ClusterApi:
    def __init__(
        self, senders: Mapping[str, ApiSender], owner_of: Callable[[str], str | None],
        fallback: ApiSender,
    ) -> None:
        """`senders`: node name -> its API; `owner_of`: conference number -> owner node;
        `fallback`: the local node's API, for rooms no live node owns."""
        self.senders = senders
        self.owner_of = owner_of
        self.fallback = fallback

    def __call__(self, command: str) -> str:
        if command == "conference json_list":
            return self._all_rooms()
        m = _ROOM_COMMAND.match(command)
        if m is None:
            return self.fallback(command)
        owner = self.owner_of(number_in(m.group(1)))
        return self.senders.get(owner or "", self.fallback)(command)

    def _all_rooms(self) -> str:
        rooms: list[object] = []
        seen: set[str] = set()
        for send in (*self.senders.values(), self.fallback):
            reply = send("conference json_list")
            if not reply.startswith("["):
                continue  # not a list (a node in trouble): its rooms are missing
            for room in json.loads(reply):
                # The same room on two nodes (a dead owner's, not yet gone): list once.
                name = room.get("conference_name") if isinstance(room, dict) else None
                if isinstance(name, str) and name not in seen:
                    seen.add(name)
                    rooms.append(room)
        return json.dumps(rooms)
