"""Signing requests: one open request per ready RFC, written to ``DIR/<RFC>/`` for the holders.

:func:`open_solicitudes` gives every ready RFC one open request (``solicitudes``): the exact bytes
to sign (``cadena``, pinned in docs/FOLIOS_Y_ACUSES.md), naming the RFC, the T&C version and
SHA-256, a folio and its date; the T&C text is stored once per version (``terminos_textos``).
Re-running returns the same request until it is used, or replaced (new T&C version, or
``renovar``). :func:`write_solicitudes` writes ``cadena.txt``, ``terminos.txt`` and ``LEEME.txt``.
``registry.firmas`` imports what comes back.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, insert, select, update

from buzon.settings import Settings
from registry import folios as folios_mod
from registry import terminos
from registry.acuses import escapar, fecha_local
from registry.listos import YA_ACTIVADO, Resultado, candidatos
from registry.sql import batches
from registry.tables import particulares, solicitudes
from schemas.rfc import compact
from signers import solicitud as sol
from signers.tyc import Tyc
from signers.tyc import cargar as cargar_tyc

ABIERTA, USADA, REEMPLAZADA = "abierta", "usada", "reemplazada"


@dataclass(frozen=True)
class Solicitud:
    folio: str
    rfc: str
    cadena: str


def cadena_solicitud(folio: str, fecha: datetime, rfc: str, tyc: Tyc) -> str:
    """The request cadena (docs/FOLIOS_Y_ACUSES.md): what the holder's firma covers."""
    campos = [sol.PREFIJO, sol.VERSION, folio, fecha_local(fecha), rfc, tyc.version, tyc.sha256]
    return "||" + "|".join(escapar(c) for c in campos) + "||"


def open_solicitudes(
    engine: Engine,
    settings: Settings,
    rfcs: Sequence[str] | None = None,
    *,
    renovar: bool = False,
    tyc: Tyc | None = None,
    now: datetime | None = None,
) -> tuple[list[Solicitud], Resultado]:
    """One open request per ready RFC (reused unless the T&C changed or ``renovar``).

    Returns the requests (RFC order) and the plan (``not_ready``, ``already_active``).
    """
    now = now or settings.clock()
    tyc = tyc or cargar_tyc(settings)
    wanted = None if rfcs is None else sorted({compact(r) for r in rfcs})
    out: list[Solicitud] = []
    with engine.begin() as conn:
        plan = candidatos(conn, wanted)
        listos = plan.activated
        terminos.guardar(conn, tyc, now)
        abiertas: dict[str, Any] = {}
        for part in batches(listos):
            # Lock the particulares: two runs never open two requests for one RFC.
            conn.execute(
                select(particulares.c.rfc).where(particulares.c.rfc.in_(part)).with_for_update()
            )
            rows = conn.execute(
                select(solicitudes).where(
                    solicitudes.c.rfc.in_(part), solicitudes.c.estado == ABIERTA
                )
            )
            abiertas.update({r.rfc: r for r in rows})
        viejas = [
            r.folio
            for r in abiertas.values()
            if renovar or (r.tyc_version, r.tyc_sha256) != (tyc.version, tyc.sha256)
        ]
        if viejas:
            conn.execute(
                update(solicitudes)
                .where(solicitudes.c.folio == bindparam("b_folio"), solicitudes.c.estado == ABIERTA)
                .values(estado=REEMPLAZADA, cerrada_en=now),
                [{"b_folio": f} for f in viejas],
            )
        reemplazadas = set(viejas)
        nuevas = [r for r in listos if r not in abiertas or abiertas[r].folio in reemplazadas]
        folios = folios_mod.allocate(conn, len(nuevas), now)
        filas = []
        for rfc, folio in zip(nuevas, folios, strict=True):
            filas.append(
                {
                    "folio": folio,
                    "rfc": rfc,
                    "fecha": now,
                    "tyc_version": tyc.version,
                    "tyc_sha256": tyc.sha256,
                    "cadena": cadena_solicitud(folio, now, rfc, tyc),
                    "estado": ABIERTA,
                }
            )
        if filas:
            conn.execute(insert(solicitudes), filas)
        creadas = {f["rfc"]: f for f in filas}
        for rfc in listos:
            f = creadas.get(rfc)
            if f is not None:
                out.append(Solicitud(f["folio"], rfc, f["cadena"]))
            else:
                r = abiertas[rfc]
                out.append(Solicitud(r.folio, rfc, r.cadena))
    plan.activated = []
    return out, plan


def _leeme(s: Solicitud, tyc: Tyc) -> str:
    return f"""SOLICITUD DE FIRMA DE LOS TÉRMINOS Y CONDICIONES DEL BUZÓN IMSS
RFC: {s.rfc}
Folio de la solicitud: {s.folio}
Términos y condiciones: versión {tyc.version}, SHA-256 {tyc.sha256}

Lea terminos.txt. Si los acepta, firme cadena.txt con la e.firma (FIEL) del RFC, en su propio
equipo: la llave privada (.key) y su contraseña nunca salen de sus manos. Devuelva esta carpeta
con dos archivos nuevos: firma.b64 (la firma) y efirma.cer (su certificado). No modifique
cadena.txt: la firma cubre exactamente sus bytes.

Opción 1, con buzon-masivo:

    buzon efirma firmar --solicitud . --cer SU_FIEL.cer --key SU_FIEL.key --password-file CLAVE.txt

Opción 2, con openssl únicamente:

    openssl pkcs8 -inform DER -in SU_FIEL.key -out llave.pem      (pide la contraseña)
    openssl dgst -sha256 -sign llave.pem -out firma.bin cadena.txt
    openssl base64 -A -in firma.bin -out firma.b64
    cp SU_FIEL.cer efirma.cer
    rm llave.pem firma.bin                                          (no deje la llave descifrada)

Firma conjunta con el representante legal: el representante firma la misma cadena.txt con su
propia e.firma y deja su firma.b64 y efirma.cer en la subcarpeta representante/ (con buzon:
agregue --representante). Ambas firmas se hacen una después de la otra, sobre la misma solicitud.
"""


def _limpiar(folder: Path) -> None:
    """A replaced request: signatures over the old bytes can no longer be used."""
    for d in (folder, folder / sol.REPRESENTANTE):
        for name in (sol.FIRMA, sol.CERTIFICADO):
            (d / name).unlink(missing_ok=True)


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(text.encode("utf-8"))
    os.replace(tmp, path)


def _not_ready(plan: Resultado) -> dict[str, list[str]]:
    faltan = dict(plan.not_ready)
    for rfc in plan.already_active:
        faltan[rfc] = [YA_ACTIVADO]
    return dict(sorted(faltan.items()))


def write_solicitudes(
    engine: Engine,
    settings: Settings,
    out: Path,
    *,
    rfcs: list[str] | None = None,
    renovar: bool = False,
) -> dict:
    """Write ``out/<RFC>/{cadena,terminos,LEEME}.txt`` for every ready RFC.

    Returns the ``activate --solicitudes --json`` object ``{"requests": N, "not_ready": {...}}``.
    """
    tyc = cargar_tyc(settings)
    pedidas, plan = open_solicitudes(engine, settings, rfcs, renovar=renovar, tyc=tyc)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for s in pedidas:
        folder = out / s.rfc
        folder.mkdir(exist_ok=True)
        cadena = folder / sol.CADENA
        if cadena.is_file() and cadena.read_bytes() != s.cadena.encode("utf-8"):
            _limpiar(folder)
        _write(folder / sol.TERMINOS, tyc.texto)
        _write(folder / sol.LEEME, _leeme(s, tyc))
        _write(cadena, s.cadena)
    return {"requests": len(pedidas), "not_ready": _not_ready(plan)}
