"""``buzon recordar``: one reminder, before its deadline, to each medium still pending.

A reminder is an outbox row of ``tipo = 'recordatorio'`` carrying the nonce of the medium's live
send, so its message has the same code or link (no new secret) and the dispatcher sends it exactly
once like any other row (Message-ID / Idempotency-Key from its own outbox id). It is not a send:
the medium's state, ``envios`` and ``vence_en`` do not change, and a reminder whose secret is no
longer the live one when its turn comes is discarded (``delivery.outbox.prepare``). One reminder
per medium: a medium with a reminder row in any state gets no other.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine

from buzon.settings import Settings
from delivery.dispatcher import SendStats, dispatch_lock, dispatch_locked
from registry import audit
from registry import outbox as registry_outbox
from registry.reader.recordatorios import (
    RECORDATORIO,
    PorRecordar,
    read_por_recordar,
    read_recordatorios_pendientes,
)
from registry.states import Estado

ORIGEN = "comando:recordar"


@dataclass
class RemindStats:
    reminded: int = 0
    skipped: Counter = field(default_factory=Counter)

    def as_json(self) -> dict:
        return {"reminded": self.reminded, "skipped": dict(sorted(self.skipped.items()))}


def motivo(m: PorRecordar) -> str | None:
    """Why a medium inside the window gets no reminder (Spanish snake_case), or ``None``.

    >>> motivo(PorRecordar(1, "enviado", "correo", "a@b.mx", True, False, "n"))
    >>> motivo(PorRecordar(1, "enviado", "telefono", "5512345678", False, False, "n"))
    'codigo_anulado'
    >>> motivo(PorRecordar(1, "validado", "correo", "a@b.mx", False, False, "n"))
    'validado'
    """
    if m.estado == Estado.VALIDADO:
        return "validado"
    if m.estado != Estado.ENVIADO:
        return "no_pendiente"  # cancelado, no_entregado, baja (vencido is past the window)
    if m.recordado:
        return "ya_recordado"
    if not m.vivo or m.nonce is None:
        return "codigo_anulado"  # wrong codes killed it, or a resend is on its way
    return None


def remind(settings: Settings, *, engine: Engine | None = None) -> RemindStats:
    """Queue a reminder for every pending medium whose deadline is within
    ``settings.recordatorio_horas`` and send every reminder not sent yet."""
    from registry.db import get_engine

    engine = engine or get_engine(settings)
    stats = RemindStats()
    # Under the dispatcher lock: two runs cannot both see "no reminder yet" for one medium, and
    # no send or resend changes a live secret between reading it and queueing its reminder.
    with dispatch_lock(settings, engine):
        now = settings.clock()
        hasta = now + timedelta(hours=settings.recordatorio_horas)
        with engine.begin() as conn:
            nuevos = []
            for m in read_por_recordar(conn, now, hasta):
                razon = motivo(m)
                if razon is None:
                    nuevos.append(m)
                else:
                    stats.skipped[razon] += 1
            registry_outbox.queue(
                conn,
                [
                    {"medio_id": m.id, "tipo": RECORDATORIO, "mecanismo": m.mecanismo,
                     "valor": m.valor, "nonce": m.nonce}
                    for m in nuevos
                ],
                now=now,
            )  # fmt: skip
            audit.registrar_medios(
                conn,
                [m.id for m in nuevos],
                [m.estado for m in nuevos],
                Estado.ENVIADO,
                ORIGEN,
                now,
                "recordatorio en cola con el mismo código o enlace",
            )
            # With those of an earlier run that stopped before sending them.
            pendientes = read_recordatorios_pendientes(conn)
        envio: SendStats | None = None
        if pendientes:
            envio = dispatch_locked(settings, engine, only_ids=pendientes)
    if envio is not None:
        stats.reminded = envio.sent
        for razon, n in (("envio_fallido", envio.failed), ("reintento_programado", envio.retried)):
            if n:
                stats.skipped[razon] += n
        descartados = envio.processed - envio.sent - envio.failed - envio.retried
        if descartados:
            stats.skipped["codigo_anulado"] += descartados
    return stats
