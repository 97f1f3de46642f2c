"""Small SQL helpers that hide the SQLite/PostgreSQL differences the registry cares about."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

T = TypeVar("T")

# SQLite allows 32,766 bound parameters per statement, psycopg 65,535: stay well below both.
IN_MAX = 10_000


def insert(conn: Connection, table: Table) -> Any:
    """A dialect ``INSERT`` that supports ``on_conflict_do_nothing`` on both backends."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def batches(items: Sequence[T], size: int = IN_MAX) -> Iterator[Sequence[T]]:
    """Slices of ``items`` small enough for one ``IN (...)`` list."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def bulk_insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows in the caller's transaction: ``COPY`` on PostgreSQL, else executemany.

    Every row must have the same keys. A unique violation raises SQLAlchemy's ``IntegrityError``
    on both backends, so callers handle one exception type.
    """
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), rows)
        return
    import psycopg
    from sqlalchemy.exc import IntegrityError

    cols = list(rows[0])
    sql = f"COPY {table.name} ({', '.join(cols)}) FROM STDIN"
    raw = conn.connection.dbapi_connection
    try:
        with raw.cursor() as cur, cur.copy(sql) as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row([row[c] for c in cols])
    except psycopg.errors.IntegrityError as exc:
        raise IntegrityError(sql, None, exc) from exc
