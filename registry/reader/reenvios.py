"""What a resend needs to know: the pending media to resend, and one mobile's live send."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, select

from registry.clock import utc
from registry.states import Estado
from registry.tables import medios, outbox

# A medium waiting for its person: registered or sent, not yet validated.
PENDIENTES = (Estado.REGISTRADO.value, Estado.ENVIADO.value)


def read_pendientes(
    conn: Connection, *, rfc: str | None = None, antes_de: datetime | None = None
) -> Sequence[Row[Any]]:
    """``(rfc, valor, envios)`` of every pending medium (of ``rfc``; with a deadline before
    ``antes_de``), oldest first."""
    query = select(medios.c.rfc, medios.c.valor, medios.c.envios).where(
        medios.c.estado.in_(PENDIENTES)
    )
    if rfc is not None:
        query = query.where(medios.c.rfc == rfc)
    if antes_de is not None:
        query = query.where(medios.c.vence_en < utc(antes_de))
    return conn.execute(query.order_by(medios.c.id)).all()


def read_celular_enviado(conn: Connection, rfc: str, telefono: str) -> Row[Any] | None:
    """The ``enviado`` mobile of ``rfc`` with its window and its last send or resend request:
    ``(id, envios, vence_en, enviado_en, ultimo)``; ``None`` when there is none."""
    ultimo = (
        select(func.max(outbox.c.creado_en))
        .where(outbox.c.medio_id == medios.c.id, outbox.c.tipo == "verificacion")
        .scalar_subquery()
    )
    return conn.execute(
        select(
            medios.c.id,
            medios.c.envios,
            medios.c.vence_en,
            medios.c.enviado_en,
            ultimo.label("ultimo"),
        ).where(
            medios.c.rfc == rfc,
            medios.c.mecanismo == "telefono",
            medios.c.valor == telefono,
            medios.c.estado == Estado.ENVIADO.value,
        )
    ).first()
