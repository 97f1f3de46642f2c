"""Every write to a medium's state, live secret and wrong-code count.

Each transition is one :class:`Transicion`: one SQL text with one guard, built from
:mod:`registry.states` alone::

    UPDATE medios SET estado = '<a>', actualizado_en = :now, <columns>, <fixed sets>
    WHERE id = :id AND estado = :de AND estado IN (<origenes(a)>) [AND envio_vigente = :envio]

``estado IN (...)`` is the state machine; ``estado = :de`` pins the state the caller saw, so the
audit row's ``de_estado`` is exact. The same text runs for every caller, in the driver's own
paramstyle on the DB-API connection under the caller's transaction: the single-medium commands
(apply, baja, delivery failures), the bulk reconcile path and the send recorder. Each moved medium
gets one audit row through :func:`registry.audit.registrar_medios`.

Could-not-move contract: :func:`mover` returns the ids it moved and skips, without error, every
medium whose state cannot reach the target or is no longer the state the caller saw; callers
compare with what they asked. Only a caller that read the states under the write lock and then
sees a different count (impossible unless a lock is missing) gets
:class:`buzon.errors.InvariantError`: that is a bug, not an outcome.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection

from buzon.errors import InvariantError
from registry import audit
from registry.sql import cursor, instant, is_sqlite, ph, select_in
from registry.states import Estado, origenes

_ROWS_PER_WRITE = 50_000


@dataclass(frozen=True)
class Transicion:
    """A move of media to ``a``: the columns it sets from parameters (in order) and the fixed
    ``SET`` fragments; ``vigente`` also requires the caller's send to be the medium's live one."""

    a: Estado
    columnas: tuple[str, ...] = ()
    fijos: tuple[str, ...] = ()
    vigente: bool = False
    detalle: str | None = None

    @property
    def origenes(self) -> frozenset[str]:
        return _origenes(self.a)

    def texto(self, paramstyle: str) -> str:
        """The SQL text in the driver's paramstyle (``qmark`` or ``format``)."""
        return _texto(self, "?" if paramstyle == "qmark" else "%s")


@cache
def _origenes(a: Estado) -> frozenset[str]:
    # Once per target state: mover checks every medium's state against it.
    return frozenset(str(e) for e in origenes(a))


@cache
def _texto(t: Transicion, p: str) -> str:
    sets = [f"estado = '{t.a}'", f"actualizado_en = {p}"]
    sets += [f"{c} = {p}" for c in t.columnas] + list(t.fijos)
    desde = ", ".join(f"'{e}'" for e in sorted(t.origenes)) or "NULL"  # no origin: never
    sql = f"UPDATE medios SET {', '.join(sets)} WHERE id = {p} AND estado = {p}"
    sql += f" AND estado IN ({desde})"
    return sql + (f" AND envio_vigente = {p}" if t.vigente else "")


# The transitions the product performs (registry.states draws them).
ENVIAR = Transicion(
    Estado.ENVIADO,
    ("enviado_en", "vence_en"),
    ("envios = envios + 1", "intentos_fallidos = 0"),
    vigente=True,
)
VALIDAR = Transicion(Estado.VALIDADO, ("validado_en",), detalle="validación del medio")
NO_ENTREGAR = Transicion(
    Estado.NO_ENTREGADO,
    ("motivo",),
    ("aclaracion = TRUE", "secreto_hash = NULL"),
    detalle="falla permanente de entrega; requiere aclaración",
)
VENCER = Transicion(Estado.VENCIDO)
CANCELAR = Transicion(Estado.CANCELADO, ("motivo",), ("secreto_hash = NULL",))
DAR_DE_BAJA = Transicion(Estado.BAJA, detalle="baja")


def transicion_a(a: Estado | str, columnas: Sequence[str] = ()) -> Transicion:
    """The product's transition to ``a`` when its columns are ``columnas``, else a plain one with
    those columns (same text builder, same guard)."""
    for t in (ENVIAR, VALIDAR, NO_ENTREGAR, VENCER, CANCELAR, DAR_DE_BAJA):
        if t.a == Estado(a) and tuple(columnas) == t.columnas and not t.vigente:
            return t
    return Transicion(Estado(a), tuple(columnas))


def mover(
    conn: Connection,
    t: Transicion,
    ids: Sequence[int],
    *,
    now: datetime,
    origen: str | Sequence[str],
    detalle: str | None = None,
    de: Sequence[str] | None = None,
    valores: Mapping[str, Any] | None = None,
    vigentes: Sequence[int] | None = None,
    fresco: bool = True,
) -> list[int]:
    """Move ``ids`` through ``t``; return the ids moved (see the module's could-not-move contract).

    ``de``: each medium's state as the caller saw it; ``None`` reads it here (rows locked
    ``FOR UPDATE`` on PostgreSQL). ``fresco``: ``de`` was read in this transaction under the write
    lock (bulk statement; PostgreSQL re-reads it locked); ``False`` runs a compare-and-set per
    medium (the send recorder read ``de`` in an earlier transaction). ``valores``: one entry per
    ``t.columnas``, a sequence (one value per medium) or one value for all. ``vigentes``: the
    outbox id each medium's live send must have (``t.vigente``). Runs in the caller's transaction.
    """
    n = len(ids)
    fuentes = [origen] * n if isinstance(origen, str) else list(origen)
    vals = {c: (valores or {})[c] for c in t.columnas}
    cols = [v if _por_medio(v) else [v] * n for v in vals.values()]
    orden = sorted(range(n), key=ids.__getitem__)  # lock order: by id, on every path
    if de is None or (fresco and not is_sqlite(conn)):
        actual = _estados(conn, [ids[i] for i in orden])
        if de is None:
            de = [actual.get(i, "") for i in ids]
        orden = [i for i in orden if actual.get(ids[i]) == de[i]]
    desde = t.origenes
    orden = [i for i in orden if de[i] in desde]
    if not orden:
        return []
    now_db = instant(conn, now)
    rows = [
        (
            now_db,
            *(instant(conn, c[i]) if isinstance(c[i], datetime) else c[i] for c in cols),
            ids[i],
            de[i],
            *((vigentes[i],) if t.vigente and vigentes is not None else ()),
        )
        for i in orden
    ]
    sql = t.texto(conn.dialect.paramstyle)
    cur = cursor(conn)
    if fresco:
        moved = 0
        for start in range(0, len(rows), _ROWS_PER_WRITE):
            cur.executemany(sql, rows[start : start + _ROWS_PER_WRITE])
            moved += cur.rowcount
        if moved != len(rows):
            raise InvariantError(
                "cambio de estado concurrente con el bloqueo de escritura tomado",
                esperados=len(rows),
                movidos=moved,
            )
        hechos = orden
    else:
        # Compare-and-set: usually every medium is still as the caller saw it, and one
        # executemany says so by its row count; only when some moved on meanwhile (baja,
        # resend) is each one tried alone to learn which ones did.
        cur.executemany(sql, rows)
        if cur.rowcount == len(rows):
            hechos = orden
        else:
            # Which ones moved: in the target state now and, for a send, with this send live
            # (the outbox id is unique to the send, so nothing else could have set it).
            ahora = {
                i: (e, v)
                for i, e, v in select_in(
                    conn,
                    "SELECT id, estado, envio_vigente FROM medios WHERE id IN ({inn})",
                    [ids[i] for i in orden],
                )
            }
            hechos = [
                i
                for i in orden
                if ahora.get(ids[i], ("", None))[0] == str(t.a)
                and (not t.vigente or vigentes is None or ahora[ids[i]][1] == vigentes[i])
            ]
    audit.registrar_medios(
        conn,
        [ids[i] for i in hechos],
        [de[i] for i in hechos],
        str(t.a),
        [fuentes[i] for i in hechos],
        now,
        detalle if detalle is not None else t.detalle,
    )
    return [ids[i] for i in hechos]


def _por_medio(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def _estados(conn: Connection, ids: Sequence[int]) -> dict[int, str]:
    lock = "" if is_sqlite(conn) else " ORDER BY id FOR UPDATE"
    return dict(select_in(conn, "SELECT id, estado FROM medios WHERE id IN ({inn})" + lock, ids))


def cambiar_estado(
    conn: Connection,
    medio_ids: Sequence[int] | set[int],
    a: Estado | str,
    *,
    origen: str | Mapping[int, str],
    now: datetime,
    detalle: str | None = None,
    **values: Any,
) -> list[int]:
    """Move the given media to ``a`` where the state machine allows it; return the ids moved
    (sorted). ``values`` are the transition's columns, one value for all media. ``origen`` is one
    source for all, or one per medium id. The single-medium form of :func:`mover`."""
    ids = sorted(set(medio_ids))
    fuentes = origen if isinstance(origen, str) else [origen[i] for i in ids]
    t = transicion_a(a, list(values))
    return mover(
        conn, t, ids, now=now, origen=fuentes, detalle=detalle, valores=values, fresco=True
    )


# Secrets: arming a send (phase a of delivery) and killing it (resend). Not state changes, but
# guarded by the states that can still be sent to.
_VERIFICABLES = ", ".join(f"'{e}'" for e in sorted(str(e) for e in origenes(Estado.ENVIADO)))
# Wrong codes count only for media a code can still validate.
_VALIDABLES = ", ".join(f"'{e}'" for e in sorted(str(e) for e in origenes(Estado.VALIDADO)))


def armar(conn: Connection, filas: Sequence[tuple[int, int, str]]) -> set[int]:
    """Make each ``(medio_id, outbox_id, digest)`` send the medium's live secret, only while the
    medium can still be sent to; returns the media armed."""
    if not filas:
        return set()
    p = ph(conn)
    sql = (
        f"UPDATE medios SET secreto_hash = {p}, envio_vigente = {p}"
        f" WHERE id = {p} AND estado IN ({_VERIFICABLES})"
    )
    cur = cursor(conn)
    cur.executemany(sql, [(d, o, m) for m, o, d in filas])
    if cur.rowcount == len(filas):
        return {m for m, _, _ in filas}
    vivos = {
        o
        for (o,) in select_in(
            conn, "SELECT envio_vigente FROM medios WHERE id IN ({inn})", [m for m, _, _ in filas]
        )
    }
    return {m for m, o, _ in filas if o in vivos}


def desarmar(
    conn: Connection, medio_id: int, now: datetime, *, vence_en: datetime | None = None
) -> bool:
    """Kill the medium's live secret now (``buzon resend``), opening the window ``vence_en`` when
    given; ``False`` if the medium cannot be sent to."""
    p = ph(conn)
    cur = cursor(conn)
    vence = f", vence_en = {p}" if vence_en is not None else ""
    cur.execute(
        f"UPDATE medios SET secreto_hash = NULL, envio_vigente = NULL, actualizado_en = {p}{vence}"
        f" WHERE id = {p} AND estado IN ({_VERIFICABLES})",
        (instant(conn, now), *((instant(conn, vence_en),) if vence_en else ()), medio_id),
    )
    return cur.rowcount == 1


def sumar_intentos(
    conn: Connection,
    ids: Sequence[int],
    ns: Sequence[int],
    origenes_: Sequence[str],
    *,
    maximo: int,
    max_envios: int,
    now: datetime,
    antes: Sequence[int] | None = None,
) -> tuple[int, int]:
    """Add wrong codes to each medium a code can still validate (``enviado``); at ``maximo`` its
    code dies (digest cleared), and a medium with no send left (``envios >= max_envios``) is
    ``cancelado``.

    Returns ``(codes killed, media cancelled)``. ``antes`` (each medium's count as the decision
    saw it) narrows the read-back of the dead codes to the media that can have reached the limit.
    """
    p = ph(conn)
    # Relative updates: the count lives in the database, so limits hold across restarts. Two
    # guarded statements, each row matching exactly one: first the media that reach the limit
    # (count added, code killed), then the rest (count only; those just killed are now at the
    # limit and do not match). Leaving ``secreto_hash`` out of the common case spares its index
    # an update per row.
    cur = cursor(conn)
    rows = [(n, i, n, maximo) for i, n in zip(ids, ns, strict=True)]
    cur.executemany(
        f"UPDATE medios SET intentos_fallidos = intentos_fallidos + {p}, secreto_hash = NULL"
        f" WHERE id = {p} AND estado IN ({_VALIDABLES}) AND intentos_fallidos + {p} >= {p}",
        rows,
    )
    cur.executemany(
        f"UPDATE medios SET intentos_fallidos = intentos_fallidos + {p}"
        f" WHERE id = {p} AND estado IN ({_VALIDABLES}) AND intentos_fallidos + {p} < {p}",
        rows,
    )
    posibles = (
        ids
        if antes is None
        else [i for i, n, a in zip(ids, ns, antes, strict=True) if a + n >= maximo]
    )
    muertos = {
        i: (envios, estado)
        for i, envios, estado in select_in(
            conn,
            # The limit comes before the IN list: select_in binds ``params`` first.
            f"SELECT id, envios, estado FROM medios WHERE intentos_fallidos >= {p}"
            f" AND secreto_hash IS NULL AND estado IN ({_VALIDABLES}) AND id IN ({{inn}})",
            posibles,
            (maximo,),
        )
    }
    dead = [(i, o) for i, o in zip(ids, origenes_, strict=True) if i in muertos]
    agotados = [(i, o) for i, o in dead if muertos[i][0] < max_envios]
    sin_envios = [(i, o) for i, o in dead if muertos[i][0] >= max_envios]
    # The code dies; the state stays (audited as a move to itself, like a resend).
    for estado in sorted({muertos[i][1] for i, _ in agotados}):
        mismos = [(i, o) for i, o in agotados if muertos[i][1] == estado]
        audit.registrar_medios(
            conn,
            [i for i, _ in mismos],
            [estado] * len(mismos),
            estado,
            [o for _, o in mismos],
            now,
            f"{maximo} códigos incorrectos: código inválido, se requiere reenvío",
        )
    motivo = f"{maximo} códigos incorrectos y {max_envios} envíos: debe registrarse de nuevo"
    cancelados = mover(
        conn,
        CANCELAR,
        [i for i, _ in sin_envios],
        now=now,
        origen=[o for _, o in sin_envios],
        detalle=motivo,
        de=[muertos[i][1] for i, _ in sin_envios],
        valores={"motivo": motivo},
    )
    return len(dead), len(cancelados)


def vencer(conn: Connection, now: datetime, origen: str, detalle: str) -> int:
    """Every medium past its ``vence_en`` that can expire -> ``vencido``, audited."""
    p = ph(conn)
    desde = ", ".join(f"'{e}'" for e in sorted(VENCER.origenes))
    cur = cursor(conn)
    cur.execute(
        f"SELECT id, estado FROM medios WHERE estado IN ({desde}) AND vence_en < {p} ORDER BY id",
        (instant(conn, now),),
    )
    rows = cur.fetchall()
    return len(
        mover(
            conn,
            VENCER,
            [r[0] for r in rows],
            now=now,
            origen=origen,
            detalle=detalle,
            de=[r[1] for r in rows],
        )
    )
