"""The bulk writes of :mod:`registry.reconcile`: state changes with their audit rows, wrong-code
counts, expiry, and what acuses de validación and confirmations need.

State changes follow the rules of :func:`registry.cambios.cambiar_estado` (a guarded ``UPDATE``:
only from a state that can reach the target, and only if the row is still in the state the
decision saw; one audit row per medium moved, same fields) but are written with prepared-statement
``executemany`` and set-based SQL: the general function compiles ``IN`` lists and binds through
SQLAlchemy per row, which dominated a 300,000-media reconciliation. The caller holds the
applier lock (SQLite: the write lock of ``BEGIN IMMEDIATE``); on PostgreSQL the rows are also
locked (``FOR UPDATE``) before they are moved, so other commands cannot race the audit's
``de_estado``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection

from buzon.errors import RegistryError
from registry.reconcile_io import ROWS_PER_WRITE, cursor, ph, select_in, sqlite, ts_param
from registry.states import Estado, origenes

_AUDIT_SQL = (
    "INSERT INTO auditoria (en, entidad, entidad_id, de_estado, a_estado, origen, detalle)"
    " VALUES ({p},'medio',{p},{p},{p},{p},{p})"
)


def auditar(
    conn: Connection,
    ids: Sequence[int],
    de: Sequence[str],
    a: str,
    origenes_: Sequence[str],
    now: datetime,
    detalle: str | None,
) -> None:
    """One audit row per medium (the fields :func:`registry.audit.fila` writes)."""
    en = ts_param(conn, now)
    rows = [(en, str(m), d, a, o, detalle) for m, d, o in zip(ids, de, origenes_, strict=True)]
    cur = cursor(conn)
    for start in range(0, len(rows), ROWS_PER_WRITE):
        cur.executemany(_AUDIT_SQL.format(p=ph(conn)), rows[start : start + ROWS_PER_WRITE])


def mover(
    conn: Connection,
    ids: Sequence[int],
    de: Sequence[str],
    a: Estado,
    *,
    origenes_: Sequence[str],
    now: datetime,
    detalle: str,
    valores: dict[str, Sequence] | None = None,
) -> list[int]:
    """Move media from the state the decision saw (``de``) to ``a``; return the ids moved.

    ``valores`` are extra ``medios`` columns, one value per medium.
    """
    permitidos = {str(e) for e in origenes(a)}
    valores = valores or {}
    keep = [i for i, d in enumerate(de) if d in permitidos]
    if not sqlite(conn) and keep:
        actual = dict(
            select_in(
                conn,
                "SELECT id, estado FROM medios WHERE id IN ({inn}) ORDER BY id FOR UPDATE",
                [ids[i] for i in keep],
            )
        )
        keep = [i for i in keep if actual.get(ids[i]) == de[i]]
    if not keep:
        return []
    p = ph(conn)
    sets = "".join(f", {c} = {p}" for c in valores)
    sql = (
        f"UPDATE medios SET estado = {p}, actualizado_en = {p}{sets}"
        f" WHERE id = {p} AND estado = {p}"
    )
    nowp = ts_param(conn, now)
    cols = list(valores.values())
    rows = [(str(a), nowp, *(c[i] for c in cols), ids[i], de[i]) for i in keep]
    cur = cursor(conn)
    cur.executemany(sql, rows)
    if cur.rowcount != len(rows):
        # Cannot happen while the applier lock is held and the rows are locked; refuse to audit
        # moves that did not happen.
        raise RegistryError(
            "cambio de estado concurrente durante la conciliación",
            esperados=len(rows),
            movidos=cur.rowcount,
        )
    movidos = [ids[i] for i in keep]
    auditar(
        conn, movidos, [de[i] for i in keep], str(a), [origenes_[i] for i in keep], now, detalle
    )
    return movidos


def sumar_intentos(
    conn: Connection,
    ids: Sequence[int],
    ns: Sequence[int],
    origenes_: Sequence[str],
    maximo: int,
    now: datetime,
    antes: Sequence[int] | None = None,
) -> int:
    """Add wrong codes to each medium; the code dies (digest cleared) when it reaches ``maximo``.

    ``antes`` (each medium's count as the decision saw it) narrows the read-back of the dead
    codes to the media that can have reached the limit.
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
        f" WHERE id = {p} AND estado = 'enviado' AND intentos_fallidos + {p} >= {p}",
        rows,
    )
    cur.executemany(
        f"UPDATE medios SET intentos_fallidos = intentos_fallidos + {p}"
        f" WHERE id = {p} AND estado = 'enviado' AND intentos_fallidos + {p} < {p}",
        rows,
    )
    posibles = (
        ids
        if antes is None
        else [i for i, n, a in zip(ids, ns, antes, strict=True) if a + n >= maximo]
    )
    muertos = {
        r[0]
        for r in select_in(
            conn,
            # The limit comes before the IN list: select_in binds ``params`` first.
            f"SELECT id FROM medios WHERE intentos_fallidos >= {p} AND secreto_hash IS NULL"
            " AND estado = 'enviado' AND id IN ({inn})",
            posibles,
            (maximo,),
        )
    }
    dead = [(i, o) for i, o in zip(ids, origenes_, strict=True) if i in muertos]
    auditar(
        conn,
        [i for i, _ in dead],
        ["enviado"] * len(dead),
        "enviado",
        [o for _, o in dead],
        now,
        f"{maximo} códigos incorrectos: código inválido, se requiere reenvío",
    )
    return len(dead)


def vencer(conn: Connection, now: datetime, origen: str, detalle: str) -> int:
    """Every ``enviado`` medium with ``vence_en < now`` -> ``vencido``, audited; set-based SQL."""
    p = ph(conn)
    nowp = ts_param(conn, now)
    audit = (
        "INSERT INTO auditoria (en, entidad, entidad_id, de_estado, a_estado, origen, detalle)"
        f" SELECT {p}, 'medio', CAST(id AS TEXT), 'enviado', 'vencido', {p}, {p}"
    )
    upd = f"UPDATE medios SET estado = 'vencido', actualizado_en = {p}"
    cond = f"WHERE estado = 'enviado' AND vence_en < {p}"
    cur = cursor(conn)
    if sqlite(conn):
        # The write lock is held since BEGIN IMMEDIATE: the two statements see the same rows.
        cur.execute(f"{audit} FROM medios {cond} ORDER BY id", (nowp, origen, detalle, nowp))
        n = cur.rowcount
        cur.execute(f"{upd} {cond}", (nowp, nowp))
        if cur.rowcount != n:
            raise RegistryError("vencimiento concurrente", auditados=n, movidos=cur.rowcount)
        return n
    cur.execute(
        f"WITH m AS ({upd} {cond} RETURNING id) {audit} FROM m ORDER BY id",
        (now, now, now, origen, detalle),
    )
    return cur.rowcount


def datos_acuse(conn: Connection, ids: Sequence[int]) -> dict[int, dict]:
    """What an acuse de validación says about each medium (those with a particular)."""
    info = {
        r[0]: {"rfc": r[1], "mecanismo": r[2], "medio": r[3], "nombre": r[4], "rps": []}
        for r in select_in(
            conn,
            "SELECT m.id, m.rfc, m.mecanismo, m.valor, p.nombre FROM medios m"
            " JOIN particulares p ON p.rfc = m.rfc WHERE m.id IN ({inn})",
            ids,
        )
    }
    for mid, rp in select_in(
        conn, "SELECT medio_id, rp FROM alcances WHERE medio_id IN ({inn}) AND rp IS NOT NULL", ids
    ):
        if mid in info:
            info[mid]["rps"].append(rp)
    return info


def encolar_confirmaciones(conn: Connection, acuses: Sequence[dict], now: datetime) -> None:
    """A ``confirmacion`` outbox row per validated medium (the row ``delivery.outbox.queue``
    writes: pending, no attempts, due now), with one prepared ``executemany``."""
    from delivery.outbox import CANAL_POR_MECANISMO

    p = ph(conn)
    nowp = ts_param(conn, now)
    sql = (
        "INSERT INTO outbox (medio_id, tipo, canal, destino, estado, intentos, proximo_intento,"
        f" creado_en) VALUES ({p}, 'confirmacion', {p}, {p}, 'pendiente', 0, {p}, {p})"
    )
    rows = [
        (a["medio_id"], CANAL_POR_MECANISMO[a["mecanismo"]], a["medio"], nowp, nowp) for a in acuses
    ]
    if rows:
        cursor(conn).executemany(sql, rows)
