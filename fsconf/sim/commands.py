"""Core API commands (mod_commands, mod_loopback originate, conference dial)."""

from __future__ import annotations

import json
import logging
import time
import uuid as uuidlib
from typing import TYPE_CHECKING

import gevent

from fsconf.sim.channel import CallerProfile, Channel

if TYPE_CHECKING:
    from fsconf.sim.core import Simulator

log = logging.getLogger(__name__)


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
    parts, cur, quote, i = [], [], False, 0
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


class Commands:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def execute_line(self, line: str, conn: object | None = None) -> str:
        cmd, _, args = line.strip().partition(" ")
        handler = getattr(self, "api_" + cmd.lower(), None)
        if handler is None:
            return f"-ERR {cmd} Command not found!\n"
        out = handler(args.strip())
        return out if out else "-ERR no reply\n"

    def background(self, line: str, job: str, owner: str | None) -> None:
        body = self.execute_line(line)
        cmd, _, args = line.strip().partition(" ")

        def build() -> list[tuple[str, str]]:
            h = [("Job-UUID", job)]
            if owner:
                h.append(("Job-Owner-UUID", owner))
            h.append(("Job-Command", cmd))
            if args.strip():
                h.append(("Job-Command-Arg", args.strip()))
            return h

        self.sim.bus.fire(
            "BACKGROUND_JOB",
            ("mod_event_socket.c", "api_exec", 1580),
            build,
            job_owner=owner,
            body=body.encode("utf-8"),
        )

    # --- simple APIs ------------------------------------------------------------------

    def api_status(self, args: str) -> str:
        up = int(time.time() - self.sim.started)
        n = len(self.sim.channels)
        return (
            f"UP 0 years, 0 days, {up // 3600} hours, {up // 60 % 60} minutes, "
            f"{up % 60} seconds, 0 milliseconds, 0 microseconds\n"
            "FreeSWITCH (Version 1.10.12-release  64bit) is ready\n"
            f"{self.sim.session_count} session(s) since startup\n"
            f"{n} session(s) - peak {n}, last 5min {n} \n"
            "0 session(s) per Sec out of max 100, peak 0, last 5min 0 \n"
            "1000 session(s) max\nmin idle cpu 0.00/100.00\n"
            "Current Stack Size/Max 240K/8192K\n"
        )

    def api_version(self, args: str) -> str:
        return "FreeSWITCH Version 1.10.12-release~64bit (-release 64bit)\n"

    def api_global_getvar(self, args: str) -> str:
        return self.sim.global_vars.get(args.strip(), "")

    def api_eval(self, args: str) -> str:
        return args

    def api_sim_trace(self, args: str) -> str | None:
        """Benchmark knob only (--bench-trace): keypad timing samples as JSON."""
        return self.sim.trace.api_trace(args) if self.sim.trace else None

    def api_sim_flood(self, args: str) -> str | None:
        """Benchmark knob only (--bench-trace): flood one outbound socket with events."""
        return self.sim.trace.api_flood(args) if self.sim.trace else None

    def api_conference(self, args: str) -> str:
        return self.sim.conferences.api(args)

    def _channel(self, args: str) -> tuple[Channel | None, list[str]]:
        argv = args.split()
        if not argv:
            return None, argv
        return self.sim.channels.get(argv[0]), argv

    def api_uuid_kill(self, args: str) -> str:
        ch, argv = self._channel(args)
        if ch is None:
            return "-ERR No such channel!\n"
        ch.hangup(argv[1] if len(argv) > 1 else "NORMAL_CLEARING")
        return "+OK\n"

    def api_uuid_exists(self, args: str) -> str:
        ch, _ = self._channel(args)
        return "true" if ch is not None else "false"

    def api_uuid_getvar(self, args: str) -> str:
        ch, argv = self._channel(args)
        if ch is None:
            return "-ERR No such channel!\n"
        if len(argv) < 2:
            return "-USAGE: <uuid> <var>\n"
        value = ch.get_var(argv[1])
        return value if value else "_undef_"

    def api_uuid_setvar(self, args: str) -> str:
        ch, argv = self._channel(args)
        if ch is None:
            return "-ERR No such channel!\n"
        if len(argv) < 2:
            return "-USAGE: <uuid> <var> [value]\n"
        ch.set_var(argv[1], " ".join(argv[2:]) or None)
        return "+OK\n"

    def api_uuid_break(self, args: str) -> str:
        ch, argv = self._channel(args)
        if ch is None:
            return "-ERR No such channel!\n"
        ch.break_flag = True
        if argv[1:2] == ["all"]:
            ch.commands.clear()
        ch.wake.set()
        return "+OK\n"

    def api_uuid_send_dtmf(self, args: str) -> str:
        ch, argv = self._channel(args)
        if ch is None or len(argv) < 2:
            return "-ERR Cannot locate session!\n"
        digits = argv[1].split("@", 1)[0]
        target = ch.peer if ch.peer is not None else ch  # loopback hands digits across
        interval = self.sim.settings.dtmf_interdigit_ms
        if interval > 0:

            def feed() -> None:
                for d in digits:
                    target.queue_dtmf(d)
                    gevent.sleep(self.sim.settings.wall(interval / 1000))

            gevent.spawn(feed)
        else:
            target.queue_dtmf(digits)
        return f"+OK {ch.uuid} sent DTMF {digits}.\n"

    def api_uuid_broadcast(self, args: str) -> str:
        """mod_commands uuid_broadcast -> switch_ivr_broadcast: queues `playback <path>`
        (or `<app>::<args>`) on the channel like a sendmsg execute; reply as captured on
        1.10.12 (1_ivr_apps/inbound_api): "+OK Message sent"."""
        from fsconf.sim.apps import separate
        from fsconf.sim.channel import QueuedCommand

        argv = separate(args)
        if len(argv) < 2:
            return "-USAGE: <uuid> <path> [aleg|bleg|holdb|both]\n"
        ch = self.sim.channels.get(argv[0])
        if ch is None:
            # switch_ivr_broadcast cannot locate the session (reply text unverified)
            return "-ERR No such channel!\n"
        legs = argv[2].lower() if len(argv) > 2 else "aleg"
        app, sep, app_arg = argv[1].partition("::")
        if not sep:
            app, app_arg = "playback", argv[1]
        if legs in ("aleg", "both"):
            ch.queue_command(QueuedCommand(kind="execute", app=app, arg=app_arg))
        # bleg/both also play to the bridged partner; loopback legs are not bridged.
        return "+OK Message sent\n"

    def api_hupall(self, args: str) -> str:
        cause = args.split()[0] if args.split() else "MANAGER_REQUEST"
        for ch in list(self.sim.channels.values()):
            ch.hangup(cause)
        return f"+OK hangup all channels with cause {cause}\n"

    def api_show(self, args: str) -> str:
        argv = args.split()
        if not argv or argv[0] not in ("channels", "calls"):
            return "-USAGE: show channels|calls [as json]\n"
        rows = []
        for ch in self.sim.channels.values():
            rows.append(
                {
                    "uuid": ch.uuid,
                    "direction": ch.direction,
                    "created": time.strftime(
                        "%Y-%m-%d %H:%M:%S", time.localtime(ch.created_us / 1e6)
                    ),
                    "created_epoch": str(ch.created_us // 1_000_000),
                    "name": ch.name,
                    "state": ch.state,
                    "cid_name": ch.profile.caller_id_name,
                    "cid_num": ch.profile.caller_id_number,
                    "ip_addr": "",
                    "dest": ch.profile.destination_number,
                    "application": ch.current_app,
                    "application_data": ch.current_app_data,
                    "dialplan": "XML",
                    "context": ch.profile.context,
                    "read_codec": "L16",
                    "read_rate": "8000",
                    "read_bit_rate": "128000",
                    "write_codec": "L16",
                    "write_rate": "8000",
                    "write_bit_rate": "128000",
                    "secure": "",
                    "hostname": self.sim.settings.hostname,
                    "presence_id": "",
                    "presence_data": "",
                    "accountcode": "",
                    "callstate": ch.call_state,
                    "callee_name": ch.profile.callee_id_name,
                    "callee_num": ch.profile.callee_id_number,
                    "callee_direction": "",
                    "call_uuid": ch.uuid,
                    "sent_callee_name": "",
                    "sent_callee_num": "",
                    "initial_cid_name": ch.profile.caller_id_name,
                    "initial_cid_num": ch.profile.caller_id_number,
                    "initial_ip_addr": "",
                    "initial_dest": ch.profile.destination_number,
                    "initial_dialplan": "XML",
                    "initial_context": ch.profile.context,
                }
            )
        if argv[-2:] == ["as", "json"]:
            if not rows:
                return '{"row_count": 0}\n'
            return json.dumps({"row_count": len(rows), "rows": rows}, separators=(",", ":"))
        header = (
            "uuid,direction,created,created_epoch,name,state,cid_name,cid_num,ip_addr,"
            "dest,application,application_data,dialplan,context,read_codec,read_rate,"
            "read_bit_rate,write_codec,write_rate,write_bit_rate,secure,hostname,"
            "presence_id,presence_data,accountcode,callstate,callee_name,callee_num,"
            "callee_direction,call_uuid,sent_callee_name,sent_callee_num,"
            "initial_cid_name,initial_cid_num,initial_ip_addr,initial_dest,"
            "initial_dialplan,initial_context"
        )
        if not rows:
            return "\n0 total.\n"
        lines = [header, ""]
        lines[1:1] = [",".join(r.values()) for r in rows]
        lines.append(f"{len(rows)} total.\n")
        return "\n".join(lines)

    # --- originate --------------------------------------------------------------------

    def api_originate(self, args: str) -> str:
        if self.sim.settings.refuse_originate:
            return "-ERR NORMAL_TEMPORARY_FAILURE\n"
        from fsconf.sim.apps import separate

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
            return self.sim.callee.dial(variables, endpoint, parts[2], parts[3], bpart, cid)
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
        actions = self.sim.route(context, fields)
        if not actions:
            return "NO_ROUTE_DESTINATION"
        number = variables.get("origination_caller_id_number") or (cid[1] if cid else "")
        name = variables.get("origination_caller_id_name") or (cid[0] if cid else "")
        # Captured (2_conference_api, `dial loopback/5000/default 1234 Test`): the b-leg
        # carries the caller id, the a-leg lists as "Outbound Call" / "default".
        a = Channel(
            self.sim,
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
            self.sim,
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
        for ch in (a, b):
            ch.mark_answered()
            ch.variables["endpoint_disposition"] = "ANSWER"
            ch.state = "CS_EXECUTE"
            self.sim.register(ch)
        self.sim.run_actions(b, actions)
        self.sim.run_bpart(a, bpart)
        return a

    # --- conference dial --------------------------------------------------------------

    def conference_dial(self, name: str, sub: str, rest: list[str]) -> str:
        if not rest:
            return "-ERR Bad Args\n" if sub == "dial" else "-ERR Bad Args\n"
        endpoint = rest[0]
        room = self.sim.conferences.rooms.get(name)
        profile = room.profile.name if room is not None else "default"
        bpart = f"&conference({name}@{profile})"
        variables, endpoint = split_originate(endpoint)[:2]
        # conference_outcall passes <cid_num> <cid_name> as the originate caller id.
        if len(rest) > 1:
            variables.setdefault("origination_caller_id_number", rest[1])
        if len(rest) > 2:
            variables.setdefault("origination_caller_id_name", " ".join(rest[2:]))
        cid = None
        if sub == "bgdial":
            job = str(uuidlib.uuid4())

            def run() -> None:
                result = self.originate(variables, endpoint, bpart, cid)
                ok = isinstance(result, Channel)
                self.sim.conferences.bgdial_result(
                    name,
                    "SUCCESS" if ok else str(result),
                    job,
                    result.uuid if isinstance(result, Channel) else None,
                )

            gevent.spawn(run)
            return f"+OK Job-UUID: {job}\n"
        result = self.originate(variables, endpoint, bpart, cid)
        cause = "SUCCESS" if isinstance(result, Channel) else str(result)
        return f"+OK Call Requested: result: [{cause}]\n"
