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
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path
from typing import Any

from buzon.settings import Settings
from registry.db import get_engine
from registry.export import linea
from registry.folios import TZ
from registry.reader import reporte as lector
from reports.acuses_pdf import EN_PROCESO, POR_TAREA, leer_acuses, tyc_sha
from reports.pdf import acuse_pdf
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
        for sufijo in ("", "_representante"):  # the particular's and a representative's FIEL
            numero, pem = a.get(f"numero_certificado{sufijo}"), a.get(f"certificado_pem{sufijo}")
            if numero and pem:
                data[f"data/certificados/{safe_filename(numero)}.pem"] = pem.encode("ascii")
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


_SELLOS: dict[str, Sello] = {}


def _sello(settings: Settings) -> Sello:
    """The seal, loaded once per (worker) process: keys do not travel between processes."""
    clave = settings.model_dump_json()
    if clave not in _SELLOS:
        _SELLOS[clave] = Sello.load(settings)
    return _SELLOS[clave]


Tarea = tuple[Settings, str, list[tuple[str, list[dict[str, Any]]]], dict, str]


def _bolsas(tarea: Tarea) -> list[str]:
    """Whole bags (PDFs, ZIP) for a few RFCs, in a worker: only paths come back."""
    settings, out, grupos, textos, pagina = tarea
    sello = _sello(settings)
    solo_texto = {k: v["texto"] for k, v in textos.items()}
    paths = []
    for rfc, grupo in grupos:
        pdfs = [
            acuse_pdf(a, demo=sello.demo, terminos=solo_texto.get(tyc_sha(a) or ""), pagina=pagina)
            for a in grupo
        ]
        path = Path(out) / f"{rfc_filename(rfc)}.zip"
        zip_bytes_to(
            path, nombre_bolsa(rfc), bag_files(rfc, grupo, pdfs, sello=sello, textos=textos)
        )
        paths.append(str(path))
    return paths


def _tareas(
    settings: Settings, out: Path, acuses: list[dict[str, Any]], textos: dict, pagina: str
) -> list[Tarea]:
    """Whole RFCs per task, about ``POR_TAREA`` acuses each (a large RFC is a task alone)."""
    tareas: list[Tarea] = []
    actual: list[tuple[str, list[dict[str, Any]]]] = []
    n = 0
    for rfc, grupo in _por_rfc(acuses):
        actual.append((rfc, grupo))
        n += len(grupo)
        if n >= POR_TAREA:
            tareas.append((settings, str(out), actual, textos, pagina))
            actual, n = [], 0
    if actual:
        tareas.append((settings, str(out), actual, textos, pagina))
    return tareas


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

    RFCs are read ``RFCS_POR_LOTE`` at a time (memory stays bounded by a batch, not by the
    store). Each task builds whole bags (PDFs, hashes, ZIP) for a few RFCs on a worker process,
    so every core does all the work and only file paths come back.
    """
    _sello(settings)  # the embedded default seal is created here, once, before any worker
    with get_engine(settings).connect() as conn:
        todos = lector.rfcs_con_acuses(conn, rfcs)
        conn.rollback()
    workers = workers or os.cpu_count() or 1
    paths: list[Path] = []
    pool = ProcessPoolExecutor(max_workers=workers) if workers > 1 and todos else None
    try:
        for i in range(0, len(todos), RFCS_POR_LOTE):
            acuses, textos = leer_acuses(settings, todos[i : i + RFCS_POR_LOTE])
            tareas = _tareas(settings, out, acuses, textos, pagina)
            if pool is None or len(acuses) < EN_PROCESO:
                hechos = map(_bolsas, tareas)
            else:
                hechos = pool.map(_bolsas, tareas)
            paths.extend(Path(p) for lote in hechos for p in lote)
            if progress is not None:
                progress(f"{len(paths)} de {len(todos)} paquetes")
    finally:
        if pool is not None:
            pool.shutdown()
    return paths
