"""Evidence bundles: one BagIt (RFC 8493) bag per RFC in a ZIP, ``DIR/<RFC>.zip``.

Layout (one top folder, the bag's name)::

    acuses-<RFC>/bagit.txt
    acuses-<RFC>/bag-info.txt                RFC, name, date, counts, Payload-Oxum
    acuses-<RFC>/manifest-sha256.txt         every data/ file
    acuses-<RFC>/manifest-sha256.txt.sig     base64 RSA-SHA256 of the manifest (institution key)
    acuses-<RFC>/tagmanifest-sha256.txt      the four tag files above
    acuses-<RFC>/data/acuses/<folio>-<tipo>.pdf
    acuses-<RFC>/data/cadenas/<folio>-<tipo>.txt     the exact cadena bytes (UTF-8, no newline)
    acuses-<RFC>/data/sellos/<folio>-<tipo>.txt      base64
    acuses-<RFC>/data/acuses.jsonl
    acuses-<RFC>/data/sello.pem                      institution certificate
    acuses-<RFC>/data/certificados/<numero>.pem      FIEL certificates (T&C)
    acuses-<RFC>/data/terminos/<version>.txt         the exact T&C text signed

Deterministic: entries in sorted order, fixed timestamps and permissions, the bag date is the
last acuse's date; the same acuses give byte-identical ZIPs. Never inside: keys, passwords,
tokens, codes or nonces (only what ``acuses`` holds, minus nothing secret).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path
from typing import Any

from buzon.settings import Settings
from registry.db import get_engine
from registry.export import linea
from registry.folios import TZ
from registry.reader import reporte as lector
from reports.acuses_pdf import generar, leer_acuses, tyc_sha
from reports.safe import rfc_filename, safe_filename
from signers.seal import Sello

FECHA_ZIP = (1980, 1, 1, 0, 0, 0)
BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
MANIFEST = "manifest-sha256.txt"
FIRMA = "manifest-sha256.txt.sig"
TAGMANIFEST = "tagmanifest-sha256.txt"
TAG_FILES = ("bagit.txt", "bag-info.txt", MANIFEST, FIRMA)
RFCS_POR_LOTE = 100


def nombre_bolsa(rfc: str) -> str:
    return f"acuses-{rfc_filename(rfc)}"


def _info_valor(texto: str) -> str:
    """bag-info values are one line."""
    return " ".join(str(texto).split())


def bag_files(
    rfc: str,
    acuses: list[dict[str, Any]],
    pdfs: list[bytes],
    *,
    sello: Sello,
    textos: dict[str, dict[str, str]],
) -> dict[str, bytes]:
    """The bag's files (paths relative to its top folder) for one RFC's acuses."""
    data: dict[str, bytes] = {}
    jsonl = []
    for a, pdf in zip(acuses, pdfs, strict=True):
        stem = f"{a['folio']}-{a['tipo']}"
        data[f"data/acuses/{stem}.pdf"] = pdf
        data[f"data/cadenas/{stem}.txt"] = a["cadena_original"].encode("utf-8")
        data[f"data/sellos/{stem}.txt"] = a["sello"].encode("ascii")
        jsonl.append(json.dumps(linea(a), ensure_ascii=False, sort_keys=True))
        if a.get("numero_certificado") and a.get("certificado_pem"):
            numero = safe_filename(a["numero_certificado"])
            data[f"data/certificados/{numero}.pem"] = a["certificado_pem"].encode("ascii")
        sha = tyc_sha(a)
        if sha and sha in textos:
            version = safe_filename(textos[sha]["version"])
            data[f"data/terminos/{version}.txt"] = textos[sha]["texto"].encode("utf-8")
    data["data/acuses.jsonl"] = ("\n".join(jsonl) + "\n").encode("utf-8")
    data["data/sello.pem"] = sello.certificate_pem.encode("ascii")

    manifest = "".join(
        f"{hashlib.sha256(b).hexdigest()}  {p}\n" for p, b in sorted(data.items())
    ).encode("utf-8")
    ultima = max(a["fecha"] for a in acuses)
    if isinstance(ultima, datetime):
        if ultima.tzinfo is None:
            ultima = ultima.replace(tzinfo=UTC)
        fecha = ultima.astimezone(TZ).date().isoformat()
    else:
        fecha = str(ultima)[:10]
    por_tipo = Counter(a["tipo"] for a in acuses)
    nombre = next((a.get("nombre") for a in reversed(acuses) if a.get("nombre")), "") or ""
    info_lines = [
        ("Source-Organization", "buzon-masivo"),
        ("External-Identifier", rfc),
        ("RFC", rfc),
        ("Razon-Social", _info_valor(nombre)),
        ("Bagging-Date", fecha),
        ("Acuses", str(len(acuses))),
        *((f"Acuses-{t}", str(por_tipo[t])) for t in sorted(por_tipo)),
        ("Sello-Demostracion", "si" if sello.demo else "no"),
        ("Payload-Oxum", f"{sum(len(b) for b in data.values())}.{len(data)}"),
    ]
    files = dict(data)
    files["bagit.txt"] = BAGIT_TXT
    files["bag-info.txt"] = "".join(f"{k}: {v}\n" for k, v in info_lines).encode("utf-8")
    files[MANIFEST] = manifest
    files[FIRMA] = (sello.sign_bytes(manifest) + "\n").encode("ascii")
    files[TAGMANIFEST] = "".join(
        f"{hashlib.sha256(files[t]).hexdigest()}  {t}\n" for t in sorted(TAG_FILES)
    ).encode("utf-8")
    return files


def zip_bytes_to(path: Path, top: str, files: dict[str, bytes]) -> None:
    """Write a deterministic ZIP (sorted entries, fixed times and modes) atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w") as zf:
            for name in sorted(files):
                info = zipfile.ZipInfo(f"{top}/{name}", date_time=FECHA_ZIP)
                info.create_system = 3
                info.external_attr = 0o100644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, files[name], compresslevel=6)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _por_rfc(acuses: list[dict[str, Any]]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    for rfc, grupo in groupby(acuses, key=lambda a: a["rfc"]):
        yield rfc, list(grupo)


def escribir_bundles(
    settings: Settings,
    out: Path,
    *,
    rfcs: list[str] | None = None,
    pagina: str = "a4",
    workers: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """``out/<RFC>.zip`` for every RFC with acuses (of ``rfcs``, or all); returns the paths.

    RFCs are taken ``RFCS_POR_LOTE`` at a time (memory stays bounded by a batch, not by the
    store); a batch's PDFs are made together on every core and each bag is written as soon as
    its RFC's PDFs are done.
    """
    sello = Sello.load(settings)
    with get_engine(settings).connect() as conn:
        todos = lector.rfcs_con_acuses(conn, rfcs)
        conn.rollback()
    paths: list[Path] = []
    for i in range(0, len(todos), RFCS_POR_LOTE):
        acuses, textos = leer_acuses(settings, todos[i : i + RFCS_POR_LOTE])
        solo_texto = {k: v["texto"] for k, v in textos.items()}
        pdfs = generar(acuses, demo=sello.demo, textos=solo_texto, pagina=pagina, workers=workers)
        for rfc, grupo in _por_rfc(acuses):
            mios = [next(pdfs)[1] for _ in grupo]
            path = out / f"{rfc_filename(rfc)}.zip"
            zip_bytes_to(
                path, nombre_bolsa(rfc), bag_files(rfc, grupo, mios, sello=sello, textos=textos)
            )
            paths.append(path)
        if progress is not None:
            progress(f"{len(paths)} de {len(todos)} paquetes")
    return paths
