"""Acuses: the cadena original (a contract with verifiers, pinned in docs/FOLIOS_Y_ACUSES.md), its
sello digital, and the rows in ``acuses``.

Cadena original 4.0, one line::

    ||4.0|folio|fecha|tipo|rfc|nombre|mecanismo|medio|estado|rps|folio_registro||

and for terminos the same fields followed by (one line)
``|tyc_version|tyc_sha256|numero_certificado|solicitud|cadena_firmada_sha256|firma|rfc_representante
|numero_certificado_representante|firma_representante``. The terminos acuse's sello covers the
signed request (by its SHA-256), the certificate numbers and the firmas themselves; the firmas
cover the request's exact bytes (``cadena_firmada``).

``fecha`` is ISO 8601 to the second in America/Mexico_City with its offset; ``rps`` the associated
Registros Patronales, sorted, comma-separated (empty when none); ``folio_registro`` the folio of
the registration a validación settles (empty for every other kind). Values are escaped by
:func:`escapar`. Kinds: registro, actualizacion, validacion, baja, terminos. Acuses issued as 3.0
(no ``nombre``, no ``folio_registro``) keep their stored cadena and still verify;
:func:`campos` reads both layouts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from buzon.errors import RegistryError
from buzon.settings import Settings
from registry import folios as folios_mod
from registry.folios import TZ
from registry.sql import bulk_insert
from registry.tables import acuses as acuses_table
from registry.tables import medios, particulares
from signers.seal import Sello, Sellos

VERSION = "4.0"
TIPOS = ("registro", "actualizacion", "validacion", "baja", "terminos")
CAMPOS = (
    "folio",
    "fecha",
    "tipo",
    "rfc",
    "nombre",
    "mecanismo",
    "medio",
    "estado",
    "rps",
    "folio_registro",
)
CAMPOS_TERMINOS = ("tyc_version", "tyc_sha256", "numero_certificado")
CAMPOS_FIRMAS = (
    "solicitud",
    "cadena_firmada_sha256",
    "firma",
    "rfc_representante",
    "numero_certificado_representante",
    "firma_representante",
)
# Stored beside the cadena for terminos acuses (not part of it, or only by digest).
COLUMNAS_FIRMAS = (
    "cadena_firmada",
    "solicitud",
    "rfc_representante",
    "firma_representante",
    "numero_certificado_representante",
    "certificado_pem_representante",
)
_CAMPOS_3 = ("folio", "fecha", "tipo", "rfc", "mecanismo", "medio", "estado", "rps")
# Every layout ever issued, to read (never to issue) the acuses issued with them: 3.0; 3.1
# (terminos with its firmas, before the name and the registration folio); 4.0.
CAMPOS_POR_VERSION = {
    "3.0": _CAMPOS_3,
    "3.1": _CAMPOS_3 + CAMPOS_TERMINOS + CAMPOS_FIRMAS,
    VERSION: CAMPOS,
}
_WS = re.compile(r"\s+")


def escapar(value: object) -> str:
    r"""A field value as it goes into the cadena: one line, ``\`` and ``|`` escaped with ``\``.

    >>> escapar(" Ana |  Pérez\n"), escapar(None), escapar("a\\b")
    ('Ana \\| Pérez', '', 'a\\\\b')
    """
    if value is None:
        return ""
    text = str(value)
    # Fast path (a cadena per validation, a hundred thousand per run): printable text with single
    # inner spaces has nothing to collapse; only a space can be whitespace and printable.
    if not (text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " "):
        text = _WS.sub(" ", text).strip()
    if "\\" in text or "|" in text:
        text = text.replace("\\", "\\\\").replace("|", "\\|")
    return text


def fecha_local(instant: datetime) -> str:
    """An instant as the cadena writes it (naive values are UTC, as SQLite returns them).

    >>> fecha_local(datetime(2024, 8, 8, 17, 42, 45, 846000, tzinfo=UTC))
    '2024-08-08T11:42:45-06:00'
    """
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(TZ).isoformat(timespec="seconds")


def rps_texto(rps: Iterable[str] | str | None) -> str:
    """Associated RPs, sorted and comma-separated."""
    if rps is None:
        return ""
    if isinstance(rps, str):
        rps = [r for r in rps.split(",") if r]
    return ",".join(sorted(set(rps)))


def cadena_original(acuse: dict[str, Any]) -> str:
    """The cadena original of one acuse (keys as in :data:`CAMPOS`; ``fecha`` a datetime)."""
    if acuse["tipo"] not in TIPOS:
        raise RegistryError("tipo de acuse desconocido", tipo=acuse["tipo"])
    values = dict(acuse, fecha=fecha_local(acuse["fecha"]), rps=rps_texto(acuse.get("rps")))
    version, campos = VERSION, CAMPOS
    if acuse["tipo"] == "terminos":
        campos = CAMPOS + CAMPOS_TERMINOS + CAMPOS_FIRMAS
        firmada = acuse.get("cadena_firmada")
        if firmada is not None:
            values["cadena_firmada_sha256"] = hashlib.sha256(firmada.encode("utf-8")).hexdigest()
    return "||" + "|".join([version] + [escapar(values.get(c)) for c in campos]) + "||"


def campos(cadena: str) -> dict[str, str]:
    r"""The fields of a cadena original of any issued version (``version`` included).

    >>> campos("||3.0|BI-1|2024-08-08T11:42:45-06:00|baja|EKU9003173C9|correo|a@b|baja|||")["tipo"]
    'baja'
    >>> campos(r"||4.0|BI-2|f|registro|R|Ana \| Cía|correo|a@b.mx|registrado||||")["nombre"]
    'Ana | Cía'
    """
    if not (cadena.startswith("||") and cadena.endswith("||")):
        raise RegistryError("cadena original mal formada")
    partes: list[str] = []
    actual: list[str] = []
    escape = False
    for ch in cadena[2:-2]:
        if escape:
            actual.append(ch)
            escape = False
        elif ch == "\\":
            escape = True
        elif ch == "|":
            partes.append("".join(actual))
            actual = []
        else:
            actual.append(ch)
    partes.append("".join(actual))
    version, valores = partes[0], partes[1:]
    nombres = CAMPOS_POR_VERSION.get(version)
    if nombres is None:
        raise RegistryError("versión de cadena original desconocida", version=version)
    for cola in (CAMPOS_TERMINOS, CAMPOS_TERMINOS + CAMPOS_FIRMAS):  # a terminos acuse's tail
        if len(valores) == len(nombres) + len(cola):
            nombres = nombres + cola
    if len(valores) != len(nombres):
        raise RegistryError("cadena original con campos de más o de menos", version=version)
    return {"version": version, **dict(zip(nombres, valores, strict=True))}


def emitir(
    conn: Connection,
    settings: Settings,
    acuses: Sequence[dict[str, Any]],
    *,
    sello: Sello | None = None,
    now: datetime | None = None,
) -> list[str]:
    """Issue acuses in the caller's transaction; return their folios in input order.

    Each dict has ``tipo``, ``rfc`` and optionally ``nombre``, ``rps`` (list or comma string),
    ``mecanismo``, ``medio``, ``estado``, ``medio_id``, ``fecha`` (default ``now``), ``folio``
    (default: a new one), and for ``terminos`` also ``tyc_version``, ``tyc_sha256``,
    ``numero_certificado``, ``firma``, ``certificado_pem``.
    """
    emision = preparar(conn, settings, acuses, sello=sello, now=now)
    emision.insertar(conn)
    return emision.folios


@dataclass
class Emision:
    """Acuses whose sellos are being made in the background (see :func:`preparar`)."""

    completos: list[dict[str, Any]]
    cadenas: list[str]
    esperar: Callable[[], list[str]]

    @property
    def folios(self) -> list[str]:
        return [a["folio"] for a in self.completos]

    def insertar(self, conn: Connection, medio_ids: dict[str, int] | None = None) -> None:
        """Wait for the sellos and insert the rows; ``medio_ids`` fills ``medio_id`` by folio.

        Rows are inserted part by part as their sellos arrive, so only the last part waits.
        """
        partes = self.esperar if isinstance(self.esperar, Sellos) else [self.esperar()]
        ids = medio_ids or {}
        inicio = 0
        for sellos in partes:
            fin = inicio + len(sellos)
            rows = [
                {
                    "folio": a["folio"],
                    "tipo": a["tipo"],
                    "fecha": a["fecha"],
                    "rfc": a["rfc"],
                    "nombre": a.get("nombre"),
                    "rps": a["rps"] or None,
                    "mecanismo": a.get("mecanismo"),
                    "medio": a.get("medio"),
                    "estado": a.get("estado") or "",
                    "medio_id": a.get("medio_id") or ids.get(a["folio"]),
                    "cadena_original": cadena,
                    "sello": s,
                    "firma": a.get("firma"),
                    "numero_certificado": a.get("numero_certificado"),
                    "certificado_pem": a.get("certificado_pem"),
                    **{c: a.get(c) for c in COLUMNAS_FIRMAS},
                    "folio_registro": a.get("folio_registro") or None,
                    "tyc_sha256": a.get("tyc_sha256"),
                }
                for a, cadena, s in zip(
                    self.completos[inicio:fin], self.cadenas[inicio:fin], sellos, strict=True
                )
            ]
            bulk_insert(conn, acuses_table, rows)
            inicio = fin
        if inicio != len(self.completos):
            raise RegistryError("faltan sellos", esperados=len(self.completos), sellos=inicio)


def _folios_registro(conn: Connection, completos: list[dict[str, Any]]) -> None:
    """A validación settles its medium's registration: its cadena names that folio."""
    faltan = sorted(
        {
            a["medio_id"]
            for a in completos
            if a["tipo"] == "validacion" and not a.get("folio_registro") and a.get("medio_id")
        }
    )
    if not faltan:
        return
    por_id: dict[int, str] = {}
    for i in range(0, len(faltan), 5000):
        q = select(medios.c.id, medios.c.folio).where(medios.c.id.in_(faltan[i : i + 5000]))
        por_id.update({r.id: r.folio for r in conn.execute(q)})
    for a in completos:
        if a["tipo"] == "validacion" and not a.get("folio_registro"):
            a["folio_registro"] = por_id.get(a.get("medio_id"))


def _nombres(conn: Connection, completos: list[dict[str, Any]]) -> None:
    """The cadena seals the particular's name: an upload without one takes the registry's."""
    faltan = sorted({a["rfc"] for a in completos if not a.get("nombre")})
    if not faltan:
        return
    por_rfc: dict[str, str | None] = {}
    for i in range(0, len(faltan), 5000):
        q = select(particulares.c.rfc, particulares.c.nombre).where(
            particulares.c.rfc.in_(faltan[i : i + 5000])
        )
        por_rfc.update({r.rfc: r.nombre for r in conn.execute(q)})
    for a in completos:
        if not a.get("nombre"):
            a["nombre"] = por_rfc.get(a["rfc"])


def preparar(
    conn: Connection,
    settings: Settings,
    acuses: Sequence[dict[str, Any]],
    *,
    sello: Sello | None = None,
    now: datetime | None = None,
) -> Emision:
    """Allocate missing folios, build the cadenas and start sealing them; insert later with
    :meth:`Emision.insertar` in the same transaction (the caller's other writes overlap the
    signing)."""
    now = now or settings.clock()
    sin_folio = [i for i, a in enumerate(acuses) if not a.get("folio")]
    nuevos = iter(folios_mod.allocate(conn, len(sin_folio), now))
    completos = [dict(a) for a in acuses]
    for i in sin_folio:
        completos[i]["folio"] = next(nuevos)
    for a in completos:
        a.setdefault("fecha", now)
        a["rps"] = rps_texto(a.get("rps"))
    _folios_registro(conn, completos)
    _nombres(conn, completos)
    cadenas = [cadena_original(a) for a in completos]
    if not cadenas:
        return Emision(completos, cadenas, Sellos([]))
    sello = sello or Sello.load(settings)
    return Emision(completos, cadenas, sello.sign_many_async(cadenas))
