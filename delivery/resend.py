"""``buzon resend``: a new code or link for one medium; the previous one dies at once."""

from __future__ import annotations

from sqlalchemy import Engine, func, select, update

from buzon.errors import LimitReachedError, NotFoundError, TransitionError
from buzon.settings import Settings
from delivery.dispatcher import SendStats, dispatch_lock, dispatch_locked
from registry import audit, transitions
from registry import outbox as registry_outbox
from registry.reader import find_medio
from registry.states import Estado
from registry.tables import medios, outbox
from registry.ventanas import vence_registro
from schemas import medio as medio_mod
from schemas import rfc as rfc_mod


def resend(
    settings: Settings,
    rfc: str,
    medio: str,
    *,
    send: bool = True,
    engine: Engine | None = None,
) -> tuple[int, SendStats | None]:
    """Queue a new verification for the active medium ``medio`` of ``rfc`` and (by default) send it.

    The old secret is cleared in the same transaction, so the previous code/link stops working now,
    not when the new message goes out. Refuses past ``settings.max_sends_per_medium`` sends.
    Returns the new outbox id and, if sent, the dispatch counts.
    """
    from registry.db import get_engine

    engine = engine or get_engine(settings)
    rfc = rfc_mod.compact(rfc)
    mecanismo, valor = medio_mod.compact(medio)
    # Under the dispatcher lock: a batch running now cannot be half-way through the old message.
    with dispatch_lock(settings, engine):
        now = settings.clock()
        with engine.begin() as conn:
            m = find_medio(conn, rfc, mecanismo, valor)
            if m is None:
                raise NotFoundError(
                    "no hay un medio de contacto activo con ese valor para el RFC",
                    rfc=rfc,
                    medio=valor,
                )
            if m.estado == Estado.VALIDADO:
                raise TransitionError(
                    "el medio de contacto ya está validado; no necesita un código nuevo",
                    rfc=rfc,
                    medio=valor,
                )
            limite = settings.max_sends_per_medium
            if m.envios >= limite:
                raise LimitReachedError(
                    f"se alcanzó el máximo de {limite} envíos para este medio de contacto; "
                    "regístralo de nuevo para recibir otro código",
                    rfc=rfc,
                    medio=valor,
                )
            conn.execute(
                update(outbox)
                .where(
                    outbox.c.medio_id == m.id,
                    outbox.c.tipo == "verificacion",
                    outbox.c.estado == "pendiente",
                )
                .values(estado="descartado", error="reemplazado por un reenvío")
            )
            # A resend opens a new window (registry.ventanas), kept by its first send.
            transitions.desarmar(
                conn, m.id, now, vence_en=vence_registro(now, settings.validity_hours)
            )
            new_id = registry_outbox.queue_one(
                conn,
                {"medio_id": m.id, "tipo": "verificacion", "mecanismo": m.mecanismo,
                 "valor": m.valor},
                now=now,
            )  # fmt: skip
            audit.registrar(
                conn,
                [
                    audit.fila(
                        "medio",
                        m.id,
                        m.estado,
                        m.estado,
                        origen="comando:resend",
                        en=now,
                        detalle=f"reenvío solicitado; código anterior anulado; outbox={new_id}",
                    )
                ],
            )
        stats = dispatch_locked(settings, engine, only_ids=[new_id]) if send else None
    return new_id, stats


def sends_left(settings: Settings, engine: Engine, medio_id: int) -> int:
    """How many more sends the medium may get."""
    with engine.connect() as conn:
        envios = conn.execute(
            select(func.coalesce(medios.c.envios, 0)).where(medios.c.id == medio_id)
        ).scalar_one()
    return max(0, settings.max_sends_per_medium - envios)
