"""Export the acuses issued so far (``buzon acuses``): ``acuses.jsonl`` plus ``sello.pem``.

Anyone can check a sello with openssl alone::

    openssl dgst -sha256 -verify <(openssl x509 -in sello.pem -pubkey -noout) \
        -signature <(base64 -d <<< "$SELLO") cadena.txt

T&C acuses also carry ``firma`` and ``numero_certificado``; the particular's FIEL certificate is
written to ``certificados/<numero_certificado>.pem`` and checks the firma the same way. Since
cadena 3.1 the firmas cover ``cadena_firmada`` (the signing request's exact bytes), and a joint
signature adds ``rfc_representante``, ``numero_certificado_representante`` and
``firma_representante`` (its certificate under ``certificados/`` too). The exact T&C texts signed
are written to ``terminos/<sha256>.txt`` (index: ``terminos/versiones.tsv``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from registry.acuses import fecha_local
from registry.tables import acuses, terminos_textos
from signers.seal import Sello


def linea(row: Any) -> dict[str, Any]:
    """One acuse as a line of ``acuses.jsonl`` (a row or mapping with the ``acuses`` columns)."""
    get = row.get if isinstance(row, Mapping) else lambda k: getattr(row, k, None)
    rps = get("rps")
    item = {
        "folio": get("folio"),
        "tipo": get("tipo"),
        "fecha": fecha_local(get("fecha")),
        "rfc": get("rfc"),
        "nombre": get("nombre"),
        "rps": rps.split(",") if rps else [],
        "mecanismo": get("mecanismo"),
        "medio": get("medio"),
        "estado": get("estado"),
        "cadena_original": get("cadena_original"),
        "sello": get("sello"),
    }
    # Optional fields: the T&C firma and certificate number; cadena 4.0's registration folio
    # (a validación) and the T&C text's digest.
    for campo in ("firma", "folio_registro", "tyc_sha256", "numero_certificado"):
        if get(campo) is not None:
            item[campo] = get(campo)
    # Signing requests: the exact bytes the firmas cover, when they differ from the acuse's
    # cadena; a joint signature adds the representative's fields.
    firmada = get("cadena_firmada")
    if firmada is not None and firmada != get("cadena_original"):
        item["cadena_firmada"] = firmada
    if get("numero_certificado_representante") is not None:
        for campo in (
            "rfc_representante",
            "numero_certificado_representante",
            "firma_representante",
        ):
            item[campo] = get(campo)
    return item


def exportar(
    conn: Connection,
    sello: Sello,
    out: Path,
    *,
    rfc: str | None = None,
    rfcs: list[str] | None = None,
) -> int:
    """Write ``out/acuses.jsonl`` (folio order) and ``out/sello.pem``; return the acuse count."""
    out.mkdir(parents=True, exist_ok=True)
    q = select(
        acuses.c.folio,
        acuses.c.tipo,
        acuses.c.fecha,
        acuses.c.rfc,
        acuses.c.nombre,
        acuses.c.rps,
        acuses.c.mecanismo,
        acuses.c.medio,
        acuses.c.estado,
        acuses.c.cadena_original,
        acuses.c.sello,
        acuses.c.firma,
        acuses.c.numero_certificado,
        acuses.c.certificado_pem,
        acuses.c.cadena_firmada,
        acuses.c.rfc_representante,
        acuses.c.firma_representante,
        acuses.c.numero_certificado_representante,
        acuses.c.certificado_pem_representante,
        acuses.c.folio_registro,
        acuses.c.tyc_sha256,
    ).order_by(acuses.c.folio)
    if rfc is not None:
        q = q.where(acuses.c.rfc == rfc)
    if rfcs is not None:
        q = q.where(acuses.c.rfc.in_(rfcs))
    n = 0
    tmp = out / ".acuses.jsonl.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        for row in conn.execution_options(stream_results=True, yield_per=2000).execute(q):
            item = linea(row)
            # T&C acuses: the particular's (and a representative's) FIEL certificate, so each
            # firma verifies with openssl alone (certificados/<numero_certificado>.pem).
            if row.numero_certificado is not None:
                _write_certificado(out, row.numero_certificado, row.certificado_pem)
            if row.numero_certificado_representante is not None:
                _write_certificado(
                    out, row.numero_certificado_representante, row.certificado_pem_representante
                )
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
            n += 1
    os.replace(tmp, out / "acuses.jsonl")
    (out / "sello.pem").write_text(sello.certificate_pem, encoding="ascii")
    _write_terminos(conn, out)
    return n


def _write_terminos(conn: Connection, out: Path) -> None:
    """``terminos/<sha256>.txt``: the exact T&C text of every version signed (the cadena names
    its SHA-256, so the file name is the check; the version is the first line of the index)."""
    rows = conn.execute(select(terminos_textos).order_by(terminos_textos.c.version)).all()
    if not rows:
        return
    folder = out / "terminos"
    folder.mkdir(exist_ok=True)
    for r in rows:
        (folder / f"{r.sha256}.txt").write_bytes(r.texto.encode("utf-8"))
    indice = "".join(f"{r.version}\t{r.sha256}\n" for r in rows)
    (folder / "versiones.tsv").write_text("version\tsha256\n" + indice, encoding="utf-8")


def _write_certificado(out: Path, numero: str, pem: str | None) -> None:
    """``certificados/<numero>.pem`` (the number is 20 digits; anything else is not a file name)."""
    if pem and numero.isalnum():
        certs = out / "certificados"
        certs.mkdir(exist_ok=True)
        (certs / f"{numero}.pem").write_text(pem, encoding="ascii")
