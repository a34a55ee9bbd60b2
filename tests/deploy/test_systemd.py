"""deploy/: the systemd unit for `fsconf serve` and the example settings file."""

from __future__ import annotations

import configparser
import dataclasses
import tomllib
from pathlib import Path

import pytest

from fsconf.config import Settings, load_settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def unit(path: Path) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser


def values(path: Path, section: str, key: str) -> list[str]:
    """Every value of a key (systemd allows repeats, configparser keeps the last)."""
    out, current = [], None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("["):
            current = line.strip("[]")
        elif current == section and line.split("=", 1)[0] == key:
            out.append(line.split("=", 1)[1])
    return out


@pytest.fixture(scope="module")
def service() -> Path:
    return DEPLOY / "systemd" / "fsconf.service"


def test_unit_runs_fsconf_serve_as_fsconf_with_the_config_and_environment(service: Path) -> None:
    s = unit(service)["Service"]
    assert s["User"] == "fsconf"
    assert s["ExecStart"] == "/opt/fsconf/.venv/bin/fsconf serve --config /etc/fsconf/fsconf.toml"
    assert "/etc/fsconf/env" in values(service, "Service", "EnvironmentFile")
    assert s["Restart"] == "on-failure"
    assert s["KillSignal"] == "SIGTERM"
    assert unit(service)["Install"]["WantedBy"] == "multi-user.target"


def test_stop_timeout_leaves_room_for_the_graceful_stop(service: Path) -> None:
    timeout = float(unit(service)["Service"]["TimeoutStopSec"])
    assert timeout >= Settings().controller.graceful_stop_timeout + 5


def test_unit_is_hardened_but_may_write_the_recordings_dir(service: Path) -> None:
    s = unit(service)["Service"]
    assert s["NoNewPrivileges"] == "yes"
    assert s["ProtectSystem"] == "strict"
    assert s["PrivateTmp"] == "yes"
    assert s["ProtectHome"] == "yes"
    writable = " ".join(values(service, "Service", "ReadWritePaths")).split()
    assert Settings().freeswitch.recordings_dir in writable


def test_freeswitch_drop_in_passes_the_event_socket_password_file() -> None:
    drop_in = DEPLOY / "systemd" / "freeswitch.service.d" / "fsconf.conf"
    assert values(drop_in, "Service", "EnvironmentFile") == ["-/etc/fsconf/esl.env"]
    assert "-/etc/fsconf/esl.env" in values(
        DEPLOY / "systemd" / "fsconf.service", "Service", "EnvironmentFile"
    )
    assert "FSCONF_FREESWITCH_PASSWORD=" in (DEPLOY / "esl.env.example").read_text()


def test_example_settings_have_every_key_with_its_default_and_a_comment() -> None:
    path = DEPLOY / "fsconf.toml.example"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    defaults = Settings()
    for section in dataclasses.fields(defaults):
        assert section.name in data, f"[{section.name}] missing"
        sub = getattr(defaults, section.name)
        for key in dataclasses.fields(sub):
            if (section.name, key.name) == ("cluster", "secret"):
                assert "secret" not in data["cluster"]  # environment only (load refuses it)
                continue
            assert key.name in data[section.name], f"{section.name}.{key.name} missing"
            value = data[section.name][key.name]
            expected = getattr(sub, key.name)
            assert (tuple(value) if isinstance(value, list) else value) == expected, key.name
    # Loading it changes nothing but what the environment says.
    assert load_settings(path, environ={"FSCONF_DATABASE_URL": "sqlite:///x"}) == (
        dataclasses.replace(defaults, database=dataclasses.replace(defaults.database,
                                                                   url="sqlite:///x"))
    )
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if "=" in line and not line.startswith("#"):
            above = lines[i - 1].strip()
            assert above.startswith("#") or ("=" in above and not above.startswith("[")), (
                f"no comment for {line!r}"
            )
