"""The suite's own rules (tests/conftest.py): which tests the PostgreSQL pass runs."""

from __future__ import annotations

import pytest


def test_a_test_reaching_the_database_is_marked_db(request: pytest.FixtureRequest, db) -> None:
    assert request.node.get_closest_marker("db") is not None  # through `db`, not by name


def test_a_test_without_the_database_is_not_marked(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("db") is None

