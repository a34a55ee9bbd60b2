"""The join flow's hot statements, compiled once and run straight on the DBAPI cursor.

Every call runs about a dozen small SELECTs and UPDATEs, and SQLAlchemy's per-execution
work was many times SQLite's own for them (bench/results/README.md). The statements never
change, so this module does that work once per statement, dialect and parameter set: the
SQL text, the order of the parameters, the type conversions both ways. The statement
still runs on the unit of work's own connection, inside its transaction; a driver error
is wrapped and the connection invalidated exactly as SQLAlchemy does it, so callers see
the same exceptions. Written against SQLAlchemy 2.1's internals (setup.cfg pins it).

An INSERT names its table's key column (`key=`) and gets the new row's key back
(RETURNING where the dialect has it, else the cursor's lastrowid, as SQLAlchemy does);
it must be given every column that has a Python-side default, since nothing here runs
those defaults (checked when it is compiled).
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Connection, Dialect, Executable, Insert
from sqlalchemy.engine.interfaces import DBAPIModule
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter, ClauseElement
from sqlalchemy.sql.selectable import SelectBase

Processor = Callable[[Any], Any]


@dataclass(frozen=True)
class _Plan:
    sql: str
    positional: bool
    # (bind name, fixed value or _FROM_PARAMS, processor) in the order the SQL wants them.
    binds: tuple[tuple[str, Any, Processor | None], ...]
    # Named row type of a SELECT (or RETURNING): a namedtuple class built at run time.
    row: Any
    results: tuple[Processor | None, ...]
    lastrowid: bool  # an INSERT whose key comes from cursor.lastrowid


_FROM_PARAMS = object()


class PreparedResult:
    """The few Result methods the join flow uses, over already converted rows."""

    __slots__ = ("_rows", "inserted_key")

    def __init__(self, rows: list[Any], inserted_key: int | None = None) -> None:
        self._rows = rows
        self.inserted_key = inserted_key  # the new row's key, for an INSERT

    def first(self) -> Any | None:
        return self._rows[0] if self._rows else None

    def one(self) -> Any:
        if len(self._rows) != 1:
            raise LookupError(f"expected one row, got {len(self._rows)}")
        return self._rows[0]

    def all(self) -> list[Any]:
        return self._rows

    def scalar(self) -> Any | None:
        return self._rows[0][0] if self._rows else None

    def scalars(self) -> PreparedResult:
        return PreparedResult([row[0] for row in self._rows])


class Prepared:
    """One Core statement; `run` executes it on a Session's connection."""

    def __init__(self, statement: Executable, *, key: Column[Any] | None = None) -> None:
        if isinstance(statement, Insert) != (key is not None):
            raise ValueError("an INSERT, and only an INSERT, names its key column")
        self.statement = statement
        self.key = key
        self._plans: dict[tuple[int, tuple[str, ...]], _Plan] = {}

    def run(self, session: Session, params: dict[str, Any]) -> PreparedResult:
        conn = session.connection()
        dialect = conn.dialect
        keys = tuple(params)
        plan = self._plans.get((id(dialect), keys))
        if plan is None:
            plan = self._plans[(id(dialect), keys)] = self._compile(dialect, keys)
        values = _values(plan, params)
        dbapi_conn = conn.connection.driver_connection
        cursor = dbapi_conn.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(plan.sql, values)
            raw = cursor.fetchall() if plan.row is not None else []
            lastrowid = cursor.lastrowid if plan.lastrowid else None
        except dialect.loaded_dbapi.Error as exc:
            raise _wrapped(conn, dialect, plan.sql, values, exc, cursor) from exc
        finally:
            cursor.close()
        if plan.row is None:
            return PreparedResult([], lastrowid)
        make, procs = plan.row._make, plan.results
        if any(procs):
            raw = [[p(v) if p else v for p, v in zip(procs, r, strict=True)] for r in raw]
        rows = [make(r) for r in raw]
        key = rows[0][0] if self.key is not None and rows else lastrowid
        return PreparedResult(rows, key)

    def _compile(self, dialect: Dialect, keys: Sequence[str]) -> _Plan:
        statement = self.statement
        returning: list[Any] = []
        if isinstance(statement, Insert) and self.key is not None:
            table = statement.table
            missing = [
                c.key for c in table.columns
                if c.default is not None and c.key not in keys
            ]
            if missing:
                raise ValueError(f"INSERT into {table}: pass {missing} (their defaults run "
                                 "in SQLAlchemy's execution, not here)")
            if dialect.insert_returning:
                statement = statement.returning(self.key)
                returning = [self.key]
        if not isinstance(statement, ClauseElement):
            raise TypeError(f"cannot prepare {statement!r}")
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))
        if not isinstance(compiled, SQLCompiler):
            raise TypeError(f"{statement!r} did not compile to SQL")
        # The names the SQL text uses (anonymous binds get theirs at compile time).
        by_name: dict[str, BindParameter[Any]] = {
            name: bind for bind, name in compiled.bind_names.items()
        }
        names: Sequence[str] = (
            compiled.positiontup or [] if compiled.positional else list(by_name)
        )
        binds = []
        for name in names:
            bind = by_name[name]
            fixed = _FROM_PARAMS if name in keys else bind.effective_value
            binds.append((name, fixed, bind.type._cached_bind_processor(dialect)))
        row = None
        results: tuple[Processor | None, ...] = ()
        columns = list(statement.selected_columns) if isinstance(statement, SelectBase) else (
            returning
        )
        if columns:
            row = _row_type([c.key or f"col{i}" for i, c in enumerate(columns)])
            results = tuple(c.type._cached_result_processor(dialect, None) for c in columns)
        lastrowid = isinstance(statement, Insert) and not returning
        return _Plan(
            compiled.string, bool(compiled.positional), tuple(binds), row, results, lastrowid
        )


def _row_type(names: list[str]) -> Any:
    # A namedtuple per statement: rows as cheap as SQLAlchemy's, attributes by column key.
    return collections.namedtuple("PreparedRow", names, rename=True)


def _values(plan: _Plan, params: dict[str, Any]) -> Any:
    out = []
    for name, fixed, proc in plan.binds:
        value = params[name] if fixed is _FROM_PARAMS else fixed
        out.append(proc(value) if proc is not None and value is not None else value)
    if plan.positional:
        return tuple(out)
    return {name: value for (name, _, _), value in zip(plan.binds, out, strict=True)}


def _wrapped(
    conn: Connection, dialect: Dialect, sql: str, values: Any, exc: DBAPIModule.Error,
    cursor: Any,
) -> DBAPIError:
    """What Connection.execute would raise, with a dead connection invalidated the same way
    (so the pool never hands it out again and callers can tell an outage)."""
    dbapi_conn = conn.connection.dbapi_connection
    invalidated = bool(dialect.is_disconnect(exc, dbapi_conn, cursor))
    if invalidated:
        conn.invalidate(exc)
    return DBAPIError.instance(  # type: ignore[return-value]
        sql, values, exc, dialect.loaded_dbapi.Error,
        connection_invalidated=invalidated, dialect=dialect,
    )
