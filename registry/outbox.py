"""Queueing outbox rows: the one insert of a message to send (verification by apply and resend,
confirmation by reconcile, reminder by ``buzon recordar``). Claiming and recording sends is
``delivery.outbox``'s work."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert

from registry.sql import bulk_insert
from registry.tables import outbox

CANAL_POR_MECANISMO = {"correo": "correo", "telefono": "sms"}


def _fila(row: Mapping, now: datetime) -> dict[str, Any]:
    """The outbox row of one message: pending, no attempts, due ``now`` unless it says when."""
    return {
        "medio_id": row["medio_id"],
        "tipo": row["tipo"],
        "canal": row.get("canal") or CANAL_POR_MECANISMO[row["mecanismo"]],
        "destino": row.get("destino") or row["valor"],
        "estado": "pendiente",
        "intentos": 0,
        "proximo_intento": row.get("proximo_intento") or now,
        "creado_en": now,
        # A reminder carries its live send's nonce: same code/link, no new secret.
        "nonce": row.get("nonce"),
    }


def queue(conn: Connection, rows: Iterable[Mapping], *, now: datetime) -> int:
    """Insert pending outbox rows; each needs ``medio_id``, ``tipo`` ('verificacion' |
    'confirmacion' | 'recordatorio', the last with its live send's ``nonce``), and ``canal`` +
    ``destino`` or the medium's ``mecanismo`` + ``valor``
    (optionally ``proximo_intento``). ``executemany`` on SQLite, ``COPY`` on PostgreSQL, in the
    caller's transaction. Returns the count."""
    values = [_fila(r, now) for r in rows]
    bulk_insert(conn, outbox, values)
    return len(values)


def queue_one(conn: Connection, row: Mapping, *, now: datetime) -> int:
    """:func:`queue` for one row; returns its outbox id."""
    return int(
        conn.execute(insert(outbox).values(_fila(row, now)).returning(outbox.c.id)).scalar_one()
    )
