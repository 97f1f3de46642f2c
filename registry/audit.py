"""The append-only audit log: who changed what, from which state to which, from which source.

``origen`` names the source: ``archivo.xlsx:Hoja1:12`` (file, sheet, row as Excel shows it; the
sheet is empty for CSV) or ``comando:<name>`` for a command, ``evento:<id>`` for a callback.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from registry.sql import bulk_insert
from registry.tables import auditoria


def origen_fila(archivo: str, hoja: str | None, fila: int | None) -> str:
    """The ``origen`` of a spreadsheet row.

    >>> origen_fila("carga.xlsx", "Hoja1", 12), origen_fila("carga.csv", None, 3)
    ('carga.xlsx:Hoja1:12', 'carga.csv::3')
    """
    return f"{archivo}:{hoja or ''}:{'' if fila is None else fila}"


def fila(
    entidad: str,
    entidad_id: object,
    de: str | None,
    a: str | None,
    *,
    origen: str,
    en: datetime,
    detalle: str | None = None,
) -> dict[str, Any]:
    """One audit row, ready for :func:`registrar`."""
    return {
        "en": en,
        "entidad": entidad,
        "entidad_id": str(entidad_id),
        "de_estado": None if de is None else str(de),
        "a_estado": None if a is None else str(a),
        "origen": origen,
        "detalle": detalle,
    }


def registrar(conn: Connection, filas: Iterable[dict[str, Any]]) -> int:
    """Append audit rows in one executemany; returns how many."""
    rows = list(filas)
    bulk_insert(conn, auditoria, rows)
    return len(rows)
