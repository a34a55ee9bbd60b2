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
    assert migrate.current(empty_url).startswith("0007")


def test_pin_lockouts_come_with_0003_and_go_with_its_downgrade(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    assert "pin_lockouts" in _tables(empty_url)
    migrate.downgrade(empty_url, "0002")
    assert "pin_lockouts" not in _tables(empty_url)
    assert migrate.current(empty_url).startswith("0002")
    migrate.upgrade(empty_url)
    assert "pin_lockouts" in _tables(empty_url)
    assert migrate.current(empty_url).startswith("0007")


def test_0004_keeps_existing_invoices_and_gives_them_a_billed_party_and_due_date(
    empty_url: str,
) -> None:
    from sqlalchemy import text

    migrate.upgrade(empty_url, "0002")
    engine = make_engine(empty_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO customers (id, name, created_at) VALUES (1, 'Old B.V.', '2026-01-01')"
            ))
            conn.execute(text(
                "INSERT INTO invoices (id, customer_id, period, issued_at, currency,"
                " vat_basis_points, total_ex_vat_cents, vat_cents, total_cents)"
                " VALUES (7, 1, '2026-01-01', '2026-02-01 03:00:00', 'EUR', 2100, 100, 21, 121)"
            ))
            conn.execute(text(
                "INSERT INTO invoice_lines (invoice_id, kind, description, quantity, unit_cents,"
                " amount_cents) VALUES (7, 'monthly', 'Monthly fee', 1, 100, 100)"
            ))  # fmt: skip
        migrate.upgrade(empty_url, "0004")
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT billed_name, due_on, total_cents FROM invoices WHERE id = 7")
            ).one()
        assert (row[0], str(row[1]), row[2]) == ("Old B.V.", "2026-02-15", 121)
        migrate.downgrade(empty_url, "0002")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT total_cents FROM invoices")).scalar() == 121
            assert conn.execute(text("SELECT count(*) FROM invoice_lines")).scalar() == 1
    finally:
        engine.dispose()


def test_meeting_features_come_with_0006_and_go_with_its_downgrade(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    assert "recordings" in _tables(empty_url)
    engine = make_engine(empty_url)
    try:
        columns = {c["name"] for c in inspect(engine).get_columns("conferences")}
        assert {"wait_for_moderator", "end_with_moderator", "moderator_grace_seconds",
                "recording_allowed", "recording_retention_days"} <= columns
    finally:
        engine.dispose()
    migrate.downgrade(empty_url, "0005")
    assert "recordings" not in _tables(empty_url)
    engine = make_engine(empty_url)
    try:
        columns = {c["name"] for c in inspect(engine).get_columns("conferences")}
        assert "wait_for_moderator" not in columns
        hands = {c["name"] for c in inspect(engine).get_columns("attendances")}
        assert "hand_raised_at" not in hands
    finally:
        engine.dispose()
    migrate.upgrade(empty_url)
    assert _differences(empty_url) == []


def test_cluster_tables_come_with_0005_and_go_with_its_downgrade(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    assert {"room_leases", "name_recordings"} <= _tables(empty_url)
    migrate.downgrade(empty_url, "0004")
    assert not {"room_leases", "name_recordings"} & _tables(empty_url)
    engine = make_engine(empty_url)
    try:
        columns = {c["name"] for c in inspect(engine).get_columns("controller_nodes")}
        assert not {"internal_sip", "drained", "beat_at"} & columns
    finally:
        engine.dispose()
    migrate.upgrade(empty_url)
    assert _differences(empty_url) == []


def test_interrupted_recordings_come_with_0007_and_go_with_its_downgrade(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    engine = make_engine(empty_url)
    try:
        assert "interrupted" in {c["name"] for c in inspect(engine).get_columns("recordings")}
        migrate.downgrade(empty_url, "0006")
        inspect_again = inspect(engine)
        assert "interrupted" not in {c["name"] for c in inspect_again.get_columns("recordings")}
    finally:
        engine.dispose()
    migrate.upgrade(empty_url)
    assert _differences(empty_url) == []
