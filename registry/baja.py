"""Removing one medium at its owner's request (``buzon baja``), with its acuse de baja."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, select

from buzon.errors import NotFoundError, TransitionError
from buzon.settings import Settings
from registry import acuses
from registry.diff import ACTIVOS_SQL
from registry.states import Estado
from registry.tables import alcances, medios, particulares
from registry.transitions import DAR_DE_BAJA, mover
from signers.seal import Sello


def candidatos(valor: str) -> list[str]:
    """The stored forms ``valor`` may have (email lower-cased, mobile as 10 digits)."""
    from schemas import correo, telefono

    formas = [correo.compact(valor)]
    if "@" not in valor:
        formas.append(telefono.compact(valor))
    return formas


def baja_medio(
    conn: Connection,
    settings: Settings,
    rfc: str,
    valor: str,
    *,
    now: datetime | None = None,
    origen: str = "comando:baja",
    sello: Sello | None = None,
) -> str:
    """Move the active medium (rfc, valor) to ``baja`` and issue its acuse; return the folio."""
    from schemas import rfc as rfc_mod

    rfc = rfc_mod.compact(rfc)
    now = (now or settings.clock()).astimezone(UTC)
    row = conn.execute(
        select(medios.c.id, medios.c.mecanismo, medios.c.valor, medios.c.estado).where(
            medios.c.rfc == rfc,
            medios.c.valor.in_(candidatos(valor)),
            medios.c.estado.in_(ACTIVOS_SQL),
        )
    ).first()
    if row is None:
        raise NotFoundError("no hay un medio activo con ese valor para el RFC", rfc=rfc)
    if not mover(conn, DAR_DE_BAJA, [row.id], now=now, origen=origen):
        raise TransitionError("el medio ya no está activo", rfc=rfc)
    rps = conn.execute(
        select(alcances.c.rp).where(alcances.c.medio_id == row.id, alcances.c.rp.is_not(None))
    ).scalars()
    nombre = conn.execute(
        select(particulares.c.nombre).where(particulares.c.rfc == rfc)
    ).scalar_one_or_none()
    (folio,) = acuses.emitir(
        conn,
        settings,
        [
            {
                "tipo": "baja",
                "rfc": rfc,
                "nombre": nombre,
                "rps": list(rps),
                "mecanismo": row.mecanismo,
                "medio": row.valor,
                "estado": str(Estado.BAJA),
                "medio_id": row.id,
            }
        ],
        sello=sello,
        now=now,
    )
    return folio
