"""Apply accepted entries to the registry: media with folios, scopes, acuses, outbox, audit.

The entries are cut into chunks of whole RFCs (about ``settings.chunk_size`` entries each); each
chunk is one transaction, so a crash loses at most the chunk in flight and a re-run redoes exactly
that: applied chunks compare equal to the registry and change nothing.

Concurrency: SQLite writers are serialised by ``BEGIN IMMEDIATE``. On PostgreSQL a chunk first
reads without locks; only if it has something to write does it lock the folio clock (which every
folio-issuing writer takes) and read again, now seeing every earlier writer's commit. The partial
unique index ``uq_medios_activo`` backs this up: a conflicting insert rolls the chunk back and it
is retried from a fresh read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, and_, bindparam, delete, update
from sqlalchemy.exc import IntegrityError, OperationalError

from buzon.errors import RegistryError
from buzon.settings import Settings
from registry import acuses as acuses_mod
from registry import audit, folios
from registry.outbox import queue
from registry.reader import Alcance, Cambios, read_cambios
from registry.sql import bulk_insert, insert
from registry.states import Estado
from registry.tables import alcances, medios, particulares, registros_patronales
from registry.transitions import cambiar_estado
from registry.ventanas import vence_registro
from signers.seal import Sello

log = logging.getLogger(__name__)

COLUMNAS = ("rfc", "nombre", "rp", "mecanismo", "medio", "archivo", "hoja", "fila")
ORIGEN_SYNC = "comando:apply --sync"
REINTENTOS = 5


class _Conflicto(Exception):
    """Another writer got there first; redo the chunk from a fresh read."""


@dataclass
class ApplyResult:
    registered: int = 0
    updated: int = 0
    unchanged: int = 0
    bajas: int = 0
    acuses: dict[str, int] = field(
        default_factory=lambda: {"registro": 0, "actualizacion": 0, "baja": 0}
    )
    chunks: int = 0
    rp_ajeno: int = 0

    def add(self, other: ApplyResult) -> None:
        self.registered += other.registered
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.bajas += other.bajas
        self.chunks += other.chunks
        self.rp_ajeno += other.rp_ajeno
        for k, v in other.acuses.items():
            self.acuses[k] = self.acuses.get(k, 0) + v

    @classmethod
    def from_dict(cls, counts: dict[str, Any]) -> ApplyResult:
        """The inverse of :meth:`as_dict` (a shard's counts read back from its JSON file)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in counts.items() if k in names})

    def as_dict(self) -> dict[str, Any]:
        """The counts ``buzon apply --json`` adds to the plan summary."""
        return {
            "registered": self.registered,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "bajas": self.bajas,
            "acuses": dict(self.acuses),
            "rp_ajeno": self.rp_ajeno,
        }


def chunks(entries: pl.DataFrame, chunk_size: int) -> Iterator[pl.DataFrame]:
    """Whole-RFC chunks of about ``chunk_size`` entries, RFCs in order of first appearance."""
    if "codigo" in entries.columns:
        entries = entries.filter(pl.col("codigo").is_null())
    entries = entries.filter(pl.col("medio").is_not_null() & pl.col("rfc").is_not_null())
    if entries.is_empty():
        return
    por_rfc = entries.group_by("rfc", maintain_order=True).len()
    antes = por_rfc["len"].cum_sum() - por_rfc["len"]
    por_rfc = por_rfc.with_columns((antes // max(chunk_size, 1)).alias("_chunk")).drop("len")
    marcadas = entries.join(por_rfc, on="rfc", how="left", maintain_order="left")
    yield from marcadas.partition_by("_chunk", maintain_order=True, include_key=False)


def apply_entries(
    engine: Engine,
    settings: Settings,
    entries: pl.DataFrame,
    *,
    sync: bool = False,
    now: datetime | None = None,
    sello: Sello | None = None,
    progress: Callable[[ApplyResult], None] | None = None,
) -> ApplyResult:
    """Apply every accepted entry, one transaction per chunk; returns the totals."""
    total = ApplyResult()
    sello = sello or Sello.load(settings)
    for chunk in chunks(entries, settings.chunk_size):
        parcial = apply_chunk(engine, settings, chunk, sync=sync, now=now, sello=sello)
        total.add(parcial)
        if progress is not None:
            progress(total)
    return total


def apply_chunk(
    engine: Engine,
    settings: Settings,
    chunk: pl.DataFrame,
    *,
    sync: bool = False,
    now: datetime | None = None,
    sello: Sello | None = None,
) -> ApplyResult:
    """Apply one chunk of whole RFCs in its own transaction (retried on a lost race)."""
    filas = chunk.select(COLUMNAS).rows()
    sello = sello or Sello.load(settings)
    for intento in range(REINTENTOS):
        try:
            with engine.begin() as conn:
                return _apply(conn, settings, filas, sync=sync, now=now, sello=sello)
        except (_Conflicto, IntegrityError, OperationalError) as exc:
            if isinstance(exc, OperationalError) and "deadlock" not in str(exc).lower():
                raise
            log.info("chunk retried after a concurrent writer (attempt %d)", intento + 1)
    raise RegistryError("otro proceso modifica el registro al mismo tiempo; reintente")


def _apply(
    conn: Connection,
    settings: Settings,
    filas: list[tuple],
    *,
    sync: bool,
    now: datetime | None,
    sello: Sello,
) -> ApplyResult:
    if conn.dialect.name == "postgresql":
        # Writers queue here (SQLite's BEGIN IMMEDIATE already did): the read below then sees
        # every earlier writer's commit.
        folios.lock(conn)
    cambios = read_cambios(conn, filas, sync=sync)
    result = ApplyResult(chunks=1, unchanged=cambios.sin_cambio, rp_ajeno=cambios.rp_ajeno)
    if cambios.vacio:
        return result
    now = (now or settings.clock()).astimezone(UTC)
    _escribir_particulares(conn, cambios, now)
    _escribir(conn, settings, cambios, now, sello, result)
    return result


def _escribir_particulares(conn: Connection, c: Cambios, now: datetime) -> None:
    if c.particulares_nuevos:
        conn.execute(
            insert(conn, particulares).on_conflict_do_nothing(),
            [{"rfc": r, "nombre": n, "creado_en": now} for r, n, _ in c.particulares_nuevos],
        )
        audit.registrar(
            conn,
            (
                audit.fila("particular", r, None, "pendiente", origen=o, en=now)
                for r, _, o in c.particulares_nuevos
            ),
        )
    if c.nombres_faltantes:
        for rfc, nombre in c.nombres_faltantes:
            conn.execute(
                update(particulares)
                .where(particulares.c.rfc == rfc, particulares.c.nombre.is_(None))
                .values(nombre=nombre)
            )
    if c.rps_nuevos:
        bulk_insert(
            conn,
            registros_patronales,
            [{"rp": rp, "rfc": rfc, "creado_en": now} for rp, rfc, _ in c.rps_nuevos],
        )


def _rps(scopes: set[Alcance] | dict[Alcance, int]) -> list[str]:
    return sorted(s for s in scopes if s is not None)


def _escribir(
    conn: Connection,
    settings: Settings,
    c: Cambios,
    now: datetime,
    sello: Sello,
    result: ApplyResult,
) -> None:
    bajas_ok: set[int] = set()
    if c.bajas:
        bajas_ok = set(
            cambiar_estado(
                conn,
                [a.id for _, a in c.bajas],
                Estado.BAJA,
                origen=ORIGEN_SYNC,
                now=now,
                detalle="ausente de la carga",
            )
        )
    bajas = [(k, a) for k, a in c.bajas if a.id in bajas_ok]
    bloque = iter(folios.allocate(conn, len(c.nuevos) + len(c.actualizados) + len(bajas), now))

    nuevos = [(clave, d, next(bloque)) for clave, d in c.nuevos]
    nombre = c.nombres.get
    emitidos: list[dict[str, Any]] = []
    for (rfc, mec, medio), d, folio in nuevos:
        emitidos.append(
            dict(
                tipo="registro",
                folio=folio,
                rfc=rfc,
                nombre=nombre(rfc),
                rps=_rps(d.alcances),
                mecanismo=mec,
                medio=medio,
                estado=str(Estado.REGISTRADO),
                medio_id=None,  # known once the medium is inserted
            )
        )
    for (rfc, mec, medio), a, mas, menos in c.actualizados:
        todos = (a.alcances | set(mas)) - menos
        emitidos.append(
            dict(
                tipo="actualizacion",
                folio=next(bloque),
                rfc=rfc,
                nombre=nombre(rfc),
                rps=_rps(todos),
                mecanismo=mec,
                medio=medio,
                estado=a.estado,
                medio_id=a.id,
            )
        )
    for (rfc, mec, medio), a in bajas:
        emitidos.append(
            dict(
                tipo="baja",
                folio=next(bloque),
                rfc=rfc,
                nombre=nombre(rfc),
                rps=_rps(a.alcances),
                mecanismo=mec,
                medio=medio,
                estado=str(Estado.BAJA),
                medio_id=a.id,
            )
        )
    # The cores sign while the database takes the media, scopes, outbox and audit rows.
    emision = acuses_mod.preparar(conn, settings, emitidos, sello=sello, now=now)

    ids: dict[str, int] = {}
    if nuevos:
        stmt = insert(conn, medios).on_conflict_do_nothing().returning(medios.c.id, medios.c.folio)
        rows = [
            {
                "rfc": rfc,
                "mecanismo": mec,
                "valor": medio,
                "estado": str(Estado.REGISTRADO),
                "folio": folio,
                "creado_en": now,
                "actualizado_en": now,
                "vence_en": vence_registro(now, settings.validity_hours),
            }
            for (rfc, mec, medio), _, folio in nuevos
        ]
        ids = {r.folio: r.id for r in conn.execute(stmt, rows)}
        if len(ids) != len(nuevos):
            raise _Conflicto()

    nuevos_alcances = [
        {"medio_id": ids[folio], "rfc": clave[0], "rp": rp, "creado_en": now}
        for clave, d, folio in nuevos
        for rp in d.alcances
    ] + [
        {"medio_id": a.id, "rfc": clave[0], "rp": rp, "creado_en": now}
        for clave, a, mas, _ in c.actualizados
        for rp in mas
    ]
    if nuevos_alcances:
        bulk_insert(conn, alcances, nuevos_alcances)
    quitar = [(a.id, rp) for _, a, _, menos in c.actualizados for rp in menos]
    if quitar:
        conn.execute(
            delete(alcances).where(
                and_(
                    alcances.c.medio_id == bindparam("m"),
                    alcances.c.rp.is_not_distinct_from(bindparam("r")),
                )
            ),
            [{"m": m, "r": r} for m, r in quitar],
        )

    if nuevos:
        queue(
            conn,
            [
                {"medio_id": ids[folio], "tipo": "verificacion", "mecanismo": mec, "valor": medio}
                for (_, mec, medio), _, folio in nuevos
            ],
            now=now,
        )
    audit.registrar(
        conn,
        [
            audit.fila(
                "medio",
                ids[folio],
                None,
                Estado.REGISTRADO,
                origen=c.origen(d.origen),
                en=now,
                detalle=f"folio={folio}",
            )
            for _, d, folio in nuevos
        ]
        + [
            audit.fila(
                "medio",
                a.id,
                a.estado,
                a.estado,
                origen=c.origen(next(iter(mas.values()))) if mas else ORIGEN_SYNC,
                en=now,
                detalle=f"alcances +{len(mas)} -{len(menos)}",
            )
            for _, a, mas, menos in c.actualizados
        ],
    )
    emision.insertar(conn, ids)
    result.registered += len(nuevos)
    result.updated += len(c.actualizados)
    result.bajas += len(bajas)
    result.acuses["registro"] += len(nuevos)
    result.acuses["actualizacion"] += len(c.actualizados)
    result.acuses["baja"] += len(bajas)
