"""`env-set` in the simulator's XML preprocessor, as FreeSWITCH 1.10's switch_xml.c does it.

<X-PRE-PROCESS cmd="env-set" data="name=$ENVNAME"/> sets the global variable `name` to
getenv("ENVNAME"); when ENVNAME is unset the variable keeps its earlier value.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fsconf.sim.xmlconf import load_config

ROOT = """<?xml version="1.0"?>
<document type="freeswitch/xml">
  <X-PRE-PROCESS cmd="include" data="vars.xml"/>
  <section name="configuration" description="Various Configuration">
    <configuration name="event_socket.conf" description="Socket Client">
      <settings>
        <param name="password" value="$${esl_password}"/>
        <param name="listen-port" value="$${esl_port}"/>
      </settings>
    </configuration>
  </section>
</document>
"""

VARS = """<include>
  <X-PRE-PROCESS cmd="set" data="esl_password=ClueCon"/>
  <X-PRE-PROCESS cmd="env-set" data="esl_password=$TEST_ESL_PASSWORD"/>
  <X-PRE-PROCESS cmd="env-set" data="esl_port=$TEST_ESL_PORT"/>
  <X-PRE-PROCESS cmd="env-set" data="not_an_env_reference=TEST_ESL_PASSWORD"/>
  <X-PRE-PROCESS cmd="set" data="copied=$${esl_password}"/>
</include>
"""


@pytest.fixture
def conf_dir(tmp_path: Path) -> Path:
    (tmp_path / "freeswitch.xml").write_text(ROOT)
    (tmp_path / "vars.xml").write_text(VARS)
    return tmp_path


def test_env_set_copies_the_environment_variable_into_the_global(conf_dir: Path) -> None:
    conf = load_config(conf_dir, environ={"TEST_ESL_PASSWORD": "from-env", "TEST_ESL_PORT": "8021"})
    assert conf.event_socket == {"password": "from-env", "listen-port": "8021"}
    assert conf.globals["copied"] == "from-env"  # later $${} see the new value


def test_an_unset_environment_variable_leaves_the_earlier_value(conf_dir: Path) -> None:
    conf = load_config(conf_dir, environ={})
    assert conf.event_socket["password"] == "ClueCon"
    assert "esl_port" not in conf.globals
    assert conf.event_socket["listen-port"] == ""


def test_data_without_a_dollar_is_not_an_environment_reference(conf_dir: Path) -> None:
    conf = load_config(conf_dir, environ={"TEST_ESL_PASSWORD": "x"})
    assert "not_an_env_reference" not in conf.globals


def test_overrides_win_over_env_set_as_over_set(conf_dir: Path) -> None:
    conf = load_config(
        conf_dir, overrides={"esl_password": "pinned"}, environ={"TEST_ESL_PASSWORD": "from-env"}
    )
    assert conf.event_socket["password"] == "pinned"


def test_the_process_environment_is_the_default(
    conf_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_ESL_PASSWORD", "process-env")
    assert load_config(conf_dir).event_socket["password"] == "process-env"
