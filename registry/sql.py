"""Small SQL helpers that hide the SQLite/PostgreSQL differences the registry cares about."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    DateTime,
    String,
    Table,
    TypeDecorator,
    any_,
    bindparam,
)
from sqlalchemy.dialects import postgresql, sqlite

from registry.clock import db_text, db_value, utc

T = TypeVar("T")

# SQLite allows 32,766 bound parameters per statement, psycopg 65,535: stay well below both.
IN_MAX = 10_000


def is_sqlite(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


def ph(conn: Connection) -> str:
    """The driver's positional placeholder (``?`` for sqlite3, ``%s`` for psycopg)."""
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def cursor(conn: Connection) -> Any:
    """A DB-API cursor in the connection's transaction, for prepared statements and
    ``executemany``: SQLAlchemy's per-row bind processing and the compilation of long ``IN``
    lists cost more than the database on the million-row paths."""
    return conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]


def instant(conn: Connection, value: datetime | None) -> Any:
    """An instant as a raw statement binds it (UTC; see :mod:`registry.clock`)."""
    return db_value(conn.dialect.name, value)


def select_in(conn: Connection, sql: str, ids: Sequence, params: tuple = ()) -> list[tuple]:
    """Rows of ``sql`` (with one ``{inn}`` placeholder, after ``params``) for ``ids``, in ``IN``
    lists of :data:`IN_MAX`."""
    out: list[tuple] = []
    cur = cursor(conn)
    for part in batches(list(ids)):
        cur.execute(sql.format(inn=",".join([ph(conn)] * len(part))), (*params, *part))
        out += cur.fetchall()
    return out


def insert(conn: Connection, table: Table) -> Any:
    """A dialect ``INSERT`` that supports ``on_conflict_do_nothing`` on both backends."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def in_list(conn: Connection, column: Any, values: Sequence[str]) -> ColumnElement[bool]:
    """``column IN (values)``; on PostgreSQL ``column = ANY(:array)``, one parameter instead of
    thousands (the driver parses and the server plans a much shorter statement)."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(String)))
    return column.in_(values)


def batches(items: Sequence[T], size: int = IN_MAX) -> Iterator[Sequence[T]]:
    """Slices of ``items`` small enough for one ``IN (...)`` list."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _instant(kind: Any) -> bool:
    """Whether a column type holds instants (``DateTime`` or a decorator over it)."""
    return isinstance(kind.impl if isinstance(kind, TypeDecorator) else kind, DateTime)


def _utc_or(value: Any) -> Any:
    """Instants in UTC (a naive one means UTC, never the session's time zone)."""
    return utc(value) if isinstance(value, datetime) else value


def bulk_insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows in the caller's transaction: ``COPY`` on PostgreSQL, else executemany.

    Every row must have the same keys. A unique violation raises SQLAlchemy's ``IntegrityError``
    on both backends, so callers handle one exception type.
    """
    if not rows:
        return
    cols = list(rows[0])
    if conn.dialect.name != "postgresql":
        # Straight to the driver's executemany: SQLAlchemy's per-row parameter processing costs
        # more than SQLite's insert. Instants go in SQLAlchemy's SQLite format (naive UTC).
        fechas: dict[datetime, str] = {}

        def texto(v: datetime | None) -> str | None:
            if v is None:
                return None
            t = fechas.get(v)
            if t is None:
                t = fechas[v] = db_text(v)
            return t

        dt = [i for i, c in enumerate(cols) if _instant(table.c[c].type)]
        data = [[r[c] for c in cols] for r in rows]
        for fila in data:
            for i in dt:
                fila[i] = texto(fila[i])
        sql = (
            f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})"
        )
        conn.exec_driver_sql(sql, [tuple(f) for f in data])
        return
    import psycopg
    from sqlalchemy.exc import IntegrityError

    sql = f"COPY {table.name} ({', '.join(cols)}) FROM STDIN"
    raw = conn.connection.dbapi_connection
    try:
        with raw.cursor() as cur, cur.copy(sql) as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row([_utc_or(row[c]) for c in cols])
    except psycopg.errors.IntegrityError as exc:
        raise IntegrityError(sql, None, exc) from exc
