"""Acuse PDFs in bulk: ``buzon acuses --pdf --out DIR`` writes ``DIR/pdf/<folio>-<tipo>.pdf``.

reportlab is pure Python (it holds the GIL), so many PDFs are made in worker processes, a few
hundred acuses per task; a small batch is made in this process.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from buzon.errors import RegistryError
from buzon.files import atomic_write
from buzon.settings import Settings
from registry.acuses import campos
from registry.db import get_engine
from registry.reader import reporte as lector
from reports.pdf import acuse_pdf
from signers.seal import Sello

POR_TAREA = 250
EN_PROCESO = 400  # below this many acuses, worker processes cost more than they save


def tyc_sha(acuse: dict[str, Any]) -> str | None:
    """The SHA-256 of the T&C text a terminos acuse sealed (stored, or read from its cadena)."""
    if acuse["tipo"] != "terminos":
        return None
    if acuse.get("tyc_sha256"):
        return acuse["tyc_sha256"]
    try:
        return campos(acuse["cadena_original"]).get("tyc_sha256")
    except RegistryError:
        return None


def _lote(args: tuple[list[dict[str, Any]], bool, dict[str, str], str]) -> list[bytes]:
    acuses, demo, textos, pagina = args
    return [
        acuse_pdf(a, demo=demo, terminos=textos.get(tyc_sha(a) or ""), pagina=pagina)
        for a in acuses
    ]


def generar(
    acuses: Iterable[dict[str, Any]],
    *,
    demo: bool,
    textos: dict[str, str],
    pagina: str = "a4",
    workers: int | None = None,
) -> Iterator[tuple[dict[str, Any], bytes]]:
    """``(acuse, pdf)`` in input order; on ``workers`` processes when the batch is large."""
    items = list(acuses)
    workers = workers or os.cpu_count() or 1
    if workers == 1 or len(items) < EN_PROCESO:
        yield from zip(items, _lote((items, demo, textos, pagina)), strict=True)
        return
    partes = [items[i : i + POR_TAREA] for i in range(0, len(items), POR_TAREA)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for parte, pdfs in zip(
            partes, pool.map(_lote, [(p, demo, textos, pagina) for p in partes]), strict=True
        ):
            yield from zip(parte, pdfs, strict=True)


def leer_acuses(
    settings: Settings, rfcs: list[str] | None
) -> tuple[list[dict[str, Any]], dict[str, dict[str, str]]]:
    """The acuses (of ``rfcs``, or all; by RFC then folio) and the T&C texts they signed."""
    with get_engine(settings).connect() as conn:
        acuses = list(lector.iter_acuses(conn, rfcs))
        shas = [s for s in (tyc_sha(a) for a in acuses) if s]
        textos = lector.leer_terminos(conn, shas)
        conn.rollback()
    return acuses, textos


def escribir_pdfs(
    settings: Settings,
    out: Path,
    *,
    rfcs: list[str] | None = None,
    pagina: str = "a4",
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write one PDF per acuse under ``out`` (``<folio>-<tipo>.pdf``); return how many."""
    sello = Sello.load(settings)
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    acuses, leidos = leer_acuses(settings, rfcs)
    textos = {k: v["texto"] for k, v in leidos.items()}
    for acuse, pdf in generar(
        acuses, demo=sello.demo, textos=textos, pagina=pagina, workers=workers
    ):
        atomic_write(out / f"{acuse['folio']}-{acuse['tipo']}.pdf", pdf)
        n += 1
        if progress is not None and n % 1000 == 0:
            progress(n)
    return n
