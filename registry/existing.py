"""What the registry already holds, for the plan's registry-aware limits (``Existing``)."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
from sqlalchemy import Connection, Engine, select

from registry.db import read_connection
from registry.diff import ACTIVOS_SQL
from registry.sql import batches
from registry.tables import alcances, medios, registros_patronales


def existing_loader(bind: Connection | Engine) -> Callable[[list[str], list[str]], object]:
    """A loader ``(rfcs, rps) -> schemas.limits.Existing`` reading from ``bind``.

    ``rp_owner`` holds the registered owner of each given RP; ``active`` one row per scope of
    every active medium of the given RFCs (``rp`` null for the RFC scope).
    """

    def load(rfcs: list[str], rps: list[str]):  # noqa: ANN202 - schemas.limits.Existing
        from schemas.limits import Existing

        if isinstance(bind, Engine):
            with read_connection(bind) as conn:
                owners, active = _read(conn, rfcs, rps)
        else:
            owners, active = _read(bind, rfcs, rps)
        return Existing(rp_owner=owners, active=active)

    return load


def _read(conn: Connection, rfcs: list[str], rps: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    owner_rows: list[tuple[str, str]] = []
    for part in batches(sorted(set(rps))):
        owner_rows += conn.execute(
            select(registros_patronales.c.rp, registros_patronales.c.rfc).where(
                registros_patronales.c.rp.in_(part)
            )
        ).all()
    active_rows: list[tuple[str, str | None, str, str]] = []
    for part in batches(sorted(set(rfcs))):
        active_rows += conn.execute(
            select(medios.c.rfc, alcances.c.rp, medios.c.mecanismo, medios.c.valor)
            .join(alcances, alcances.c.medio_id == medios.c.id)
            .where(medios.c.rfc.in_(part), medios.c.estado.in_(ACTIVOS_SQL))
        ).all()
    owners = pl.DataFrame(owner_rows, schema={"rp": pl.String, "rfc": pl.String}, orient="row")
    active = pl.DataFrame(
        active_rows,
        schema={"rfc": pl.String, "rp": pl.String, "mecanismo": pl.String, "medio": pl.String},
        orient="row",
    )
    return owners, active
