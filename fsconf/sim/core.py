"""The Simulator: the wiring core. It owns the configuration, the channel registry and
the servers, builds the parts (dialplan, originate, mod_conference, mod_commands, the
listeners) and hands each only the narrow interface of ports.py it needs."""

from __future__ import annotations

import gc
import itertools
import logging
import socket

import gevent

from fsconf.sim.apps import base_apps
from fsconf.sim.benchtrace import BenchTrace
from fsconf.sim.callee import Callees
from fsconf.sim.channel import App, Channel
from fsconf.sim.clock import Clock, ScaledClock
from fsconf.sim.commands import Commands
from fsconf.sim.conference import ConferenceModule
from fsconf.sim.conference_api import ConferenceApi
from fsconf.sim.dialplan import XmlDialplan
from fsconf.sim.events import EventBus
from fsconf.sim.inbound import InboundServer
from fsconf.sim.originate import Originate
from fsconf.sim.outbound import make_app_socket
from fsconf.sim.settings import SimSettings
from fsconf.sim.sip import SipFabric
from fsconf.sim.sofia import SipNode
from fsconf.sim.sounds import Sounds
from fsconf.sim.xmlconf import load_config

log = logging.getLogger(__name__)

# Calls often end in bursts (a meeting ending, a benchmark phase): collect once it is over.
IDLE_COLLECT_DELAY_S = 0.2


class Simulator:
    """clock: simulated time (default: wall time sped up settings.speed times); a test
    may pass a ManualClock and move time itself. fabric: where this node's SIP profiles
    listen and find the other nodes (default: the process-wide one, sip.FABRIC)."""

    def __init__(
        self,
        settings: SimSettings,
        clock: Clock | None = None,
        fabric: SipFabric | None = None,
    ) -> None:
        self.settings = settings
        self.clock: Clock = clock if clock is not None else ScaledClock(settings.speed)
        core = {
            "hostname": settings.hostname,
            "local_ip_v4": settings.ipv4,
            "local_ip_v6": settings.ipv6,
            "sounds_dir": str(settings.sounds_dir or "/usr/share/freeswitch/sounds"),
            "base_dir": "/usr",
            "core_uuid": settings.core_uuid,
        }
        self.config = load_config(settings.conf_dir, core, settings.global_vars)
        self.global_vars = self.config.globals
        es = self.config.event_socket
        self.host = settings.host or es.get("listen-ip", "127.0.0.1")
        port = settings.port
        self.password = settings.password or es.get("password") or "ClueCon"
        self._listen_port = int(port if port is not None else es.get("listen-port", "8021"))
        self.bus = EventBus(settings, self.clock)
        self.sounds = Sounds(
            settings.sounds_dir,
            settings.missing_sounds,
            settings.default_playback_ms,
            settings.default_sound_energy,
        )
        self.channels: dict[str, Channel] = {}
        self._session_ids = itertools.count(1)
        self.session_count = 0
        self.server: InboundServer | None = None
        self._collecting = False
        # The parts, each given what it uses (ports.py) rather than the whole switch.
        self.dialplan = XmlDialplan(self.config.contexts)
        self.callee = Callees(self, self.dialplan, self.register)
        self.originator = Originate(self, self.dialplan, self.register, self.callee, settings)
        self.conferences = ConferenceModule(
            self.bus, self.clock, self.sounds, self.config, self.global_vars, self.originator
        )
        self.commands = Commands(
            self.bus,
            self.clock,
            settings,
            self.channels,
            self.global_vars,
            lambda: self.session_count,
        )
        self.commands.register("originate", self.originator.api_originate)
        self.commands.register("conference", ConferenceApi(self.conferences))
        # Measurement knob for the benchmark only (see fsconf/sim/benchtrace.py).
        self.trace: BenchTrace | None = None
        if settings.bench_trace:
            self.trace = BenchTrace(self.channels, self.bus)
            self.commands.register("sim_trace", self.trace.api_trace)
            self.commands.register("sim_flood", self.trace.api_flood)
            # The cluster benchmark's `kill -9` for one node of a multi-node process
            # (nodes reach each other over SIP only within one process).
            self.commands.register("sim_kill", self._api_kill)
        self.apps: dict[str, App] = base_apps()
        self.apps["socket"] = make_app_socket(self, settings)
        self.apps["conference"] = self.conferences.app
        self.apps["transfer"] = self.dialplan.app_transfer
        self.sip = SipNode(
            self,
            self.dialplan,
            self.register,
            self.config.sip_profiles,
            fabric,
            self.config.acl_lists,
            settings.originate_timeout_s,
        )
        self.apps["bridge"] = self.sip.app_bridge
        self.originator.sofia = self.sip.originate

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        self.server = InboundServer(self, self.host, self._listen_port)
        self.server.start()
        self.sip.start()
        log.info("simulator listening on %s:%s", self.host, self.port)

    @property
    def port(self) -> int:
        if self.server is None:
            return self._listen_port
        return self.server.port

    def stop(self, timeout: float = 5.0) -> None:
        for ch in list(self.channels.values()):
            ch.hangup("MANAGER_REQUEST")
        for ch in list(self.channels.values()):
            if ch.session is not None:
                ch.session.close()
        runners = [ch.runner for ch in list(self.channels.values()) if ch.runner is not None]
        gevent.joinall(runners, timeout=timeout)
        for ch in list(self.channels.values()):
            if ch.runner is not None:
                ch.runner.kill(block=False)
        if self.server is not None:
            self.server.stop()
        self.sip.stop()

    def kill(self) -> None:
        """Die as a SIGKILLed FreeSWITCH: every socket closes with nothing more written
        (no disconnect notice, no event, no BYE to the other nodes), calls just vanish."""
        self.sip.kill()
        if self.server is not None:
            for conn in list(self.server.connections):
                conn.abort()
            self.server.server.stop(timeout=0)
        channels = list(self.channels.values())
        for ch in channels:
            if ch.session is not None:
                ch.session.abort()
        gevent.killall([ch.runner for ch in channels if ch.runner is not None], block=False)
        self.channels.clear()

    def _api_kill(self, args: str) -> str:
        """`bgapi sim_kill` (bench knob): this node dies as kill() describes. Sent as
        bgapi, the reply is out before the sockets close; a plain api gets no reply."""
        self.kill()
        return "+OK killed\n"

    # --- registry ---------------------------------------------------------------------

    def next_session_id(self) -> int:
        self.session_count += 1
        return next(self._session_ids)

    def register(self, ch: Channel) -> None:
        self.channels[ch.uuid] = ch

    def unregister(self, ch: Channel) -> None:
        self.channels.pop(ch.uuid, None)
        if self.settings.collect_when_idle and not self.channels and not self._collecting:
            self._collecting = True
            gevent.spawn_later(IDLE_COLLECT_DELAY_S, self._collect_if_idle)

    def _collect_if_idle(self) -> None:
        self._collecting = False
        if not self.channels:
            gc.collect()

    # --- what the Event Socket listeners call (ListenerHost) --------------------------

    def api(self, line: str) -> str:
        return self.commands.execute_line(line)

    def bgapi(self, line: str, job: str, owner: str | None) -> None:
        self.commands.background(line, job, owner)


# Ports handed out by free_port, held for the life of the process.
_RESERVED_PORTS: list[socket.socket] = []


def free_port(host: str = "127.0.0.1") -> int:
    """A port for a listener started later. It stays bound here (SO_REUSEADDR, never
    listening) for the life of the process: the kernel's search for a port-0 bind skips
    it, so a simulator started meanwhile cannot take it (a probe socket closed at once
    let one do so under load), while our listeners, gevent's StreamServer, which sets
    SO_REUSEADDR too, can still bind and listen on it."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, 0))
    _RESERVED_PORTS.append(s)
    return int(s.getsockname()[1])
