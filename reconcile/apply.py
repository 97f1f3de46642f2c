"""Reconciliation: events -> state changes, acuses de validación and confirmation messages.

Set-based: a batch of events (one web request, one webhook, or a million imported lines) is decided
in polars (:func:`reconcile.rules.decidir`) against a snapshot of the media it touches, then
written with a few bulk statements in the caller's transaction: state changes through
:mod:`registry.transitions`, confirmations through :func:`registry.outbox.queue`. Events are
recorded (``eventos``) in that same transaction, so an event is applied exactly once: a replay
(same content hash) is skipped, a crash rolls both back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import polars as pl
from sqlalchemy import Connection, Engine

from buzon.settings import Settings
from delivery.secrets import load_key
from reconcile import store as io
from reconcile.events import contenido_hash, huella_archivo, leer_bytes, validar_bytes
from reconcile.rules import EXITOS, Resumen, decidir
from registry import transitions
from registry.acuses import Emision
from registry.acuses import preparar as preparar_acuses
from registry.clock import utc
from registry.db import get_engine
from registry.outbox import queue
from registry.transitions import NO_ENTREGAR, VALIDAR

__all__ = ["Resumen", "aplicar", "reconciliar", "vencer"]

log = logging.getLogger(__name__)

_DECIDIDOS = (
    *("seq", "hash", "tipo", "origen", "fecha", "medio_id", "token_hash", "rfc", "telefono"),
    *("codigo_hash", "referencia", "estado", "motivo", "resultado", "cuenta_fallo"),
    "intentos_despues",
)


def aplicar(
    conn: Connection,
    settings: Settings,
    eventos: pl.DataFrame,
    *,
    now: datetime | None = None,
    key: bytes | None = None,
    overlap: Callable[[], object] | None = None,
) -> Resumen:
    """Record and apply a batch of events in the caller's transaction.

    ``eventos`` has the columns of :func:`reconcile.events.validar` (raw codes/tokens, only in
    memory) and optionally ``hash`` (else the content hash). Replays are skipped. ``overlap`` is
    more work for the same transaction, run once the events are written and before waiting for
    the sellos of the acuses (which are made on every core meanwhile).
    """
    now = utc(now or settings.clock())
    key = key or load_key(settings)
    res = Resumen(events=eventos.height)
    io.lock(conn)
    if "hash" not in eventos.columns:
        eventos = eventos.with_columns(contenido_hash(key, eventos))
    eventos = eventos.unique("hash", keep="first", maintain_order=True)
    if eventos.height:
        eventos = eventos.filter(~pl.col("hash").is_in(io.hashes_existentes(conn, eventos)))
    res.duplicados = res.events - eventos.height
    if eventos.height == 0:
        res.resultados = eventos.with_columns(resultado=pl.lit(None, pl.String))
        if overlap is not None:
            overlap()
        return res
    eventos = eventos.with_columns(seq=pl.int_range(0, pl.len(), dtype=pl.Int64))
    with io.cache_grande(conn, eventos.height > io.ROWS_PER_WRITE):
        prep, med = io.preparar(conn, key, eventos)
        del eventos  # a million-line batch: keep one frame of it alive at a time
        decididos = decidir(prep, med, settings.max_wrong_codes).select(_DECIDIDOS)
        del prep
        _escribir(conn, settings, decididos, med, now, res, overlap)
    res.applied = decididos.height
    counts = decididos.group_by("resultado").len()
    for r, n in counts.iter_rows():
        if r not in EXITOS:
            res.rejected[r] = n
    res.resultados = (
        decididos.select(
            "seq", "tipo", "fecha", "origen", "medio_id", "resultado", "intentos_despues"
        )
        .join(
            med.select(pl.col("id").alias("medio_id"), "rfc", "valor", "mecanismo"),
            on="medio_id",
            how="left",
        )
        .sort("seq")
    )
    return res


def _escribir(
    conn: Connection,
    settings: Settings,
    d: pl.DataFrame,
    med: pl.DataFrame,
    now: datetime,
    res: Resumen,
    overlap: Callable[[], object] | None,
) -> None:
    """Write one decided batch. The sellos of the acuses are made on every core while the state
    changes, audit rows, events and ``overlap`` are written; then the acuses are inserted."""
    estado = med.select(pl.col("id").alias("medio_id"), pl.col("estado").alias("de"))
    val = (
        d.filter(pl.col("resultado") == "validado")
        .select("medio_id", "fecha", "origen")
        .join(estado, on="medio_id", how="left")
        .sort("medio_id")
    )
    info = io.datos_acuse(conn, val["medio_id"].to_list()) if val.height else {}
    con_acuse = val.filter(pl.col("medio_id").is_in(list(info)))
    emision = preparar_acuses(
        conn,
        settings,
        [
            dict(info[m], tipo="validacion", estado="validado", medio_id=m, fecha=f)
            for m, f in zip(
                con_acuse["medio_id"].to_list(), con_acuse["fecha"].to_list(), strict=True
            )
        ],
        now=now,
    )
    fallos = (
        d.filter(pl.col("cuenta_fallo"))
        .group_by("medio_id")
        .agg(pl.len().alias("n"), pl.col("origen").last())
        .join(
            med.select(pl.col("id").alias("medio_id"), pl.col("intentos_fallidos").alias("antes")),
            on="medio_id",
            how="left",
        )
        .sort("medio_id")
    )
    if fallos.height:
        muertos, res.cancelados = transitions.sumar_intentos(
            conn,
            fallos["medio_id"].to_list(),
            fallos["n"].to_list(),
            fallos["origen"].to_list(),
            maximo=settings.max_wrong_codes,
            max_envios=settings.max_sends_per_medium,
            now=now,
            antes=fallos["antes"].fill_null(0).to_list(),
        )
        log.info("%d códigos agotados por intentos fallidos", muertos)
    movidos = transitions.mover(
        conn,
        VALIDAR,
        val["medio_id"].to_list(),
        now=now,
        origen=val["origen"].to_list(),
        de=val["de"].to_list(),
        valores={"validado_en": io.ts_values(conn, val["fecha"])},
    )
    res.validated = len(movidos)
    if len(movidos) != val.height:  # PostgreSQL: another command moved some first
        keep = set(movidos)
        emision = _solo(emision, [a["medio_id"] in keep for a in emision.completos])
    # One confirmation per validated medium (pending, no attempts, due now).
    queue(
        conn,
        (
            {"medio_id": a["medio_id"], "tipo": "confirmacion", "mecanismo": a["mecanismo"],
             "valor": a["medio"]}
            for a in emision.completos
        ),
        now=now,
    )  # fmt: skip
    ne = (
        d.filter(pl.col("resultado") == "no_entregado")
        .select("medio_id", "motivo", "origen")
        .join(estado, on="medio_id", how="left")
        .sort("medio_id")
    )
    if ne.height:
        res.no_entregado = len(
            transitions.mover(
                conn,
                NO_ENTREGAR,
                ne["medio_id"].to_list(),
                now=now,
                origen=ne["origen"].to_list(),
                de=ne["de"].to_list(),
                valores={"motivo": ne["motivo"].to_list()},
            )
        )
    # The event log last: its million rows would push the media pages out of the page cache.
    io.insertar_eventos(conn, d, now)
    if overlap is not None:
        overlap()
    emision.insertar(conn)


def _solo(emision: Emision, mask: list[bool]) -> Emision:
    """The acuses of ``emision`` selected by ``mask`` (their sellos still being made)."""
    esperar = emision.esperar
    return Emision(
        [a for a, k in zip(emision.completos, mask, strict=True) if k],
        [c for c, k in zip(emision.cadenas, mask, strict=True) if k],
        lambda: [s for s, k in zip(esperar(), mask, strict=True) if k],
    )


def vencer(conn: Connection, settings: Settings, *, now: datetime | None = None) -> int:
    """Move every medium past its ``vence_en`` to ``vencido`` (``enviado``, and ``registrado`` never
    sent within its registration window); returns how many."""
    now = utc(now or settings.clock())
    return transitions.vencer(
        conn,
        now,
        "comando:reconcile",
        f"sin validar en el plazo de {settings.validity_hours} horas: debe registrarse de nuevo",
    )


# Media per transaction of a large import: the write lock is held for one chunk at a time, so
# readers and other writers get a turn between chunks. Every event of a medium lands in the chunk
# of that medium, so each medium's events are still decided together, in time order.
CHUNK_MEDIA = 100_000
_RESOLVER = 250_000  # events resolved to their medium at once when splitting an import


def reconciliar(
    settings: Settings,
    archivos: list,
    *,
    engine: Engine | None = None,
    chunk_media: int = CHUNK_MEDIA,
) -> Resumen:
    """``buzon reconcile``: import event files, apply what is new, expire what is overdue.

    Every file is read and validated whole before anything is written (one bad line: nothing is
    imported). Then the events are applied one chunk of media at a time (:func:`trozos`), each in
    its own transaction that records the chunk's events with their effects, so a crash between
    chunks leaves each chunk whole and the re-run skips what was recorded and finishes the rest.
    Expiry runs in the last chunk's transaction, after every event (one may validate a medium
    first), while the acuses are sealed; that transaction also records each file's digest, so
    re-importing a wholly imported file skips it unparsed (:func:`_leer`).
    """
    engine = engine or get_engine(settings)
    now = utc(settings.clock())
    res = Resumen()
    eventos, nuevos = _leer(engine, settings, archivos, res)
    partes = trozos(engine, settings, eventos, chunk_media) if eventos is not None else []
    del eventos  # a million-line batch: keep one frame of it alive at a time
    ultima = partes.pop() if partes else None
    while partes:
        parte = partes.pop(0)  # handed over: aplicar drops it once the events are digested
        with engine.begin() as conn:
            res.merge(aplicar(conn, settings, parte, now=now))
    with engine.begin() as conn:
        if ultima is None:
            res.expired = vencer(conn, settings, now=now)
        else:
            vencidos: list[int] = []

            def overlap() -> None:
                vencidos.append(vencer(conn, settings, now=now))
                # Every event of these files is now applied: record them with the last chunk.
                io.registrar_archivos(conn, nuevos, now)

            final = aplicar(conn, settings, ultima, now=now, overlap=overlap)
            final.expired = vencidos[0]
            res.merge(final)
    res.resultados = None
    return res


def _leer(
    engine: Engine, settings: Settings, archivos: list, res: Resumen
) -> tuple[pl.DataFrame | None, list[tuple[str, str, int]]]:
    """Validate the files not yet wholly imported; count the others' events as duplicates.

    Returns their events and ``(huella, nombre, eventos)`` per file to record once applied. A file
    whose exact bytes were already imported in full is skipped unparsed: each of its events would
    be a duplicate anyway. One that was imported in part (a crash mid-import) was not recorded, so
    it is validated again and the per-event hash skips what was applied.
    """
    key = load_key(settings)
    frames: list[pl.DataFrame] = []
    nuevos: list[tuple[str, str, int]] = []
    for path in archivos:
        data = leer_bytes(path)
        huella = huella_archivo(key, data)
        with engine.connect() as conn:
            ya = io.archivo_importado(conn, huella)
        if ya is not None:
            res.events += ya
            res.duplicados += ya
            continue
        frames.append(validar_bytes(path, data))
        del data
        nuevos.append((huella, Path(path).name, frames[-1].height))
    return (pl.concat(frames) if frames else None), nuevos


def trozos(
    engine: Engine, settings: Settings, eventos: pl.DataFrame, chunk_media: int
) -> list[pl.DataFrame]:
    """Split validated events into chunks of at most ``chunk_media`` media, each event with its
    medium (events that reach no medium, or are already recorded, go with the first chunk),
    arrival order kept.

    The media are resolved once up front, in a read; each chunk resolves them again inside its
    own transaction, so a medium that changed meanwhile is still decided on its current state.
    """
    key = load_key(settings)
    # Once, here; aplicar (and its io.preparar) reuse both columns in every chunk.
    eventos = eventos.with_columns(contenido_hash(key, eventos), io.token_hashes(key, eventos))
    if eventos.height <= chunk_media:  # at most that many media: one chunk
        return [eventos]
    with engine.connect() as conn:
        # A store with at most that many media is one chunk too: no need to resolve them.
        if conn.exec_driver_sql("SELECT count(*) FROM medios").scalar_one() <= chunk_media:
            return [eventos]
        # Events already recorded (a re-run after a crash, a re-imported file) are only counted
        # as duplicates by aplicar: no need to resolve them, they ride with the first chunk.
        nuevo = ~eventos["hash"].is_in(io.hashes_existentes(conn, eventos).implode())
        if nuevo.sum() <= chunk_media:
            return [eventos]
        nuevos = nuevo.arg_true()
        # Only what resolving a medium reads: the peak memory of a million-line import is here.
        seq = (
            eventos[nuevos]
            .select("tipo", "token_hash", "rfc", "telefono", "referencia")
            .with_columns(seq=pl.int_range(0, pl.len(), dtype=pl.Int64))
        )
        # In slices against one snapshot of the media: the joins of a million lines at once were
        # the import's peak memory (polars keeps what it allocated).
        med = io.leer_medios(conn)
        resueltos = [
            io.preparar(conn, key, seq.slice(i, _RESOLVER), con_codigos=False, medios=med)[0][
                "medio_id"
            ]  # sorted by seq, and each slice is a run of seq: concatenated in seq order
            for i in range(0, seq.height, _RESOLVER)
        ]
    del seq, med
    medio = pl.Series("medio_id", [None] * eventos.height, dtype=pl.Int64).scatter(
        nuevos, pl.concat(resueltos)
    )
    del resueltos
    rango = medio.rank("dense") - 1  # 0, 1, ... over the distinct media, by id
    trozo = (rango // chunk_media).fill_null(0).cast(pl.Int64).alias("_trozo")
    partes = eventos.with_columns(trozo).partition_by("_trozo", maintain_order=True, as_dict=True)
    return [partes[k].drop("_trozo") for k in sorted(partes)]
