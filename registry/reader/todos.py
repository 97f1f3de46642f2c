"""The Registros Patronales the registry knows for given RFCs, for «TODOS» in an upload.

What :func:`schemas.todos.expand_todos` needs from the store (an RP cell «TODOS»).
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
from sqlalchemy import Connection, Engine, select

from registry.sql import batches
from registry.tables import registros_patronales


def rps_loader(bind: Connection | Engine) -> Callable[[list[str]], pl.DataFrame]:
    """``(rfcs) -> DataFrame{rfc, rp}``: every registered RP of each given RFC (read-only)."""

    def load(rfcs: list[str]) -> pl.DataFrame:
        if isinstance(bind, Engine):
            with bind.connect() as conn:
                return _read(conn, rfcs)
        return _read(bind, rfcs)

    return load


def _read(conn: Connection, rfcs: list[str]) -> pl.DataFrame:
    rows: list[tuple[str, str]] = []
    for part in batches(sorted(set(rfcs))):
        rows += conn.execute(
            select(registros_patronales.c.rfc, registros_patronales.c.rp).where(
                registros_patronales.c.rfc.in_(part)
            )
        ).all()
    return pl.DataFrame(rows, schema={"rfc": pl.String, "rp": pl.String}, orient="row")
