"""Counts of media by state, overall, per RFC and per RP (``buzon status``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, distinct, func, select

from registry.states import Estado
from registry.tables import alcances, medios, particulares


def _vacio() -> dict[str, int]:
    return {str(e): 0 for e in Estado}


def count_estados(conn: Connection, rfc: str | None = None) -> dict[str, Any]:
    """``{"por_estado": {state: n}, "medios": n, "rfcs": [...], "rps": [...]}`` (the
    ``buzon status --json`` object); every state is listed, ``rfc`` narrows to one RFC."""
    por_estado = _vacio()
    por_rfc: dict[str, dict[str, int]] = {}
    q = select(medios.c.rfc, medios.c.estado, func.count()).group_by(medios.c.rfc, medios.c.estado)
    if rfc is not None:
        q = q.where(medios.c.rfc == rfc)
    for r, estado, n in conn.execute(q):
        por_estado[estado] = por_estado.get(estado, 0) + n
        por_rfc.setdefault(r, _vacio())[estado] = n

    qp = select(particulares.c.rfc, particulares.c.nombre, particulares.c.estado)
    if rfc is not None:
        qp = qp.where(particulares.c.rfc == rfc)
    rfcs = [
        {"rfc": r, "nombre": nombre, "estado": estado, "por_estado": por_rfc.get(r, _vacio())}
        for r, nombre, estado in conn.execute(qp.order_by(particulares.c.rfc))
    ]

    qr = (
        select(alcances.c.rp, alcances.c.rfc, medios.c.estado, func.count(distinct(medios.c.id)))
        .join(medios, medios.c.id == alcances.c.medio_id)
        .where(alcances.c.rp.is_not(None))
        .group_by(alcances.c.rp, alcances.c.rfc, medios.c.estado)
        .order_by(alcances.c.rfc, alcances.c.rp)
    )
    if rfc is not None:
        qr = qr.where(alcances.c.rfc == rfc)
    por_rp: dict[tuple[str, str], dict[str, int]] = {}
    for rp, r, estado, n in conn.execute(qr):
        por_rp.setdefault((rp, r), _vacio())[estado] = n
    rps = [{"rp": rp, "rfc": r, "por_estado": c} for (rp, r), c in por_rp.items()]
    return {
        "por_estado": por_estado,
        "medios": sum(por_estado.values()),
        "rfcs": rfcs,
        "rps": rps,
        "activacion": activacion(conn, rfc),
    }


def activacion(conn: Connection, rfc: str | None = None) -> dict[str, int]:
    """RFCs by activation: ``activado`` counts those activated before 06/08/2024 too (guide
    section VIII), which ``activado_previo`` also shows apart; ``pendiente`` the rest."""
    q = select(particulares.c.estado, func.count()).group_by(particulares.c.estado)
    if rfc is not None:
        q = q.where(particulares.c.rfc == rfc)
    n = dict(conn.execute(q).all())
    previos = n.get("activado_previo", 0)
    return {
        "activado": n.get("activado", 0) + previos,
        "activado_previo": previos,
        "pendiente": sum(v for k, v in n.items() if k not in ("activado", "activado_previo")),
    }
