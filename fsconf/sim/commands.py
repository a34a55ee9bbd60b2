"""mod_commands: the core API verbs (status, uuid_*, show, hupall, ...) as a verb table."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import gevent

from fsconf.sim.apps import separate
from fsconf.sim.channel import Channel, Dtmf, QueuedCommand

if TYPE_CHECKING:
    from fsconf.sim.clock import Clock
    from fsconf.sim.ports import ApiHandler, EventSink
    from fsconf.sim.settings import SimSettings

log = logging.getLogger(__name__)


class Commands:
    """mod_commands: the API verb table. Other modules add their verbs with register()
    (mod_conference its `conference`, the originator `originate`), as FreeSWITCH modules
    register API interfaces at load."""

    def __init__(
        self,
        bus: EventSink,
        clock: Clock,
        settings: SimSettings,
        channels: Mapping[str, Channel],
        global_vars: dict[str, str],
        session_count: Callable[[], int],
    ) -> None:
        self.bus = bus
        self.clock = clock
        self.settings = settings
        self.channels = channels
        self.global_vars = global_vars
        self.session_count = session_count
        self.started = clock.time()
        self.verbs: dict[str, ApiHandler] = {
            "status": self.api_status,
            "version": self.api_version,
            "global_getvar": self.api_global_getvar,
            "eval": self.api_eval,
            "uuid_kill": self.api_uuid_kill,
            "uuid_exists": self.api_uuid_exists,
            "uuid_getvar": self.api_uuid_getvar,
            "uuid_setvar": self.api_uuid_setvar,
            "uuid_break": self.api_uuid_break,
            "uuid_send_dtmf": self.api_uuid_send_dtmf,
            "uuid_broadcast": self.api_uuid_broadcast,
            "hupall": self.api_hupall,
            "show": self.api_show,
        }

    def register(self, verb: str, handler: ApiHandler) -> None:
        self.verbs[verb] = handler

    def execute_line(self, line: str) -> str:
        cmd, _, args = line.strip().partition(" ")
        handler = self.verbs.get(cmd.lower())
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

        self.bus.fire(
            "BACKGROUND_JOB",
            ("mod_event_socket.c", "api_exec", 1580),
            build,
            job_owner=owner,
            body=body.encode("utf-8"),
        )

    # --- simple APIs ------------------------------------------------------------------

    def api_status(self, args: str) -> str:
        up = int(self.clock.time() - self.started)
        n = len(self.channels)
        return (
            f"UP 0 years, 0 days, {up // 3600} hours, {up // 60 % 60} minutes, "
            f"{up % 60} seconds, 0 milliseconds, 0 microseconds\n"
            "FreeSWITCH (Version 1.10.12-release  64bit) is ready\n"
            f"{self.session_count()} session(s) since startup\n"
            f"{n} session(s) - peak {n}, last 5min {n} \n"
            "0 session(s) per Sec out of max 100, peak 0, last 5min 0 \n"
            "1000 session(s) max\nmin idle cpu 0.00/100.00\n"
            "Current Stack Size/Max 240K/8192K\n"
        )

    def api_version(self, args: str) -> str:
        return "FreeSWITCH Version 1.10.12-release~64bit (-release 64bit)\n"

    def api_global_getvar(self, args: str) -> str:
        return self.global_vars.get(args.strip(), "")

    def api_eval(self, args: str) -> str:
        return args

    def _channel(self, args: str) -> tuple[Channel | None, list[str]]:
        argv = args.split()
        if not argv:
            return None, argv
        return self.channels.get(argv[0]), argv

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
        # switch_core_session_send_dtmf_string: each digit is *sent* by the channel's
        # endpoint (loopback: queued on the other leg; sofia: RFC 2833 to the far end).
        keys = [Dtmf(d.upper()) for d in digits if d.upper() in "0123456789*#ABCD"]
        interval = self.settings.dtmf_interdigit_ms
        if interval > 0:

            def feed() -> None:
                for key in keys:
                    ch.send_dtmf(key)
                    self.clock.sleep(interval / 1000)

            gevent.spawn(feed)
        else:
            for key in keys:
                ch.send_dtmf(key)
        return f"+OK {ch.uuid} sent DTMF {digits}.\n"

    def api_uuid_broadcast(self, args: str) -> str:
        """mod_commands uuid_broadcast -> switch_ivr_broadcast: queues `playback <path>`
        (or `<app>::<args>`) on the channel like a sendmsg execute; reply as captured on
        1.10.12 (1_ivr_apps/inbound_api): "+OK Message sent"."""
        argv = separate(args)
        if len(argv) < 2:
            return "-USAGE: <uuid> <path> [aleg|bleg|holdb|both]\n"
        ch = self.channels.get(argv[0])
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
        for ch in list(self.channels.values()):
            ch.hangup(cause)
        return f"+OK hangup all channels with cause {cause}\n"

    def api_show(self, args: str) -> str:
        argv = args.split()
        if not argv or argv[0] not in ("channels", "calls"):
            return "-USAGE: show channels|calls [as json]\n"
        rows = []
        for ch in self.channels.values():
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
                    "hostname": self.settings.hostname,
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
