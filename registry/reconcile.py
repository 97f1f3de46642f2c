"""Reconciliation: events -> state changes, acuses de validación and confirmation messages.

Set-based: a batch of events (one web request, one webhook, or a million imported lines) is decided
in polars against a snapshot of the media it touches, then written with a few bulk statements in
the caller's transaction. Events are recorded (``eventos``) in that same transaction, so an event is
applied exactly once: a replay (same content hash) is skipped, a crash rolls both back.

Semantics per medium, in time order (``fecha``, then arrival): attempts (link confirmations, codes)
count only while the medium is ``enviado``, before its ``vence_en`` and before a delivery failure of
its live send; the first matching attempt validates; wrong codes before it add to
``intentos_fallidos`` and at ``max_wrong_codes`` the code dies (``secreto_hash`` cleared, a resend
is needed); everything after a validation is ``ya_validado``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

import polars as pl
from sqlalchemy import Connection, Engine

from buzon.settings import Settings
from registry import reconcile_bulk as bulk
from registry import reconcile_io as io
from registry.acuses import Emision
from registry.states import Estado
from registry.ventanas import vencer_registrados

log = logging.getLogger(__name__)

INTENTOS = ("confirmacion_correo", "codigo_sms")
_ENTREGA = ("referencia", "estado", "outbox_tipo")
# Outcomes that moved nothing forward; everything else is reported under "rejected".
EXITOS = frozenset({"validado", "entregado", "no_entregado"})
FALLOS_ENTREGA = ("failed", "bounced")
# What the writes and the pages need of a decided event (decidir's working columns are dropped).
_DECIDIDOS = (
    *("seq", "hash", "tipo", "origen", "fecha", "medio_id", "token_hash", "rfc", "telefono"),
    *("codigo_hash", "referencia", "estado", "motivo", "resultado", "cuenta_fallo"),
    "intentos_despues",
)


@dataclass
class Resumen:
    """What one batch did; ``resultados`` has one row per new event (for the web pages)."""

    events: int = 0
    applied: int = 0
    duplicados: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    validated: int = 0
    no_entregado: int = 0
    expired: int = 0
    resultados: pl.DataFrame | None = None

    def merge(self, other: Resumen) -> None:
        self.events += other.events
        self.applied += other.applied
        self.duplicados += other.duplicados
        self.validated += other.validated
        self.no_entregado += other.no_entregado
        self.expired += other.expired
        for k, v in other.rejected.items():
            self.rejected[k] = self.rejected.get(k, 0) + v

    def as_json(self) -> dict:
        return {
            "events": self.events,
            "applied": self.applied,
            "rejected": dict(sorted(self.rejected.items())),
            "validated": self.validated,
            "expired": self.expired,
            "no_entregado": self.no_entregado,
            "duplicates": self.duplicados,
        }


def utc(now: datetime) -> datetime:
    """SQLite drops the offset of what it stores, so every instant is converted to UTC first."""
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def _acumulado(col: pl.Expr) -> pl.Expr:
    """Running sum within each medium's run of rows (sorted by medium, ``_inicio`` marks each
    run's first row): a global running sum minus its value before the run, no grouping."""
    total = col.cum_sum()
    return total - pl.when(pl.col("_inicio")).then(total - col).forward_fill()


def decidir(ev: pl.DataFrame, med: pl.DataFrame, max_wrong: int) -> pl.DataFrame:
    """Decide every event of a batch; pure (no I/O).

    ``ev``: seq, tipo, fecha, medio_id, coincide (the secret matched the medium's live digest),
    referencia, estado (delivery status), outbox_tipo. ``med``: id, estado, con_secreto, vence_en,
    intentos_fallidos, envio_vigente. Returns ``ev`` with ``resultado``, ``cuenta_fallo`` (a wrong
    code that counts) and ``intentos_despues`` (the medium's wrong codes after this event).
    """
    m = med.select(
        pl.col("id").alias("medio_id"),
        pl.col("estado").alias("m_estado"),
        "con_secreto",
        "vence_en",
        "intentos_fallidos",
        "envio_vigente",
    )
    # Decided on a narrow copy: sorting and joining the event's strings (hashes, origins) a
    # million times over costs more than the rules.
    # Callers pass events in arrival order already; sorting a wide million-row frame is not free.
    ev = ev if ev["seq"].is_sorted() else ev.sort("seq")
    narrow = ev.select("seq", "tipo", "fecha", "medio_id", "coincide", *_ENTREGA)
    # Order: medium, then time, then arrival. A stable sort by time (arrival breaks ties) gives
    # each event its rank; one integer key then orders by medium and rank, far cheaper than a
    # three-column sort. Events without a medium go last.
    por_hora = narrow.sort("fecha", maintain_order=True)
    n = max(por_hora.height, 1)
    x = (
        por_hora.with_columns(
            _clave=pl.col("medio_id").fill_null(pl.col("medio_id").max().fill_null(0) + 1) * n
            + pl.int_range(0, pl.len(), dtype=pl.Int64)
        )
        .sort("_clave")
        .join(m, on="medio_id", how="left", maintain_order="left")
        .with_columns(
            _inicio=(pl.col("medio_id") != pl.col("medio_id").shift(1)).fill_null(True),
            _fin=(pl.col("medio_id") != pl.col("medio_id").shift(-1)).fill_null(True),
        )
    )
    tipo, fecha, mid = pl.col("tipo"), pl.col("fecha"), "medio_id"
    fallo = (
        (tipo == "entrega")
        & pl.col("estado").is_in(FALLOS_ENTREGA)
        & (pl.col("outbox_tipo") == "verificacion")
        & pl.col("m_estado").is_in(["registrado", "enviado"])
        & (pl.col("envio_vigente").is_null() | (pl.col("referencia") == pl.col("envio_vigente")))
    ).fill_null(False)
    x = x.with_columns(fallo=fallo)
    x = x.with_columns(t_fallo=pl.when("fallo").then(fecha).min().over(mid))
    vencido = (fecha > pl.col("vence_en")).fill_null(False)
    cand = (
        tipo.is_in(INTENTOS)
        & (pl.col("m_estado") == "enviado")
        & (pl.col("t_fallo").is_null() | (fecha < pl.col("t_fallo")))
    ).fill_null(False)
    elig = cand & ~vencido & pl.col("con_secreto").fill_null(False)
    x = x.with_columns(
        w=(elig & ~pl.col("coincide")).cast(pl.Int64),
        m=(elig & pl.col("coincide")),
        vencido=vencido,
    )
    w_antes = pl.col("intentos_fallidos").fill_null(0) + _acumulado(pl.col("w")) - pl.col("w")
    x = x.with_columns(w_antes=w_antes)
    x = x.with_columns(ok=pl.col("m") & (pl.col("w_antes") < max_wrong))
    x = x.with_columns(k=_acumulado(pl.col("ok").cast(pl.Int64)))
    x = x.with_columns(
        k_antes=pl.col("k") - pl.col("ok").cast(pl.Int64),
        validado_lote=(pl.when("_fin").then(pl.col("k")).backward_fill() > 0),
        n_fallo=_acumulado(pl.col("fallo").cast(pl.Int64)),
    )
    cuenta = (pl.col("w") == 1) & (pl.col("w_antes") < max_wrong) & (pl.col("k_antes") == 0)
    entrega = (
        pl.when(pl.col("outbox_tipo").is_null())
        .then(pl.lit("referencia_desconocida"))
        .when(pl.col("estado") == "delivered")
        .then(pl.lit("entregado"))
        .when(pl.col("fallo") & (pl.col("n_fallo") == 1) & ~pl.col("validado_lote"))
        .then(pl.lit("no_entregado"))
        .otherwise(pl.lit("sin_cambio"))
    )
    intento = (
        pl.when(pl.col("medio_id").is_null())
        .then(pl.lit("desconocido"))
        .when(pl.col("m_estado") == "validado")
        .then(pl.lit("ya_validado"))
        .when(pl.col("m_estado") == "registrado")
        .then(pl.lit("no_enviado"))
        .when(pl.col("m_estado") == "vencido")
        .then(pl.lit("vencido"))
        .when(pl.col("m_estado") != "enviado")
        .then(pl.lit("no_vigente"))
        .when(pl.col("k_antes") >= 1)
        .then(pl.lit("ya_validado"))
        .when(pl.col("t_fallo").is_not_null() & (fecha >= pl.col("t_fallo")))
        .then(pl.lit("no_vigente"))
        .when(pl.col("ok"))
        .then(pl.lit("validado"))
        .when(pl.col("vencido"))
        .then(pl.lit("vencido"))
        .when(~pl.col("con_secreto").fill_null(False) | (pl.col("w_antes") >= max_wrong))
        .then(pl.lit("codigo_agotado"))
        .otherwise(pl.lit("codigo_incorrecto"))
    )
    decided = x.select(
        "seq",
        resultado=pl.when(tipo == "entrega").then(entrega).otherwise(intento),
        cuenta_fallo=cuenta,
        intentos_despues=pl.col("w_antes") + cuenta.cast(pl.Int64),
    ).sort("seq")
    return ev.hstack(decided.drop("seq"))


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

    ``eventos`` has the columns of :func:`callbacks.events.validar` (raw codes/tokens, only in
    memory) and optionally ``hash`` (else the content hash). Replays are skipped. ``overlap`` is
    more work for the same transaction, run once the events are written and before waiting for
    the sellos of the acuses (which are made on every core meanwhile).
    """
    from callbacks.events import contenido_hash
    from delivery.secrets import load_key

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
    from registry.acuses import preparar as preparar_acuses

    estado = med.select(pl.col("id").alias("medio_id"), pl.col("estado").alias("de"))
    val = (
        d.filter(pl.col("resultado") == "validado")
        .select("medio_id", "fecha", "origen")
        .join(estado, on="medio_id", how="left")
        .sort("medio_id")
    )
    info = bulk.datos_acuse(conn, val["medio_id"].to_list()) if val.height else {}
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
        muertos = bulk.sumar_intentos(
            conn,
            fallos["medio_id"].to_list(),
            fallos["n"].to_list(),
            fallos["origen"].to_list(),
            settings.max_wrong_codes,
            now,
            antes=fallos["antes"].fill_null(0).to_list(),
        )
        log.info("%d códigos agotados por intentos fallidos", muertos)
    movidos = (
        bulk.mover(
            conn,
            val["medio_id"].to_list(),
            val["de"].to_list(),
            Estado.VALIDADO,
            origenes_=val["origen"].to_list(),
            now=now,
            detalle="validación del medio",
            valores={"validado_en": io.ts_values(conn, val["fecha"])},
        )
        if val.height
        else []
    )
    res.validated = len(movidos)
    if len(movidos) != val.height:  # PostgreSQL: another command moved some first
        keep = set(movidos)
        emision = _solo(emision, [a["medio_id"] in keep for a in emision.completos])
    bulk.encolar_confirmaciones(conn, emision.completos, now)
    ne = (
        d.filter(pl.col("resultado") == "no_entregado")
        .select("medio_id", "motivo", "origen")
        .join(estado, on="medio_id", how="left")
        .sort("medio_id")
    )
    if ne.height:
        res.no_entregado = len(
            bulk.mover(
                conn,
                ne["medio_id"].to_list(),
                ne["de"].to_list(),
                Estado.NO_ENTREGADO,
                origenes_=ne["origen"].to_list(),
                now=now,
                detalle="falla permanente de entrega; requiere aclaración",
                valores={"aclaracion": [True] * ne.height, "motivo": ne["motivo"].to_list()},
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
    """Move every ``enviado`` medium past its ``vence_en`` (and every never-sent ``registrado`` one
    past its registration window) to ``vencido``; returns how many."""
    now = utc(now or settings.clock())
    n = bulk.vencer(
        conn,
        now,
        "comando:reconcile",
        f"sin validar en {settings.validity_hours} horas: debe registrarse de nuevo",
    )
    # Never-sent media expire too, 72 h after their registration (registry.ventanas).
    return n + vencer_registrados(conn, now, settings.validity_hours, "comando:reconcile")


def reconciliar(settings: Settings, archivos: list, *, engine: Engine | None = None) -> Resumen:
    """``buzon reconcile``: import event files, apply what is new, expire what is overdue.

    Every file is read and validated before anything is written; then one transaction records and
    applies the new events and expires the media past their window, so a crash changes nothing.
    """
    from callbacks.events import leer_archivo
    from registry.db import get_engine

    lotes = [pl.concat([leer_archivo(p) for p in archivos])] if archivos else []
    engine = engine or get_engine(settings)
    now = utc(settings.clock())
    res = Resumen()
    with engine.begin() as conn:
        expirar = partial(vencer, conn, settings, now=now)
        if lotes:
            # Handed over (popped), not kept here: aplicar drops it once the events are digested.
            # Expiry comes after the events (one may validate a medium first) and runs while the
            # acuses are sealed.
            vencidos: list[int] = []
            res = aplicar(
                conn, settings, lotes.pop(), now=now, overlap=lambda: vencidos.append(expirar())
            )
            res.expired = vencidos[0]
        else:
            res.expired = expirar()
    res.resultados = None
    return res
