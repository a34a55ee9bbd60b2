"""The scale-out test rig: several simulated FreeSWITCH nodes joined by one in-process
SIP fabric, a controller per node, one PostgreSQL (the `cluster` fixture, conftest.py).

Each node loads the project's freeswitch/conf plus an internal profile (port 5090,
context fsconf_internal, whose only route hands fsconf-room-<digits> legs to the node's
controller) on its own address, as a real deployment would.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.engine import make_url

from fsconf.config import ClusterSettings, Settings
from fsconf.controller import Controller
from fsconf.sim import SimSettings, Simulator
from fsconf.sim.core import free_port
from fsconf.sim.settings import REPO_CONF_DIR
from fsconf.sim.sip import SipFabric
from fsconf.store.models import Attendance, Conference, Meeting, RoomLease
from fsconf.store.session import Database
from fsconf.testing.driver import CallDriver, DriverCall
from tests.faults import FaultProxy

from .conftest import SPEED, Provisioned, serve_process

SECRET = "test-cluster-secret-0123456789"
LEASE = 1.0  # seconds on the database clock: short, so take-overs are quick

# The internal profile and context as deploy ships them (profile `internal`, port 5090,
# context fsconf_internal): only room legs reach the controller from there.
INTERNAL_PROFILE = """<profile name="internal">
  <gateways/><domains/>
  <settings>
    <param name="context" value="fsconf_internal"/>
    <param name="dialplan" value="XML"/>
    <param name="sip-ip" value="$${local_ip_v4}"/>
    <param name="rtp-ip" value="$${local_ip_v4}"/>
    <param name="sip-port" value="5090"/>
    <param name="auth-calls" value="false"/>
    <param name="inbound-late-negotiation" value="true"/>
  </settings>
</profile>
"""
INTERNAL_DIALPLAN = """<include>
  <context name="fsconf_internal">
    <extension name="fsconf_room">
      <condition field="destination_number" expression="^fsconf-room-(\\d+)$">
        <action application="socket" data="$${fsconf_controller} async full"/>
        <action application="socket" data="$${fsconf_controller_backup} async full"/>
      </condition>
    </extension>
  </context>
</include>
"""


@dataclass
class Node:
    name: str
    ip: str
    sim: Simulator
    controller: Controller
    driver: CallDriver
    db: Database
    settings: Settings
    proxy: FaultProxy | None = None
    backup: Controller | None = None
    # The controller as its own `fsconf serve` process (Cluster.node(process=True)), to
    # be killed like a crash; `controller` is then the one restart() starts in-process.
    process: subprocess.Popen | None = None
    started: bool = True  # `controller` was started (and is stopped at the end)

    def kill_controller(self) -> None:
        """SIGKILL the controller process: no clean-up runs, its sockets just close."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def restart(self) -> Controller:
        """A controller for this node started again on the same port and settings."""
        self.controller = Controller(self.settings, db=self.db)
        self.controller.start()
        self.started = True
        return self.controller

    def call(self, p: Provisioned, caller: str, name: str = "Tester") -> DriverCall:
        return self.driver.place_call(p.access_number, caller_id_number=caller,
                                      caller_id_name=name)

    def dial_pin(self, p: Provisioned, pin: str, caller: str) -> DriverCall:
        """Number and PIN on this node."""
        call = self.call(p, caller)
        call.wait_prompt("enter-conference-number")
        call.send_dtmf(p.conference_number + "#")
        call.wait_prompt("enter-pin")
        call.send_dtmf(pin + "#")
        return call

    def dial_in(self, p: Provisioned, pin: str, caller: str) -> DriverCall:
        """Number, PIN, name: the join flow on this node up to the seat."""
        call = self.dial_pin(p, pin, caller)
        call.wait_prompt("tone")
        call.send_dtmf("#")
        return call

    def members(self, p: Provisioned) -> list[dict]:
        rooms = self.driver.conference_json(f"fsconf-{p.conference_number}")
        return list(rooms[0]["members"]) if rooms else []  # type: ignore[arg-type]

    def callers(self, p: Provisioned) -> list[dict]:
        """The room's members that are calls (a recording node is a member too)."""
        return [m for m in self.members(p) if m.get("type") == "caller"]

    def member(self, p: Provisioned, caller: str) -> dict | None:
        # .get: a recording node (*4) is listed among the members without a caller id
        return next((m for m in self.members(p) if m.get("caller_id_number") == caller), None)

    def room(self, p: Provisioned) -> dict | None:
        rooms = self.driver.conference_json(f"fsconf-{p.conference_number}")
        return rooms[0] if rooms else None


@dataclass
class Cluster:
    settings: Settings
    db: Database
    url: str
    tmp: Path
    sounds: str
    fabric: SipFabric = field(default_factory=SipFabric)
    # Node names unique to the test: the node table outlives it (one database per run).
    tag: str = field(default_factory=lambda: secrets.token_hex(3))
    nodes: list[Node] = field(default_factory=list)
    # The same on every node (as in a deployment); a test may lengthen it.
    lease_seconds: float = LEASE

    def conf(self, name: str) -> Path:
        root = self.tmp / f"conf-{name}"
        shutil.copytree(REPO_CONF_DIR, root)
        (root / "sip_profiles" / "internal.xml").write_text(INTERNAL_PROFILE)
        (root / "dialplan" / "fsconf_internal.xml").write_text(INTERNAL_DIALPLAN)
        return root

    def sim(self, name: str, ip: str, controller_port: int, conf: Path | None = None,
            backup_port: int = 9) -> Simulator:
        sim = Simulator(
            SimSettings(
                port=0, speed=SPEED, sounds_dir=Path(self.sounds), conf_dir=conf or self.conf(name),
                global_vars={
                    "fsconf_controller": f"127.0.0.1:{controller_port}",
                    "fsconf_controller_backup": f"127.0.0.1:{backup_port}",
                    "local_ip_v4": ip,
                    # Loopback callers in PCMU like real SIP callers (G README 2; finding 1).
                    "loopback_initial_codec": "PCMU@8000h@20i",
                },
            ),
            fabric=self.fabric,
        )
        sim.start()
        return sim

    def node(self, name: str, ip: str, *, own_db_link: bool = False,
             max_members: int = 0, backup: bool = False, process: bool = False) -> Node:
        port = free_port()
        backup_port = free_port() if backup else 9
        sim = self.sim(name, ip, port, backup_port=backup_port)
        name = f"{name}-{self.tag}"
        db, proxy = self.db, None
        if own_db_link:
            # This node reaches PostgreSQL through a proxy the test can cut, as when the
            # whole machine dies (its controller can then write nothing more).
            u = make_url(self.url)
            proxy = FaultProxy((u.host or "127.0.0.1", u.port or 5432))
            db = Database(u.set(host="127.0.0.1", port=proxy.port).render_as_string(False))
        s = self.settings
        settings = replace(
            s,
            controller=replace(s.controller, port=port, node=name),
            freeswitch=replace(s.freeswitch, port=sim.port,
                               recordings_dir=str(self.tmp / f"recordings-{name}")),
            cluster=ClusterSettings(
                node=name, internal_sip=f"{ip}:5090", secret=SECRET,
                lease_seconds=self.lease_seconds, max_members=max_members,
            ),
        )
        controller = Controller(settings, db=db)
        if own_db_link:
            controller.store.retry_for = 1.0  # a dead node's writes are not retried long
        serve = controller_process(settings) if process else None
        if serve is None:
            controller.start()
        node = Node(name, ip, sim, controller, CallDriver("127.0.0.1", sim.port, timeout=10.0),
                    db, settings, proxy, process=serve, started=serve is None)
        if backup:
            # The node's second controller (dialplan: the backup socket), same node name.
            node.backup = Controller(replace(settings, controller=replace(
                settings.controller, port=backup_port)), db=db)
            node.backup.start()
        self.nodes.append(node)
        return node

    def lease(self, p: Provisioned) -> RoomLease | None:
        with self.db.unit_of_work() as s:
            row = s.get(RoomLease, p.conference_id)
            if row is not None:
                s.expunge(row)
            return row

    def attendance(self, caller: str, p: Provisioned) -> Attendance:
        with self.db.unit_of_work() as s:
            row = s.scalars(
                select(Attendance).where(Attendance.caller_id_number == caller,
                                         Attendance.conference_id == p.conference_id)
                .order_by(Attendance.id.desc())
            ).first()
            assert row is not None
            s.expunge(row)
            return row

    def meeting(self, p: Provisioned) -> Meeting:
        with self.db.unit_of_work() as s:
            row = s.scalars(select(Meeting).where(Meeting.conference_id == p.conference_id)
                            .order_by(Meeting.id.desc())).first()
            assert row is not None
            s.expunge(row)
            return row


def controller_process(settings: Settings) -> subprocess.Popen:
    """`fsconf serve` for a node in its own process (the cluster secret only in its
    environment, as in a deployment)."""
    c = settings.cluster
    return serve_process(
        settings,
        FSCONF_IVR_KEYPAD_INTER_DIGIT_TIMEOUT=str(settings.ivr.keypad_inter_digit_timeout),
        FSCONF_CLUSTER_NODE=c.node,
        FSCONF_CLUSTER_INTERNAL_SIP=c.internal_sip,
        FSCONF_CLUSTER_SECRET=c.secret,
        FSCONF_CLUSTER_LEASE_SECONDS=str(c.lease_seconds),
    )


def run_cluster(pg_url: str, settings: Settings, db: Database, tmp_path: Path,
                sounds_dir: Path) -> Iterator[Cluster]:
    c = Cluster(settings, db, pg_url, tmp_path, str(sounds_dir))
    yield c
    for n in c.nodes:
        n.driver.close()
    for n in c.nodes:
        n.sim.stop()
    for n in c.nodes:
        if n.proxy is not None:
            n.proxy.close()
        if n.process is not None and n.process.poll() is None:
            n.process.kill()
            n.process.wait(10)
        if n.started:
            n.controller.stop(timeout=1.0)
        if n.backup is not None:
            n.backup.stop(timeout=1.0)
        if n.db is not db:
            n.db.dispose()


def wait(node: Node, predicate, what: str, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    node.driver.wait_for(predicate, timeout, what)


def configure(cluster: Cluster, p: Provisioned, **values: object) -> None:
    with cluster.db.unit_of_work() as s:
        s.execute(update(Conference).where(Conference.id == p.conference_id).values(**values))


def leg_on(owner: Node, p: Provisioned, caller: str) -> DriverCall:
    """The leg another node bridged to the owner for `caller`: what it hears on the owner
    is what the caller hears through the bridge (their own node plays none of it)."""
    wait(owner, lambda: owner.member(p, caller) is not None, f"{caller}'s leg on the owner")
    return owner.driver.follow(owner.member(p, caller)["uuid"])  # type: ignore[index]


def voice(cluster: Cluster) -> str:
    """A second and a half of "voice": a tone loud enough for `record`'s silence detector."""
    import math
    import struct
    import wave

    path = cluster.tmp / "voice.wav"
    if not path.exists():
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(b"".join(
                struct.pack("<h", int(8000 * math.sin(2 * math.pi * 220 * i / 8000)))
                for i in range(12000)))
    return str(path)


def only_nodes_alive(cluster: Cluster, names: set[str]) -> bool:
    """Nodes of earlier tests (one database per run) have stopped or their heartbeat
    aged out, so placement here chooses among this test's nodes only."""
    from fsconf.store import cluster as cluster_rows

    with cluster.db.unit_of_work() as s:
        alive = {n.name for n in cluster_rows.node_loads(s, LEASE) if n.alive}
    return alive == names
