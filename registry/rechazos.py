"""Each ``buzon apply`` run (``cargas``) and its rejections, so the report shows the last upload's.

One ``corrida`` id per run (sortable by the run's real time); rows are only inserted.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime

import polars as pl
from sqlalchemy import Engine

from registry.sql import bulk_insert
from registry.tables import cargas, rechazos

COLUMNAS = ("archivo", "hoja", "fila", "columna", "valor", "codigo", "mensaje")


def corrida_id() -> str:
    """A run id that sorts by when the run really happened (wall-clock nanoseconds, even when
    ``BUZON_NOW`` pins the pipeline's clock) plus 6 random hex digits."""
    return f"{time.time_ns():020d}-{secrets.token_hex(3)}"


def guardar(
    engine: Engine, filas: pl.DataFrame, now: datetime, *, archivos: list[str], entradas: int
) -> str:
    """Record one run (``cargas``) and its rejections (``COLUMNAS``) in one transaction; return
    the run id."""
    corrida = corrida_id()
    ts = now.astimezone(UTC)
    rows = [
        {"corrida": corrida, "en": ts, **dict(zip(COLUMNAS, r, strict=True))}
        for r in filas.select(COLUMNAS).iter_rows()
    ]
    with engine.begin() as conn:
        conn.execute(
            cargas.insert(),
            {
                "corrida": corrida,
                "en": ts,
                "archivos": ", ".join(archivos),
                "entradas": entradas,
                "rechazadas": len(rows),
            },
        )
        for i in range(0, len(rows), 5000):
            bulk_insert(conn, rechazos, rows[i : i + 5000])
    return corrida
