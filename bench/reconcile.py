"""Benchmark ``buzon reconcile``: 1,000,000 events against 300,000 media on SQLite.

Generates a store as apply + send leave it (half emails, half mobiles, all ``enviado`` with live
secrets) and one CSV of events: deliveries and bounces for every send, link confirmations (some
repeated), right and wrong codes, unknown links. Prints wall and CPU time, peak RSS, the load
average (other work on the machine inflates wall time) and, in the same run, the floors it is
compared with: a bare ``polars.read_csv`` of the same file (target <= 5x) and the time the RSA
seals of the acuses the run issues take on every core (``Sello.sign_many``), with their CPU cost.

    .venv/bin/python bench/reconcile.py [--events 1000000] [--media 300000]
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import polars as pl  # noqa: E402

from buzon.settings import Settings  # noqa: E402
from delivery import secrets as sec  # noqa: E402
from reconcile.events import CAMPOS  # noqa: E402
from registry.db import get_engine  # noqa: E402

T0 = datetime(2024, 8, 8, 12, 0, tzinfo=UTC)


def _ts(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S.%f")


def seed(settings: Settings, n_media: int, rng: random.Random) -> list[tuple]:
    """Bulk-load the store; returns (id, mecanismo, valor, rfc, secret, outbox_id) per medium."""
    engine = get_engine(settings)
    key = sec.load_key(settings)
    h = sec.Digests(key)
    media = []
    n_rfc = n_media // 3
    rfcs = [f"AAA{(i % 1000000):06d}{i // 1000000:03d}" for i in range(n_rfc)]
    now, vence = _ts(T0), _ts(T0 + timedelta(hours=72))
    part_rows = [(r, f"Empresa {i}", "pendiente", now) for i, r in enumerate(rfcs)]
    med_rows, ob_rows, al_rows = [], [], []
    for i in range(1, n_media + 1):
        rfc = rfcs[i % n_rfc]
        if i % 2:
            mec, valor, canal = "correo", f"user{i}@empresa{i % 97}.mx", "correo"
            secret = f"tok{i:029d}"
            digest = h.token(secret)
        else:
            mec, valor, canal = "telefono", f"55{i:08d}", "sms"
            secret = f"{rng.randrange(100000):05d}"
            digest = h.code(i, secret)
        med_rows.append(
            (
                i,
                rfc,
                mec,
                valor,
                "enviado",
                f"BI-20240808-{i:09d}",
                now,
                now,
                1,
                i,
                now,
                vence,
                digest,
            )
        )
        ob_rows.append((i, i, "verificacion", canal, valor, "enviado", 1, now, now, now))
        al_rows.append((i, rfc, now))
        media.append((i, mec, valor, rfc, secret))
    with engine.begin() as conn:
        c = conn.exec_driver_sql
        c("INSERT INTO particulares (rfc, nombre, estado, creado_en) VALUES (?,?,?,?)", part_rows)
        c(
            "INSERT INTO medios (id, rfc, mecanismo, valor, estado, folio, creado_en,"
            " actualizado_en, envios, envio_vigente, enviado_en, vence_en, secreto_hash)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            med_rows,
        )
        c(
            "INSERT INTO outbox (id, medio_id, tipo, canal, destino, estado, intentos,"
            " proximo_intento, creado_en, enviado_en) VALUES (?,?,?,?,?,?,?,?,?,?)",
            ob_rows,
        )
        c("INSERT INTO alcances (medio_id, rfc, creado_en) VALUES (?,?,?)", al_rows)
    return media


def events(media: list[tuple], n_events: int, path: Path, rng: random.Random) -> None:
    rows = []
    emails = [m for m in media if m[1] == "correo"]
    phones = [m for m in media if m[1] == "telefono"]

    def at(minutes: float) -> str:
        return (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    for m in media:  # a receipt for every send, 3% bounced
        st = "bounced" if rng.random() < 0.03 else "delivered"
        rows.append(
            (
                "entrega",
                m[0],
                "",
                "",
                "",
                "",
                st,
                "550 buzón inexistente" if st == "bounced" else "",
                at(1),
            )
        )
    for m in rng.sample(emails, len(emails) // 3):  # confirmations, a fifth clicked twice
        rows.append(("confirmacion_correo", "", m[4], "", "", "", "", "", at(rng.uniform(5, 4000))))
        if rng.random() < 0.2:
            rows.append(("confirmacion_correo", "", m[4], "", "", "", "", "", at(4100)))
    for m in rng.sample(phones, len(phones) // 3):  # right codes, some after wrong ones
        rows.append(("codigo_sms", "", "", m[3], m[2], m[4], "", "", at(rng.uniform(60, 4000))))
    while len(rows) < n_events:  # wrong codes and unknown links fill the rest
        if rng.random() < 0.85:
            m = phones[rng.randrange(len(phones))]
            wrong = f"{(int(m[4]) + 1 + rng.randrange(99998)) % 100000:05d}"
            rows.append(("codigo_sms", "", "", m[3], m[2], wrong, "", "", at(rng.uniform(2, 4300))))
        else:
            rows.append(
                (
                    "confirmacion_correo",
                    "",
                    f"desconocido{rng.getrandbits(80):x}",
                    "",
                    "",
                    "",
                    "",
                    "",
                    at(rng.uniform(2, 4300)),
                )
            )
    rng.shuffle(rows)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(CAMPOS)
        w.writerows(rows[:n_events])


def _setup(settings: Settings, n_media: int, n_events: int, path: Path) -> None:
    rng = random.Random(7)
    media = seed(settings, n_media, rng)
    events(media, n_events, path, rng)


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--media", type=int, default=300_000)
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-reconcile-"))
    settings = Settings(home=home, now=T0 + timedelta(hours=80))
    path = home / "eventos.csv"
    t = time.perf_counter()
    # Generated in a child process, so the peak RSS printed below is the reconciliation's own.
    child = multiprocessing.get_context("fork").Process(
        target=_setup, args=(settings, args.media, args.events, path)
    )
    child.start()
    child.join()
    assert child.exitcode == 0, "setup failed"
    print(
        f"setup: {args.media:,} media, {args.events:,} events,"
        f" {path.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t:.1f}s"
    )
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    t = time.perf_counter()
    df = pl.read_csv(path, infer_schema=False)
    read = time.perf_counter() - t
    assert df.height == args.events
    del df

    from reconcile.apply import reconciliar
    from signers.seal import Sello

    sello = Sello.load(settings)  # key made outside the timed runs, as in production
    t, c = time.perf_counter(), _cpu()
    res = reconciliar(settings, [path])
    wall, cpu = time.perf_counter() - t, _cpu() - c
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("first run:", res.as_json())

    t = time.perf_counter()
    again = reconciliar(settings, [path])
    rerun = time.perf_counter() - t
    print("second run:", again.as_json())

    # The seal floor: the RSA signatures of the acuses this run issued, on every core as the
    # reconciliation makes them (Sello.sign_many), plus the CPU one signature costs.
    cadenas = [f"||3.0|BI-x|{i}|validacion||" for i in range(res.validated)]
    t = time.perf_counter()
    sello.sign_many(cadenas)
    sign = time.perf_counter() - t
    c = _cpu()
    for x in cadenas[:2000]:
        sello.sign(x)
    per_sig = (_cpu() - c) / max(1, min(2000, len(cadenas)))
    print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"bare polars read_csv:     {read:7.2f} s")
    print(
        f"reconcile (first run):    {wall:7.2f} s  = {wall / read:5.1f}x the bare read"
        f" (target <= 5x, <= 60 s); CPU {cpu:.1f} s"
    )
    print(
        f"  seal floor:             {sign:7.2f} s  ({res.validated:,} acuses on"
        f" {os.cpu_count()} cores; {per_sig * 1000:.2f} ms CPU each ="
        f" {per_sig * res.validated:.1f} CPU s)"
    )
    print(
        f"  above the seal floor:   {wall - sign:7.2f} s"
        f"  = {(wall - sign) / read:5.1f}x the bare read"
    )
    print(f"reconcile (re-run):       {rerun:7.2f} s  = {rerun / read:5.1f}x the bare read")
    print(f"peak RSS:                 {rss:7.0f} MB")
    shutil.rmtree(home)  # about 1 GB of database and events for the default sizes


if __name__ == "__main__":
    main()
