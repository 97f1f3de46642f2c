"""Benchmark ``buzon report``: the report, the acuse PDFs and the bundles.

Data: ``sample_data.masivo`` writes a synthetic store (default 100,000 RPs → ~204,000 media and
~286,000 acuses with real sellos) straight into SQLite. Measured in the same run:

- report (xlsx + CSVs + HTML, no bundles) against the floor of reading the same rows from the
  store (``reports.report.leer``). Target: report <= 3x the read.
- PDFs per second on one core (CPU time of this process; target >= 300/s) and on every core.
- bundles (PDFs on every core + ZIPs) against the floor ``(PDF time on one core + writing the
  same bytes into ZIPs) / cores``. Target: bundles <= 1.5x that.
- peak RSS (this process and its workers). Target <= 1.5 GB.

    .venv/bin/python bench/report.py [--rps 100000] [--pdf-sample 2000] [--skip-bundles]

On a shared 2-core machine the full size takes long (PDFs alone: ~286,000 / cores / rate);
``--rps 5000`` runs the same stages at 1/20 of the size.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from buzon.settings import Settings  # noqa: E402
from registry.db import get_engine  # noqa: E402
from registry.reader import reporte as lector  # noqa: E402
from reports.acuses_pdf import _lote, generar  # noqa: E402
from reports.bundle import FECHA_ZIP, escribir_bundles  # noqa: E402
from reports.estado import calcular  # noqa: E402
from reports.report import build, leer  # noqa: E402
from sample_data.masivo import sembrar  # noqa: E402
from signers.seal import Sello  # noqa: E402


def rss_mb() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return me, kids


def cpu_s() -> float:
    """CPU seconds of this process and its (finished) workers."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rps", type=int, default=100_000)
    ap.add_argument("--pdf-sample", type=int, default=2000, help="PDFs timed on one core")
    ap.add_argument("--skip-bundles", action="store_true")
    args = ap.parse_args()
    cores = os.cpu_count() or 1

    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        settings = Settings(home=home)
        engine = get_engine(settings)
        t = time.perf_counter()
        # --skip-bundles also skips the acuses (and so the PDF stages): the report alone.
        counts = sembrar(engine, settings, rps=args.rps, acuses_=not args.skip_bundles)
        print(f"store: {counts} in {time.perf_counter() - t:.1f} s (not measured)")

        # --- report vs the read of the same rows -------------------------------------------
        t = time.perf_counter()
        lect = leer(settings)
        t_read = time.perf_counter() - t
        t = time.perf_counter()
        calcular(lect)
        t_calc = time.perf_counter() - t
        t = time.perf_counter()
        build(settings, Path(tmp) / "out", bundles=False)
        t_report = time.perf_counter() - t
        print(f"read (floor): {t_read:.2f} s   compute: {t_calc:.2f} s")
        print(
            f"report: {t_report:.2f} s = {t_report / t_read:.2f}x the read (target <= 3x) "
            f"[{'OK' if t_report <= 3 * t_read else 'MISSED'}]"
        )

        # --- PDFs ------------------------------------------------------------------------
        if args.skip_bundles:
            me, kids = rss_mb()
            print(
                f"peak RSS: {me:,.0f} MB (target <= 1,536 MB) [{'OK' if me <= 1536 else 'MISSED'}]"
            )
            return
        with engine.connect() as conn:
            acuses = list(lector.iter_acuses(conn))
        sello = Sello.load(settings)
        muestra = acuses[: args.pdf_sample]
        c0 = time.process_time()
        w0 = time.perf_counter()
        pdfs = _lote((muestra, sello.demo, {}, "a4"))
        cpu = time.process_time() - c0
        wall = time.perf_counter() - w0
        rate1 = len(muestra) / cpu
        rate1_wall = len(muestra) / wall
        print(
            f"PDFs on one core: {rate1:,.0f}/s CPU time ({len(muestra) / wall:,.0f}/s wall, "
            f"shared machine) (target >= 300/s) [{'OK' if rate1 >= 300 else 'MISSED'}]"
        )
        w0 = time.perf_counter()
        n_all = sum(
            1 for _ in generar(acuses[: args.pdf_sample * cores], demo=sello.demo, textos={})
        )
        rate_all = n_all / (time.perf_counter() - w0)
        print(f"PDFs on {cores} cores: {rate_all:,.0f}/s wall")

        # --- bundles vs (PDF time on one core + ZIP floor) / cores -----------------------
        if not args.skip_bundles:
            total_pdf = sum(len(p) for p in pdfs) / len(pdfs) * len(acuses)
            # Wall time on this (shared) machine, like the bundles' own time.
            t_pdf1 = len(acuses) / rate1_wall
            # Floor: the same number of bytes written into ZIPs, one per RFC, same settings.
            por_rfc = max(len(acuses) // max(counts["rfcs"], 1), 1)
            muestra_pdf = pdfs[0]
            t = time.perf_counter()
            c_floor = time.process_time()
            floor_dir = Path(tmp) / "floor"
            floor_dir.mkdir()
            written = 0
            for r in range(counts["rfcs"]):
                with zipfile.ZipFile(floor_dir / f"{r}.zip", "w") as zf:
                    for i in range(por_rfc):
                        info = zipfile.ZipInfo(f"b/data/acuses/{i}.pdf", date_time=FECHA_ZIP)
                        info.compress_type = zipfile.ZIP_DEFLATED
                        zf.writestr(info, muestra_pdf, compresslevel=6)
                        hashlib.sha256(muestra_pdf).digest()
                        written += len(muestra_pdf)
            t_floor = time.perf_counter() - t
            cpu_floor = time.process_time() - c_floor
            floor = (t_pdf1 + t_floor) / cores
            t = time.perf_counter()
            c0 = cpu_s()
            paths = escribir_bundles(settings, Path(tmp) / "out" / "acuses")
            t_bundles = time.perf_counter() - t
            cpu_bundles = cpu_s() - c0
            cpu_min = len(acuses) / rate1 + cpu_floor
            print(
                f"bundles: {len(paths):,} ZIPs, {len(acuses):,} acuses in {t_bundles:.1f} s; "
                f"floor (PDFs one core {t_pdf1:.1f} s + ZIPs {t_floor:.1f} s) / {cores} cores "
                f"= {floor:.1f} s; ratio {t_bundles / floor:.2f}x (target <= 1.5x) "
                f"[{'OK' if t_bundles <= 1.5 * floor else 'MISSED'}]  "
                f"(~{total_pdf / 1e6:,.0f} MB of PDFs, floor wrote {written / 1e6:,.0f} MB)"
            )
            print(
                f"bundles in CPU time (what a loaded machine cannot skew): {cpu_bundles:.1f} s "
                f"for PDFs + ZIPs whose floor is {cpu_min:.1f} s = {cpu_bundles / cpu_min:.2f}x; "
                f"load average {os.getloadavg()[0]:.1f} on {cores} cores"
            )
        me, kids = rss_mb()
        print(
            f"peak RSS: {me:,.0f} MB (largest worker {kids:,.0f} MB) (target <= 1,536 MB) "
            f"[{'OK' if max(me, kids) <= 1536 else 'MISSED'}]"
        )


if __name__ == "__main__":
    main()
