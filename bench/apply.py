"""Benchmark ``registry.apply``: 300,000 entries (≈100,000 RPs) into an empty store, then again.

Floor, measured in the same run: the CPU of the acuses' RSA-2048 sellos divided by the machine's
cores (acuses issued x the median CPU of one signature over 2,000 signatures; apply makes them on
every core) plus a bare executemany insert of the same 300,000 rows into the same backend.
Targets: first apply <= 1.5x floor on SQLite and PostgreSQL; PostgreSQL re-apply <= 0.3x first
apply; peak RSS <= 2 GB. Wall time on a shared machine is inflated by other work: CPU seconds
and the load average are printed beside it.

    .venv/bin/python bench/apply.py [--rfcs 5000] [--postgres URL | --no-postgres]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

import polars as pl
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.floor import SIGNATURES, cpu, sign_cpu  # noqa: E402
from buzon.settings import Settings  # noqa: E402
from registry.apply import apply_entries  # noqa: E402
from registry.db import dispose_all, get_engine  # noqa: E402
from signers.seal import Sello  # noqa: E402

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def generate(n_rfcs: int, rps_per_rfc: int = 20) -> pl.DataFrame:
    """Per RFC: a main email and a mobile at the RFC scope; per RP the main email, a payroll
    email and (9 RPs in 10) a regional email shared by 5 RPs. 5,000 RFCs give 300,000 entries,
    100,000 RPs and 35,000 media."""
    rows: list[tuple] = []
    fila = 1
    for i in range(n_rfcs):
        rfc = f"B{i:07d}AA1"[:12]
        nombre = f"Empresa {i}, S.A. de C.V."
        main, nomina = f"rh{i}@empresa{i}.mx", f"nomina{i}@empresa{i}.mx"

        def add(rp: str | None, mec: str, medio: str, rfc: str = rfc, nombre: str = nombre) -> None:
            nonlocal fila
            fila += 1
            rows.append((rfc, nombre, rp, mec, medio, "carga.xlsx", "Hoja1", fila))

        add(None, "correo", main)
        add(None, "telefono", f"55{i:08d}")
        for j in range(rps_per_rfc):
            rp = f"R{i * rps_per_rfc + j:010d}"
            add(rp, "correo", main)
            add(rp, "correo", nomina)
            if j % 10 != 9:
                add(rp, "correo", f"region{j // 5}@empresa{i}.mx")
    cols = ["rfc", "nombre", "rp", "mecanismo", "medio", "archivo", "hoja", "fila"]
    return pl.DataFrame(rows, schema=cols, orient="row")


def floor_insert(url: str, entries: pl.DataFrame) -> float:
    """Seconds for a bare executemany of the entries into a plain table, in one transaction."""
    engine = create_engine(url)
    meta = MetaData()
    table = Table(
        f"bench_{uuid.uuid4().hex[:8]}",
        meta,
        *(Column(c, String) for c in entries.columns if c != "fila"),
        Column("fila", Integer),
    )
    meta.create_all(engine)
    rows = entries.to_dicts()
    t = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(table.insert(), rows)
    elapsed = time.perf_counter() - t
    meta.drop_all(engine)
    engine.dispose()
    return elapsed


def run(name: str, settings: Settings, entries: pl.DataFrame, per_sig: float, cores: int) -> None:
    engine = get_engine(settings)
    sello = Sello.load(settings)
    t, c = time.perf_counter(), cpu()
    first = apply_entries(engine, settings, entries, sello=sello)
    first_s, first_cpu = time.perf_counter() - t, cpu() - c
    t, c = time.perf_counter(), cpu()
    again = apply_entries(engine, settings, entries, sello=sello)
    again_s, again_cpu = time.perf_counter() - t, cpu() - c
    n_acuses = sum(first.acuses.values())
    sign_s = n_acuses * per_sig / cores
    insert_s = floor_insert(settings.sqlalchemy_url, entries)
    floor = insert_s + sign_s
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n== {name}  (load average {load}; {cores} cores, shared with other work)", flush=True)
    print(
        f"first apply : {first_s:8.2f} s  CPU {first_cpu:6.2f} s"
        f"  registered={first.registered:,} acuses={n_acuses:,}",
        flush=True,
    )
    print(f"re-apply    : {again_s:8.2f} s  CPU {again_cpu:6.2f} s  registered={again.registered:,}"
          f" unchanged={again.unchanged:,}")  # fmt: skip
    print(
        f"floor       : {floor:8.2f} s  = executemany {insert_s:.2f} s + {n_acuses:,} sellos x"
        f" {per_sig * 1000:.3f} ms CPU (median of {SIGNATURES:,}) / {cores} cores {sign_s:.2f} s"
    )
    print(f"ratio first/floor    = {first_s / floor:5.2f}  (target <= 1.5)", flush=True)
    target = "  (target <= 0.3)" if name == "PostgreSQL" else ""
    print(f"ratio re-apply/first = {again_s / first_s:5.2f}{target}", flush=True)
    dispose_all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rfcs", type=int, default=5000)
    parser.add_argument("--postgres", default=PG_DEFAULT)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    t = time.perf_counter()
    entries = generate(args.rfcs)
    print(f"generated {entries.height:,} entries, {entries['rp'].n_unique() - 1:,} RPs, "
          f"{entries.select('rfc', 'mecanismo', 'medio').n_unique():,} media "
          f"in {time.perf_counter() - t:.1f} s")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        base = Settings(home=Path(tmp) / "home")
        # The key is made outside the measurement.
        per_sig = sign_cpu(Sello.load(base), "registro")
        cores = len(os.sched_getaffinity(0))
        run("SQLite", base, entries, per_sig, cores)
        if not args.no_postgres:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(args.postgres)
            with admin.begin() as conn:
                conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
            try:
                url = f"{args.postgres}?options=-csearch_path%3D{schema}"
                pg = base.model_copy(update={"database_url": url})
                run("PostgreSQL", pg, entries, per_sig, cores)
            finally:
                with admin.begin() as conn:
                    conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
                admin.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS {peak:,.0f} MB (target <= 2048 MB)", flush=True)


if __name__ == "__main__":
    main()
