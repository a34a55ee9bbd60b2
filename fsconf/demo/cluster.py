"""The two-node demo (`fsconf demo --nodes 2`): one meeting, callers on two simulated
FreeSWITCH nodes, one controller per node, one PostgreSQL (README "Scaling out").

Each node loads the project's freeswitch/conf on its own loopback address (127.0.0.1,
127.0.0.2, ...), so its internal SIP profile (port 5090, ACL fsconf_nodes admits
127.0.0.0/8) is where the other node bridges its callers, exactly as in a deployment.
The room lives on the node its first caller rang; a caller on the other node runs the
prompts there and is bridged to the owner with signed X-Fsconf headers.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import select

from fsconf.config import ClusterSettings
from fsconf.controller import Controller
from fsconf.demo.script import WAIT, say_name
from fsconf.demo.stage import DemoConference, DemoDriver, Stage, _CommandLog
from fsconf.sim import SimSettings, Simulator
from fsconf.sim.core import free_port
from fsconf.sim.sip import SipFabric
from fsconf.store import migrate
from fsconf.store.models import Attendance, Meeting, RoomLease
from fsconf.store.session import Database
from fsconf.testing.driver import DriverCall

NODE_NAMES = "abcdefgh"
LEASE_SECONDS = 5.0  # on the database's clock (real time), renewed three times per lease


@dataclass
class DemoNode:
    name: str
    ip: str
    sim: Simulator
    controller: Controller
    driver: DemoDriver


@dataclass
class ClusterStage(Stage):
    """The stage with `count` nodes; `self.driver` is the first node's."""

    count: int = 2
    nodes: list[DemoNode] = field(default_factory=list)

    def open(self) -> DemoConference:
        import logging

        url = self.settings.database_url
        migrate.upgrade(url)
        self.db = Database(url)
        conference = self._provision()
        fabric = SipFabric()
        secret = secrets.token_hex(16)  # this run only; never printed
        for i in range(self.count):
            self.nodes.append(self._node(NODE_NAMES[i], f"127.0.0.{i + 1}", fabric, secret))
        first = self.nodes[0]
        self.sim, self.controller, self.driver = first.sim, first.controller, first.driver
        self._log_handler = _CommandLog(self.transcript)
        esl_log = logging.getLogger("fsconf.esl.connection")
        esl_log.addHandler(self._log_handler)
        esl_log.setLevel(logging.DEBUG)
        esl_log.propagate = False
        return conference

    def _node(self, name: str, ip: str, fabric: SipFabric, secret: str) -> DemoNode:
        assert self.db is not None
        port = free_port()
        sim = Simulator(
            SimSettings(
                port=0, speed=self.speed, sounds_dir=Path(self.settings.ivr.sounds_dir),
                ipv4=ip, hostname=f"fsconf-demo-{name}",
                global_vars={
                    "fsconf_controller": f"127.0.0.1:{port}",
                    "fsconf_controller_backup": "127.0.0.1:9",
                    "local_ip_v4": ip,
                    "fsconf_internal_sip_ip": ip,
                    # Callers arrive in PCMU like SIP callers from a trunk.
                    "loopback_initial_codec": "PCMU@8000h@20i",
                },
                callees=self.callees,
            ),
            fabric=fabric,
        )
        sim.start()
        s = self.settings
        settings = replace(
            s,
            controller=replace(s.controller, port=port, node=name),
            freeswitch=replace(s.freeswitch, port=sim.port,
                               recordings_dir=str(self.workdir / f"recordings-{name}")),
            cluster=ClusterSettings(node=name, internal_sip=f"{ip}:5090", secret=secret,
                                    lease_seconds=LEASE_SECONDS),
        )
        controller = Controller(settings, db=self.db)
        controller.start()
        driver = DemoDriver("127.0.0.1", sim.port, timeout=10.0)
        driver.where = name
        driver.transcript = self.transcript
        return DemoNode(name, ip, sim, controller, driver)

    def node(self, name: str) -> DemoNode:
        return next(n for n in self.nodes if n.name == name)

    def close(self) -> None:
        import logging

        if self._log_handler is not None:
            logging.getLogger("fsconf.esl.connection").removeHandler(self._log_handler)
        for n in self.nodes:
            n.driver.close()
        for n in self.nodes:
            n.controller.stop(timeout=2)
        for n in self.nodes:
            n.sim.stop()
        if self.db is not None:
            self.db.dispose()

    def owner(self, conference_id: int) -> tuple[str, int] | None:
        assert self.db is not None
        with self.db.unit_of_work() as s:
            row = s.get(RoomLease, conference_id)
            return (row.node, row.epoch) if row is not None else None

    def in_room(self, conf: DemoConference, caller: str) -> str | None:
        """The node whose mod_conference has `caller` in the demo room, if any."""
        for n in self.nodes:
            rooms = n.driver.conference_json(f"fsconf-{conf.number}") or []
            for room in rooms:
                members = room.get("members")
                if isinstance(members, list) and any(
                    isinstance(m, dict) and m.get("caller_id_number") == caller
                    for m in members
                ):
                    return n.name
        return None


def join_on(stage: ClusterStage, node: str, who: str, caller: str, pin: str,
            conf: DemoConference) -> DriverCall:
    """Number, PIN and a spoken name on `node`; back once the caller is in the room,
    wherever it lives."""

    call = stage.dial(who, caller, stage.node(node).driver)
    call.wait_prompt("enter-conference-number", WAIT)
    stage.press(call, conf.number + "#")
    call.wait_prompt("enter-pin", WAIT)
    stage.press(call, pin + "#")
    say_name(stage, call, who)
    call.driver.wait_for(lambda: stage.in_room(conf, caller) is not None, WAIT,
                         f"{who} in the meeting")
    where = stage.in_room(conf, caller)
    stage.transcript.line("--", f"{who.split(' ')[0]} rang node {node}; the meeting is on "
                                f"node {where}")
    return call


def heard_on_owner(stage: ClusterStage, caller: str, prompt: str) -> None:
    """Wait until the bridged `caller` hears `prompt`: played to their leg on the owner
    (their own leg, on the node they rang, only carries the audio)."""

    def played() -> bool:
        return any(
            ev.subclass == "conference::maintenance"
            and ev.get("Action") == "play-file-member"
            and ev.get("Caller-Caller-ID-Number") == caller
            and prompt in (ev.get("File") or "")
            for n in stage.nodes for ev in n.driver.events
        )

    stage.nodes[0].driver.wait_for(played, WAIT, f"{caller} to hear {prompt}")


def run_cluster_meeting(stage: ClusterStage, conf: DemoConference) -> None:
    t = stage.transcript
    t.line("--", f"conference {conf.number}: moderator PIN {conf.moderator_pin}, "
                 f"participant PIN {conf.participant_pin}; nodes "
                 + ", ".join(f"{n.name} (SIP {n.ip}:5090)" for n in stage.nodes))
    anna = join_on(stage, "a", "Anna (moderator)", "0201111111", conf.moderator_pin, conf)
    owner = stage.owner(conf.conference_id)
    assert owner is not None
    t.line("--", f"room lease: owner node {owner[0]}, epoch {owner[1]}")
    bram = join_on(stage, "b", "Bram (participant)", "0302222222", conf.participant_pin, conf)
    carla = join_on(stage, "b", "Carla (participant)", "0403333333", conf.participant_pin,
                    conf)

    t.line("--", "Bram (on node b) asks who is there: the owner plays the names recorded on b")
    stage.press(bram, "*3")
    heard_on_owner(stage, "0302222222", "roll-call")

    t.line("--", "Anna mutes all participants, wherever they rang")
    stage.press(anna, "*11")
    anna.wait_prompt("all-muted", WAIT)

    t.line("--", "Anna ends the meeting")
    stage.press(anna, "*30")
    for call in (anna, bram, carla):
        call.wait_hangup(WAIT)
    for n in stage.nodes:
        n.driver.wait_for(lambda n=n: not n.controller.server.active, WAIT,  # type: ignore[misc]
                          f"calls on node {n.name} to finish")


def cluster_summary(stage: ClusterStage, conf: DemoConference) -> None:
    assert stage.db is not None
    out = stage.out
    with stage.db.unit_of_work() as s:
        meeting = s.scalars(select(Meeting).where(Meeting.conference_id == conf.conference_id)
                            ).one()
        rows = s.scalars(select(Attendance).where(Attendance.meeting_id == meeting.id)
                         .order_by(Attendance.id)).all()
        out.write(f"\nMeeting {meeting.id} on node {meeting.fs_node}: peak {meeting.peak_size},"
                  f" ended: {meeting.end_reason}\n")
        out.write("  caller       role         rang node  ended\n")
        for row in rows:
            out.write(f"  {row.caller_id_number:<12} {row.role or '-':<12} "
                      f"{row.node or '-':<10} {row.end_reason}\n")
