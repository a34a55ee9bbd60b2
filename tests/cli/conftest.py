"""Run the real `fsconf` entry point in-process against the migrated test database.

CLI commands commit for real, so tests use unique names and numbers and only look at
the rows they made.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fsconf.cli.main import main
from fsconf.store.models import AuditEntry
from fsconf.store.session import Database


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


Runner = Callable[..., Result]


@pytest.fixture
def cli(
    db: Database, database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> Iterator[Runner]:
    monkeypatch.setenv("FSCONF_DATABASE_URL", database_url)
    monkeypatch.delenv("FSCONF_CONFIG", raising=False)
    monkeypatch.setenv("FSCONF_OPERATOR", "test-operator")
    capsys.readouterr()

    def run(*argv: str) -> Result:
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse's own usage errors
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    yield run


@pytest.fixture
def ok(cli: Runner) -> Runner:
    """Run a command that must succeed."""

    def run(*argv: str) -> Result:
        result = cli(*argv)
        assert result.code == 0, result.err
        assert result.err == ""
        return result

    return run


@pytest.fixture
def bad(cli: Runner) -> Runner:
    """Run a command that must fail as bad input: exit 2, one line on stderr, no stdout."""

    def run(*argv: str) -> Result:
        result = cli(*argv)
        assert result.code == 2, (result.out, result.err)
        assert len(result.err_lines) == 1, result.err
        assert result.err.startswith("fsconf: error: ")
        assert result.out == ""
        return result

    return run


@pytest.fixture
def unique() -> Callable[[str], str]:
    return lambda prefix: f"{prefix} {secrets.token_hex(4)}"


def digits(length: int) -> str:
    """A random digit string, unlikely to collide with other tests' numbers."""
    return "9" + "".join(secrets.choice("0123456789") for _ in range(length - 1))


@pytest.fixture
def new_customer(ok: Runner, unique: Callable[[str], str]) -> Callable[..., dict]:
    def make(*extra: str, name: str | None = None) -> dict:
        return ok("customer", "add", "--name", name or unique("Customer"), *extra, "--json").json

    return make


@pytest.fixture
def new_conference(ok: Runner, new_customer: Callable[..., dict]) -> Callable[..., dict]:
    def make(*extra: str, customer_id: int | None = None) -> dict:
        cid = customer_id if customer_id is not None else new_customer()["id"]
        return ok("conference", "create", "--customer", str(cid), *extra, "--json").json

    return make


@pytest.fixture
def audit_count(db: Database) -> Callable[[str], int]:
    def count(target: str) -> int:
        with Session(db.engine) as s:
            return s.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.target == target)
            )

    return count
