"""Fail loudly, with the fix, when the PostgreSQL half of `make test` cannot run."""

from __future__ import annotations

import sys

import psycopg
from sqlalchemy.engine import make_url


def main(url: str) -> int:
    u = make_url(url)
    try:
        psycopg.connect(
            host=u.host, port=u.port or 5432, user=u.username, dbname=u.database,
            password=u.password, connect_timeout=5,
        ).close()
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0]
        print(
            f"PostgreSQL is not reachable at {u.host}:{u.port or 5432} ({first}).\n"
            "The test suite runs on SQLite and PostgreSQL; start PostgreSQL "
            "(e.g. `pg_ctlcluster <version> main start`) or set PG_TEST_URL=...",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
