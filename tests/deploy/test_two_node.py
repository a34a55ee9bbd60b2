"""deploy/two-node: the two-node example an operator copies. Each node's fsconf.toml must
load through fsconf's own loader (unknown keys are refused there), and each node's
FreeSWITCH overrides must make the project's freeswitch/conf listen where that node's
settings say, with the other node admitted by the ACL and both nodes in Kamailio's list."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from fsconf.config import Settings, load_settings
from fsconf.sim.settings import REPO_CONF_DIR
from fsconf.sim.sip import acl_allows
from fsconf.sim.xmlconf import Config, load_config

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "two-node"
NODES = ("node-a", "node-b")
CORE = {"local_ip_v4": "198.51.100.99", "sounds_dir": "/usr/share/freeswitch/sounds",
        "hostname": "fs1"}


def _env_example() -> dict[str, str]:
    env = {}
    for line in (EXAMPLE / "env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            env[name.strip()] = value.strip()
    return env


def _overrides(node: str) -> dict[str, str]:
    """The node's fsconf-node.xml: the global variables it sets."""
    text = (EXAMPLE / node / "freeswitch" / "fsconf-node.xml").read_text(encoding="utf-8")
    return dict(re.findall(r'<X-PRE-PROCESS cmd="set" data="([^=]+)=([^"]*)"/>', text))


def _switch(node: str) -> Config:
    return load_config(REPO_CONF_DIR, CORE, _overrides(node), environ={})


def test_the_example_has_what_the_readme_walks_through() -> None:
    for node in NODES:
        assert (EXAMPLE / node / "fsconf.toml").is_file()
        assert (EXAMPLE / node / "freeswitch" / "fsconf-node.xml").is_file()
    readme = (EXAMPLE / "README.md").read_text(encoding="utf-8")
    for name in ("env.example", "fsconf-node.xml", "acl.conf.xml", "dispatcher.list",
                 "FSCONF_CLUSTER_SECRET", "fsconf node list"):
        assert name in readme, name


def test_each_node_listens_on_its_own_internal_address() -> None:
    internal = {node: _switch(node).sip_profiles["internal"] for node in NODES}
    addresses = {f"{p['sip-ip']}:{p['sip-port']}" for p in internal.values()}
    assert len(addresses) == 2
    for node, profile in internal.items():
        trunk = _switch(node).sip_profiles["external"]
        assert profile["sip-port"] != trunk["sip-port"]
        assert profile["sip-ip"] == _overrides(node)["fsconf_internal_sip_ip"]


def test_every_node_admits_the_others_on_the_internal_profile() -> None:
    for node in NODES:
        conf = _switch(node)
        acl = conf.acl_lists[conf.sip_profiles["internal"]["apply-inbound-acl"]]
        for other in NODES:
            assert acl_allows(acl, _overrides(other)["fsconf_internal_sip_ip"]), (node, other)
        assert not acl_allows(acl, "203.0.113.5")  # a stranger, e.g. the trunk


def test_kamailio_dispatches_to_both_nodes_public_profiles() -> None:
    listed = (EXAMPLE.parent / "kamailio" / "dispatcher.list").read_text(encoding="utf-8")
    for node in NODES:
        trunk = _switch(node).sip_profiles["external"]
        assert f"sip:{trunk['sip-ip']}:{trunk['sip-port']} " in listed, node


def _load(node: str) -> Settings:
    if "cluster" not in {f.name for f in fields(Settings)}:
        pytest.skip("needs the cluster settings (branch cluster)")
    return load_settings(EXAMPLE / node / "fsconf.toml", environ=_env_example())


@pytest.mark.parametrize("node", NODES)
def test_node_settings_load_through_fsconfs_loader(node: str) -> None:
    settings = _load(node)
    cluster = settings.cluster  # type: ignore[attr-defined]
    switch = _overrides(node)
    assert cluster.internal_sip == (
        f"{switch['fsconf_internal_sip_ip']}:{switch['fsconf_internal_sip_port']}"
    )
    c = settings.controller
    assert switch["fsconf_controller"] == f"{c.host}:{c.port}"
    assert cluster.secret == _env_example()["FSCONF_CLUSTER_SECRET"]  # from the env only
    assert settings.database_url.startswith("postgresql+psycopg://")


def test_nodes_differ_in_name_and_address_and_agree_on_the_lease() -> None:
    a, b = (_load(node).cluster for node in NODES)  # type: ignore[attr-defined]
    assert a.node != b.node and a.internal_sip != b.internal_sip
    assert a.lease_seconds == b.lease_seconds


def test_no_secret_in_the_settings_files() -> None:
    for node in NODES:
        text = (EXAMPLE / node / "fsconf.toml").read_text(encoding="utf-8")
        assert not re.search(r"^\s*(secret|password)\s*=", text, re.M), node
        assert "postgresql" not in text
