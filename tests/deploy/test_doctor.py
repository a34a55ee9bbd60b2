"""`fsconf doctor` against the real simulator and a migrated test database.

The all-ok case first, then one broken thing at a time: each must give exit status 1 and
a FAIL line that names the problem and the fix, while the other checks stay ok.
"""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from fsconf.cli.main import main
from fsconf.domain.prompts import CATALOGUE, LANGUAGES
from fsconf.sim import SimSettings, Simulator
from fsconf.sim.settings import REPO_CONF_DIR
from fsconf.sounds.generate import number_files
from fsconf.store import migrate
from fsconf.store.session import Database

PASSWORD = "doctor-test-password"
CHECKS = (
    "database", "event socket", "conference", "sounds", "recordings", "controller", "acl",
    "dial-out",
)


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    simulator = Simulator(SimSettings(port=0, password=PASSWORD))
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def sounds(tmp_path: Path) -> Path:
    root = tmp_path / "sounds"
    for language in LANGUAGES:
        for name in [p.file for p in CATALOGUE.values()] + number_files():
            category, file = name.rsplit("/", 1)
            path = root / language / category / "8000" / file
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"RIFF")
    return root


@dataclass
class Doctor:
    tmp: Path
    sim: Simulator
    settings: dict[str, dict[str, object]]
    capsys: pytest.CaptureFixture[str]

    def run(self, *extra: str, fs_conf: Path | None = REPO_CONF_DIR) -> tuple[int, dict[str, str]]:
        config = self.tmp / "fsconf.toml"
        config.write_text(_toml(self.settings))
        argv = ["doctor", "--config", str(config), "--timeout", "2", *extra]
        if fs_conf is not None:
            argv += ["--fs-conf", str(fs_conf)]
        self.capsys.readouterr()
        code = main(argv)
        out = self.capsys.readouterr().out
        lines = {}
        for line in out.splitlines():
            for name in CHECKS:
                if line[6:].startswith(name):
                    lines[name] = line
        assert list(lines) == list(CHECKS), out
        return code, lines


def _toml(settings: dict[str, dict[str, object]]) -> str:
    out = []
    for section, values in settings.items():
        out.append(f"[{section}]")
        for key, value in values.items():
            out.append(f"{key} = {value!r}" if not isinstance(value, str) else f'{key} = "{value}"')
    return "\n".join(out) + "\n"


@pytest.fixture
def doctor(
    tmp_path: Path, sim: Simulator, db: Database, database_url: str, sounds: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> Doctor:
    import os

    for name in list(os.environ):
        if name.startswith("FSCONF_"):
            monkeypatch.delenv(name)
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    settings: dict[str, dict[str, object]] = {
        "database": {"url": database_url},
        "freeswitch": {"host": "127.0.0.1", "port": sim.port, "password": PASSWORD,
                       "recordings_dir": str(recordings)},
        "ivr": {"sounds_dir": str(sounds)},
    }
    # Not the default 0000000000, which doctor warns about (see the warning tests).
    settings["freeswitch"]["dialout_caller_id_number"] = "0201234567"
    return Doctor(tmp_path, sim, settings, capsys)


def assert_only_failure(lines: dict[str, str], failing: str) -> str:
    for name, line in lines.items():
        if name == failing:
            assert line.startswith("FAIL"), line
            assert " -> fix: " in line, line
        else:
            assert line.startswith("ok"), line
    return lines[failing]


def test_all_ok_against_the_simulator_and_a_migrated_database(doctor: Doctor) -> None:
    code, lines = doctor.run()
    assert code == 0
    assert all(line.startswith("ok") for line in lines.values()), lines
    assert "at head" in lines["database"]
    assert "authenticated" in lines["event socket"] and "1.10" in lines["event socket"]
    assert "profile 'fsconf' with caller-controls none" in lines["conference"]
    assert f"{2 * (len(CATALOGUE) + len(number_files()))} prompt files" in lines["sounds"]
    assert "is writable" in lines["recordings"]
    assert "vars.xml fsconf_controller 127.0.0.1:8084 = [controller]" in lines["controller"]
    assert "invitees see caller ID 0201234567" in lines["dial-out"]


def test_wrong_password_is_named_with_the_variable_to_set(doctor: Doctor) -> None:
    doctor.settings["freeswitch"]["password"] = "wrong"
    code, lines = doctor.run()
    assert code == 1
    assert lines["event socket"].startswith("FAIL")
    assert "refused the password" in lines["event socket"]
    assert "FSCONF_FREESWITCH_PASSWORD" in lines["event socket"]
    assert "wrong" not in lines["event socket"]  # never print a password
    assert lines["conference"].startswith("FAIL")  # cannot be checked without FreeSWITCH
    assert all(lines[n].startswith("ok") for n in ("database", "sounds", "recordings"))


def test_nothing_listening_says_where_it_looked(doctor: Doctor) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free_port = s.getsockname()[1]
    doctor.settings["freeswitch"]["port"] = free_port
    code, lines = doctor.run()
    assert code == 1
    line = lines["event socket"]
    assert line.startswith("FAIL") and f"127.0.0.1:{free_port}" in line
    assert "cannot reach" in line and "event_socket.conf.xml" in line


def test_missing_sounds_name_a_missing_file_and_make_sounds(doctor: Doctor, sounds: Path) -> None:
    missing = sounds / "en" / "fsconf" / "8000" / "welcome.wav"
    missing.unlink()
    code, lines = doctor.run()
    assert code == 1
    line = assert_only_failure(lines, "sounds")
    assert "1 of" in line and str(missing) in line and "make sounds" in line


def test_missing_number_words_are_missing_sounds(doctor: Doctor, sounds: Path) -> None:
    (sounds / "nl" / "digits" / "8000" / "hundred.wav").unlink()
    code, lines = doctor.run()
    assert code == 1
    assert "hundred.wav" in assert_only_failure(lines, "sounds")


def test_sounds_dir_that_does_not_exist(doctor: Doctor, tmp_path: Path) -> None:
    doctor.settings["ivr"]["sounds_dir"] = str(tmp_path / "nowhere")
    code, lines = doctor.run()
    assert code == 1
    assert "does not exist" in assert_only_failure(lines, "sounds")


def test_unmigrated_database_asks_for_db_upgrade(doctor: Doctor, tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite3"
    sqlite3.connect(path).close()
    path.touch()
    doctor.settings["database"]["url"] = f"sqlite:///{path}"
    code, lines = doctor.run()
    assert code == 1
    line = assert_only_failure(lines, "database")
    assert "no schema" in line and "fsconf db upgrade" in line


def test_database_behind_head_names_both_revisions(doctor: Doctor, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    script = ScriptDirectory.from_config(migrate.alembic_config(url))
    revisions = [r.revision for r in script.walk_revisions()]  # newest first
    if len(revisions) < 2:
        pytest.skip("only one migration exists")
    migrate.upgrade(url, revisions[-1])
    doctor.settings["database"]["url"] = url
    code, lines = doctor.run()
    assert code == 1
    line = assert_only_failure(lines, "database")
    assert f"is at {revisions[-1]}" in line and script.get_current_head() in line


def test_missing_sqlite_file_is_not_created(doctor: Doctor, tmp_path: Path) -> None:
    path = tmp_path / "absent.sqlite3"
    doctor.settings["database"]["url"] = f"sqlite:///{path}"
    code, lines = doctor.run()
    assert code == 1
    assert "does not exist" in assert_only_failure(lines, "database")
    assert not path.exists()


def test_profile_with_freeswitch_keypad_controls_fails(doctor: Doctor, tmp_path: Path) -> None:
    conf = tmp_path / "etc-freeswitch"
    (conf / "autoload_configs").mkdir(parents=True)
    original = (REPO_CONF_DIR / "autoload_configs" / "conference.conf.xml").read_text()
    changed = original.replace(
        '<param name="caller-controls" value="none"/>',
        '<param name="caller-controls" value="default"/>',
    )
    assert changed != original
    (conf / "autoload_configs" / "conference.conf.xml").write_text(changed)
    (conf / "vars.xml").write_text((REPO_CONF_DIR / "vars.xml").read_text())
    code, lines = doctor.run(fs_conf=conf)
    assert code == 1
    line = assert_only_failure(lines, "conference")
    assert "caller-controls default" in line and 'value="none"' in line


def test_fs_conf_without_the_profile_fails(doctor: Doctor, tmp_path: Path) -> None:
    conf = tmp_path / "bare"
    conf.mkdir()
    (conf / "vars.xml").write_text((REPO_CONF_DIR / "vars.xml").read_text())
    code, lines = doctor.run(fs_conf=conf)
    assert code == 1
    assert "conference.conf.xml not found" in assert_only_failure(lines, "conference")


def test_recordings_dir_that_does_not_exist(doctor: Doctor, tmp_path: Path) -> None:
    doctor.settings["freeswitch"]["recordings_dir"] = str(tmp_path / "no-recordings")
    code, lines = doctor.run()
    assert code == 1
    assert "install -d" in assert_only_failure(lines, "recordings")


def assert_only_warning(lines: dict[str, str], warning: str) -> str:
    for name, line in lines.items():
        if name == warning:
            assert line.startswith("warn"), line
            assert " -> fix: " in line, line
        else:
            assert line.startswith("ok"), line
    return lines[warning]


def test_default_invitee_caller_id_is_a_warning_not_a_failure(doctor: Doctor) -> None:
    del doctor.settings["freeswitch"]["dialout_caller_id_number"]
    code, lines = doctor.run()
    assert code == 0
    line = assert_only_warning(lines, "dial-out")
    assert "0000000000" in line and "FSCONF_FREESWITCH_DIALOUT_CALLER_ID_NUMBER" in line


def test_empty_sounds_dir_is_a_warning_not_ok(doctor: Doctor) -> None:
    doctor.settings["ivr"]["sounds_dir"] = ""
    code, lines = doctor.run()
    assert code == 0
    line = assert_only_warning(lines, "sounds")
    assert "sounds_dir is empty" in line and "make sounds" in line


def test_vars_xml_controller_address_must_match_the_controller(doctor: Doctor) -> None:
    doctor.settings["controller"] = {"port": 9084}
    code, lines = doctor.run()
    assert code == 0
    line = assert_only_warning(lines, "controller")
    assert "fsconf_controller is 127.0.0.1:8084" in line and "127.0.0.1:9084" in line


def test_fs_conf_without_vars_xml_warns(doctor: Doctor, tmp_path: Path) -> None:
    conf = tmp_path / "novars"
    (conf / "autoload_configs").mkdir(parents=True)
    (conf / "autoload_configs" / "conference.conf.xml").write_text(
        (REPO_CONF_DIR / "autoload_configs" / "conference.conf.xml").read_text()
    )
    code, lines = doctor.run(fs_conf=conf)
    assert code == 0
    assert "vars.xml not found" in assert_only_warning(lines, "controller")


def test_wildcard_listen_address_matches_a_loopback_vars_xml(doctor: Doctor) -> None:
    doctor.settings["controller"] = {"host": "0.0.0.0"}
    code, lines = doctor.run()
    assert code == 0 and all(line.startswith("ok") for line in lines.values()), lines
    assert "admits 127.0.0.0/8, ::1" in lines["acl"]


def test_listening_on_every_address_without_an_acl_warns(doctor: Doctor) -> None:
    doctor.settings["controller"] = {"host": "0.0.0.0", "allow_from": ["0.0.0.0/0", "::/0"]}
    code, lines = doctor.run()
    assert code == 0
    line = assert_only_warning(lines, "acl")
    assert "anyone who reaches its port can feed it calls" in line and "allow_from" in line


def test_doctor_json_has_one_entry_per_check_and_the_same_exit_status(doctor: Doctor) -> None:
    import json

    del doctor.settings["freeswitch"]["dialout_caller_id_number"]
    config = doctor.tmp / "fsconf.toml"
    config.write_text(_toml(doctor.settings))
    doctor.capsys.readouterr()
    code = main(["doctor", "--config", str(config), "--timeout", "2", "--json",
                 "--fs-conf", str(REPO_CONF_DIR)])  # fmt: skip
    report = json.loads(doctor.capsys.readouterr().out)
    assert code == 0
    assert [c["check"] for c in report] == list(CHECKS)
    statuses = {c["check"]: c["status"] for c in report}
    assert statuses["dial-out"] == "warn" and statuses["database"] == "ok"
    assert report[-1]["fix"] and report[0]["fix"] == ""
