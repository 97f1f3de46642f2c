"""Everything ``buzon report`` reads from the store: read-only SELECTs, nothing else.

Each function returns a polars frame (instants as UTC-aware ``Datetime``) or streams rows;
``rfcs=None`` reads every RFC. No function here writes, locks or commits.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import polars as pl
from sqlalchemy import Connection, Select, func, select

from registry.sql import batches, in_list
from registry.tables import (
    activaciones_previas,
    acuses,
    alcances,
    cargas,
    medios,
    particulares,
    rechazos,
    registros_patronales,
    terminos_textos,
)

TS = pl.Datetime("us", "UTC")
S = pl.String


def _frame(conn: Connection, q: Select, schema: dict[str, Any], col, rfcs) -> pl.DataFrame:  # noqa: ANN001
    """Run ``q`` (filtered by ``col IN rfcs`` in batches when given) into a typed frame."""
    if rfcs is None:
        rows = conn.execute(q).all()
    else:
        rows = []
        for part in batches(sorted(set(rfcs))):
            rows.extend(conn.execute(q.where(in_list(conn, col, part))).all())
    return pl.DataFrame(rows, schema=schema, orient="row")


def leer_particulares(conn: Connection, rfcs: Sequence[str] | None = None) -> pl.DataFrame:
    """``rfc, nombre, estado, activado_en, tyc_folio`` of the particulares (for an activation
    imported from before, its date and folio as the import gave them)."""
    previa = activaciones_previas
    q = select(
        particulares.c.rfc,
        particulares.c.nombre,
        particulares.c.estado,
        func.coalesce(particulares.c.activado_en, previa.c.fecha),
        func.coalesce(particulares.c.tyc_folio, previa.c.folio),
    ).select_from(particulares.outerjoin(previa, previa.c.rfc == particulares.c.rfc))
    schema = {"rfc": S, "nombre": S, "estado": S, "activado_en": TS, "tyc_folio": S}
    return _frame(conn, q, schema, particulares.c.rfc, rfcs)


def leer_registros(conn: Connection, rfcs: Sequence[str] | None = None) -> pl.DataFrame:
    """``rp, rfc`` of every Registro Patronal."""
    q = select(registros_patronales.c.rp, registros_patronales.c.rfc)
    return _frame(conn, q, {"rp": S, "rfc": S}, registros_patronales.c.rfc, rfcs)


MEDIOS_SCHEMA = {
    "medio_id": pl.Int64,
    "rfc": S,
    "mecanismo": S,
    "medio": S,
    "estado": S,
    "folio_registro": S,
    "fecha_registro": TS,
    "actualizado_en": TS,
    "fecha_envio": TS,
    "vence_en": TS,
    "fecha_validacion": TS,
    "motivo": S,
    "aclaracion": pl.Boolean,
    "intentos_fallidos": pl.Int64,
    "codigo_vivo": pl.Boolean,
}


def leer_medios(conn: Connection, rfcs: Sequence[str] | None = None) -> pl.DataFrame:
    """One row per medium (``MEDIOS_SCHEMA``); ``codigo_vivo`` = a live code/link exists."""
    q = select(
        medios.c.id,
        medios.c.rfc,
        medios.c.mecanismo,
        medios.c.valor,
        medios.c.estado,
        medios.c.folio,
        medios.c.creado_en,
        medios.c.actualizado_en,
        medios.c.enviado_en,
        medios.c.vence_en,
        medios.c.validado_en,
        medios.c.motivo,
        medios.c.aclaracion,
        medios.c.intentos_fallidos,
        medios.c.secreto_hash.is_not(None),
    )
    return _frame(conn, q, MEDIOS_SCHEMA, medios.c.rfc, rfcs)


def leer_alcances(conn: Connection, rfcs: Sequence[str] | None = None) -> pl.DataFrame:
    """``medio_id, rfc, rp`` (rp null = the RFC scope)."""
    q = select(alcances.c.medio_id, alcances.c.rfc, alcances.c.rp)
    return _frame(conn, q, {"medio_id": pl.Int64, "rfc": S, "rp": S}, alcances.c.rfc, rfcs)


def leer_actos(conn: Connection, rfcs: Sequence[str] | None = None) -> pl.DataFrame:
    """``medio_id, tipo, folio, fecha`` of the acuses de validación and de baja."""
    q = select(acuses.c.medio_id, acuses.c.tipo, acuses.c.folio, acuses.c.fecha).where(
        acuses.c.tipo.in_(["validacion", "baja"]), acuses.c.medio_id.is_not(None)
    )
    schema = {"medio_id": pl.Int64, "tipo": S, "folio": S, "fecha": TS}
    return _frame(conn, q, schema, acuses.c.rfc, rfcs)


RECHAZOS_SCHEMA = {
    "corrida": S,
    "en": TS,
    "archivo": S,
    "hoja": S,
    "fila": pl.Int64,
    "columna": S,
    "valor": S,
    "codigo": S,
    "mensaje": S,
}


def leer_rechazos(conn: Connection) -> pl.DataFrame:
    """The rejections of the last ``buzon apply`` run (none if it had none), in file order."""
    ultima = conn.execute(select(func.max(cargas.c.corrida))).scalar_one_or_none()
    if ultima is None:
        return pl.DataFrame(schema=RECHAZOS_SCHEMA)
    q = (
        select(*(rechazos.c[c] for c in RECHAZOS_SCHEMA))
        .where(rechazos.c.corrida == ultima)
        .order_by(rechazos.c.id)
    )
    return pl.DataFrame(conn.execute(q).all(), schema=RECHAZOS_SCHEMA, orient="row")


ACUSE_COLUMNAS = (
    "folio",
    "tipo",
    "fecha",
    "rfc",
    "nombre",
    "rps",
    "mecanismo",
    "medio",
    "estado",
    "cadena_original",
    "sello",
    "firma",
    "numero_certificado",
    "certificado_pem",
    "folio_registro",
    "tyc_sha256",
    "cadena_firmada",
    "rfc_representante",
    "firma_representante",
    "numero_certificado_representante",
    "certificado_pem_representante",
)


def rfcs_con_acuses(conn: Connection, rfcs: Sequence[str] | None = None) -> list[str]:
    """The RFCs that have at least one acuse, sorted."""
    q = select(acuses.c.rfc).distinct()
    if rfcs is None:
        return sorted(conn.execute(q).scalars())
    found: set[str] = set()
    for part in batches(sorted(set(rfcs))):
        found.update(conn.execute(q.where(in_list(conn, acuses.c.rfc, part))).scalars())
    return sorted(found)


def iter_acuses(
    conn: Connection, rfcs: Sequence[str] | None = None, *, por: int = 2000
) -> Iterator[dict[str, Any]]:
    """Every acuse (``ACUSE_COLUMNAS``), ordered by RFC then folio, streamed."""
    cols = [acuses.c[c] for c in ACUSE_COLUMNAS]
    q = select(*cols).order_by(acuses.c.rfc, acuses.c.folio)
    partes = [None] if rfcs is None else list(batches(sorted(set(rfcs))))
    for part in partes:
        qq = q if part is None else q.where(in_list(conn, acuses.c.rfc, part))
        result = conn.execution_options(stream_results=True, yield_per=por).execute(qq)
        for row in result:
            yield dict(row._mapping)


def leer_terminos(conn: Connection, shas: Sequence[str]) -> dict[str, dict[str, str]]:
    """``{sha256: {version, origen, texto}}`` of the T&C texts signed."""
    out: dict[str, dict[str, str]] = {}
    for part in batches(sorted(set(shas))):
        q = select(
            terminos_textos.c.sha256,
            terminos_textos.c.version,
            terminos_textos.c.origen,
            terminos_textos.c.texto,
        ).where(terminos_textos.c.sha256.in_(part))
        for r in conn.execute(q):
            out[r.sha256] = {"version": r.version, "origen": r.origen, "texto": r.texto}
    return out
