"""Test entry point: gevent is monkey-patched here, once, before anything imports sockets.

The database under test comes from FSCONF_TEST_DATABASE_URL (PostgreSQL in CI, run by
`make test` as a second pass); without it, a fresh SQLite file. On PostgreSQL each run
gets its own schema, dropped afterwards, so runs never see each other's rows.
"""

from gevent import monkey

monkey.patch_all()

import os  # noqa: E402

# Before anything imports the simulator: every simulated event's filter split is checked
# against its whole header list (fsconf.sim.events.SimEvent); simulators the tests start
# as processes inherit it.
os.environ.setdefault("FSCONF_SIM_SELF_CHECK", "1")
import secrets  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from fsconf.store import migrate  # noqa: E402
from fsconf.store.session import Database  # noqa: E402

TEST_DB_ENV = "FSCONF_TEST_DATABASE_URL"
TESTS = Path(__file__).resolve().parent
# Tests here may reach the database under test without the fixture (empty_database(),
# which reads FSCONF_TEST_DATABASE_URL itself): a test doing so belongs in tests/db.
DB_FOLDER = TESTS / "db"
# The benchmark's smoke run costs half a minute: `make bench-quick` runs it, `make test` not.
BENCH = TESTS / "bench"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "db: touches the database under test (set automatically, see below)"
    )


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Skips tests/bench unless it (or a file in it) was asked for by name."""
    if collection_path != BENCH:
        return None
    asked = (Path(arg.split("::")[0]).resolve() for arg in config.args)
    return not any(path == BENCH or BENCH in path.parents for path in asked)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks `db` every test that reaches the `database_url` fixture (directly or through
    `db`, `session`, `cli`, `rig`, ...) or lives in tests/db, so the PostgreSQL pass
    (`-m db`) cannot miss a new one and skips the hundreds that never touch a database."""
    for item in items:
        in_db_folder = DB_FOLDER in Path(str(item.path)).resolve().parents
        if in_db_folder or "database_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)


def _with_search_path(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


@contextmanager
def empty_database(folder: Path, prefix: str = "fsconf_test") -> Iterator[str]:
    """A new, empty database of the dialect under test; dropped afterwards."""
    base = os.environ.get(TEST_DB_ENV, "")
    if not base.startswith("postgresql"):
        yield f"sqlite:///{folder / f'{prefix}.sqlite3'}"
        return
    schema = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _with_search_path(base, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The database of this run, migrated by the fixtures that need it."""
    with empty_database(tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def db(database_url: str) -> Iterator[Database]:
    """The migrated database, shared by the whole run."""
    migrate.upgrade(database_url)
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    """A session inside a transaction that is rolled back when the test ends."""
    with db.engine.connect() as conn:
        outer = conn.begin()
        s = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            yield s
        finally:
            s.close()
            outer.rollback()


@pytest.fixture
def is_postgres(database_url: str) -> bool:
    return database_url.startswith("postgresql")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def simulated_events_split_consistently() -> Iterator[None]:
    """Fails the test during which an in-process simulator fired an event whose filter
    split disagreed with its whole header list (the error itself lands in a greenlet)."""
    from fsconf.sim import events

    assert events.SELF_CHECK, "FSCONF_SIM_SELF_CHECK was not set before the import"
    events.SPLIT_MISMATCHES.clear()
    yield
    assert events.SPLIT_MISMATCHES == []
