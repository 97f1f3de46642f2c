"""apply: registration, scopes, acuses, outbox, audit, idempotent re-apply and --sync."""

from __future__ import annotations

from registry_helpers import frame, rp_valido, verifica
from sqlalchemy import Engine, func, select

from registry.apply import apply_entries, chunks
from registry.tables import acuses, alcances, auditoria, medios, outbox
from registry.transitions import cambiar_estado

A, B = "EKU9003173C9", "ABC680524P76"
RP1, RP2, RP3 = rp_valido("Y39", 1), rp_valido("Y39", 2), rp_valido("Y39", 3)
BASE = [
    (A, None, "correo", "rh@kumo.mx"),
    (A, RP1, "correo", "rh@kumo.mx"),
    (A, RP2, "correo", "rh@kumo.mx"),
    (A, None, "telefono", "5512345678"),
    (A, RP1, "correo", "planta1@kumo.mx"),
    (B, None, "correo", "nomina@bajio.mx"),
]
TABLAS = (medios, alcances, acuses, outbox, auditoria)


def conteos(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in TABLAS
        }


def test_registers_media_scopes_acuses_outbox_and_audit(engine: Engine, rsettings, sello) -> None:  # noqa: ANN001
    r = apply_entries(engine, rsettings, frame(BASE), sello=sello)
    assert r.as_dict() == {
        "registered": 4, "updated": 0, "unchanged": 0, "bajas": 0,
        "acuses": {"registro": 4, "actualizacion": 0, "baja": 0}, "rp_ajeno": 0,
    }  # fmt: skip
    with engine.connect() as conn:
        m = {row.valor: row for row in conn.execute(select(medios))}
        assert {row.estado for row in m.values()} == {"registrado"}
        scopes = conn.execute(
            select(alcances.c.rp).where(alcances.c.medio_id == m["rh@kumo.mx"].id)
        ).scalars()
        assert sorted(scopes, key=str) == sorted([None, RP1, RP2], key=str)
        ac = {row.medio: row for row in conn.execute(select(acuses))}
        box = {row.destino: row for row in conn.execute(select(outbox))}
        audit = conn.execute(
            select(auditoria.c.entidad, auditoria.c.entidad_id, auditoria.c.a_estado,
                   auditoria.c.origen)
        ).all()  # fmt: skip
    rh = ac["rh@kumo.mx"]
    assert rh.folio == m["rh@kumo.mx"].folio and rh.tipo == "registro" and rh.rfc == A
    assert rh.rps == ",".join(sorted([RP1, RP2]))
    assert rh.cadena_original == (
        f"||4.0|{rh.folio}|{rh.cadena_original.split('|')[4]}|registro|{A}|{rh.nombre or ''}|"
        f"correo|rh@kumo.mx|registrado|{','.join(sorted([RP1, RP2]))}|||"
    )
    assert rh.cadena_original.split("|")[4].endswith("-06:00")
    for row in ac.values():
        assert verifica(sello, row.cadena_original, row.sello)
    assert box["5512345678"].canal == "sms" and box["rh@kumo.mx"].canal == "correo"
    assert {(b.tipo, b.estado) for b in box.values()} == {("verificacion", "pendiente")}
    assert ("medio", str(m["rh@kumo.mx"].id), "registrado", "carga.xlsx:Hoja1:2") in audit
    assert ("medio", str(m["planta1@kumo.mx"].id), "registrado", "carga.xlsx:Hoja1:6") in audit
    assert ("particular", B, "pendiente", "carga.xlsx:Hoja1:7") in audit


def test_reapply_changes_nothing(engine: Engine, rsettings, sello) -> None:  # noqa: ANN001
    apply_entries(engine, rsettings, frame(BASE), sello=sello)
    antes = conteos(engine)
    r = apply_entries(engine, rsettings, frame(BASE), sello=sello)
    assert (r.registered, r.updated, r.bajas, r.unchanged) == (0, 0, 0, 4)
    assert r.acuses == {"registro": 0, "actualizacion": 0, "baja": 0}
    assert conteos(engine) == antes


def test_new_scopes_issue_actualizacion_without_reverification(
    engine: Engine,
    rsettings,
    sello,  # noqa: ANN001
) -> None:
    apply_entries(engine, rsettings, frame(BASE), sello=sello)
    with engine.begin() as conn:
        mid = conn.execute(select(medios.c.id).where(medios.c.valor == "rh@kumo.mx")).scalar_one()
        now = rsettings.clock()
        cambiar_estado(conn, [mid], "enviado", origen="comando:prueba", now=now)
        cambiar_estado(conn, [mid], "validado", origen="comando:prueba", now=now)
    r = apply_entries(
        engine, rsettings, frame(BASE + [(A, RP3, "correo", "rh@kumo.mx")]), sello=sello
    )
    assert (r.registered, r.updated, r.unchanged) == (0, 1, 3)
    assert r.acuses == {"registro": 0, "actualizacion": 1, "baja": 0}
    with engine.connect() as conn:
        act = conn.execute(select(acuses).where(acuses.c.tipo == "actualizacion")).one()
        n_outbox = conn.execute(select(func.count()).select_from(outbox)).scalar_one()
        estado = conn.execute(select(medios.c.estado).where(medios.c.id == mid)).scalar_one()
    assert act.rps == ",".join(sorted([RP1, RP2, RP3])) and act.estado == "validado"
    assert act.medio_id == mid and verifica(sello, act.cadena_original, act.sello)
    assert n_outbox == 4 and estado == "validado"


def test_sync_removes_absent_media_of_mentioned_rfcs_only(
    engine: Engine,
    rsettings,
    sello,  # noqa: ANN001
) -> None:
    apply_entries(engine, rsettings, frame(BASE), sello=sello)
    solo_a = [e for e in BASE if e[0] == A and e[3] != "5512345678"]
    sin_sync = apply_entries(engine, rsettings, frame(solo_a), sello=sello)
    assert (sin_sync.bajas, sin_sync.unchanged) == (0, 2)
    r = apply_entries(engine, rsettings, frame(solo_a), sync=True, sello=sello)
    assert (r.bajas, r.registered, r.updated) == (1, 0, 0)
    assert r.acuses == {"registro": 0, "actualizacion": 0, "baja": 1}
    with engine.connect() as conn:
        estados = dict(conn.execute(select(medios.c.valor, medios.c.estado)).tuples().all())
        baja = conn.execute(select(acuses).where(acuses.c.tipo == "baja")).one()
        audit = (
            conn.execute(select(auditoria.c.origen).where(auditoria.c.a_estado == "baja"))
            .scalars()
            .all()
        )
    assert estados == {
        "rh@kumo.mx": "registrado", "5512345678": "baja",
        "planta1@kumo.mx": "registrado", "nomina@bajio.mx": "registrado",
    }  # fmt: skip
    assert baja.medio == "5512345678" and verifica(sello, baja.cadena_original, baja.sello)
    assert audit == ["comando:apply --sync"]
    again = apply_entries(engine, rsettings, frame(solo_a), sync=True, sello=sello)
    assert (again.bajas, again.registered, again.updated) == (0, 0, 0)


def test_sync_drops_scopes_absent_from_the_upload(engine: Engine, rsettings, sello) -> None:  # noqa: ANN001
    apply_entries(engine, rsettings, frame(BASE), sello=sello)
    menos = [e for e in BASE if e[1] != RP2]
    r = apply_entries(engine, rsettings, frame(menos), sync=True, sello=sello)
    assert (r.updated, r.bajas) == (1, 0)
    with engine.connect() as conn:
        act = conn.execute(select(acuses).where(acuses.c.tipo == "actualizacion")).one()
        rps = conn.execute(select(alcances.c.rp).where(alcances.c.rp.is_not(None))).scalars()
        assert sorted(rps) == [RP1, RP1]
    assert act.rps == RP1


def test_terminal_medium_registered_again_gets_a_new_folio(
    engine: Engine,
    rsettings,
    sello,  # noqa: ANN001
) -> None:
    apply_entries(engine, rsettings, frame(BASE[:1]), sello=sello)
    with engine.begin() as conn:
        mid = conn.execute(select(medios.c.id)).scalar_one()
        cambiar_estado(conn, [mid], "baja", origen="comando:baja", now=rsettings.clock())
    r = apply_entries(engine, rsettings, frame(BASE[:1]), sello=sello)
    assert r.registered == 1
    with engine.connect() as conn:
        folios = conn.execute(select(medios.c.folio, medios.c.estado).order_by(medios.c.id)).all()
    assert [e for _, e in folios] == ["baja", "registrado"] and folios[0][0] < folios[1][0]


def test_chunks_keep_each_rfc_whole() -> None:
    rows = [(f"RFC{i % 7:03d}", None, "correo", f"m{i}@x.mx") for i in range(400)]
    parts = list(chunks(frame(rows), 50))
    assert sum(p.height for p in parts) == 400 and len(parts) > 1
    vistos: set[str] = set()
    for p in parts:
        rfcs = set(p["rfc"])
        assert not rfcs & vistos
        vistos |= rfcs


def test_one_transaction_per_chunk_many_rfcs(engine: Engine, rsettings, sello) -> None:  # noqa: ANN001
    rows = [(f"AAA0101{i:02d}AA{i % 10}", None, "correo", f"c{i}@x.mx") for i in range(60)]
    rows += [(r, rp_valido("A01", i), m, v) for i, (r, _, m, v) in enumerate(rows)]
    r = apply_entries(engine, rsettings, frame(rows), sello=sello)
    assert r.chunks == 3 and r.registered == 60 and r.acuses["registro"] == 60
    assert conteos(engine)["alcances"] == 120
