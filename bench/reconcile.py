"""Benchmark ``buzon reconcile``: 1,000,000 events against 300,000 media, SQLite then PostgreSQL.

Generates a store as apply + send leave it (half emails, half mobiles, all ``enviado`` with live
secrets) and one CSV of events: deliveries and bounces for every send, link confirmations (some
repeated), right and wrong codes, unknown links. Each backend's first import and re-import run in
a child process of their own (so the peak RSS printed is the reconciliation's own).

The floor, measured in the same run, is the work that cannot be avoided, in CPU seconds divided by
the machine's cores: every acuse's RSA sello (acuses issued x the median CPU of one signature over
2,000 signatures) + a bare ``executemany`` of as many event rows (hash, kind, payload) into a SQLite
table with a unique index on the hash + the bare ``polars.read_csv`` of the file. Targets (SQLite):
first reconcile wall <= 1.3 x floor, re-import of the same file <= 1 s, peak RSS <= 1.2 GB. The
same lines are printed for PostgreSQL (no target there yet). Wall time on a shared machine is
inflated by other work: CPU seconds and the load average are printed beside it.

    .venv/bin/python bench/reconcile.py [--events 1000000] [--media 300000]
        [--postgres URL | --no-postgres]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import multiprocessing
import os
import random
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.floor import SIGNATURES, cpu, sign_cpu  # noqa: E402
from buzon.settings import Settings  # noqa: E402
from delivery import secrets as sec  # noqa: E402
from reconcile.events import CAMPOS  # noqa: E402
from registry.clock import db_value  # noqa: E402
from registry.db import dispose_all, get_engine  # noqa: E402
from signers.seal import Sello  # noqa: E402

T0 = datetime(2024, 8, 8, 12, 0, tzinfo=UTC)
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def build(n_media: int, key: bytes, rng: random.Random) -> tuple[dict, list[tuple]]:
    """Rows of the store (instants as aware datetimes) and (id, mecanismo, valor, rfc, secret)."""
    h = sec.Digests(key)
    media = []
    n_rfc = n_media // 3
    rfcs = [f"AAA{(i % 1000000):06d}{i // 1000000:03d}" for i in range(n_rfc)]
    now, vence = T0, T0 + timedelta(hours=72)
    rows: dict[str, list[tuple]] = {
        "particulares": [(r, f"Empresa {i}", "pendiente", now) for i, r in enumerate(rfcs)],
        "medios": [],
        "outbox": [],
        "alcances": [],
    }
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
        rows["medios"].append(
            (i, rfc, mec, valor, "enviado", f"BI-20240808-{i:09d}", now, now, 1, i, now, vence,
             digest)
        )  # fmt: skip
        rows["outbox"].append((i, i, "verificacion", canal, valor, "enviado", 1, now, now, now))
        rows["alcances"].append((i, rfc, now))
        media.append((i, mec, valor, rfc, secret))
    return rows, media


_INSERTS = {
    "particulares": "particulares (rfc, nombre, estado, creado_en)",
    "medios": "medios (id, rfc, mecanismo, valor, estado, folio, creado_en, actualizado_en, envios,"
    " envio_vigente, enviado_en, vence_en, secreto_hash)",
    "outbox": "outbox (id, medio_id, tipo, canal, destino, estado, intentos, proximo_intento,"
    " creado_en, enviado_en)",
    "alcances": "alcances (medio_id, rfc, creado_en)",
}


def load(settings: Settings, rows: dict) -> None:
    """Bulk-load the rows into the store of ``settings`` (SQLite or PostgreSQL)."""
    engine = get_engine(settings)
    dialect = engine.dialect.name
    p = "?" if engine.dialect.paramstyle == "qmark" else "%s"

    def value(v: object) -> object:
        return db_value(dialect, v) if isinstance(v, datetime) else v

    with engine.begin() as conn:
        for table, cols in _INSERTS.items():
            data = [tuple(value(v) for v in r) for r in rows[table]]
            marks = ",".join([p] * len(data[0]))
            conn.exec_driver_sql(f"INSERT INTO {cols} VALUES ({marks})", data)
        if dialect == "postgresql":  # ids given explicitly: move the sequences past them
            for table in ("medios", "outbox"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" (SELECT max(id) FROM {table}))"
                )
    dispose_all()


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


def _setup(stores: list[Settings], n_media: int, n_events: int, path: Path) -> None:
    rng = random.Random(7)
    rows, media = build(n_media, sec.load_key(stores[0]), rng)
    for settings in stores:
        load(settings, rows)
    del rows
    events(media, n_events, path, rng)


def _run(settings: Settings, path: Path, out: multiprocessing.Queue) -> None:
    """In a child: the first import and the re-import; their wall and CPU, and the peak RSS."""
    from reconcile.apply import reconciliar

    t, c = time.perf_counter(), cpu()
    res = reconciliar(settings, [path])
    wall, used = time.perf_counter() - t, cpu() - c
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t, c = time.perf_counter(), cpu()
    again = reconciliar(settings, [path])
    out.put(
        {
            "first": res.as_json(),
            "again": again.as_json(),
            "wall": wall,
            "cpu": used,
            "rss": rss,
            "rerun": time.perf_counter() - t,
            "rerun_cpu": cpu() - c,
        }
    )


def _child(target, *args) -> dict | None:  # noqa: ANN001
    ctx = multiprocessing.get_context("fork")  # before the parent runs any polars thread
    out = ctx.Queue()
    child = ctx.Process(target=target, args=(*args, out))
    child.start()
    got = out.get() if target is _run else None
    child.join()
    assert child.exitcode == 0, f"{target.__name__} failed"
    return got


def _setup_child(stores: list[Settings], n_media: int, n_events: int, path: Path, out) -> None:  # noqa: ANN001
    _setup(stores, n_media, n_events, path)


def insert_cpu(folder: Path, tipos: list[str]) -> float:
    """CPU seconds of a bare executemany of one row per event (hash, kind, payload) into a SQLite
    table with a unique index on the hash, in one transaction (rows built beforehand, in file
    order: the hashes come in random order, as content hashes do)."""
    rows = []
    for i, tipo in enumerate(tipos):
        digest = hashlib.sha256(b"%d" % i).hexdigest()
        rows.append((digest, tipo, f'{{"token_hash":"{digest[::-1]}"}}'))
    db = folder / f"floor-{uuid.uuid4().hex[:8]}.db"
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("CREATE TABLE ev (id INTEGER PRIMARY KEY, hash TEXT NOT NULL, tipo TEXT NOT NULL,"
                " datos TEXT NOT NULL)")  # fmt: skip
    con.execute("CREATE UNIQUE INDEX ev_hash ON ev (hash)")
    c = cpu()
    con.execute("BEGIN")
    con.executemany("INSERT INTO ev (hash, tipo, datos) VALUES (?,?,?)", rows)
    con.execute("COMMIT")
    used = cpu() - c
    con.close()
    db.unlink()
    return used


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def report(name: str, r: dict, floor: float, cores: int, floor_cpu: float) -> None:
    print(f"\n== {name}")
    print("first run: ", r["first"])
    print("second run:", r["again"])
    print(
        f"first reconcile:  {r['wall']:7.2f} s wall = {r['wall'] / floor:5.2f} x floor"
        + (" (target <= 1.3)" if name == "SQLite" else "")
        + f"; CPU {r['cpu']:.1f} s = {r['cpu'] / floor_cpu:4.2f} x the floor's CPU"
    )
    print(
        f"re-import:        {r['rerun']:7.2f} s wall"
        + (" (target <= 1 s)" if name == "SQLite" else "")
        + f"; CPU {r['rerun_cpu']:.2f} s"
    )
    print(
        f"peak RSS:         {r['rss']:7.0f} MB"
        + (" (target <= 1200 MB)" if name == "SQLite" else "")
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--media", type=int, default=300_000)
    ap.add_argument("--postgres", default=PG_DEFAULT)
    ap.add_argument("--no-postgres", action="store_true")
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-reconcile-"))
    settings = Settings(home=home, now=T0 + timedelta(hours=80))
    stores = [settings]
    schema = None
    if not args.no_postgres:
        from sqlalchemy import create_engine

        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.postgres)
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        admin.dispose()
        url = f"{args.postgres}?options=-csearch_path%3D{schema}"
        stores.append(settings.model_copy(update={"database_url": url}))
    path = home / "eventos.csv"
    sello = Sello.load(settings)  # key made outside the timed runs, as in production
    cores = len(os.sched_getaffinity(0))
    try:
        t = time.perf_counter()
        _child(_setup_child, stores, args.media, args.events, path)
        print(
            f"setup: {args.media:,} media, {args.events:,} events,"
            f" {path.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t:.1f}s"
        )
        print(f"load average before: {_load()}  ({cores} cores, shared with other work)")
        runs = {"SQLite": _run_in_child(stores[0], path)}
        if schema:
            runs["PostgreSQL"] = _run_in_child(stores[1], path)
        print(f"load average after:  {_load()}")

        import polars as pl  # first used here: the children were forked before its threads

        c, t = cpu(), time.perf_counter()
        df = pl.read_csv(path, infer_schema=False)
        read_cpu, read_wall = cpu() - c, time.perf_counter() - t
        assert df.height == args.events
        tipos = df["tipo"].to_list()
        del df
        per_sig = sign_cpu(sello, "validacion")
        n_acuses = runs["SQLite"]["first"]["validated"]
        sig_cpu = n_acuses * per_sig
        ins_cpu = insert_cpu(home, tipos)
        floor_cpu = sig_cpu + ins_cpu + read_cpu
        floor = floor_cpu / cores
        print(
            f"floor:            {floor:7.2f} s = ({sig_cpu:.1f} CPU s of sellos:"
            f" {n_acuses:,} acuses x {per_sig * 1000:.3f} ms median of {SIGNATURES:,}"
            f" + {ins_cpu:.1f} CPU s bare executemany of {len(tipos):,} event rows, unique hash"
            f" + {read_cpu:.2f} CPU s bare read_csv [{read_wall:.2f} s wall]) / {cores} cores"
        )
        for name, r in runs.items():
            report(name, r, floor, cores, floor_cpu)
    finally:
        if schema:
            from sqlalchemy import create_engine

            admin = create_engine(args.postgres)
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
            admin.dispose()
        shutil.rmtree(home)  # about 1 GB of database and events for the default sizes


def _run_in_child(settings: Settings, path: Path) -> dict:
    got = _child(_run, settings, path)
    assert got is not None
    return got


if __name__ == "__main__":
    main()
