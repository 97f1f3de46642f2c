"""RFCs whose Buzón IMSS was activated before 06/08/2024 (guide section VIII).

Under the 2020 rules those particulares already registered their media and signed the Terms and
Conditions; the 2024 Lineamientos hold that obligation as met. :func:`importar` records them from
a file (``rfc`` and optional ``fecha``, ``folio``) as ``activado_previo``: activation skips them
and status counts them as activated. Each RFC keeps its file and row as origin (audit log and
``activaciones_previas.origen``).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, update

from buzon.errors import NoHeaderError
from buzon.settings import Settings
from loaders import RawSheet, read_upload
from registry import audit
from registry.clock import MEXICO
from registry.listos import ACTIVADO_PREVIO, YA_ACTIVADOS
from registry.sql import batches, insert
from registry.tables import activaciones_previas, particulares
from schemas import rfc as rfc_mod
from schemas.headers import normalize

CORTE = date(2024, 8, 6)  # the 2024 Lineamientos took effect: activations before count

_HEADERS = {
    "rfc": "rfc",
    "fecha": "fecha",
    "fechadeactivacion": "fecha",
    "fechaactivacion": "fecha",
    "folio": "folio",
    "foliodeactivacion": "folio",
}
RECHAZOS = {
    "RFC_INVALIDO": "El RFC no tiene el formato de 12 o 13 caracteres o es genérico.",
    "FECHA_INVALIDA": "La fecha no se entiende; usa DD/MM/AAAA o AAAA-MM-DD.",
    "FECHA_POSTERIOR": "La fecha es del 06/08/2024 o posterior: ese RFC debe activarse.",
    "DUPLICADO": "El RFC ya aparece antes en el archivo.",
}


@dataclass
class Importacion:
    imported: int = 0
    already: int = 0
    rejected: Counter = field(default_factory=Counter)
    detalle: list[dict[str, Any]] = field(default_factory=list)  # one per rejected row

    def as_json(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "already": self.already,
            "rejected": dict(sorted(self.rejected.items())),
        }


def parse_fecha(text: str | None) -> date | None:
    """A calendar date from the forms people and spreadsheets write; ``None`` if empty.

    >>> [parse_fecha(x) for x in ("01/08/2024", "2024-07-31", "2024-07-31 00:00:00", "45505")]
    [datetime.date(2024, 8, 1), datetime.date(2024, 7, 31), datetime.date(2024, 7, 31), \
datetime.date(2024, 8, 1)]
    >>> parse_fecha("")
    """
    text = (text or "").strip()
    if not text:
        return None
    if re.fullmatch(r"\d{4,5}(\.0+)?", text):  # an Excel serial day
        return date(1899, 12, 30) + timedelta(days=int(float(text)))
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})([ T].*)?", text)
    if m:
        return date(int(m[1]), int(m[2]), int(m[3]))
    m = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text)
    if m:
        return date(int(m[3]), int(m[2]), int(m[1]))
    raise ValueError(text)


def _sheet_rows(sheet: RawSheet) -> list[dict[str, Any]] | None:
    """The rows under the first header row (within 10) that has an RFC column, or None."""
    frame = sheet.frame
    cells = [c for c in frame.columns if c != "fila"]
    for index, row in enumerate(frame.head(10).select(cells).iter_rows()):
        roles = {}
        for column, value in zip(cells, row, strict=True):
            found = _HEADERS.get(normalize(value))
            if found and found not in roles.values():
                roles[column] = found
        if "rfc" in roles.values():
            body = frame.slice(index + 1).select("fila", *roles)
            out = []
            for values in body.iter_rows(named=True):
                data = {roles[c]: (values[c] or "").strip() for c in roles}
                if any(data.values()):
                    out.append({"fila": values["fila"], **data})
            return out
    return None


def leer(path: Path, max_bytes: int) -> list[dict[str, Any]]:
    """Every data row of ``path``: ``archivo, hoja, fila`` (provenance), ``rfc, fecha, folio``."""
    rows: list[dict[str, Any]] = []
    found = False
    for sheet in read_upload(path, max_bytes=max_bytes):
        sheet_rows = _sheet_rows(sheet)
        if sheet_rows is None:
            continue
        found = True
        rows += [{"archivo": sheet.archivo, "hoja": sheet.hoja, **r} for r in sheet_rows]
    if not found:
        raise NoHeaderError(
            "ninguna hoja tiene una fila de encabezados con columna RFC en sus primeras 10 filas",
            archivo=path.name,
        )
    return rows


def _instante(dia: date) -> datetime:
    """Midnight of ``dia`` in Mexico City, as a UTC instant."""
    return datetime(dia.year, dia.month, dia.day, tzinfo=MEXICO).astimezone(UTC)


def importar(settings: Settings, path: Path, *, engine: Engine | None = None) -> Importacion:
    """Record the RFCs of ``path`` as activated before 06/08/2024; one transaction.

    Rows are validated first (``RFC_INVALIDO``, ``FECHA_INVALIDA``, ``FECHA_POSTERIOR``,
    ``DUPLICADO``); an RFC already ``activado`` or ``activado_previo`` counts as ``already``.
    Importing the same file again changes nothing.
    """
    from registry.db import get_engine

    rows = leer(path, settings.max_file_bytes)
    res = Importacion()
    validos: dict[str, dict[str, Any]] = {}
    for row in rows:
        codigo = None
        if not rfc_mod.is_valid(row.get("rfc", "")):
            codigo = "RFC_INVALIDO"
        else:
            row["rfc"] = rfc_mod.compact(row["rfc"])
            try:
                row["dia"] = parse_fecha(row.get("fecha"))
            except ValueError:
                codigo = "FECHA_INVALIDA"
            else:
                if row["dia"] is not None and row["dia"] >= CORTE:
                    codigo = "FECHA_POSTERIOR"
                elif row["rfc"] in validos:
                    codigo = "DUPLICADO"
        if codigo:
            res.rejected[codigo] += 1
            res.detalle.append({**row, "codigo": codigo, "mensaje": RECHAZOS[codigo]})
            continue
        validos[row["rfc"]] = row
    engine = engine or get_engine(settings)
    now = settings.clock().astimezone(UTC)
    with engine.begin() as conn:
        estados: dict[str, str] = {}
        for part in batches(sorted(validos)):
            estados.update(
                conn.execute(
                    select(particulares.c.rfc, particulares.c.estado)
                    .where(particulares.c.rfc.in_(part))
                    .with_for_update()
                ).all()
            )
        nuevos = [r for r in validos if r not in estados]
        pendientes = [r for r, e in estados.items() if e not in YA_ACTIVADOS]
        res.already = len(validos) - len(nuevos) - len(pendientes)
        marcar = sorted(nuevos + pendientes)
        if not marcar:
            return res

        def activado_en(rfc: str) -> datetime | None:
            dia = validos[rfc]["dia"]
            return _instante(dia) if dia else None

        if nuevos:
            conn.execute(
                insert(conn, particulares),
                [
                    {
                        "rfc": r,
                        "nombre": None,
                        "estado": ACTIVADO_PREVIO,
                        "activado_en": activado_en(r),
                        "creado_en": now,
                    }
                    for r in sorted(nuevos)
                ],
            )
        for r in pendientes:
            conn.execute(
                update(particulares)
                .where(particulares.c.rfc == r, particulares.c.estado.not_in(YA_ACTIVADOS))
                .values(estado=ACTIVADO_PREVIO, activado_en=activado_en(r))
            )

        def origen(r: str) -> str:
            row = validos[r]
            return audit.origen_fila(row["archivo"], row["hoja"], row["fila"])

        conn.execute(
            insert(conn, activaciones_previas),
            [
                {
                    "rfc": r,
                    "fecha": activado_en(r),
                    "folio": validos[r].get("folio") or None,
                    "origen": origen(r),
                    "importado_en": now,
                }
                for r in marcar
            ],
        )
        audit.registrar(
            conn,
            (
                audit.fila(
                    "particular",
                    r,
                    estados.get(r),
                    ACTIVADO_PREVIO,
                    origen=origen(r),
                    en=now,
                    detalle="Buzón IMSS activado antes del 06/08/2024 (obligación cumplida)",
                )
                for r in marcar
            ),
        )
        res.imported = len(marcar)
    return res
