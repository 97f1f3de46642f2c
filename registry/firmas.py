"""Signing requests and the signatures that come back: the one path to a T&C acuse.

1. ``registry.solicitudes.open_solicitudes`` gives every ready RFC one open request;
   :func:`write_solicitudes` (re-exported here) puts them in ``DIR/<RFC>/`` for the holders.
2. The holder signs on their own machine (``buzon efirma firmar`` or openssl).
3. :func:`importar` checks each signature (open request of this registry, every e.firma check,
   the firma over the exact request bytes), issues the T&C acuse (its sello covers the signed
   request, the certificate numbers and the firmas) and activates the RFC, one transaction per
   chunk. A refused signature leaves the request open; a re-run activates nothing twice.
   :func:`import_firmas` reads them from ``DIR/<RFC>/``.

``activate --keystore`` runs the same three steps in memory with the keystore's keys.

A legal representative (``representante/`` in the request folder) signs the same request
jointly with the particular; the representative is then recorded as designated for that RFC and
may sign later requests for it alone. Anyone else's FIEL is ``EFIRMA_RFC_DISTINTO``.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from sqlalchemy import Engine, bindparam, insert, select, update

from buzon.errors import (
    ConfigError,
    EfirmaError,
    EfirmaFirmaInvalida,
    EfirmaRfcDistinto,
    SolicitudDesconocida,
)
from buzon.settings import Settings
from registry import acuses as acuses_mod
from registry import audit
from registry import folios as folios_mod
from registry.listos import ACTIVADO, PENDIENTE, YA_ACTIVADOS, Resultado, candidatos
from registry.solicitudes import (  # noqa: F401 - the public interface lives here too
    ABIERTA,
    USADA,
    Solicitud,
    open_solicitudes,
    write_solicitudes,
)
from registry.sql import batches
from registry.tables import particulares, representantes, solicitudes
from signers import solicitud as sol
from signers.efirma import Certificado, Revocacion, check, load_trusted
from signers.ocsp import from_settings as ocsp_from_settings
from signers.seal import Sello
from signers.solicitud import Entrega, Firmante
from signers.tyc import Tyc
from signers.tyc import cargar as cargar_tyc

ORIGEN = "comando:activate"
# OCSP queries wait on the network: that many in flight at once.
WORKERS = 8


# --- importing signatures -------------------------------------------------------------------


@dataclass
class Firmado:
    """A signature that passed every check, ready to become an acuse."""

    entrega: Entrega
    folio_solicitud: str
    titular: Certificado | None
    representante: Certificado | None
    conjunta: bool
    firma_titular: str | None = None
    firma_representante: str | None = None


@dataclass(frozen=True)
class Verificador:
    now: datetime
    trusted: list[x509.Certificate] | None
    revocation: Revocacion | None

    def firmante(self, f: Firmante, cadena: bytes, rfc: str | None) -> Certificado:
        cert = f.cert()
        check(cert, now=self.now, rfc=rfc, trusted=self.trusted, revocation=self.revocation)
        if not cert.verify(cadena, f.firma):
            raise EfirmaFirmaInvalida(
                "la firma no corresponde a cadena.txt con este certificado",
                numero_certificado=cert.numero_certificado,
            )
        return cert


def _designados(engine: Engine, rfcs: Sequence[str]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    with engine.connect() as conn:
        for part in batches(sorted(set(rfcs))):
            rows = conn.execute(
                select(representantes.c.rfc, representantes.c.rfc_representante).where(
                    representantes.c.rfc.in_(part)
                )
            )
            found.update((r.rfc, r.rfc_representante) for r in rows)
        conn.rollback()
    return found


def _verificar(e: Entrega, folio: str, v: Verificador, designados: set[tuple[str, str]]) -> Firmado:
    """Every check for one request folder; raise the first problem (an ``EfirmaError``)."""
    titular, rep = e.titular, e.representante
    if titular is not None:
        cert = titular.cert()
        if (cert.rfc or "").upper() == e.rfc:
            t = v.firmante(titular, e.cadena, e.rfc)
            r = v.firmante(rep, e.cadena, None) if rep is not None else None
            return Firmado(e, folio, t, r, r is not None, titular.firma, rep.firma if rep else None)
        if rep is None:
            rep = titular  # another RFC's FIEL in the particular's place: a representative?
    if rep is None:
        raise SolicitudDesconocida("la carpeta no tiene firma.b64 ni efirma.cer")
    r = v.firmante(rep, e.cadena, None)
    if (e.rfc, (r.rfc or "").upper()) not in designados:
        raise EfirmaRfcDistinto(
            f"la e.firma es del RFC {r.rfc or '(sin RFC)'}, no de {e.rfc}, y no es un "
            "representante designado: firme junto con el particular (firma conjunta)",
            numero_certificado=r.numero_certificado,
        )
    return Firmado(e, folio, None, r, False, None, rep.firma)


def _acuse(
    f: Firmado, folio: str, nombre: str | None, tyc: tuple[str, str, str], now: datetime
) -> dict:
    t, r = f.titular, f.representante
    base = t or r
    assert base is not None
    acuse = {
        "folio": folio,
        "fecha": now,
        "tipo": "terminos",
        "rfc": f.entrega.rfc,
        "nombre": nombre or base.nombre,
        "estado": "aceptado",
        "tyc_version": tyc[0],
        "tyc_sha256": tyc[1],
        "numero_certificado": t.numero_certificado if t else None,
        "certificado_pem": t.pem if t else None,
        "firma": f.firma_titular,
        "solicitud": f.folio_solicitud,
        "cadena_firmada": f.entrega.cadena.decode("utf-8"),
        "origen_texto": tyc[2],
    }
    if r is not None:
        acuse |= {
            "rfc_representante": (r.rfc or "").upper(),
            "numero_certificado_representante": r.numero_certificado,
            "certificado_pem_representante": r.pem,
            "firma_representante": f.firma_representante,
        }
    return acuse


def importar(
    engine: Engine,
    settings: Settings,
    entregas: Sequence[Entrega],
    *,
    now: datetime | None = None,
    sello: Sello | None = None,
    trusted: list[x509.Certificate] | None = None,
    revocation: Revocacion | None = None,
    chunk_size: int = 500,
    tyc: Tyc | None = None,
) -> Resultado:
    """Check the returned signatures and activate their RFCs (see the module docstring)."""
    now = now or settings.clock()
    tyc = tyc or cargar_tyc(settings)
    sello = sello or Sello.load(settings)
    res = Resultado()
    # Which request each folder brings, read once: re-runs and strangers stop here, cheaply.
    cabeceras: dict[str, str] = {}
    for e in entregas:
        try:
            cab = sol.parse_cabecera(e.cadena)
            if cab.rfc.upper() != e.rfc:
                raise SolicitudDesconocida(
                    f"cadena.txt es una solicitud del RFC {cab.rfc}, no de {e.rfc}"
                )
            cabeceras[e.rfc] = cab.folio
        except EfirmaError as exc:
            res.failed[e.rfc] = exc
    vivas = [e for e in entregas if e.rfc in cabeceras]
    with engine.connect() as conn:
        guardadas: dict[str, Any] = {}
        for part in batches(sorted(set(cabeceras.values()))):
            guardadas.update(
                {
                    r.folio: r
                    for r in conn.execute(select(solicitudes).where(solicitudes.c.folio.in_(part)))
                }
            )
        conn.rollback()
    pendientes: list[Entrega] = []
    for e in vivas:
        row = guardadas.get(cabeceras[e.rfc])
        if row is not None and row.rfc == e.rfc and row.estado == USADA:
            res.already_active.append(e.rfc)  # a re-run over a folder already imported
        elif row is None or row.rfc != e.rfc or row.estado != ABIERTA:
            res.failed[e.rfc] = SolicitudDesconocida(
                "la solicitud no es una solicitud abierta de este registro "
                "(desconocida, reemplazada o de otro RFC)",
                solicitud=cabeceras[e.rfc],
            )
        elif row.cadena.encode("utf-8") != e.cadena:
            res.failed[e.rfc] = EfirmaFirmaInvalida(
                "cadena.txt fue modificada: no es la solicitud emitida", solicitud=row.folio
            )
        else:
            pendientes.append(e)
    designados = _designados(engine, [e.rfc for e in pendientes])
    v = Verificador(now=now, trusted=trusted, revocation=revocation)

    def one(e: Entrega) -> Firmado | EfirmaError:
        try:
            return _verificar(e, cabeceras[e.rfc], v, designados)
        except EfirmaError as exc:
            return exc

    if revocation is None:
        # ~0.1 ms of CPU each: a thread hand-off would cost more than the work.
        checked = [one(e) for e in pendientes]
    else:
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:  # OCSP waits on the network
            checked = list(pool.map(one, pendientes))
    firmados = [c for c in checked if isinstance(c, Firmado)]
    for e, c in zip(pendientes, checked, strict=True):
        if isinstance(c, EfirmaError):
            res.failed[e.rfc] = c
    # The audit says whose text it was (project or operator) when it is the text in force.
    vigente = (tyc.version, tyc.sha256)
    textos = {
        r.folio: (
            r.tyc_version,
            r.tyc_sha256,
            f" ({tyc.origen})" if (r.tyc_version, r.tyc_sha256) == vigente else "",
        )
        for r in guardadas.values()
    }
    for start in range(0, len(firmados), chunk_size):
        parte = firmados[start : start + chunk_size]
        res.merge(_activar(engine, settings, parte, textos, sello, now))
    return res


def _activar(
    engine: Engine,
    settings: Settings,
    firmados: Sequence[Firmado],
    textos: dict[str, tuple[str, str, str]],
    sello: Sello,
    now: datetime,
) -> Resultado:
    """One transaction: lock, re-check readiness and the request, issue acuses, activate."""
    res = Resultado()
    by_rfc = {f.entrega.rfc: f for f in firmados}
    with engine.begin() as conn:
        listos = candidatos(conn, sorted(by_rfc))
        res.not_ready.update(listos.not_ready)
        res.already_active += listos.already_active
        nombres: dict[str, str | None] = {}
        for part in batches(listos.activated):
            rows = conn.execute(
                select(particulares.c.rfc, particulares.c.nombre)
                .where(particulares.c.rfc.in_(part), particulares.c.estado.not_in(YA_ACTIVADOS))
                .with_for_update()
            )
            nombres.update({r.rfc: r.nombre for r in rows})
        abiertas: set[str] = set()
        for part in batches(sorted(by_rfc[r].folio_solicitud for r in nombres)):
            abiertas.update(
                conn.execute(
                    select(solicitudes.c.folio).where(
                        solicitudes.c.folio.in_(part), solicitudes.c.estado == ABIERTA
                    )
                ).scalars()
            )
        ids = []
        for rfc in sorted(nombres):
            if by_rfc[rfc].folio_solicitud in abiertas:
                ids.append(rfc)
            else:  # replaced or used by a concurrent run since the first read
                res.failed[rfc] = SolicitudDesconocida(
                    "la solicitud ya no está abierta", solicitud=by_rfc[rfc].folio_solicitud
                )
        if not ids:
            return res
        folios = folios_mod.allocate(conn, len(ids), now)
        nuevos = [
            _acuse(by_rfc[rfc], folio, nombres[rfc], textos[by_rfc[rfc].folio_solicitud], now)
            for rfc, folio in zip(ids, folios, strict=True)
        ]
        acuses_mod.emitir(conn, settings, nuevos, sello=sello, now=now)
        conn.execute(
            update(particulares)
            .where(
                particulares.c.rfc == bindparam("b_rfc"),
                *(particulares.c.estado != e for e in YA_ACTIVADOS),  # executemany: no IN list
            )
            .values(estado=ACTIVADO, activado_en=now, tyc_folio=bindparam("b_folio")),
            [{"b_rfc": a["rfc"], "b_folio": a["folio"]} for a in nuevos],
        )
        conn.execute(
            update(solicitudes)
            .where(solicitudes.c.folio == bindparam("b_sol"))
            .values(estado=USADA, cerrada_en=now, acuse_folio=bindparam("b_folio")),
            [{"b_sol": a["solicitud"], "b_folio": a["folio"]} for a in nuevos],
        )
        designar = [
            {
                "rfc": a["rfc"],
                "rfc_representante": a["rfc_representante"],
                "numero_certificado": a["numero_certificado_representante"],
                "acuse_folio": a["folio"],
                "designado_en": now,
            }
            for a in nuevos
            if by_rfc[a["rfc"]].conjunta
        ]
        if designar:
            ya = set()
            for part in batches(sorted({d["rfc"] for d in designar})):
                ya.update(
                    (r.rfc, r.rfc_representante)
                    for r in conn.execute(
                        select(representantes.c.rfc, representantes.c.rfc_representante).where(
                            representantes.c.rfc.in_(part)
                        )
                    )
                )
            nuevos_rep = [d for d in designar if (d["rfc"], d["rfc_representante"]) not in ya]
            if nuevos_rep:
                conn.execute(insert(representantes), nuevos_rep)
        audit.registrar(conn, (_auditoria(a, now) for a in nuevos))
    res.activated = ids
    return res


def _auditoria(a: dict[str, Any], now: datetime) -> dict[str, Any]:
    quien = f"certificado={a['numero_certificado']}" if a["numero_certificado"] else ""
    if a.get("rfc_representante"):
        quien += (
            f" representante={a['rfc_representante']} "
            f"certificado_representante={a['numero_certificado_representante']}"
        )
    return audit.fila(
        "particular",
        a["rfc"],
        PENDIENTE,
        ACTIVADO,
        origen=ORIGEN,
        en=now,
        detalle=(
            f"términos y condiciones {a['tyc_version']}{a['origen_texto']} "
            f"sha256={a['tyc_sha256']} "
            f"solicitud={a['solicitud']} {quien.strip()} folio={a['folio']}"
        ),
    )


def import_firmas(engine: Engine, settings: Settings, folder: Path) -> dict:
    """Import ``folder/<RFC>/`` signatures; the ``activate --firmas --json`` object."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"la carpeta de firmas no existe: {folder}")
    trusted = load_trusted(settings.sat_ca_dir)
    revocation = ocsp_from_settings(settings, trusted)
    entregas: list[Entrega] = []
    failed: dict[str, EfirmaError] = {}
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            e = sol.read_entrega(sub)
        except EfirmaError as exc:
            failed[sub.name.upper()] = exc
            continue
        if e is not None:
            entregas.append(e)
    res = importar(engine, settings, entregas, trusted=trusted, revocation=revocation)
    res.failed.update(failed)
    return {
        "activated": len(res.activated),
        "failed": {rfc: exc.code for rfc, exc in sorted(res.failed.items())},
        "not_ready": dict(sorted(res.not_ready.items())),
    }
