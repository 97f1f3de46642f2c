"""Queueing outbox rows: the one insert of a message to send (verification by apply and resend,
confirmation by reconcile). Claiming and recording sends is ``delivery.outbox``'s work."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import Connection

from registry.sql import cursor, instant, ph

CANAL_POR_MECANISMO = {"correo": "correo", "telefono": "sms"}
_COLUMNAS = "medio_id, tipo, canal, destino, estado, intentos, proximo_intento, creado_en"


def _texto(conn: Connection) -> str:
    p = ph(conn)
    return f"INSERT INTO outbox ({_COLUMNAS}) VALUES ({p}, {p}, {p}, {p}, 'pendiente', 0, {p}, {p})"


def _fila(conn: Connection, row: Mapping, now: datetime) -> tuple:
    return (
        row["medio_id"],
        row["tipo"],
        row.get("canal") or CANAL_POR_MECANISMO[row["mecanismo"]],
        row.get("destino") or row["valor"],
        instant(conn, row.get("proximo_intento") or now),
        instant(conn, now),
    )


def queue(conn: Connection, rows: Iterable[Mapping], *, now: datetime) -> int:
    """Insert pending outbox rows, due ``now`` unless a row says ``proximo_intento``; each needs
    ``medio_id``, ``tipo`` ('verificacion' | 'confirmacion'), and ``canal`` + ``destino`` or the
    medium's ``mecanismo`` + ``valor``. Returns the count."""
    values = [_fila(conn, r, now) for r in rows]
    if values:
        cursor(conn).executemany(_texto(conn), values)
    return len(values)


def queue_one(conn: Connection, row: Mapping, *, now: datetime) -> int:
    """:func:`queue` for one row; returns its outbox id."""
    cur = cursor(conn)
    cur.execute(_texto(conn) + " RETURNING id", _fila(conn, row, now))
    return int(cur.fetchone()[0])
