"""`fsconf serve` that cannot start says why on one line and exits non-zero."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from fsconf.config import Settings
from fsconf.sim.core import free_port
from tests.integration.conftest import start_sim

FSCONF = str(Path(sys.executable).with_name("fsconf"))


def _serve(settings: Settings, sim_port: int, password: str, *argv: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FSCONF_")}
    env.update(FSCONF_DATABASE_URL=settings.database_url, FSCONF_FREESWITCH_PORT=str(sim_port),
               FSCONF_FREESWITCH_PASSWORD=password, FSCONF_CONTROLLER_NODE="serve-cli-test")
    done = subprocess.run([FSCONF, "serve", *argv], env=env, capture_output=True, text=True,
                          timeout=60)
    return done.returncode, done.stderr


def _errors(stderr: str) -> list[str]:
    """What the operator is told, apart from the server's own log lines."""
    assert "Traceback" not in stderr, stderr
    return [line for line in stderr.splitlines() if line.startswith("fsconf")]


def test_serve_with_the_wrong_event_socket_password_says_so(settings: Settings, db) -> None:
    sim = start_sim(9, sounds_dir=settings.ivr.sounds_dir)
    try:
        code, err = _serve(settings, sim.port, "not-the-password", "--port", str(free_port()))
    finally:
        sim.stop()
    assert code == 2
    assert _errors(err) == [
        f"fsconf: error: FreeSWITCH at 127.0.0.1:{sim.port} refused the Event Socket password"
        " (-ERR invalid); check [freeswitch] password (FSCONF_FREESWITCH_PASSWORD)"
    ]


def test_serve_on_a_port_already_taken_says_so(settings: Settings, db) -> None:
    sim = start_sim(9, sounds_dir=settings.ivr.sounds_dir)
    taken = socket.socket()
    try:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, err = _serve(settings, sim.port, "ClueCon", "--port", str(port))
    finally:
        taken.close()
        sim.stop()
    assert code == 2
    assert _errors(err) == [f"fsconf: error: cannot listen on 127.0.0.1:{port}:"
                            " Address already in use"]


def test_serve_refuses_a_port_out_of_range(settings: Settings, db) -> None:
    code, err = _serve(settings, 9, "ClueCon", "--port", "99999")
    assert code == 2
    assert _errors(err) == ["fsconf: error: --port must be between 1 and 65535, got 99999"]
