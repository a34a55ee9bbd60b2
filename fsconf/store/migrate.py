"""`fsconf db ...`: alembic driven from our settings instead of alembic.ini."""

from __future__ import annotations

import io
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent.parent / "migrations"


def alembic_config(url: str, connection: Connection | None = None) -> Config:
    if not MIGRATIONS_DIR.is_dir():
        raise RuntimeError(f"migrations folder missing: {MIGRATIONS_DIR}")
    cfg = Config(stdout=io.StringIO())
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would choke on a '%' in a password.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(url: str, revision: str = "head", connection: Connection | None = None) -> None:
    command.upgrade(alembic_config(url, connection), revision)


def downgrade(url: str, revision: str, connection: Connection | None = None) -> None:
    command.downgrade(alembic_config(url, connection), revision)


def current(url: str) -> str:
    cfg = alembic_config(url)
    command.current(cfg)
    return cfg.stdout.getvalue().strip()  # type: ignore[attr-defined]


def history(url: str) -> str:
    cfg = alembic_config(url)
    command.history(cfg)
    return cfg.stdout.getvalue().strip()  # type: ignore[attr-defined]
