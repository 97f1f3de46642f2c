"""Store rows as apply + send leave them: a particular and a medium with a live secret."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, insert, select, update

from buzon.settings import Settings
from delivery import secrets as sec
from registry import sql
from registry.tables import alcances, medios, outbox, particulares

_folio = itertools.count(1)


@dataclass
class Sembrado:
    medio_id: int
    outbox_id: int
    secreto: str
    rfc: str
    valor: str


def sembrar(
    engine: Engine,
    settings: Settings,
    rfc: str,
    *,
    correo: str | None = None,
    telefono: str | None = None,
    estado: str = "enviado",
    enviado_en: datetime | None = None,
) -> Sembrado:
    """One medium sent at ``enviado_en`` (default: the clock), as the dispatcher leaves it."""
    now = enviado_en or settings.clock()
    key = sec.load_key(settings)
    mecanismo, valor = ("correo", correo) if correo else ("telefono", telefono)
    with engine.begin() as conn:
        conn.execute(
            sql.insert(conn, particulares)
            .values(rfc=rfc, nombre=f"Empresa {rfc}", creado_en=now)
            .on_conflict_do_nothing()
        )
        mid = conn.execute(
            insert(medios).returning(medios.c.id),
            {
                "rfc": rfc,
                "mecanismo": mecanismo,
                "valor": valor,
                "estado": estado,
                "folio": f"BI-20240101-{next(_folio):09d}",
                "creado_en": now,
                "actualizado_en": now,
            },
        ).scalar_one()
        conn.execute(insert(alcances), {"medio_id": mid, "rfc": rfc, "rp": None, "creado_en": now})
        nonce = sec.new_nonce()
        oid = conn.execute(
            insert(outbox).returning(outbox.c.id),
            {
                "medio_id": mid,
                "tipo": "verificacion",
                "canal": "correo" if correo else "sms",
                "destino": valor,
                # registrado: the verification is still queued for the real dispatcher to send.
                "estado": "enviado" if estado == "enviado" else "pendiente",
                "proximo_intento": now,
                "nonce": nonce if estado == "enviado" else None,
                "creado_en": now,
                "enviado_en": now if estado == "enviado" else None,
            },
        ).scalar_one()
        secreto, digest = sec.secret_for(key, "correo" if correo else "sms", mid, nonce)
        if estado == "enviado":
            conn.execute(
                update(medios)
                .where(medios.c.id == mid)
                .values(
                    secreto_hash=digest,
                    envio_vigente=oid,
                    enviado_en=now,
                    vence_en=now + timedelta(hours=settings.validity_hours),
                    envios=1,
                )
            )
    return Sembrado(mid, oid, secreto, rfc, valor)


def medio(engine: Engine, mid: int):  # noqa: ANN201 - a Row of medios
    """The ``medios`` row ``mid`` as committed."""
    with engine.connect() as conn:
        return conn.execute(select(medios).where(medios.c.id == mid)).one()


def contar(engine: Engine, table, *where) -> int:  # noqa: ANN001
    """Committed rows of ``table`` matching ``where``."""
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()
