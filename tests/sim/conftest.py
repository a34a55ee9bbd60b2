"""Simulator fixtures: a throwaway outbound controller, a sounds tree of tiny WAVs."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import gevent
import pytest
from gevent.server import StreamServer

from fsconf.esl.protocol import (
    Event,
    FrameParser,
    decode_reply_headers,
    encode_command,
    parse_event,
)
from fsconf.sim import SimSettings, Simulator
from fsconf.sim.settings import REPO_CONF_DIR
from fsconf.sim.sip import SipFabric
from fsconf.sounds.wav import write_silence
from fsconf.testing.driver import CallDriver

SPEED = 20.0

# The simulator's own tests use a conference profile they own (the project's profile in
# freeswitch/conf changes with the product); dialplan, vars and event socket stay the
# project's.  Stock FreeSWITCH prompt names, as in the 1.10.12 captures.
TEST_CONFERENCE_CONF = """<configuration name="conference.conf" description="Audio Conference">
  <caller-controls>
    <group name="default">
      <control action="mute" digits="0"/>
    </group>
  </caller-controls>
  <profiles>
    <profile name="fsconf">
      <param name="domain" value="$${domain}"/>
      <param name="rate" value="8000"/>
      <param name="caller-controls" value="none"/>
      <param name="moderator-controls" value="none"/>
      <param name="enter-sound" value="tone_stream://%(200,0,500,600,700)"/>
      <param name="exit-sound" value="tone_stream://%(500,0,300,200,100,50,25)"/>
      <param name="alone-sound" value="conference/conf-alone.wav"/>
      <param name="kicked-sound" value="conference/conf-kicked.wav"/>
      <param name="locked-sound" value="conference/conf-locked.wav"/>
      <param name="is-locked-sound" value="conference/conf-is-locked.wav"/>
      <param name="is-unlocked-sound" value="conference/conf-is-unlocked.wav"/>
      <param name="muted-sound" value="conference/conf-muted.wav"/>
      <param name="unmuted-sound" value="conference/conf-unmuted.wav"/>
    </profile>
    <profile name="nokick">
      <param name="rate" value="8000"/>
      <param name="caller-controls" value="none"/>
      <param name="kicked-sound" value="none"/>
    </profile>
    <profile name="prefixed">
      <param name="rate" value="8000"/>
      <param name="caller-controls" value="none"/>
      <param name="sound-prefix" value="$${sounds_dir}/en/us/callie/conference"/>
      <param name="kicked-sound" value="conf-kicked.wav"/>
    </profile>
  </profiles>
</configuration>
"""


@pytest.fixture
def conf_dir(tmp_path: Path) -> Path:
    root = tmp_path / "conf"
    shutil.copytree(REPO_CONF_DIR, root)
    (root / "autoload_configs" / "conference.conf.xml").write_text(TEST_CONFERENCE_CONF)
    return root


@pytest.fixture
def sounds_dir(tmp_path: Path) -> Path:
    root = tmp_path / "sounds"
    callie = root / "en" / "us" / "callie"
    for name in (
        "conf-pin",
        "conf-bad-pin",
        "conf-welcome",
        "conf-kicked",
        "conf-locked",
        "conf-muted",
        "conf-unmuted",
        "conf-alone",
        "conf-is-locked",
        "conf-is-unlocked",
    ):
        write_silence(callie / "conference" / "8000" / f"{name}.wav", 1000)
    write_silence(callie / "ivr" / "8000" / "ivr-long.wav", 20000)
    for d in range(10):
        write_silence(callie / "digits" / "8000" / f"{d}.wav", 300)
    return root


class Controller:
    """A tiny outbound Event Socket app: each connection runs `script(conn)`."""

    def __init__(self, script: Callable[[ControllerConn], None]) -> None:
        self.script = script
        self.conns: list[ControllerConn] = []
        self.server = StreamServer(("127.0.0.1", 0), self._handle)
        self.server.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server_port}"

    def _handle(self, sock: socket.socket, addr: tuple[str, int]) -> None:
        conn = ControllerConn(sock)
        self.conns.append(conn)
        self.script(conn)
        conn._reader.join(timeout=30)  # StreamServer closes the socket when we return

    def wait_conn(self, n: int = 1, timeout: float = 10.0) -> ControllerConn:
        """The n-th connection FreeSWITCH made to this controller (1 = the first)."""
        with gevent.Timeout(timeout, TimeoutError(f"controller connection {n}")):
            while len(self.conns) < n:
                gevent.sleep(0.005)
        return self.conns[n - 1]

    def stop(self) -> None:
        self.server.stop(timeout=1)


class ControllerConn:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.raw = bytearray()
        self.frames: list = []
        self.events: list[Event] = []
        self.replies: list[dict[str, str]] = []
        self.closed = False
        self._parser = FrameParser()
        self._reader = gevent.spawn(self._read)

    def _read(self) -> None:
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                self.closed = True
                return
            self.raw += data
            for frame in self._parser.feed(data):
                self.frames.append(frame)
                if frame.content_type.startswith("text/event"):
                    self.events.append(parse_event(frame))
                elif frame.content_type in ("command/reply", "api/response"):
                    self.replies.append(decode_reply_headers(frame))

    def send(self, line: str, headers: list[tuple[str, str]] | None = None) -> None:
        self.sock.sendall(encode_command(line, headers or []))

    def command(self, line: str, timeout: float = 5.0) -> dict[str, str]:
        n = len(self.replies)
        self.send(line)
        self.wait(lambda: len(self.replies) > n, timeout, f"reply to {line!r}")
        return self.replies[n]

    def execute(self, app: str, arg: str | None = None, lock: bool = True) -> None:
        headers = [("call-command", "execute"), ("execute-app-name", app)]
        if arg is not None:
            headers.append(("execute-app-arg", arg))
        if lock:
            headers.append(("event-lock", "true"))
        self.send("sendmsg", headers)

    def wait(self, pred: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
        with gevent.Timeout(timeout, TimeoutError(f"waiting for {what}")):
            while not pred():
                gevent.sleep(0.005)

    def wait_complete(self, app: str, timeout: float = 5.0) -> Event:
        def done() -> Event | None:
            for ev in self.events:
                if ev.name == "CHANNEL_EXECUTE_COMPLETE" and ev.get("Application") == app:
                    return ev
            return None

        self.wait(lambda: done() is not None, timeout, f"EXECUTE_COMPLETE {app}")
        ev = done()
        assert ev is not None
        self.events.remove(ev)
        return ev


@pytest.fixture
def make_sim(sounds_dir: Path, conf_dir: Path) -> Iterator[Callable[..., Simulator]]:
    sims: list[Simulator] = []

    def make(controller: Controller | None = None, **kw: object) -> Simulator:
        clock = kw.pop("clock", None)  # e.g. a ManualClock the test moves itself
        fabric = kw.pop("fabric", None)  # the SIP network between nodes (sim/sip.py)
        gv = dict(kw.pop("global_vars", {}) or {})  # type: ignore[call-overload]
        if controller is not None:
            gv["fsconf_controller"] = controller.address
        kw.setdefault("conf_dir", conf_dir)
        kw.setdefault("speed", SPEED)
        settings = SimSettings(port=0, sounds_dir=sounds_dir, global_vars=gv, **kw)  # type: ignore[arg-type]
        sim = Simulator(settings, clock=clock, fabric=fabric)  # type: ignore[arg-type]
        sim.start()
        sims.append(sim)
        return sim

    yield make
    for sim in sims:
        sim.stop()


@pytest.fixture
def make_node(make_sim) -> Callable[..., Simulator]:
    """Several FreeSWITCH nodes on this test's own SIP network (no node of another test
    is on it): make_node(ip, controller, **make_sim options). `ip` is the node's
    local_ip_v4, which places its SIP profiles as in the project's conf."""
    fabric = SipFabric()

    def make(ip: str, controller: Controller | None, **kw: object) -> Simulator:
        gv = {"local_ip_v4": ip, **dict(kw.pop("global_vars", {}) or {})}  # type: ignore[call-overload]
        kw.setdefault("race_seed", None)
        return make_sim(controller, global_vars=gv, fabric=fabric, **kw)

    return make


@pytest.fixture
def driver_for() -> Iterator[Callable[[Simulator], CallDriver]]:
    drivers: list[CallDriver] = []

    def make(sim: Simulator) -> CallDriver:
        d = CallDriver("127.0.0.1", sim.port, "ClueCon", timeout=5)
        drivers.append(d)
        return d

    yield make
    for d in drivers:
        d.close()
