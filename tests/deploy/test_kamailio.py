"""deploy/kamailio is what an operator installs in front of the FreeSWITCH nodes: Kamailio
itself must accept the configuration, and the dispatcher list must name the nodes' public
profile (the port of sip_profiles/external.xml), never their internal one."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from fsconf.sim.settings import REPO_CONF_DIR
from fsconf.sim.xmlconf import load_config

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "kamailio"
CORE = {"local_ip_v4": "192.0.2.10", "sounds_dir": "/usr/share/freeswitch/sounds",
        "hostname": "fs1"}


def _kamailio() -> str:
    path = shutil.which("kamailio") or next(
        (p for p in ("/usr/sbin/kamailio", "/usr/local/sbin/kamailio") if Path(p).exists()), None
    )
    if path is None:
        pytest.skip("kamailio is not installed (Debian package kamailio; .ci/run installs it)")
    return path


def _check(cfg: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_kamailio(), "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=60
    )


def test_kamailio_accepts_the_configuration() -> None:
    done = _check(DEPLOY / "kamailio.cfg")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "config file ok" in done.stdout + done.stderr


def test_kamailio_check_catches_a_broken_configuration(tmp_path: Path) -> None:
    """The check above means something: a misspelt dispatcher call fails it."""
    text = (DEPLOY / "kamailio.cfg").read_text(encoding="utf-8")
    assert "ds_next_dst()" in text
    broken = tmp_path / "kamailio.cfg"
    broken.write_text(text.replace("ds_next_dst()", "ds_nxt_dst()"), encoding="utf-8")
    done = _check(broken)
    assert done.returncode != 0
    assert "ds_nxt_dst" in done.stderr


def _destinations() -> list[tuple[str, str, int]]:
    """(set id, host, port) of every dispatcher.list entry."""
    rows = []
    for line in (DEPLOY / "dispatcher.list").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        setid, uri, *_ = line.split()
        m = re.fullmatch(r"sip:([^:;]+):(\d+)", uri)
        assert m is not None, uri
        rows.append((setid, m.group(1), int(m.group(2))))
    return rows


def test_dispatcher_list_names_each_nodes_public_profile() -> None:
    conf = load_config(REPO_CONF_DIR, CORE, environ={})
    public = int(conf.sip_profiles["external"]["sip-port"])
    internal = int(conf.sip_profiles["internal"]["sip-port"])
    rows = _destinations()
    assert len({host for _, host, _ in rows}) >= 2  # failover needs a second node
    assert {setid for setid, _, _ in rows} == {"1"}
    assert {port for _, _, port in rows} == {public} and public != internal
    cfg = (DEPLOY / "kamailio.cfg").read_text(encoding="utf-8")
    assert 'ds_select_dst("1"' in cfg  # the set the list fills
