"""registry.reader: the one reader of the registry, on SQLite and PostgreSQL."""

from __future__ import annotations

import polars as pl
from registry_helpers import frame, rp_valido
from sqlalchemy import Engine

from registry import reader
from registry.apply import apply_entries
from registry.states import ACTIVOS, Estado
from registry.tables import ACTIVE_SQL
from registry.transitions import cambiar_estado
from schemas.limits import Existing

A, B = "EKU9003173C9", "ABC680524P76"
RP1, RP2 = rp_valido("Y39", 1), rp_valido("Y39", 2)
BASE = [
    (A, None, "correo", "rh@kumo.mx"),
    (A, RP1, "correo", "rh@kumo.mx"),
    (A, RP2, "correo", "rh@kumo.mx"),
    (A, None, "telefono", "5512345678"),
    (B, RP2, "correo", "nomina@bajio.mx"),  # RP2 already A's: dropped by apply (rp_ajeno)
    (B, None, "correo", "nomina@bajio.mx"),
]


def _registry(engine: Engine, rsettings, sello) -> None:  # noqa: ANN001
    apply_entries(engine, rsettings, frame(BASE), sello=sello)


def test_owners_names_and_active_media(engine: Engine, rsettings, sello) -> None:  # noqa: ANN001
    _registry(engine, rsettings, sello)
    with engine.connect() as conn:
        assert reader.read_duenos(conn, [RP2, RP1, "Z0000000000"]) == {RP1: A, RP2: A}
        assert reader.read_nombres(conn, [B, A, "XYZ010101AAA"]) == {
            A: f"Empresa {A}", B: f"Empresa {B}"
        }  # fmt: skip
        activos = reader.read_activos(conn, [A, B, A])
    assert set(activos) == {
        (A, "correo", "rh@kumo.mx"), (A, "telefono", "5512345678"), (B, "correo", "nomina@bajio.mx")
    }  # fmt: skip
    rh = activos[(A, "correo", "rh@kumo.mx")]
    assert rh.alcances == {None, RP1, RP2} and rh.estado == "registrado"
    assert rh.folio.startswith("BI-")
    assert activos[(B, "correo", "nomina@bajio.mx")].alcances == {None}


def test_terminal_media_are_not_active(engine: Engine, rsettings, sello) -> None:  # noqa: ANN001
    _registry(engine, rsettings, sello)
    with engine.begin() as conn:
        rh = reader.find_medio(conn, A, "correo", "rh@kumo.mx")
        assert rh is not None and rh.estado == "registrado" and rh.folio.startswith("BI-")
        assert reader.read_rps(conn, rh.id) == [RP1, RP2]
        cambiar_estado(conn, [rh.id], Estado.BAJA, origen="comando:test", now=rh.creado_en)
    with engine.connect() as conn:
        assert reader.find_medio(conn, A, "correo", "rh@kumo.mx") is None
        assert reader.find_medio(conn, A, "telefono", "rh@kumo.mx") is None
        assert set(reader.read_activos(conn, [A])) == {(A, "telefono", "5512345678")}
        activos = reader.read_alcances_activos(conn, [A])
    assert activos.rows() == [(A, None, "telefono", "5512345678")]


def test_plan_limits_read_the_same_rows(engine: Engine, rsettings, sello) -> None:  # noqa: ANN001
    _registry(engine, rsettings, sello)
    existing = reader.registro_reader(engine)([A, B], [RP1, RP2])
    assert isinstance(existing, Existing)
    assert sorted(existing.rp_owner.rows()) == [(RP1, A), (RP2, A)]
    with engine.connect() as conn:
        activos = reader.read_activos(conn, [A, B])
        by_conn = reader.registro_reader(conn)([A, B], [])
    flat = sorted(
        (rfc, rp or "", mec, medio) for (rfc, mec, medio), a in activos.items() for rp in a.alcances
    )
    rows = existing.active.with_columns(pl.col("rp").fill_null("")).rows()
    assert sorted(rows) == flat and by_conn.active.sort(pl.all()).equals(
        existing.active.sort(pl.all())
    )
    assert by_conn.rp_owner.is_empty()


def test_count_estados_lists_every_state(engine: Engine, rsettings, sello) -> None:  # noqa: ANN001
    _registry(engine, rsettings, sello)
    with engine.connect() as conn:
        todo = reader.count_estados(conn)
        solo_b = reader.count_estados(conn, B)
    assert set(todo["por_estado"]) == {str(e) for e in Estado}
    assert todo["por_estado"]["registrado"] == todo["medios"] == 3
    assert [r["rfc"] for r in solo_b["rfcs"]] == [B] and solo_b["medios"] == 1
    assert {r["rp"] for r in todo["rps"]} == {RP1, RP2}


def test_one_list_of_active_states() -> None:
    # The partial unique index is spelled from ACTIVOS, in the enum's order.
    assert ACTIVE_SQL == "estado IN ('registrado', 'enviado', 'validado')"
    assert {e for e in Estado if f"'{e}'" in ACTIVE_SQL} == set(ACTIVOS)
