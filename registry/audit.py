"""The append-only audit log: who changed what, from which state to which, from which source.

``origen`` names the source: ``archivo.xlsx:Hoja1:12`` (file, sheet, row as Excel shows it; the
sheet is empty for CSV) or ``comando:<name>`` for a command, ``evento:<id>`` for a callback.

Every audit row of the project is written here, by :func:`registrar` (rows as dicts) or
:func:`registrar_medios` (one state change for many media, as columns): one insert, on a SQLAlchemy
connection's transaction or on a DB-API transaction opened on it (``delivery.recorder``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import repeat
from typing import Any

from sqlalchemy import Connection

from registry.sql import cursor, instant, is_sqlite, ph
from registry.tables import auditoria

COLUMNAS = ("en", "entidad", "entidad_id", "de_estado", "a_estado", "origen", "detalle")
_ROWS_PER_WRITE = 50_000
_COPY_FROM = 1_000


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
    """Append audit rows (dicts made by :func:`fila`); returns how many."""
    rows = [(instant(conn, f["en"]), *(f[c] for c in COLUMNAS[1:])) for f in filas]
    _insertar(conn, rows)
    return len(rows)


def registrar_medios(
    conn: Connection,
    ids: Sequence[int],
    de: Sequence[str],
    a: str,
    origenes: Sequence[str] | str,
    en: datetime,
    detalle: str | None,
) -> int:
    """One audit row per medium moved ``de[i] -> a`` (the fields :func:`fila` gives)."""
    en_db = instant(conn, en)
    fuentes = repeat(origenes) if isinstance(origenes, str) else origenes
    rows = [
        (en_db, "medio", str(m), d, a, o, detalle)
        for m, d, o in zip(ids, de, fuentes, strict=not isinstance(origenes, str))
    ]
    _insertar(conn, rows)
    return len(rows)


def _insertar(conn: Connection, rows: list[tuple]) -> None:
    """The one audit insert: ``executemany``, or ``COPY`` for large batches on PostgreSQL."""
    if not rows:
        return
    cols = ", ".join(COLUMNAS)
    cur = cursor(conn)
    # COPY pays a protocol round trip of its own: small batches (the recorder's groups) insert.
    if is_sqlite(conn) or len(rows) < _COPY_FROM:
        sql = f"INSERT INTO {auditoria.name} ({cols}) VALUES ({', '.join([ph(conn)] * 7)})"
        for start in range(0, len(rows), _ROWS_PER_WRITE):
            cur.executemany(sql, rows[start : start + _ROWS_PER_WRITE])
        return
    with cur.copy(f"COPY {auditoria.name} ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
