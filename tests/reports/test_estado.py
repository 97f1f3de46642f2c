"""``siguiente_accion`` and ``vence`` rules, on hand-made frames (pure polars, no store)."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from registry.reader.reporte import MEDIOS_SCHEMA, RECHAZOS_SCHEMA, TS
from reports.estado import Lectura, calcular

T0 = datetime(2024, 8, 8, 17, 0, tzinfo=UTC)  # 11:00 in Mexico City


def _medio(mid: int, rfc: str, mec: str, valor: str, estado: str, **kw) -> dict:  # noqa: ANN003
    base = dict.fromkeys(MEDIOS_SCHEMA)
    base.update(
        medio_id=mid, rfc=rfc, mecanismo=mec, medio=valor, estado=estado,
        folio_registro=f"BI-{mid}", fecha_registro=T0, actualizado_en=T0, aclaracion=False,
        intentos_fallidos=0, codigo_vivo=False,
    )  # fmt: skip
    base.update(kw)
    return base


def _lectura(medios: list[dict], rps: list[tuple[str, str]]) -> Lectura:
    rfcs = sorted({m["rfc"] for m in medios})
    return Lectura(
        particulares=pl.DataFrame(
            {
                "rfc": rfcs,
                "nombre": rfcs,
                "estado": ["pendiente"] * len(rfcs),
                "activado_en": [None] * len(rfcs),
                "tyc_folio": [None] * len(rfcs),
            },
            schema={
                "rfc": pl.String,
                "nombre": pl.String,
                "estado": pl.String,
                "activado_en": TS,
                "tyc_folio": pl.String,
            },
        ),  # fmt: skip
        registros=pl.DataFrame(rps, schema={"rp": pl.String, "rfc": pl.String}, orient="row"),
        medios=pl.DataFrame(medios, schema=MEDIOS_SCHEMA),
        alcances=pl.DataFrame(
            [(m["medio_id"], m["rfc"], m.get("_rp")) for m in medios],
            schema={"medio_id": pl.Int64, "rfc": pl.String, "rp": pl.String},
            orient="row",
        ),
        actos=pl.DataFrame(
            schema={"medio_id": pl.Int64, "tipo": pl.String, "folio": pl.String, "fecha": TS}
        ),  # fmt: skip
        rechazos=pl.DataFrame(schema=RECHAZOS_SCHEMA),
    )


def test_actions() -> None:
    medios = [
        # R1: both validated at the RFC scope -> sign the T&C; its RP has a registered (unsent)
        # email whose deadline is registration + 72 h.
        _medio(1, "R1", "correo", "a@r1.mx", "validado"),
        _medio(2, "R1", "telefono", "5511111111", "validado"),
        _medio(3, "R1", "correo", "rp@r1.mx", "registrado", _rp="RP1"),
        # R2: its email expired, nothing active -> register again.
        _medio(4, "R2", "correo", "a@r2.mx", "vencido", vence_en=T0),
        # R3: email validated, no mobile at all.
        _medio(5, "R3", "correo", "a@r3.mx", "validado"),
    ]
    rep = calcular(_lectura(medios, [("RP1", "R1"), ("RP2", "R2"), ("RP3", "R3")]))
    por_rfc = {r["rfc"]: r for r in rep.por_rfc.iter_rows(named=True)}
    assert por_rfc["R1"]["estado"] == "pendiente_tc"
    assert por_rfc["R1"]["siguiente_accion"] == "Firmar los términos y condiciones con la e.firma"
    assert por_rfc["R2"]["siguiente_accion"].startswith("Registrar de nuevo un correo")
    assert por_rfc["R3"]["siguiente_accion"] == "Registrar un teléfono celular"
    por_rp = {r["registro_patronal"]: r for r in rep.por_rp.iter_rows(named=True)}
    assert por_rp["RP1"]["siguiente_accion"] == (
        "Validar el correo rp@r1.mx antes del 11/08/2024 11:00"
    )
    assert por_rp["RP1"]["vence"] == datetime(2024, 8, 11, 17, 0, tzinfo=UTC)
    assert por_rp["RP3"]["siguiente_accion"] == "Registrar un teléfono celular"
    assert rep.resumen["aclaraciones"] == 1  # the expired email
