"""How the embedded SQLite database is opened (whatever dialect the suite runs on)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from fsconf.db.session import Database

# PRAGMA synchronous reads back as a number: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA.


@pytest.mark.parametrize(("setting", "level"), [("NORMAL", 1), ("full", 2), ("EXTRA", 3)])
def test_sqlite_durability_follows_the_setting(tmp_path: Path, setting: str, level: int) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.sqlite3'}", synchronous=setting)
    try:
        with db.unit_of_work() as s:
            assert s.execute(text("PRAGMA synchronous")).scalar() == level
            assert s.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        db.dispose()


def test_default_is_wal_with_normal_sync(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    try:
        with db.unit_of_work() as s:
            assert s.execute(text("PRAGMA synchronous")).scalar() == 1
    finally:
        db.dispose()


def test_unknown_sync_level_is_refused_before_anything_runs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="synchronous"):
        Database(f"sqlite:///{tmp_path / 'x.sqlite3'}", synchronous="NORMAL; DROP TABLE x")
    assert not (tmp_path / "x.sqlite3").exists()
