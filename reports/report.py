"""``buzon report``: read the registry once (read-only), write every output of the report.

``DIR/estado.xlsx``, ``DIR/estado_por_rp.csv``, ``DIR/medios.csv``, ``DIR/estado.html`` and,
with ``bundles=True``, ``DIR/acuses/<RFC>.zip`` (one signed BagIt bag per RFC).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from buzon.files import atomic_write
from buzon.settings import Settings
from registry.db import get_engine
from registry.reader import reporte as lector
from reports.estado import Lectura, Reporte, calcular
from reports.html import escribir_html
from reports.tabla import csv_bytes, escribir_xlsx

Progress = Callable[[str], None]


def leer(settings: Settings, rfcs: list[str] | None = None) -> Lectura:
    """Everything the report shows, in one read-only transaction."""
    with get_engine(settings).connect() as conn:
        lect = Lectura(
            particulares=lector.leer_particulares(conn, rfcs),
            registros=lector.leer_registros(conn, rfcs),
            medios=lector.leer_medios(conn, rfcs),
            alcances=lector.leer_alcances(conn, rfcs),
            actos=lector.leer_actos(conn, rfcs),
            rechazos=lector.leer_rechazos(conn),
        )
        conn.rollback()
    return lect


def escribir(rep: Reporte, out: Path, settings: Settings) -> list[Path]:
    """The report's files (each whole or absent); returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    escribir_xlsx(rep, out / "estado.xlsx")
    atomic_write(out / "estado_por_rp.csv", csv_bytes(rep.por_rp))
    atomic_write(out / "medios.csv", csv_bytes(rep.medios))
    escribir_html(rep, out / "estado.html", settings.clock())
    return [out / n for n in ("estado.xlsx", "estado_por_rp.csv", "medios.csv", "estado.html")]


def build(
    settings: Settings,
    out: Path,
    *,
    rfcs: list[str] | None = None,
    bundles: bool = True,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Write everything ``buzon report --out`` writes; return the ``--json`` object."""
    say = progress or (lambda _msg: None)
    out = Path(out)
    say("leyendo el registro")
    rep = calcular(
        leer(settings, rfcs),
        validity_hours=settings.validity_hours,
        max_wrong_codes=settings.max_wrong_codes,
    )
    say("escribiendo estado.xlsx, CSV y estado.html")
    files = escribir(rep, out, settings)
    if bundles:
        from reports.bundle import escribir_bundles

        say("escribiendo los paquetes de acuses")
        files += escribir_bundles(settings, out / "acuses", rfcs=rfcs, progress=progress)
    return rep.resumen | {"files": [str(f) for f in files]}
