"""Engine and unit-of-work factory.

One SQLAlchemy session per unit of work, never shared between greenlets. SQLite calls
block the gevent hub, so for SQLite a process-wide lock serialises units of work (a
greenlet waiting on SQLite's own busy-timeout would freeze the hub while the holder
cannot run) and every transaction starts with BEGIN IMMEDIATE, which makes SQLite's
writer lock do the job PostgreSQL's row locks do. PostgreSQL (psycopg 3) cooperates with
gevent, so it needs neither.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from fsconf.config import SQLITE_SYNCHRONOUS


def make_engine(
    url: str, *, echo: bool = False, busy_timeout: float = 5.0, synchronous: str = "NORMAL"
) -> Engine:
    if url.startswith("sqlite"):
        if synchronous.upper() not in SQLITE_SYNCHRONOUS:
            raise ValueError(f"SQLite synchronous must be one of {SQLITE_SYNCHRONOUS}")
        engine = create_engine(
            url, echo=echo, connect_args={"timeout": busy_timeout, "check_same_thread": False}
        )
        _configure_sqlite(engine, synchronous.upper())
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        # Validated against SQLITE_SYNCHRONOUS above; PRAGMA takes no bound parameters.
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Straight on the driver: exec_driver_sql's execution machinery cost more than
        # the BEGIN itself, once per unit of work. A failure (the writer lock still
        # busy after the timeout) is wrapped as SQLAlchemy would wrap it.
        try:
            conn.connection.driver_connection.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]
        except sqlite3.Error as exc:
            raise DBAPIError.instance(
                "BEGIN IMMEDIATE", (), exc, sqlite3.Error, dialect=conn.dialect
            ) from exc


class Database:
    """Owns the engine; hands out short units of work."""

    def __init__(
        self, url: str, *, echo: bool = False, busy_timeout: float = 5.0,
        synchronous: str = "NORMAL",
    ) -> None:
        self.url = url
        self.engine = make_engine(
            url, echo=echo, busy_timeout=busy_timeout, synchronous=synchronous
        )
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._factory = sessionmaker(self.engine, expire_on_commit=False)
        # threading.RLock is gevent's lock once the entry point has monkey-patched.
        self._lock = threading.RLock() if self.is_sqlite else None

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """A session that commits when the block ends and rolls back if it raises."""
        with self._lock if self._lock is not None else nullcontext():
            session = self._factory()
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()

    def dispose(self) -> None:
        self.engine.dispose()
