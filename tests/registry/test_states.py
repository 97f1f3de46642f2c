"""The state machine: every allowed and every forbidden transition, in memory and in the store."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import Engine, func, select

from buzon.errors import TransitionError
from registry.states import ACTIVOS, TRANSICIONES, Estado, origenes, puede, transicion
from registry.tables import auditoria, medios, particulares
from registry.transitions import cambiar_estado

PERMITIDAS = {
    ("registrado", "enviado"),
    ("registrado", "no_entregado"),
    ("registrado", "baja"),
    ("registrado", "vencido"),  # never sent within 72 h of its registration
    ("enviado", "enviado"),
    ("enviado", "validado"),
    ("enviado", "vencido"),
    ("enviado", "cancelado"),
    ("enviado", "no_entregado"),
    ("enviado", "baja"),
    ("validado", "baja"),
}
PARES = list(itertools.product([str(e) for e in Estado], repeat=2))


@pytest.mark.parametrize(("de", "a"), PARES)
def test_every_transition(de: str, a: str) -> None:
    if (de, a) in PERMITIDAS:
        assert puede(de, a)
        assert transicion(de, a) == Estado(a)
    else:
        assert not puede(de, a)
        with pytest.raises(TransitionError) as info:
            transicion(de, a)
        assert info.value.one_line().startswith("transición no permitida")


def test_terminal_states_have_no_way_out() -> None:
    for e in Estado:
        assert e.terminal == (e not in ACTIVOS)
        if e.terminal:
            assert TRANSICIONES[e] == frozenset()


def test_origenes_is_the_inverse() -> None:
    for a in Estado:
        assert {Estado(d) for d, x in PERMITIDAS if x == a} == set(origenes(a))


def _medio(conn, n: int, estado: str, now) -> int:  # noqa: ANN001
    return conn.execute(
        medios.insert().values(
            rfc="EKU9003173C9", mecanismo="correo", valor=f"m{n}@x.mx", estado=estado,
            folio=f"F{n}", creado_en=now, actualizado_en=now,
        )
    ).inserted_primary_key[0]  # fmt: skip


def test_cambiar_estado_in_the_store(engine: Engine, rsettings) -> None:  # noqa: ANN001
    """Every (from, to) pair through the guarded UPDATE: moved and audited only when allowed."""
    now = rsettings.clock()
    with engine.begin() as conn:
        conn.execute(particulares.insert().values(rfc="EKU9003173C9", creado_en=now))
        ids = {par: _medio(conn, n, par[0], now) for n, par in enumerate(PARES)}
    for (de, a), mid in ids.items():
        with engine.begin() as conn:
            movidos = cambiar_estado(conn, [mid], a, origen=f"comando:{de}-{a}", now=now)
            estado = conn.execute(select(medios.c.estado).where(medios.c.id == mid)).scalar_one()
            audits = conn.execute(
                select(auditoria.c.de_estado, auditoria.c.a_estado).where(
                    auditoria.c.entidad_id == str(mid)
                )
            ).all()
        if (de, a) in PERMITIDAS:
            assert (movidos, estado, audits) == ([mid], a, [(de, a)])
        else:
            assert (movidos, estado, audits) == ([], de, [])


def test_cambiar_estado_bulk_is_guarded_and_repeatable(engine: Engine, rsettings) -> None:  # noqa: ANN001
    now = rsettings.clock()
    with engine.begin() as conn:
        conn.execute(particulares.insert().values(rfc="EKU9003173C9", creado_en=now))
        ids = [_medio(conn, i, e, now) for i, e in enumerate(["enviado", "vencido", "enviado"])]
        origen = {i: f"evento:{i}" for i in ids}
        assert cambiar_estado(conn, ids, "validado", origen=origen, now=now, validado_en=now) == [
            ids[0],
            ids[2],
        ]
        assert cambiar_estado(conn, ids, "validado", origen=origen, now=now) == []
        validados = conn.execute(
            select(func.count()).where(medios.c.validado_en.is_not(None))
        ).scalar_one()
        origenes_audit = conn.execute(select(auditoria.c.origen).order_by(auditoria.c.id)).scalars()
        assert validados == 2
        assert list(origenes_audit) == [f"evento:{ids[0]}", f"evento:{ids[2]}"]
