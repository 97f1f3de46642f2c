"""The rules of reconciliation, pure (no I/O): what each event of a batch does to its medium.

Per medium, in time order (``fecha``, then arrival): attempts (link confirmations, codes) count
only while the medium can still be validated, before its ``vence_en`` and before a permanent
delivery failure of its live send; the first matching attempt validates; wrong codes before it add
to ``intentos_fallidos`` and at ``max_wrong_codes`` the code dies (a resend is needed);
everything after a validation is ``ya_validado``. Which states can be validated or bounced comes
from :mod:`registry.states` alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from registry.states import Estado, origenes

INTENTOS = ("confirmacion_correo", "codigo_sms")
ENTREGA = "entrega"
# Outcomes that moved nothing forward; everything else is reported under "rejected".
EXITOS = frozenset({"validado", "entregado", "no_entregado"})
FALLOS_ENTREGA = ("failed", "bounced")
VALIDABLES = sorted(str(e) for e in origenes(Estado.VALIDADO))
REBOTABLES = sorted(str(e) for e in origenes(Estado.NO_ENTREGADO))
_ENTREGA_COLS = ("referencia", "estado", "outbox_tipo")


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
    cancelados: int = 0
    resultados: pl.DataFrame | None = None

    def merge(self, other: Resumen) -> None:
        self.events += other.events
        self.applied += other.applied
        self.duplicados += other.duplicados
        self.validated += other.validated
        self.no_entregado += other.no_entregado
        self.expired += other.expired
        self.cancelados += other.cancelados
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


# Working columns of decidir, named once.
ESTADO = "m_estado"  # the medium's state as the batch found it
PRIMERO, ULTIMO = "primero", "ultimo"  # first / last row of a medium's run
FALLO = "fallo"  # a permanent delivery failure of the live verification send
T_FALLO = "t_fallo"  # the instant of the medium's first such failure
VENCIDO = "vencido"  # the attempt came after vence_en
ERROR = "error"  # 1 for an eligible wrong code
ACIERTO = "acierto"  # an eligible matching attempt
ERRORES_ANTES = "errores_antes"  # the medium's wrong codes before this event
VALIDA = "valida"  # this event validates (a match with codes left)
VALIDACIONES = "validaciones"  # validations of the medium up to this event
VALIDACIONES_ANTES = "validaciones_antes"
VALIDADO_LOTE = "validado_lote"  # some event of the batch validates the medium
FALLOS = "fallos"  # delivery failures of the medium up to this event


def _acumulado(col: pl.Expr) -> pl.Expr:
    """Running sum within each medium's run of rows (sorted by medium, ``PRIMERO`` marks each
    run's first row): a global running sum minus its value before the run, no grouping."""
    total = col.cum_sum()
    return total - pl.when(pl.col(PRIMERO)).then(total - col).forward_fill()


def _por_medio(narrow: pl.DataFrame, m: pl.DataFrame) -> pl.DataFrame:
    """Order: medium, then time, then arrival, with each medium's state joined.

    A stable sort by time (arrival breaks ties) gives each event its rank; one integer key then
    orders by medium and rank, far cheaper than a three-column sort. Events without a medium go
    last."""
    por_hora = narrow.sort("fecha", maintain_order=True)
    n = max(por_hora.height, 1)
    return (
        por_hora.with_columns(
            _clave=pl.col("medio_id").fill_null(pl.col("medio_id").max().fill_null(0) + 1) * n
            + pl.int_range(0, pl.len(), dtype=pl.Int64)
        )
        .sort("_clave")
        .join(m, on="medio_id", how="left", maintain_order="left")
        .with_columns(
            **{
                PRIMERO: (pl.col("medio_id") != pl.col("medio_id").shift(1)).fill_null(True),
                ULTIMO: (pl.col("medio_id") != pl.col("medio_id").shift(-1)).fill_null(True),
            }
        )
    )


def _fallo_entrega() -> pl.Expr:
    """A receipt that fails the medium's live verification send while it can still bounce."""
    return (
        (pl.col("tipo") == ENTREGA)
        & pl.col("estado").is_in(FALLOS_ENTREGA)
        & (pl.col("outbox_tipo") == "verificacion")
        & pl.col(ESTADO).is_in(REBOTABLES)
        & (pl.col("envio_vigente").is_null() | (pl.col("referencia") == pl.col("envio_vigente")))
    ).fill_null(False)


def _resultado_entrega() -> pl.Expr:
    return (
        pl.when(pl.col("outbox_tipo").is_null())
        .then(pl.lit("referencia_desconocida"))
        .when(pl.col("estado") == "delivered")
        .then(pl.lit("entregado"))
        .when(pl.col(FALLO) & (pl.col(FALLOS) == 1) & ~pl.col(VALIDADO_LOTE))
        .then(pl.lit("no_entregado"))
        .otherwise(pl.lit("sin_cambio"))
    )


def _resultado_intento(max_wrong: int) -> pl.Expr:
    estado = pl.col(ESTADO)
    return (
        pl.when(pl.col("medio_id").is_null())
        .then(pl.lit("desconocido"))
        .when(estado == Estado.VALIDADO)
        .then(pl.lit("ya_validado"))
        .when(estado == Estado.REGISTRADO)
        .then(pl.lit("no_enviado"))
        .when(estado == Estado.VENCIDO)
        .then(pl.lit("vencido"))
        .when(~estado.is_in(VALIDABLES))
        .then(pl.lit("no_vigente"))
        .when(pl.col(VALIDACIONES_ANTES) >= 1)
        .then(pl.lit("ya_validado"))
        .when(pl.col(T_FALLO).is_not_null() & (pl.col("fecha") >= pl.col(T_FALLO)))
        .then(pl.lit("no_vigente"))
        .when(pl.col(VALIDA))
        .then(pl.lit("validado"))
        .when(pl.col(VENCIDO))
        .then(pl.lit("vencido"))
        .when(~pl.col("con_secreto").fill_null(False) | (pl.col(ERRORES_ANTES) >= max_wrong))
        .then(pl.lit("codigo_agotado"))
        .otherwise(pl.lit("codigo_incorrecto"))
    )


def decidir(ev: pl.DataFrame, med: pl.DataFrame, max_wrong: int) -> pl.DataFrame:
    """Decide every event of a batch; pure (no I/O).

    ``ev``: seq, tipo, fecha, medio_id, coincide (the secret matched the medium's live digest),
    referencia, estado (delivery status), outbox_tipo. ``med``: id, estado, con_secreto, vence_en,
    intentos_fallidos, envio_vigente. Returns ``ev`` with ``resultado``, ``cuenta_fallo`` (a wrong
    code that counts) and ``intentos_despues`` (the medium's wrong codes after this event).
    """
    m = med.select(
        pl.col("id").alias("medio_id"),
        pl.col("estado").alias(ESTADO),
        "con_secreto",
        "vence_en",
        "intentos_fallidos",
        "envio_vigente",
    )
    # Decided on a narrow copy: sorting and joining the event's strings (hashes, origins) a
    # million times over costs more than the rules.
    # Callers pass events in arrival order already; sorting a wide million-row frame is not free.
    ev = ev if ev["seq"].is_sorted() else ev.sort("seq")
    narrow = ev.select("seq", "tipo", "fecha", "medio_id", "coincide", *_ENTREGA_COLS)
    x = _por_medio(narrow, m)
    tipo, fecha = pl.col("tipo"), pl.col("fecha")
    x = x.with_columns(**{FALLO: _fallo_entrega()})
    x = x.with_columns(**{T_FALLO: pl.when(FALLO).then(fecha).min().over("medio_id")})
    vencido = (fecha > pl.col("vence_en")).fill_null(False)
    candidato = (
        tipo.is_in(INTENTOS)
        & pl.col(ESTADO).is_in(VALIDABLES)
        & (pl.col(T_FALLO).is_null() | (fecha < pl.col(T_FALLO)))
    ).fill_null(False)
    elegible = candidato & ~vencido & pl.col("con_secreto").fill_null(False)
    x = x.with_columns(
        **{
            ERROR: (elegible & ~pl.col("coincide")).cast(pl.Int64),
            ACIERTO: elegible & pl.col("coincide"),
            VENCIDO: vencido,
        }
    )
    antes = pl.col("intentos_fallidos").fill_null(0) + _acumulado(pl.col(ERROR)) - pl.col(ERROR)
    x = x.with_columns(**{ERRORES_ANTES: antes})
    x = x.with_columns(**{VALIDA: pl.col(ACIERTO) & (pl.col(ERRORES_ANTES) < max_wrong)})
    x = x.with_columns(**{VALIDACIONES: _acumulado(pl.col(VALIDA).cast(pl.Int64))})
    x = x.with_columns(
        **{
            VALIDACIONES_ANTES: pl.col(VALIDACIONES) - pl.col(VALIDA).cast(pl.Int64),
            VALIDADO_LOTE: pl.when(ULTIMO).then(pl.col(VALIDACIONES)).backward_fill() > 0,
            FALLOS: _acumulado(pl.col(FALLO).cast(pl.Int64)),
        }
    )
    cuenta = (
        (pl.col(ERROR) == 1)
        & (pl.col(ERRORES_ANTES) < max_wrong)
        & (pl.col(VALIDACIONES_ANTES) == 0)
    )
    decided = x.select(
        "seq",
        resultado=pl.when(tipo == ENTREGA)
        .then(_resultado_entrega())
        .otherwise(_resultado_intento(max_wrong)),
        cuenta_fallo=cuenta,
        intentos_despues=pl.col(ERRORES_ANTES) + cuenta.cast(pl.Int64),
    ).sort("seq")
    return ev.hstack(decided.drop("seq"))
