"""switch_ivr_originate for the endpoints the simulator has: mod_loopback legs, gateway
far ends (callee.py) and error/; the `originate` API verb."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from fsconf.sim.apps import separate
from fsconf.sim.channel import CallerProfile, Channel, codec_headers

if TYPE_CHECKING:
    from fsconf.sim.callee import Callees
    from fsconf.sim.ports import ChannelHost, Dialplan
    from fsconf.sim.settings import SimSettings


def split_originate(args: str) -> tuple[dict[str, str], str, str]:
    """'{a=b,c=d}endpoint rest' -> (vars, endpoint, rest)."""
    args = args.strip()
    variables: dict[str, str] = {}
    if args.startswith("{"):
        end = args.find("}")
        if end < 0:
            return variables, "", ""
        for part in _split_vars(args[1:end]):
            key, _, value = part.partition("=")
            if key.strip():
                variables[key.strip()] = value.strip("'")
        args = args[end + 1 :]
    endpoint, _, rest = args.partition(" ")
    return variables, endpoint, rest.strip()


def _split_vars(text: str) -> list[str]:
    parts: list[str] = []
    cur: list[str] = []
    quote, i = False, 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            cur.append(text[i + 1])
            i += 2
            continue
        if c == "'":
            quote = not quote
        elif c == "," and not quote:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur))
    return parts


class Originate:
    """Creates legs (an Originator): registers them and starts their dialplan."""

    def __init__(
        self,
        host: ChannelHost,
        dialplan: Dialplan,
        register: Callable[[Channel], None],
        callees: Callees,
        settings: SimSettings,
    ) -> None:
        self.host = host
        self.dialplan = dialplan
        self.register = register
        self.callees = callees
        self.settings = settings
        # mod_sofia's outgoing calls to other nodes (sip.py), once the switch has it.
        self.sofia: Callable[..., Channel | str | None] | None = None

    def api_originate(self, args: str) -> str:
        if self.settings.refuse_originate:
            return "-ERR NORMAL_TEMPORARY_FAILURE\n"
        variables, endpoint, rest = split_originate(args)
        # originate <url> <exten>|&app(args) [<dialplan>] [<context>] [<cid_name>]
        # [<cid_num>] [<timeout_sec>], split like switch_separate_string (quotes group).
        argv = separate(rest)
        if not endpoint or not argv or len(argv) > 6:
            return (
                "-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] "
                "[<context>] [<cid_name>] [<cid_num>] [<timeout_sec>]\n"
            )
        exten = argv[0]
        dialplan = argv[1] if len(argv) > 1 and argv[1] else "XML"
        context = argv[2] if len(argv) > 2 and argv[2] else "default"
        cid = (argv[3], argv[4] if len(argv) > 4 else "") if len(argv) > 3 else None
        if len(argv) > 5 and argv[5].isdigit():
            variables.setdefault("originate_timeout", argv[5])  # the variable wins
        bpart = exten if exten.startswith("&") else f"{exten} {dialplan} {context}"
        result = self.originate(variables, endpoint, bpart, cid)
        if isinstance(result, Channel):
            return f"+OK {result.uuid}\n"
        return f"-ERR {result}\n"

    def originate(
        self,
        variables: dict[str, str],
        endpoint: str,
        bpart: str,
        cid: tuple[str, str] | None = None,
    ) -> Channel | str:
        """Create the leg(s); returns the originated channel or a hangup cause."""
        parts = endpoint.split("/")
        if parts[0] == "loopback" and len(parts) >= 2:
            dest = parts[1]
            context = parts[2] if len(parts) > 2 and parts[2] else "default"
            return self._loopback(variables, dest, context, bpart, cid)
        if parts[0] == "sofia" and len(parts) >= 4 and parts[1] == "gateway":
            return self.callees.dial(variables, endpoint, parts[2], parts[3], bpart, cid)
        if parts[0] == "sofia" and self.sofia is not None:
            placed = self.sofia(variables, endpoint, bpart, cid)
            if placed is not None:
                return placed
        if parts[0] == "error" and len(parts) > 1:
            return parts[1]
        if parts[0] in ("sofia", "user"):
            return "SUBSCRIBER_ABSENT"
        return "CHAN_NOT_IMPLEMENTED"

    def _loopback(
        self,
        variables: dict[str, str],
        dest: str,
        context: str,
        bpart: str,
        cid: tuple[str, str] | None,
    ) -> Channel | str:
        fields = {
            "destination_number": dest,
            "context": context,
            "caller_id_number": variables.get("origination_caller_id_number", "0000000000"),
        }
        actions = self.dialplan.route(context, fields)
        if not actions:
            return "NO_ROUTE_DESTINATION"
        number = variables.get("origination_caller_id_number") or (cid[1] if cid else "")
        name = variables.get("origination_caller_id_name") or (cid[0] if cid else "")
        # Captured (2_conference_api, `dial loopback/5000/default 1234 Test`): the b-leg
        # carries the caller id, the a-leg lists as "Outbound Call" / "default".
        a = Channel(
            self.host,
            f"loopback/{dest}-a",
            "outbound",
            CallerProfile(
                caller_id_name="Outbound Call",
                caller_id_number="default",
                callee_id_name="",
                callee_id_number="",
                destination_number=dest,
                context=context,
                source="mod_loopback",
            ),
            uuid=variables.get("origination_uuid"),
        )
        b = Channel(
            self.host,
            f"loopback/{dest}-b",
            "inbound",
            CallerProfile(
                caller_id_name=name,
                caller_id_number=number or "0000000000",
                callee_id_name="Outbound Call",
                callee_id_number="default",
                destination_number=dest,
                context=context,
                source="mod_loopback",
            ),
        )
        a.peer, b.peer = b, a
        for key, value in variables.items():
            a.set_var(key, value)
            b.set_var(key, value)
        a.variables["other_loopback_leg_uuid"] = b.uuid
        a.variables["loopback_leg"] = "A"
        b.variables["other_loopback_leg_uuid"] = a.uuid
        b.variables["loopback_leg"] = "B"
        a.variables["call_uuid"] = a.uuid
        b.variables["call_uuid"] = b.uuid
        # mod_loopback's legs are L16 unless the global loopback_initial_codec names
        # another codec (README of G_two_nodes_bridge: what a SIP leg then offers).
        initial = self.host.global_vars.get("loopback_initial_codec", "").split("@")[0]
        if initial:
            for ch in (a, b):
                ch.codec = codec_headers(initial)
                ch.variables["read_codec"] = ch.variables["write_codec"] = initial
        for ch in (a, b):
            ch.mark_answered()
            ch.variables["endpoint_disposition"] = "ANSWER"
            ch.state = "CS_EXECUTE"
            self.register(ch)
        self.dialplan.run_actions(b, actions)
        self.dialplan.run_bpart(a, bpart)
        return a
