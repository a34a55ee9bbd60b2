"""A throwaway PostgreSQL schema: the two-node demo's database, dropped when it ends.

The schema is chosen through libpq's `options=-csearch_path=...` on the URL, so the
migrations, the controllers and the demo's own queries all land in it and nothing else
in that database is touched.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text


def with_search_path(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


@contextmanager
def throwaway_schema(url: str, prefix: str = "fsconf_demo") -> Iterator[tuple[str, str]]:
    """Create a new schema in PostgreSQL `url`, yield its name and a URL that works inside
    it, drop it (CASCADE) afterwards. Raises sqlalchemy's OperationalError when
    PostgreSQL is away."""
    schema = f"{prefix}_{secrets.token_hex(4)}"  # hex only: safe inside the quotes
    admin = create_engine(url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            yield schema, with_search_path(url, schema)
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()
