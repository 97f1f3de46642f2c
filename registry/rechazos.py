"""Each ``buzon apply`` run's rejections, kept so the report can show the last upload's.

One ``corrida`` id per run (the instant and a random suffix, sortable); rows are only inserted.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import polars as pl
from sqlalchemy import Engine

from registry.sql import bulk_insert
from registry.tables import rechazos

COLUMNAS = ("archivo", "hoja", "fila", "columna", "valor", "codigo", "mensaje")


def corrida_id(now: datetime) -> str:
    """A sortable run id: the UTC instant to the microsecond and 6 random hex digits."""
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(3)


def guardar(engine: Engine, filas: pl.DataFrame, now: datetime) -> str:
    """Insert one run's rejections (``COLUMNAS``) in their own transaction; return the run id."""
    corrida = corrida_id(now)
    if filas.height:
        ts = now.astimezone(UTC)
        rows = [
            {"corrida": corrida, "en": ts, **dict(zip(COLUMNAS, r, strict=True))}
            for r in filas.select(COLUMNAS).iter_rows()
        ]
        with engine.begin() as conn:
            for i in range(0, len(rows), 5000):
                bulk_insert(conn, rechazos, rows[i : i + 5000])
    return corrida
