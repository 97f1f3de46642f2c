"""Removing one medium at its owner's request (``buzon baja``), with its acuse de baja."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection

from buzon.errors import NotFoundError, TransitionError
from buzon.settings import Settings
from registry import acuses
from registry.reader import find_medio, read_nombres, read_rps
from registry.states import Estado
from registry.transitions import DAR_DE_BAJA, mover
from schemas import medio as medio_mod
from schemas import rfc as rfc_mod
from signers.seal import Sello


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
    """Move the active medium (rfc, valor) to ``baja`` and issue its acuse; return the folio.

    ``valor`` in any spelling :func:`schemas.medio.compact` accepts (``mailto:``, case, spaces,
    ``+52 1``, ``01``, ``044``...).
    """
    rfc = rfc_mod.compact(rfc)
    now = (now or settings.clock()).astimezone(UTC)
    row = find_medio(conn, rfc, *medio_mod.compact(valor))
    if row is None:
        raise NotFoundError("no hay un medio activo con ese valor para el RFC", rfc=rfc)
    if not mover(conn, DAR_DE_BAJA, [row.id], now=now, origen=origen):
        raise TransitionError("el medio ya no está activo", rfc=rfc)
    rps = read_rps(conn, row.id)
    nombre = read_nombres(conn, [rfc]).get(rfc)
    (folio,) = acuses.emitir(
        conn,
        settings,
        [
            {
                "tipo": "baja",
                "rfc": rfc,
                "nombre": nombre,
                "rps": rps,
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
