"""Guarded bulk state changes of media, each with its audit row.

Components that move a medium between states (apply, baja, resend, delivery failures) go through
:func:`cambiar_estado`: the ``WHERE estado IN origenes(a)`` guard makes the state machine hold even
when two processes race, and makes a repeated call a no-op. The two hot paths (accepted sends in
``delivery.recorder``, bulk reconciliation in ``registry.reconcile_bulk``) use prepared statements
with the same guard and the same audit rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from registry import audit
from registry.sql import batches
from registry.states import Estado, origenes
from registry.tables import medios


def cambiar_estado(
    conn: Connection,
    medio_ids: Iterable[int],
    a: Estado | str,
    *,
    origen: str | Mapping[int, str],
    now: datetime,
    detalle: str | None = None,
    **values: Any,
) -> list[int]:
    """Move the given media to ``a`` where the state machine allows it; return the ids moved.

    Media whose current state cannot reach ``a`` are left alone (not an error: the caller decides,
    e.g. by comparing the result with what it asked for). ``values`` are extra ``medios`` columns
    to set on the moved rows (``validado_en=now``, ``motivo=...``); ``actualizado_en`` is set to
    ``now``. ``origen`` is one source for all, or one per medium id. Runs in the caller's
    transaction; on PostgreSQL the rows are locked first so the audit's ``de_estado`` is exact.
    """
    destino = Estado(a)
    permitidos = sorted(str(e) for e in origenes(destino))
    ids = sorted(set(medio_ids))
    previos: dict[int, str] = {}
    for part in batches(ids):
        rows = conn.execute(
            select(medios.c.id, medios.c.estado)
            .where(medios.c.id.in_(part), medios.c.estado.in_(permitidos))
            .with_for_update()
        )
        previos.update({r.id: r.estado for r in rows})
    if not previos:
        return []
    movidos = sorted(previos)
    for part in batches(movidos):
        conn.execute(
            update(medios)
            .where(medios.c.id.in_(part), medios.c.estado.in_(permitidos))
            .values(estado=str(destino), actualizado_en=now, **values)
        )
    audit.registrar(
        conn,
        (
            audit.fila(
                "medio",
                mid,
                previos[mid],
                destino,
                origen=origen if isinstance(origen, str) else origen[mid],
                en=now,
                detalle=detalle,
            )
            for mid in movidos
        ),
    )
    return movidos
