"""A synthetic registry of any size, written straight into the store (tests and benchmarks).

``sembrar(engine, settings, rps=100_000)``: one RFC per 50 RPs with an RFC-scope email and
mobile; two emails per RP; media in a realistic mix of states; an acuse de registro per medium
and an acuse de validación per validated one (real cadenas and sellos), when ``acuses=True``.
Deterministic for a given size (``random.Random(seed)``).
"""

from __future__ import annotations

import random
import string
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from buzon.settings import Settings
from registry.acuses import cadena_original
from registry.folios import TZ
from registry.sql import bulk_insert
from registry.tables import acuses, alcances, medios, particulares, registros_patronales
from signers.seal import Sello

ESTADOS = [
    ("validado", 40),
    ("enviado", 30),
    ("vencido", 15),
    ("no_entregado", 5),
    ("registrado", 5),
    ("baja", 5),
]
INICIO = datetime(2024, 8, 1, 15, 0, tzinfo=UTC)


def _rfc(i: int) -> str:
    letras = string.ascii_uppercase
    a, b, c = letras[i % 26], letras[(i // 26) % 26], letras[(i // 676) % 26]
    return f"{a}{b}{c}{80 + i % 20:02d}{1 + i % 12:02d}{1 + i % 28:02d}{i // 17576 % 10}A{i % 10}"


def _folio(n: int) -> str:
    t = INICIO + timedelta(milliseconds=n)
    return "BI-" + t.astimezone(TZ).strftime("%Y%m%d-%H%M%S") + f"{t.microsecond // 1000:03d}"


def sembrar(
    engine: Engine,
    settings: Settings,
    *,
    rps: int = 100_000,
    rps_por_rfc: int = 50,
    acuses_: bool = False,
    seed: int = 7,
) -> dict[str, int]:
    """Fill an empty store; returns the counts written."""
    rnd = random.Random(seed)
    pesos = [w for _, w in ESTADOS]
    nombres = [e for e, _ in ESTADOS]
    n_rfc = max(rps // rps_por_rfc, 1)
    parts, regs, meds, alcs, acus = [], [], [], [], []
    mid = 0

    def medio(rfc: str, mec: str, valor: str, rp: str | None) -> None:
        nonlocal mid
        mid += 1
        estado = rnd.choices(nombres, pesos)[0]
        creado = INICIO + timedelta(minutes=rnd.randrange(0, 60 * 24 * 5))
        enviado = creado + timedelta(minutes=5) if estado != "registrado" else None
        vence = enviado + timedelta(hours=72) if enviado else None
        validado = enviado + timedelta(hours=rnd.randrange(1, 70)) if estado == "validado" else None
        meds.append(
            {
                "id": mid,
                "rfc": rfc,
                "mecanismo": mec,
                "valor": valor,
                "estado": estado,
                "folio": _folio(mid),
                "creado_en": creado,
                "actualizado_en": validado or enviado or creado,
                "enviado_en": enviado,
                "vence_en": vence,
                "validado_en": validado,
                "motivo": "buzón lleno" if estado == "no_entregado" else None,
                "aclaracion": estado == "no_entregado",
            }
        )
        alcs.append({"medio_id": mid, "rfc": rfc, "rp": rp, "creado_en": creado})

    k = 0
    for i in range(n_rfc):
        rfc = _rfc(i)
        parts.append(
            {"rfc": rfc, "nombre": f"Empresa {i} & Asociados, S.A. de C.V.", "creado_en": INICIO}
        )
        medio(rfc, "correo", f"contacto{i}@empresa{i}.mx", None)
        medio(rfc, "telefono", f"55{i:08d}", None)
        for _ in range(rps_por_rfc):
            if k >= rps:
                break
            rp = f"Z{k:08d}{k % 10}0"
            regs.append({"rp": rp, "rfc": rfc, "creado_en": INICIO})
            medio(rfc, "correo", f"rp{k}a@empresa{i}.mx", rp)
            medio(rfc, "correo", f"rp{k}b@empresa{i}.mx", rp)
            k += 1
    if acuses_:
        folio_n = mid
        rps_de = {a["medio_id"]: a["rp"] for a in alcs}
        nombre_de = {p["rfc"]: p["nombre"] for p in parts}
        for m in meds:
            base = {
                "tipo": "registro",
                "folio": m["folio"],
                "fecha": m["creado_en"],
                "rfc": m["rfc"],
                "nombre": nombre_de[m["rfc"]],
                "rps": rps_de[m["id"]] or "",
                "mecanismo": m["mecanismo"],
                "medio": m["valor"],
                "estado": "registrado",
                "medio_id": m["id"],
            }
            acus.append(base)
            if m["estado"] == "validado":
                folio_n += 1
                acus.append(
                    dict(
                        base,
                        tipo="validacion",
                        folio=_folio(folio_n),
                        fecha=m["validado_en"],
                        estado="validado",
                        folio_registro=m["folio"],
                    )
                )
        cadenas = [cadena_original(a) for a in acus]
        sellos = Sello.load(settings).sign_many(cadenas)
        for a, c, s in zip(acus, cadenas, sellos, strict=True):
            a["cadena_original"], a["sello"] = c, s
            a.setdefault("folio_registro", None)
    with engine.begin() as conn:
        for table, rows in (
            (particulares, parts),
            (registros_patronales, regs),
            (medios, meds),
            (alcances, alcs),
            (acuses, acus),
        ):
            for i in range(0, len(rows), 20_000):
                bulk_insert(conn, table, _rows(rows[i : i + 20_000]))
    return {"rfcs": len(parts), "rps": len(regs), "medios": len(meds), "acuses": len(acus)}


def _rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return rows
