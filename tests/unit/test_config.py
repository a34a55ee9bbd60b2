from __future__ import annotations

import re
from pathlib import Path

import pytest

from fsconf.config import ConfigError, load_settings, redact_url


def test_defaults_use_sqlite_in_the_user_data_dir(tmp_path: Path) -> None:
    settings = load_settings(environ={"XDG_DATA_HOME": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'fsconf' / 'fsconf.sqlite3'}"
    assert (settings.controller.host, settings.controller.port) == ("127.0.0.1", 8084)
    assert settings.freeswitch.port == 8021


def test_file_then_environment_overrides(tmp_path: Path) -> None:
    cfg = tmp_path / "fsconf.toml"
    cfg.write_text('[controller]\nport = 9000\nmax_calls = 7\n[billing]\nvat_basis_points = 900\n')
    env = {"FSCONF_CONFIG": str(cfg), "FSCONF_CONTROLLER_PORT": "9100",
           "FSCONF_DATABASE_URL": "postgresql+psycopg://u:secret@db/x"}
    settings = load_settings(environ=env)
    assert settings.controller.port == 9100
    assert settings.controller.max_calls == 7
    assert settings.billing.vat_basis_points == 900
    assert settings.database_url == "postgresql+psycopg://u:secret@db/x"


def test_explicit_path_wins_over_environment_path(tmp_path: Path) -> None:
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text("[controller]\nport = 1111\n")
    b.write_text("[controller]\nport = 2222\n")
    assert load_settings(a, environ={"FSCONF_CONFIG": str(b)}).controller.port == 1111


def test_passwords_never_appear_in_the_printable_form() -> None:
    env = {"FSCONF_DATABASE_URL": "postgresql+psycopg://fs:hunter2@db:5432/x",
           "FSCONF_FREESWITCH_PASSWORD": "s3cr3t"}
    shown = repr(load_settings(environ=env).redacted())
    assert "hunter2" not in shown and "s3cr3t" not in shown
    assert "fs:***@db:5432" in shown
    assert redact_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[controller]\nport = 'abc'\n", "controller.port: expected int"),
        ("[nosuch]\nx = 1\n", "unknown section [nosuch]"),
        ("[controller]\nnosuch = 1\n", "unknown key controller.nosuch"),
        ("[ivr]\ndefault_language = 'de'\n", "ivr.default_language"),
        ("[database]\nsqlite_synchronous = 'sometimes'\n", "database.sqlite_synchronous"),
        ("[controller\n", "not valid TOML"),
        ("[controller]\nport = 99999\n", "controller.port: must be between 1 and 65535"),
        ("[controller]\nport = -1\n", "controller.port: must be between 1 and 65535"),
        ("[freeswitch]\nport = 0\n", "freeswitch.port: must be between 1 and 65535"),
        ("[controller]\nport = 8084.5\n", "controller.port: expected int, got 8084.5"),
        ('[dialout]\ndeny = ["[invalid"]\n', "dialout.deny: '[invalid' is not a regular"),
        ('[dialout]\nallow = ["(06"]\n', "dialout.allow: '(06' is not a regular"),
        ('[database]\nurl = "garbage"\n', "database.url: not a database URL"),
    ],
)
def test_bad_config_files_give_clear_errors(tmp_path: Path, content: str, message: str) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(content)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(cfg, environ={})


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "absent.toml", environ={})


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"FSCONF_BILLING_SETUP_FEE_CENTS": "-2500"}, "billing.setup_fee_cents: must not be"),
        ({"FSCONF_BILLING_MONTHLY_FEE_CENTS": "-1"}, "billing.monthly_fee_cents: must not be"),
        ({"FSCONF_CONTROLLER_PORT": "8084.5"}, "controller.port: expected int, got '8084.5'"),
        ({"FSCONF_DATABASE_URL": "garbage"}, "database.url: not a database URL"),
        ({"FSCONF_DATABASE_URL": "oracle://scott:tiger@db/x"}, "unsupported database 'oracle'"),
        ({"FSCONF_DATABASE_URL": "mysql+pymysql://db/x"}, "unsupported database 'mysql+pymysql'"),
        ({"FSCONF_DATABASE_URL": "postgresql://db/x"}, "use postgresql+psycopg://"),
        ({"FSCONF_CONTROLLER_PROT": "1"}, "unknown variable FSCONF_CONTROLLER_PROT"),
    ],
)
def test_bad_environment_values_give_clear_errors(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(environ=environ)


def test_a_bad_database_url_never_shows_its_password() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"FSCONF_DATABASE_URL": "mysql://fs:hunter2@db/x"})
    assert "hunter2" not in str(caught.value)


def test_environment_variables_that_are_not_settings_are_left_alone(tmp_path: Path) -> None:
    env = {"FSCONF_OPERATOR": "ann", "FSCONF_TRUNK_PASSWORD": "x", "FSCONF_CONFIG": "",
           "FSCONF_TEST_DATABASE_URL": "sqlite://", "XDG_DATA_HOME": str(tmp_path)}
    assert load_settings(environ=env).controller.port == 8084
