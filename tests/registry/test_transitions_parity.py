"""Parity: every (from, to) pair gives the same ``medios`` and ``auditoria`` rows whichever path
performs it: the single path (states read here, rows locked), the bulk reconcile path (states the
decision saw, one ``executemany``) and the send-recording path (compare-and-set per medium); and
the product's entry points that share a transition (accepted send: ``delivery.outbox.record`` and
the DB-API ``Recorder``; delivery failure: ``outbox.record`` and a reconciled bounce) agree too."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Connection, Engine, insert, select

from buzon.errors import PermanentDeliveryError
from buzon.settings import Settings
from delivery import outbox as delivery_outbox
from delivery.dispatcher import SendStats
from delivery.outbox import Due
from delivery.recorder import Recorder
from reconcile.apply import aplicar
from registry import transitions
from registry.states import Estado, puede
from registry.tables import auditoria, medios, outbox, particulares

NOW = datetime(2024, 8, 8, 18, 0, tzinfo=UTC)
ANTES = NOW - timedelta(hours=1)
RFC = "EKU9003173C9"
ESTADOS = [str(e) for e in Estado]
PARES = list(itertools.product(ESTADOS, repeat=2))
# The product's transition to each state, with the values its callers give.
PRODUCTO = {
    "enviado": (transitions.ENVIAR, {"enviado_en": NOW, "vence_en": NOW + timedelta(hours=72)}),
    "validado": (transitions.VALIDAR, {"validado_en": ANTES}),
    "no_entregado": (transitions.NO_ENTREGAR, {"motivo": "rebote"}),
    "vencido": (transitions.VENCER, {}),
    "cancelado": (transitions.CANCELAR, {"motivo": "sin envíos"}),
    "baja": (transitions.DAR_DE_BAJA, {}),
    "registrado": (transitions.Transicion(Estado.REGISTRADO), {}),
}
# How each path calls registry.transitions.mover.
CAMINOS = {
    "single": {"de": None},
    "bulk": {"fresco": True},
    "recording": {"fresco": False},
}


def _particular(conn: Connection) -> None:
    conn.execute(insert(particulares).values(rfc=RFC, nombre="Kumo", creado_en=ANTES))


def _medio(conn: Connection, n: int, estado: str, tipo: str = "verificacion") -> tuple[int, int]:
    """A medium in ``estado`` with a live send (its outbox row); returns (medio_id, outbox_id)."""
    mid = conn.execute(
        insert(medios).returning(medios.c.id),
        {"rfc": RFC, "mecanismo": "telefono", "valor": f"55{n:08d}", "estado": estado,
         "folio": f"BI-20240808-{n:09d}", "creado_en": ANTES, "actualizado_en": ANTES,
         "envios": 1, "enviado_en": ANTES, "vence_en": ANTES + timedelta(hours=72),
         "secreto_hash": "d" * 64, "intentos_fallidos": 2},
    ).scalar_one()  # fmt: skip
    oid = conn.execute(
        insert(outbox).returning(outbox.c.id),
        {"medio_id": mid, "tipo": tipo, "canal": "sms", "destino": f"55{n:08d}",
         "estado": "pendiente", "intentos": 0, "proximo_intento": ANTES, "creado_en": ANTES},
    ).scalar_one()  # fmt: skip
    conn.execute(medios.update().where(medios.c.id == mid).values(envio_vigente=oid))
    return mid, oid


def _estado(engine: Engine, mid: int, oid: int) -> tuple:
    """What a path leaves, without the ids that differ between media by construction."""
    with engine.connect() as conn:
        m = conn.execute(select(medios).where(medios.c.id == mid)).one()._asdict()
        a = conn.execute(
            select(auditoria).where(auditoria.c.entidad_id == str(mid)).order_by(auditoria.c.id)
        ).all()
        o = conn.execute(select(outbox.c.estado, outbox.c.error).where(outbox.c.id == oid)).one()
    m["envio_vigente"] = m["envio_vigente"] == oid
    for k in ("id", "folio", "valor"):
        m.pop(k)
    audits = [
        (r.en, r.entidad, r.de_estado, r.a_estado, r.origen.replace(str(oid), "<oid>"), r.detalle)
        for r in a
    ]
    return m, audits, tuple(o)


def test_every_pair_same_rows_on_every_path(rsettings: Settings, engine: Engine) -> None:
    with engine.begin() as conn:
        _particular(conn)
        media = {
            (par, camino): _medio(conn, n, par[0])
            for n, (par, camino) in enumerate(itertools.product(PARES, CAMINOS))
        }
    for ((de, a), camino), (mid, oid) in media.items():
        t, valores = PRODUCTO[a]
        kwargs = dict(CAMINOS[camino])
        if kwargs.get("de", "") is not None:
            kwargs["de"] = [de]
        with engine.begin() as conn:
            movidos = transitions.mover(
                conn, t, [mid], now=NOW, origen="comando:parity", valores=valores,
                vigentes=[oid], **kwargs,
            )  # fmt: skip
        assert movidos == ([mid] if puede(de, a) else []), (de, a, camino)
    for de, a in PARES:
        rows = {c: _estado(engine, *media[((de, a), c)]) for c in CAMINOS}
        assert rows["single"] == rows["bulk"] == rows["recording"], (de, a)
        m, audits, _ = rows["single"]
        if puede(de, a):
            assert m["estado"] == a and m["actualizado_en"] == NOW
            assert audits == [(NOW, "medio", de, a, "comando:parity", t_detalle(a))]
        else:
            assert m["estado"] == de and m["actualizado_en"] == ANTES and audits == []


def t_detalle(a: str) -> str | None:
    return PRODUCTO[a][0].detalle


def _due(mid: int, oid: int, estado: str) -> Due:
    return Due(oid, mid, "verificacion", "sms", "x", 0, estado, RFC, "Kumo", "F", "x")


def test_accepted_send_same_rows_recorded_either_way(rsettings: Settings, engine: Engine) -> None:
    """``outbox.record`` (SQLAlchemy transaction) and the ``Recorder`` (DB-API transaction, the
    send hot path) run the one accepted-send transition: same rows from every state."""
    s = rsettings.model_copy(update={"now": NOW})
    with engine.begin() as conn:
        _particular(conn)
        media = {
            (de, camino): _medio(conn, n, de)
            for n, (de, camino) in enumerate(itertools.product(ESTADOS, ("record", "recorder")))
        }
    rec = Recorder(engine, s, SendStats())
    try:
        for (de, camino), (mid, oid) in media.items():
            if camino == "record":
                with engine.begin() as conn:
                    delivery_outbox.record(conn, s, [(_due(mid, oid, de), None)], NOW)
            else:
                rec.record_now(_due(mid, oid, de), None)
    finally:
        rec.close()
    for de in ESTADOS:
        a = _estado(engine, *media[(de, "record")])
        b = _estado(engine, *media[(de, "recorder")])
        assert a == b, de
        m, audits, ob = a
        assert ob == ("enviado", None)
        if puede(de, "enviado"):
            assert (m["estado"], m["envios"], m["intentos_fallidos"]) == ("enviado", 2, 0)
            assert audits == [(NOW, "medio", de, "enviado", "comando:send:outbox=<oid>", None)]
        else:
            assert (m["estado"], m["envios"], audits) == (de, 1, [])


def test_delivery_failure_same_medium_either_way(
    rsettings: Settings, engine: Engine, tmp_path: Path
) -> None:
    """A permanent failure recorded by the sender and a bounce reconciled from a receipt leave
    the medium the same (``no_entregado``, aclaración, motivo, no live secret)."""
    s = rsettings.model_copy(update={"now": NOW})
    with engine.begin() as conn:
        _particular(conn)
        (m1, o1), (m2, o2) = _medio(conn, 1, "enviado"), _medio(conn, 2, "enviado")
    with engine.begin() as conn:
        err = PermanentDeliveryError("buzón inexistente")
        delivery_outbox.record(conn, s, [(_due(m1, o1, "enviado"), err)], NOW)
    evento = pl.DataFrame(
        {"tipo": ["entrega"], "referencia": [o2], "token": [None], "rfc": [None],
         "telefono": [None], "codigo": [None], "estado": ["bounced"],
         "motivo": ["buzón inexistente"], "fecha": [NOW], "origen": ["webhook"]},
        schema_overrides={c: pl.String for c in ("token", "rfc", "telefono", "codigo")},
    ).with_columns(pl.col("fecha").dt.cast_time_unit("us"))  # fmt: skip
    with engine.begin() as conn:
        res = aplicar(conn, s, evento, now=NOW)
    assert res.no_entregado == 1
    (a, audit_a, _), (b, audit_b, _) = _estado(engine, m1, o1), _estado(engine, m2, o2)
    assert a == b
    assert (a["estado"], a["aclaracion"], a["motivo"], a["secreto_hash"]) == (
        "no_entregado", True, "buzón inexistente", None
    )  # fmt: skip
    assert [r[2:4] for r in audit_a] == [r[2:4] for r in audit_b] == [("enviado", "no_entregado")]


@pytest.mark.parametrize("a", ESTADOS)
def test_sql_text_has_the_state_machine_guard(a: str) -> None:
    t = PRODUCTO[a][0]
    for style in ("qmark", "format"):
        sql = t.texto(style)
        for e in ESTADOS:
            assert (f"'{e}'" in sql.split("WHERE", 1)[1]) == puede(e, a)
