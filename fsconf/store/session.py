"""Engine and unit-of-work factory.

One SQLAlchemy session per unit of work, never shared between greenlets. SQLite calls
block the gevent hub, so for SQLite a process-wide lock serialises units of work (a
greenlet waiting on SQLite's own busy-timeout would freeze the hub while the holder
cannot run) and every transaction starts with BEGIN IMMEDIATE, which makes SQLite's
writer lock do the job PostgreSQL's row locks do. PostgreSQL (psycopg 3) cooperates with
gevent, so it needs neither.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from fsconf.config import SQLITE_SYNCHRONOUS

log = logging.getLogger(__name__)


def make_engine(
    url: str, *, echo: bool = False, busy_timeout: float = 5.0, synchronous: str = "NORMAL",
    autocheckpoint: bool = True,
) -> Engine:
    if url.startswith("sqlite"):
        if synchronous.upper() not in SQLITE_SYNCHRONOUS:
            raise ValueError(f"SQLite synchronous must be one of {SQLITE_SYNCHRONOUS}")
        engine = create_engine(
            url, echo=echo, connect_args={"timeout": busy_timeout, "check_same_thread": False}
        )
        _configure_sqlite(engine, synchronous.upper(), autocheckpoint)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


def _configure_sqlite(engine: Engine, synchronous: str, autocheckpoint: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        # Validated against SQLITE_SYNCHRONOUS above; PRAGMA takes no bound parameters.
        cur.execute(f"PRAGMA synchronous={synchronous}")
        if not autocheckpoint:
            cur.execute("PRAGMA wal_autocheckpoint=0")  # WalCheckpointer does it instead
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


class WalCheckpointer:
    """Copies SQLite's write-ahead log into the database from an OS thread of its own.

    SQLite otherwise checkpoints inside the commit that fills the log, syncing two files
    on the gevent hub while every call waits. PASSIVE never waits for the writer nor the
    writer for it, and sqlite3 releases the GIL while the disk works.
    """

    TICK = 0.05  # how soon a stop is noticed

    def __init__(self, path: str, interval: float = 1.0, busy_timeout: float = 5.0) -> None:
        self.path = path
        self.interval = interval
        self.busy_timeout = busy_timeout
        self.checkpoints = 0
        self.failures = 0
        self.running = False
        self._stopping = False
        self._finished: Any = None  # released by the thread as it ends
        self._sleep: Any = None
        self._report: Any = None  # hands a warning to the hub's thread, where logging lives

    def start(self) -> None:
        # Only `fsconf serve` starts one, and it runs on gevent; the CLI never imports it.
        # A real OS thread and its primitives even after monkey-patching (threading's own
        # classes would pick up the patched locks): the checkpoint must not run on the hub.
        import gevent
        from gevent.monkey import get_original

        loop = gevent.get_hub().loop
        self._report = lambda *a: loop.run_callback_threadsafe(log.warning, *a)
        self._sleep = get_original("time", "sleep")
        self._finished = get_original("_thread", "allocate_lock")()
        self._finished.acquire()
        self.running = True
        get_original("_thread", "start_new_thread")(self._run, ())

    def stop(self) -> None:
        """Ask the thread to make a last checkpoint and end; waits for it (at most 5 s)."""
        if not self.running:
            return
        self._stopping = True
        if self._finished.acquire(timeout=5):
            self._finished.release()

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout, check_same_thread=False)
            try:
                waited = 0.0
                while not self._stopping:
                    self._sleep(self.TICK)
                    waited += self.TICK
                    if waited >= self.interval:
                        waited = 0.0
                        self.checkpoint(conn)
                self.checkpoint(conn)  # what the last moments wrote
            finally:
                conn.close()
        finally:
            self.running = False
            self._finished.release()

    def checkpoint(self, conn: sqlite3.Connection) -> None:
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            self.checkpoints += 1
        except sqlite3.Error as exc:  # the next round tries again; the log just grows
            self.failures += 1
            self._report("SQLite checkpoint of %s failed: %s", self.path, exc)


class Database:
    """Owns the engine; hands out short units of work.

    background_checkpoint (SQLite, for the long-running controller): the write-ahead log
    is checkpointed by a WalCheckpointer thread, never inside a commit on the hub.
    """

    def __init__(
        self, url: str, *, echo: bool = False, busy_timeout: float = 5.0,
        synchronous: str = "NORMAL", background_checkpoint: bool = False,
    ) -> None:
        self.url = url
        background_checkpoint = background_checkpoint and url.startswith("sqlite")
        self.engine = make_engine(
            url, echo=echo, busy_timeout=busy_timeout, synchronous=synchronous,
            autocheckpoint=not background_checkpoint,
        )
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.checkpointer: WalCheckpointer | None = None
        path = self.engine.url.database
        if background_checkpoint and path and path != ":memory:":
            self.checkpointer = WalCheckpointer(path, busy_timeout=busy_timeout)
            self.checkpointer.start()
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
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self.engine.dispose()
