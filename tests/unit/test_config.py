from __future__ import annotations

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
    ],
)
def test_bad_config_files_give_clear_errors(tmp_path: Path, content: str, message: str) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(content)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace(".", r"\.")):
        load_settings(cfg, environ={})


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "absent.toml", environ={})
