"""The alembic history and the models must describe the same schema, on every dialect."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from fsconf.store import migrate
from fsconf.store.models import Base
from fsconf.store.session import make_engine
from tests.conftest import empty_database


@pytest.fixture
def empty_url(tmp_path) -> Iterator[str]:
    with empty_database(tmp_path, "fsconf_mig") as url:
        yield url


def _differences(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrations_match_models(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    assert _differences(empty_url) == []


def test_upgrade_downgrade_upgrade_round_trip(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    model_tables = set(Base.metadata.tables)
    assert model_tables <= _tables(empty_url)
    migrate.downgrade(empty_url, "base")
    assert _tables(empty_url) & model_tables == set()
    migrate.upgrade(empty_url)
    assert model_tables <= _tables(empty_url)
    assert migrate.current(empty_url).startswith("0002")
