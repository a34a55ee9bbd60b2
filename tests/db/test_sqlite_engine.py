"""How the embedded SQLite database is opened (whatever dialect the suite runs on)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from fsconf.store.session import Database

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


def test_a_writer_lock_held_past_the_busy_timeout_is_an_operational_error(
    tmp_path: Path,
) -> None:
    from sqlalchemy.exc import OperationalError

    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    holder, waiter = Database(url, busy_timeout=0.1), Database(url, busy_timeout=0.1)
    try:
        with holder.unit_of_work() as s:
            s.connection()  # BEGIN IMMEDIATE: the writer lock is ours
            # CallStore turns this into "technical problem" for the caller.
            with (
                pytest.raises(OperationalError, match="database is locked"),
                waiter.unit_of_work() as other,
            ):
                other.connection()
        with waiter.unit_of_work() as other:  # free again once the holder commits
            assert other.execute(text("SELECT 1")).scalar() == 1
    finally:
        holder.dispose()
        waiter.dispose()


def test_the_controllers_log_is_checkpointed_by_its_own_thread(tmp_path: Path) -> None:
    import os
    import time

    path = tmp_path / "x.sqlite3"
    db = Database(f"sqlite:///{path}", background_checkpoint=True)
    try:
        assert db.checkpointer is not None
        with db.unit_of_work() as s:
            # No commit ever checkpoints (and syncs the disk) on the caller's greenlet.
            assert s.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 0
            s.execute(text("CREATE TABLE t (x BLOB)"))
            for _ in range(300):
                s.execute(text("INSERT INTO t VALUES (randomblob(8000))"))
        # The rows reach the database file itself without anybody committing again. The
        # file grows while the checkpoint runs, before it is counted: wait for both.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (
            os.path.getsize(path) < 300 * 8000 or db.checkpointer.checkpoints == 0
        ):
            time.sleep(0.05)
        assert os.path.getsize(path) >= 300 * 8000
        assert db.checkpointer.checkpoints > 0 and db.checkpointer.failures == 0
    finally:
        db.dispose()
    assert not db.checkpointer.running  # stopped with the database


def test_other_users_of_the_database_checkpoint_as_sqlite_does(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.sqlite3'}")  # the CLI, tests, migrations
    try:
        assert db.checkpointer is None
        with db.unit_of_work() as s:
            assert s.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 1000
    finally:
        db.dispose()
