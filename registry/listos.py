"""Who is ready to activate, and the result shape every activation path reports.

Ready = the particular is not yet ``activado`` and has at least one ``validado`` email and one
``validado`` mobile at the RFC scope (``alcances.rp IS NULL``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select

from buzon.errors import EfirmaError
from registry.sql import batches
from registry.tables import alcances, medios, particulares

PENDIENTE, ACTIVADO = "pendiente", "activado"
# Activated before 06/08/2024 (``buzon activados importar``): compliant, never asked to sign again.
ACTIVADO_PREVIO = "activado_previo"
YA_ACTIVADOS = (ACTIVADO, ACTIVADO_PREVIO)
FALTA_CORREO = "falta un correo electrónico validado en el alcance del RFC"
FALTA_TELEFONO = "falta un teléfono celular validado en el alcance del RFC"
NO_REGISTRADO = "el RFC no está registrado"
YA_ACTIVADO = "el RFC ya está activado"


@dataclass
class Resultado:
    activated: list[str] = field(default_factory=list)
    not_ready: dict[str, list[str]] = field(default_factory=dict)
    failed: dict[str, EfirmaError] = field(default_factory=dict)
    already_active: list[str] = field(default_factory=list)

    def merge(self, other: Resultado) -> None:
        self.activated += other.activated
        self.not_ready.update(other.not_ready)
        self.failed.update(other.failed)
        self.already_active += other.already_active

    def summary(self) -> dict[str, Any]:
        """The ``activate --keystore --json`` object."""
        return {
            "activated": len(self.activated),
            "not_ready": dict(sorted(self.not_ready.items())),
            "failed": {rfc: exc.code for rfc, exc in sorted(self.failed.items())},
            "already_active": len(self.already_active),
        }


def candidatos(conn: Connection, rfcs: Sequence[str] | None = None) -> Resultado:
    """Who is ready. ``activated`` holds the ready RFCs (not yet activated at this point)."""
    res = Resultado()
    q = select(particulares.c.rfc, particulares.c.estado)
    estados: dict[str, str] = {}
    if rfcs is None:
        estados = {
            r.rfc: r.estado
            for r in conn.execute(q.where(particulares.c.estado.not_in(YA_ACTIVADOS)))
        }
    else:
        for part in batches(sorted(set(rfcs))):
            estados.update(
                {r.rfc: r.estado for r in conn.execute(q.where(particulares.c.rfc.in_(part)))}
            )
        for rfc in sorted(set(rfcs) - set(estados)):
            res.not_ready[rfc] = [NO_REGISTRADO]
    res.already_active = sorted(r for r, e in estados.items() if e in YA_ACTIVADOS)
    pendientes = sorted(r for r, e in estados.items() if e not in YA_ACTIVADOS)
    validados: dict[str, set[str]] = {}
    for part in batches(pendientes):
        rows = conn.execute(
            select(medios.c.rfc, medios.c.mecanismo)
            .join(alcances, (alcances.c.medio_id == medios.c.id) & alcances.c.rp.is_(None))
            .where(medios.c.rfc.in_(part), medios.c.estado == "validado")
            .group_by(medios.c.rfc, medios.c.mecanismo)
            .having(func.count() > 0)
        )
        for r in rows:
            validados.setdefault(r.rfc, set()).add(r.mecanismo)
    for rfc in pendientes:
        have = validados.get(rfc, set())
        falta = [
            m for k, m in (("correo", FALTA_CORREO), ("telefono", FALTA_TELEFONO)) if k not in have
        ]
        if falta:
            res.not_ready[rfc] = falta
        else:
            res.activated.append(rfc)
    return res
