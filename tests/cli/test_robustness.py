"""Whatever the operator feeds the CLI, the answer is one line and a non-zero exit, never
a traceback: bad settings, a database not yet set up, a reader that stops reading."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from fsconf.store import migrate
from fsconf.store.models import AuditEntry, Customer, Subscription
from fsconf.store.session import Database

FSCONF = str(Path(sys.executable).with_name("fsconf"))


@pytest.mark.parametrize(
    ("env", "toml", "message"),
    [
        ({}, "[controller]\nport = 99999\n", "controller.port: must be between 1 and 65535"),
        ({}, "[controller]\nport = -1\n", "controller.port: must be between 1 and 65535"),
        ({}, "[controller]\nport = 8084.5\n", "controller.port: expected int, got 8084.5"),
        ({}, '[dialout]\ndeny = ["[invalid"]\n', "dialout.deny: '[invalid' is not a regular"),
        ({"FSCONF_BILLING_SETUP_FEE_CENTS": "-100"}, "", "billing.setup_fee_cents: must not"),
        ({"FSCONF_DATABASE_URL": "garbage"}, "", "database.url: not a database URL"),
        ({"FSCONF_DATABASE_URL": "oracle://u:p@db/x"}, "", "unsupported database 'oracle'"),
        ({"FSCONF_CONTROLLER_PROT": "1"}, "", "unknown variable FSCONF_CONTROLLER_PROT"),
    ],
)
def test_unusable_settings_are_one_line_and_exit_2(
    bad, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env: dict[str, str], toml: str,
    message: str,
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    config = tmp_path / "fsconf.toml"
    config.write_text(toml)
    err = bad("customer", "list", "--config", str(config)).err
    assert err == f"fsconf: error: configuration: {err.split('configuration: ', 1)[1]}"
    assert message in err


def test_customer_add_before_db_upgrade_says_to_run_it(
    cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FSCONF_DATABASE_URL", f"sqlite:///{tmp_path / 'new.sqlite3'}")
    result = cli("customer", "add", "--name", "Early Bird")
    assert result.code == 1 and result.out == ""
    assert len(result.err_lines) == 1
    assert "run `fsconf db upgrade`" in result.err and "no such table" in result.err


ROWS = 2000  # audit lines are ~120 bytes: 2000 of them are ~240 KB


def _big_database(tmp_path: Path) -> str:
    """Enough customers and audit entries that either listing is several times a pipe's
    buffer (64 KiB on Linux), so the command is still writing when the reader goes away,
    however slowly the reader gets to close its end."""
    url = f"sqlite:///{tmp_path / 'big.sqlite3'}"
    migrate.upgrade(url)
    db = Database(url)
    with Session(db.engine) as s:
        for n in range(ROWS):
            customer = Customer(name=f"Customer {n:03d} " + "x" * 150)
            customer.subscription = Subscription(activated_on=dt.date(2024, 1, 1))
            s.add(customer)
            s.add(AuditEntry(actor="test", action="customer.add", target=f"customer:{n}",
                             details='{"note": "' + "y" * 150 + '"}'))
        s.commit()
    db.dispose()
    return url


@pytest.mark.parametrize("argv", [("audit", "--limit", str(ROWS)), ("customer", "list", "--json")])
def test_a_reader_that_stops_early_gets_no_traceback(tmp_path: Path, argv: tuple[str, ...]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FSCONF_")}
    env["FSCONF_DATABASE_URL"] = _big_database(tmp_path)
    # `fsconf audit | head -1`: read the first line, then close the pipe.
    proc = subprocess.Popen([FSCONF, *argv], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    code = proc.wait(timeout=60)
    assert first.strip()
    assert "Traceback" not in err and err == ""
    assert code == 141  # what a shell reports for a writer stopped by SIGPIPE


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("audit", "--limit", "99999999999999999999"), "--limit is too large"),
        (("customer", "show", "99999999999999999999999"), "customer id is too large"),
        (("demo", "--dir", "{tmp}/a-file/demo"), "/a-file/demo: Not a directory"),
        (("demo", "--sounds", "{tmp}"), "no nl/fsconf/ folder of prompts"),
    ],
)
def test_out_of_range_numbers_and_unusable_folders_are_one_line(
    bad, tmp_path: Path, argv: tuple[str, ...], message: str
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    assert message in bad(*(a.format(tmp=tmp_path) for a in argv)).err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--port", "99999"), "port must be 0-65535"),
        (("--conf", "{tmp}/none"), "/none/freeswitch.xml not found"),
    ],
)
def test_simulator_that_cannot_start_says_why_on_one_line(
    tmp_path: Path, argv: tuple[str, ...], message: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FSCONF_")}
    done = subprocess.run([FSCONF, "sim", *(a.format(tmp=tmp_path) for a in argv)], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fsconf sim: error: ") and message in lines[0]
