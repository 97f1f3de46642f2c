"""Which media are due a reminder: pending sends whose deadline falls inside the window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, exists, select

from registry.tables import medios, outbox

RECORDATORIO = "recordatorio"  # outbox.tipo of a reminder


@dataclass(frozen=True, slots=True)
class PorRecordar:
    """A medium whose deadline falls inside the reminder window, with what decides its fate."""

    id: int
    estado: str
    mecanismo: str
    valor: str
    vivo: bool  # its live code/link still works (``secreto_hash`` set)
    recordado: bool  # it already has a reminder (in any state)
    nonce: str | None  # the live send's nonce: the reminder carries the same secret


def read_por_recordar(conn: Connection, now: datetime, hasta: datetime) -> list[PorRecordar]:
    """Every medium with ``now < vence_en <= hasta`` (any state), oldest id first."""
    vivo = outbox.alias("vivo")
    previo = outbox.alias("previo")
    recordado = exists().where(
        and_(previo.c.medio_id == medios.c.id, previo.c.tipo == RECORDATORIO)
    )
    q = (
        select(
            medios.c.id,
            medios.c.estado,
            medios.c.mecanismo,
            medios.c.valor,
            medios.c.secreto_hash.is_not(None),
            recordado,
            vivo.c.nonce,
        )
        .outerjoin(vivo, vivo.c.id == medios.c.envio_vigente)
        .where(medios.c.vence_en > now, medios.c.vence_en <= hasta)
        .order_by(medios.c.id)
    )
    return [PorRecordar(*r) for r in conn.execute(q)]


def read_recordatorios_pendientes(conn: Connection) -> list[int]:
    """Outbox ids of reminders not sent yet (queued by a run that stopped before sending)."""
    q = select(outbox.c.id).where(outbox.c.tipo == RECORDATORIO, outbox.c.estado == "pendiente")
    return list(conn.execute(q.order_by(outbox.c.id)).scalars())
