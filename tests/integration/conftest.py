"""The controller and the FreeSWITCH simulator, wired together over real sockets.

The simulator loads the project's own freeswitch/conf; only its global variables are
overridden to point the dialplan's `socket` action at this test's controller port. Tests
drive calls through the simulator's inbound Event Socket exactly as they would drive a
real FreeSWITCH, and assert what a caller would notice: prompts heard, mod_conference
state (`json_list`) and rows in the database.
"""

from __future__ import annotations

import itertools
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import gevent
import pytest

from fsconf.config import Settings, load_settings
from fsconf.controller import Controller
from fsconf.sim import SimSettings, Simulator
from fsconf.sim.core import free_port
from fsconf.sounds.wav import silent_prompt_tree
from fsconf.store.models import AccessNumber, Conference, Customer, Subscription
from fsconf.store.session import Database
from fsconf.testing.driver import CallDriver, DriverCall

SPEED = 20.0  # simulated seconds per wall-clock second
PROMPT_MS = 400  # every stand-in prompt lasts this long (simulated)
_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def sounds_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny silent WAVs under every name the prompt catalogue uses, per language."""
    return silent_prompt_tree(tmp_path_factory.mktemp("sounds"), PROMPT_MS, digit_ms=200)


def unique_digits(length: int) -> str:
    """Numbers no other test uses (tests share one database per run)."""
    return f"{next(_numbers):0{length - 3}d}{secrets.randbelow(900) + 100}"


@dataclass
class Provisioned:
    customer_id: int
    access_number: str
    conference_id: int
    conference_number: str
    moderator_pin: str
    participant_pin: str


def provision(
    db: Database, *, max_participants: int = 10, language: str = "nl", shared: bool = False,
    record_names: bool = True,
) -> Provisioned:
    """A customer with an access number and one conference, committed for real."""
    with db.unit_of_work() as s:
        customer = Customer(name=f"Customer {secrets.token_hex(3)}")
        s.add(customer)
        s.flush()
        import datetime as dt

        s.add(Subscription(customer_id=customer.id, activated_on=dt.date.today()))
        access = unique_digits(10)
        s.add(AccessNumber(number=access, customer_id=None if shared else customer.id))
        conf = Conference(
            customer_id=customer.id, number=unique_digits(6), moderator_pin="1111",
            participant_pin="2222", max_participants=max_participants, language=language,
            record_names=record_names,
        )
        s.add(conf)
        s.flush()
        return Provisioned(customer.id, access, conf.id, conf.number, "1111", "2222")


@pytest.fixture
def settings(database_url: str, tmp_path: Path, sounds_dir: Path) -> Settings:
    base = load_settings(environ={"FSCONF_DATABASE_URL": database_url})
    return replace(
        base,
        controller=replace(base.controller, port=0, command_timeout=5.0,
                           graceful_stop_timeout=2.0, node=f"test-{secrets.token_hex(4)}"),
        ivr=replace(
            base.ivr, sounds_dir=str(sounds_dir), keypad_inter_digit_timeout=0.3,
            invite_number_timeout=2.0,
            # Simulated time runs SPEED times faster; leave a loaded test machine enough
            # wall-clock time (1.5 s) to type after a prompt starts.
            first_digit_timeout_ms=30000, inter_digit_timeout_ms=30000,
        ),
        freeswitch=replace(
            base.freeswitch, recordings_dir=str(tmp_path / "recordings"),
            dialout_string="sofia/gateway/fsconf_trunk/{number}",
        ),
    )


@dataclass
class Rig:
    controller: Controller
    sim: Simulator
    driver: CallDriver
    db: Database
    settings: Settings

    def call(self, access_number: str, caller: str = "0612345678", name: str = "Tester",
             **kw: object) -> DriverCall:
        return self.driver.place_call(access_number, caller_id_number=caller,
                                      caller_id_name=name, **kw)  # type: ignore[arg-type]

    def join(self, p: Provisioned, pin: str, caller: str = "0612345678") -> DriverCall:
        """Dial in, type number and PIN, say a name: the happy path up to membership."""
        call = self.call(p.access_number, caller=caller)
        call.wait_prompt("enter-conference-number")
        call.send_dtmf(p.conference_number + "#")
        call.wait_prompt("enter-pin")
        call.send_dtmf(pin + "#")
        call.wait_prompt("tone")
        call.send_dtmf("#")
        call.wait_member()
        return call

    def conference(self, p: Provisioned) -> dict | None:
        rooms = self.driver.conference_json(f"fsconf-{p.conference_number}")
        return rooms[0] if rooms else None


def start_sim(controller_port: int, backup_port: int = 9, **sim_kw: object) -> Simulator:
    sim = Simulator(
        SimSettings(
            port=0, speed=SPEED, sounds_dir=Path(sim_kw.pop("sounds_dir")),  # type: ignore[arg-type]
            global_vars={"fsconf_controller": f"127.0.0.1:{controller_port}",
                         "fsconf_controller_backup": f"127.0.0.1:{backup_port}"},
            **sim_kw,  # type: ignore[arg-type]
        )
    )
    sim.start()
    return sim


def with_switch(settings: Settings, port: int, sim: Simulator) -> Settings:
    """Settings of a controller on `port`, talking to this simulator's inbound socket."""
    return replace(
        settings,
        controller=replace(settings.controller, port=port),
        freeswitch=replace(settings.freeswitch, port=sim.port),
    )


def make_rig(settings: Settings, db: Database, **sim_kw: object) -> Iterator[Rig]:
    port = free_port()
    sim = start_sim(port, sounds_dir=settings.ivr.sounds_dir, **sim_kw)
    settings = with_switch(settings, port, sim)
    controller = Controller(settings, db=db)
    controller.start()
    driver = CallDriver("127.0.0.1", sim.port, timeout=10.0)
    try:
        yield Rig(controller, sim, driver, db, settings)
    finally:
        driver.close()
        sim.stop()
        controller.stop(timeout=2.0)


@pytest.fixture
def rig(settings: Settings, db: Database) -> Iterator[Rig]:
    yield from make_rig(settings, db)


# -- scale-out: several nodes on one PostgreSQL (cluster_rig.py) ------------------------------


@pytest.fixture
def pg_url(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("clustering needs PostgreSQL (refused on SQLite by design)")
    return database_url


@pytest.fixture
def cluster(pg_url: str, settings: Settings, db: Database, tmp_path: Path,
            sounds_dir: Path) -> Iterator[object]:
    from .cluster_rig import run_cluster  # it builds on this module

    yield from run_cluster(pg_url, settings, db, tmp_path, sounds_dir)


def serve_process(settings: Settings, **extra_env: str) -> subprocess.Popen:
    """`fsconf serve` in its own process, configured through the environment (so a test can
    SIGKILL it), started once it listens. `extra_env`: further FSCONF_* variables."""
    env = dict(os.environ)
    env.update({
        "FSCONF_DATABASE_URL": settings.database_url,
        "FSCONF_CONTROLLER_PORT": str(settings.controller.port),
        "FSCONF_CONTROLLER_NODE": settings.controller.node,
        "FSCONF_CONTROLLER_COMMAND_TIMEOUT": "5",
        "FSCONF_FREESWITCH_PORT": str(settings.freeswitch.port),
        "FSCONF_FREESWITCH_RECORDINGS_DIR": settings.freeswitch.recordings_dir,
        "FSCONF_IVR_SOUNDS_DIR": settings.ivr.sounds_dir,
        "FSCONF_IVR_FIRST_DIGIT_TIMEOUT_MS": "30000",
        "FSCONF_IVR_INTER_DIGIT_TIMEOUT_MS": "30000",
        **extra_env,
    })
    proc = subprocess.Popen(
        [sys.executable, "-m", "fsconf.cli.entry", "serve", "--log-level", "WARNING"], env=env,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", settings.controller.port), timeout=0.2).close()
            return proc
        except OSError:
            gevent.sleep(0.1)
    proc.kill()
    raise RuntimeError("controller process did not start listening")
