"""The join flow's hot statements, compiled once and run straight on the DBAPI cursor.

Every call runs about a dozen small SELECTs and UPDATEs. SQLAlchemy's Connection.execute
spends about 35 us of Python on each (cache key, execution context, events, result
metadata) around 2-3 us of SQLite; the statements never change, so this module does
that work once per statement, dialect and parameter set: the SQL text, the order of the
parameters, the type conversions both ways (SQLite keeps datetimes as text, booleans as
integers). The statement still runs on the unit of work's own connection, inside its
transaction; a driver error is wrapped and the connection invalidated exactly as
SQLAlchemy does it, so callers see the same exceptions.

Only for statements without Python-side defaults (SELECT, UPDATE with explicit values):
an INSERT relies on column defaults and the inserted key, which Connection.execute keeps.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect, Executable
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.selectable import SelectBase

Processor = Callable[[Any], Any]


@dataclass(frozen=True)
class _Plan:
    sql: str
    positional: bool
    # (bind name, fixed value or _FROM_PARAMS, processor) in the order the SQL wants them.
    binds: tuple[tuple[str, Any, Processor | None], ...]
    row: type[tuple[Any, ...]] | None  # named row type of a SELECT
    results: tuple[Processor | None, ...]


_FROM_PARAMS = object()


class PreparedResult:
    """The few Result methods the join flow uses, over already converted rows."""

    __slots__ = ("_rows",)

    def __init__(self, rows: list[Any]) -> None:
        self._rows = rows

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

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)


class Prepared:
    """One Core statement; `run` executes it on a Session's connection."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
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
        except dialect.loaded_dbapi.Error as exc:
            raise _wrapped(conn, dialect, plan.sql, values, exc, cursor) from exc
        finally:
            cursor.close()
        if plan.row is None:
            return PreparedResult([])
        make, procs = plan.row._make, plan.results
        if any(procs):
            raw = [[p(v) if p else v for p, v in zip(procs, r, strict=True)] for r in raw]
        return PreparedResult([make(r) for r in raw])

    def _compile(self, dialect: Dialect, keys: Sequence[str]) -> _Plan:
        compiled = self.statement.compile(dialect=dialect, column_keys=list(keys))
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
        row: type[tuple[Any, ...]] | None = None
        results: tuple[Processor | None, ...] = ()
        if isinstance(self.statement, SelectBase):
            columns = list(self.statement.selected_columns)
            row = collections.namedtuple(  # type: ignore[misc]
                "PreparedRow", [c.key or f"col{i}" for i, c in enumerate(columns)],
                rename=True,
            )
            results = tuple(c.type._cached_result_processor(dialect, None) for c in columns)
        return _Plan(compiled.string, bool(compiled.positional), tuple(binds), row, results)


def _values(plan: _Plan, params: dict[str, Any]) -> Any:
    out = []
    for name, fixed, proc in plan.binds:
        value = params[name] if fixed is _FROM_PARAMS else fixed
        out.append(proc(value) if proc is not None and value is not None else value)
    if plan.positional:
        return tuple(out)
    return {name: value for (name, _, _), value in zip(plan.binds, out, strict=True)}


def _wrapped(
    conn: Connection, dialect: Dialect, sql: str, values: Any, exc: Exception, cursor: Any
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
