"""Benchmark the whole pipeline three ways: plain calls, ``buzon run``, ``buzon run --shards 2``.

An upload of ``--rps`` Registros Patronales (100,000 by default: 20 RPs per RFC, 3 emails per RP,
one mobile per RFC; ≈ 300,000 entries) goes through plan + apply, send (file spool), reconcile of a
simulated response set and the report with its bundles. The response set is derived from what
was sent, as recipients and the gateway would produce it: link confirmations (60 % of the emails),
SMS codes (50 % typed right, 10 % wrong), a delivery receipt per message (2 % bounced). It lands in
the events inbox between two passes of the pipeline, so every way does the same work:

    pass 1: plan, apply, send, reconcile (empty inbox), report
    pass 2: plan, apply (nothing new), send (nothing due), reconcile (the response set), report

The three ways, each on a fresh PostgreSQL database and ``BUZON_HOME``:

1. ``plain``: the stages' functions called in this process (the baseline);
2. ``run``: ``buzon run`` on a local Prefect server (what an operator runs);
3. ``shards``: ``buzon run --shards 2`` with two ``prefect worker`` processes on a process pool.

Prints each stage's seconds and the peak RSS of the process tree during it, then the ratios:
Prefect's overhead (run vs plain, target <= 1.10) and two workers vs serial (shards vs run,
target <= 1.10 on this 2-core machine).

    .venv/bin/python bench/pipeline.py [--rps 100000] [--postgres URL] [--keep]
"""

from __future__ import annotations

import argparse
import csv
import email
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from email import policy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from stdnum.mx import rfc as stdnum_rfc  # noqa: E402

from flows.server import local_server, local_workers, prefect_env  # noqa: E402
from reconcile.events import CAMPOS  # noqa: E402
from schemas.registro_patronal import calc_check_digit  # noqa: E402
from schemas.rfc import is_valid  # noqa: E402

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ETAPAS = ("plan", "apply", "send", "reconcile", "report")
RPS_POR_RFC = 20
_LETRAS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_HOMO = "123456789ABCDEFGHJKLMNPRSTUV"


# --- the upload -------------------------------------------------------------------------------


def rfcs(n: int) -> Iterator[str]:
    """``n`` distinct, valid personas morales with their check digit."""
    i = 0
    made = 0
    while made < n:
        a, b, c = (i // 576) % 24, (i // 24) % 24, i % 24
        dia = 1 + (i // 13824) % 28
        mes = 1 + (i // (13824 * 28)) % 12
        h1, h2 = _HOMO[(i * 7) % len(_HOMO)], _HOMO[(i * 11) % len(_HOMO)]
        base = f"{_LETRAS[a]}{_LETRAS[b]}{_LETRAS[c]}{90:02d}{mes:02d}{dia:02d}{h1}{h2}"
        i += 1
        rfc = base + stdnum_rfc.calc_check_digit(base)
        if is_valid(rfc):
            made += 1
            yield rfc


def rp(n: int) -> str:
    payload = f"Z{n // 100000 % 100:02d}{n % 100000:05d}10"
    return payload + calc_check_digit(payload)


def write_upload(path: Path, n_rps: int) -> tuple[int, int]:
    """The CSV upload; returns (entries, RFCs)."""
    n_rfcs = max(1, n_rps // RPS_POR_RFC)
    entries = 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "RFC",
                "Razon social",
                "Registro patronal",
                "Correo 1",
                "Correo 2",
                "Correo 3",
                "Celular",
            ]
        )
        for i, rfc in enumerate(rfcs(n_rfcs)):
            nombre, dom = f"Empresa {i}, S.A. de C.V.", f"empresa{i}.mx"
            w.writerow([rfc, nombre, "", f"rh@{dom}", "", "", f"55{i:08d}"])
            entries += 2
            for j in range(RPS_POR_RFC):
                regional = f"region{j // 5}@{dom}" if j % 10 != 9 else ""
                w.writerow(
                    [
                        rfc,
                        nombre,
                        rp(i * RPS_POR_RFC + j),
                        f"rh@{dom}",
                        f"nomina@{dom}",
                        regional,
                        "",
                    ]
                )
                entries += 2 + bool(regional)
    return entries, n_rfcs


# --- the response set -------------------------------------------------------------------------

_LINK = re.compile(r"/v/([A-Za-z0-9_\-]{16,200})")
_CODE = re.compile(r"c[oó]digo de verificaci[oó]n es:? (\d{5})", re.IGNORECASE)


def write_responses(home: Path, url: str, inbox: Path) -> int:
    """Events derived from the spool into ``inbox/respuestas.csv``; returns how many."""
    rnd = random.Random(7)
    engine = create_engine(url)
    with engine.connect() as conn:
        rfc_de = dict(
            conn.execute(
                text("SELECT o.id, m.rfc FROM outbox o JOIN medios m ON m.id = o.medio_id")
            ).all()
        )  # noqa: E501
    engine.dispose()
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    rows: list[dict] = []
    for path in (home / "spool" / "email").glob("outbox-*.eml"):
        oid = int(path.stem.split("-")[1])
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        body = msg.get_body(preferencelist=("plain", "html"))
        found = _LINK.search(body.get_content() if body else "")
        rows.append(
            {
                "tipo": "entrega",
                "referencia": oid,
                "estado": "rebotado" if rnd.random() < 0.02 else "entregado",
                "fecha": at,
            }
        )
        if found and rnd.random() < 0.6:
            rows.append({"tipo": "confirmacion_correo", "token": found.group(1), "fecha": at})
    sms = home / "spool" / "sms.jsonl"
    for line in sms.read_text(encoding="utf-8").splitlines() if sms.exists() else []:
        rec = json.loads(line)
        oid = int(rec["reference"])
        rows.append({"tipo": "entrega", "referencia": oid, "estado": "entregado", "fecha": at})
        found = _CODE.search(rec.get("message", ""))
        roll = rnd.random()
        if found and roll < 0.6:
            code = found.group(1) if roll < 0.5 else f"{(int(found.group(1)) + 1) % 100000:05d}"
            tel = re.sub(r"\D", "", rec["to"])[-10:]
            rows.append(
                {
                    "tipo": "codigo_sms",
                    "rfc": rfc_de.get(oid, ""),
                    "telefono": tel,
                    "codigo": code,
                    "fecha": at,
                }
            )
    inbox.mkdir(parents=True, exist_ok=True)
    tmp = inbox / ".respuestas.csv"
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(CAMPOS))
        w.writeheader()
        w.writerows(rows)
    tmp.rename(inbox / "respuestas.csv")
    return len(rows)


# --- measuring --------------------------------------------------------------------------------


def _tree_rss_mb(root: int) -> float:
    """The largest resident set among ``root`` and its descendants (MiB), from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                parts = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(d), int(parts[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(parts[21]) * os.sysconf("SC_PAGE_SIZE")
    best, todo = 0, [root]
    while todo:
        p = todo.pop()
        best = max(best, rss.get(p, 0))
        todo += children.get(p, [])
    return best / 2**20


class Meter:
    """Seconds and peak RSS (largest process of the tree) per stage, summed over passes."""

    def __init__(self, roots: list[int]) -> None:
        self.roots = roots
        self.stage: str | None = None
        self.secs: dict[str, float] = dict.fromkeys(ETAPAS, 0.0)
        self.rss: dict[str, float] = dict.fromkeys(ETAPAS, 0.0)
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._sample, daemon=True)
        self._t.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.25):
            if self.stage:
                now = max(_tree_rss_mb(r) for r in self.roots)
                self.rss[self.stage] = max(self.rss[self.stage], now)

    @contextmanager
    def measure(self, stage: str) -> Iterator[None]:
        self.stage = stage
        t = time.perf_counter()
        try:
            yield
        finally:
            self.secs[stage] += time.perf_counter() - t
            self.stage = None

    def close(self) -> None:
        self._stop.set()
        self._t.join()


# --- the three ways ---------------------------------------------------------------------------


def plain_pass(upload: Path, out: Path, meter: Meter) -> None:
    from buzon.settings import Settings
    from delivery.dispatcher import dispatch
    from reconcile.apply import reconciliar
    from reconcile.inbox import archive_files, pending_files
    from registry.apply import apply_entries
    from registry.db import get_engine
    from registry.reader import registro_reader, rps_loader
    from reports.plan_outputs import write_plan_outputs
    from reports.report import build
    from schemas.plan import plan_files
    from signers.seal import Sello

    settings = Settings()
    engine = get_engine(settings)
    with meter.measure("plan"):
        plan = plan_files(
            [str(upload)],
            settings,
            read_registro=registro_reader(engine),
            rps_loader=rps_loader(engine),
        )
        write_plan_outputs(plan, out / "plan")  # as buzon run --out does
    with meter.measure("apply"):
        apply_entries(engine, settings, plan.accepted, sello=Sello.load(settings))
    with meter.measure("send"):
        while dispatch(settings, limit=settings.chunk_size).processed:
            pass
    with meter.measure("reconcile"):
        files = pending_files(settings.events_inbox)
        reconciliar(settings, [str(p) for p in files])
        archive_files(settings.events_inbox, files, settings.clock())
    with meter.measure("report"):
        build(settings, out, bundles=True)


_STAGE = re.compile(r"^(▶|✔) (\w+)")


def cli_pass(args: list[str], env: dict[str, str], meter: Meter, log: Path) -> None:
    """``buzon run ARGS``; stage boundaries read live from its console lines."""
    with log.open("a") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "buzon", "run", *args],
            env=env,
            cwd=ROOT,
            stdout=fh,
            stderr=subprocess.PIPE,
            text=True,
        )
        meter.roots.append(proc.pid)
        started: dict[str, float] = {}
        for line in proc.stderr:
            fh.write(line)
            m = _STAGE.match(line.strip())
            if m and m.group(2) in ETAPAS:
                if m.group(1) == "▶":
                    meter.stage = m.group(2)
                    started[m.group(2)] = time.perf_counter()
                else:
                    meter.secs[m.group(2)] += time.perf_counter() - started.pop(m.group(2))
                    meter.stage = None
        if proc.wait() != 0:
            raise SystemExit(f"buzon run {' '.join(args)} falló; ver {log}")


def fresh_db(base: str) -> str:
    url = make_url(base)
    name = f"bench_pipeline_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_db(base: str, url: str) -> None:
    admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def way(
    name: str,
    tmp: Path,
    upload: Path,
    pg: str,
    extra_env: dict[str, str],
    cli_args: list[str] | None,
    *,
    url: str | None = None,
    roots: list[int] | None = None,
) -> tuple[Meter, float]:
    """Two passes (responses in between) on a fresh database; the meter and the wall seconds.
    ``roots``: the processes whose tree is measured besides ``buzon run`` (the workers)."""
    home = tmp / name
    url = url or fresh_db(pg)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BUZON_", "PREFECT_"))}
    env |= {
        "BUZON_HOME": str(home),
        "BUZON_DATABASE_URL": url,
        "PYTHONPATH": str(ROOT),
        "BUZON_PROJECT_DIR": str(ROOT),
    } | extra_env
    meter = Meter([os.getpid()] if cli_args is None else list(roots or []))
    t = time.perf_counter()
    try:
        for n in (1, 2):
            out = home / "reportes" / f"pasada-{n}"
            if cli_args is None:
                saved = dict(os.environ)
                os.environ.clear()
                os.environ.update(env)
                try:
                    plain_pass(upload, out, meter)
                finally:
                    from registry.db import dispose_all

                    dispose_all()
                    os.environ.clear()
                    os.environ.update(saved)
            else:
                args = [str(upload), "--out", str(out), *cli_args]
                cli_pass(args, env, meter, tmp / f"{name}.log")
            if n == 1:
                k = write_responses(home, url, home / "eventos" / "entrada")
                print(f"  {name}: {k:,} eventos simulados en la bandeja", flush=True)
        wall = time.perf_counter() - t
    finally:
        meter.close()
        drop_db(pg, url)
    return meter, wall


@contextmanager
def workers(tmp: Path, env: dict[str, str]) -> Iterator[list[int]]:
    """A process work pool, the buzon-shard deployment and two workers on it."""
    pool = f"bench-{uuid.uuid4().hex[:6]}"

    def prefect(*args: str) -> None:
        r = subprocess.run(
            [sys.executable, "-m", "prefect", *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if r.returncode:
            raise SystemExit(f"prefect {' '.join(args)}: {r.stdout[-800:]}{r.stderr[-800:]}")

    # Workers poll every 10 s by default: each shard would wait that long before starting.
    env = env | {"PREFECT_WORKER_QUERY_SECONDS": "1"}
    prefect("work-pool", "create", pool, "--type", "process")
    prefect("--no-prompt", "deploy", "--name", "buzon-shard", "--pool", pool)
    with local_workers(pool, env, tmp, cwd=ROOT) as pids:
        yield pids


def table(results: dict[str, tuple[Meter, float]]) -> None:
    names = list(results)
    print("\nstage      " + "".join(f"{n:>22}" for n in names))
    for e in ETAPAS:
        cells = "".join(
            f"{results[n][0].secs[e]:9.1f} s {results[n][0].rss[e]:6.0f} MiB" for n in names
        )
        print(f"{e:<11}{cells}")
    print(
        "stages sum " + "".join(f"{sum(results[n][0].secs.values()):9.1f} s{'':>11}" for n in names)
    )
    print("wall       " + "".join(f"{results[n][1]:9.1f} s{'':>11}" for n in names))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rps", type=int, default=100_000)
    ap.add_argument("--postgres", default=os.environ.get("BUZON_TEST_POSTGRES_URL", PG_DEFAULT))
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="buzon-bench-pipeline-"))
    try:
        upload = tmp / "carga.csv"
        t = time.perf_counter()
        entries, n_rfcs = write_upload(upload, args.rps)
        print(
            f"upload: {args.rps:,} RPs, {n_rfcs:,} RFCs, {entries:,} entries "
            f"({upload.stat().st_size / 2**20:.1f} MiB) in {time.perf_counter() - t:.1f} s"
        )
        print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
        results: dict[str, tuple[Meter, float]] = {}
        print("\n== plain calls", flush=True)
        results["plain"] = way("plain", tmp, upload, args.postgres, {}, None)
        with local_server(tmp / "prefect-server") as api:
            client = prefect_env(tmp / "prefect-client") | {
                "PREFECT_API_URL": api,
                "PREFECT_LOGGING_LEVEL": "WARNING",
            }
            print("== buzon run (Prefect server)", flush=True)
            results["run"] = way("run", tmp, upload, args.postgres, client, [])
            env = {k: v for k, v in os.environ.items() if not k.startswith(("BUZON_", "PREFECT_"))}
            url = fresh_db(args.postgres)  # the workers' registry too
            env |= client | {
                "PYTHONPATH": str(ROOT),
                "BUZON_PROJECT_DIR": str(ROOT),
                "BUZON_HOME": str(tmp / "shards"),
                "BUZON_DATABASE_URL": url,
            }
            # The shard files are written under the parent's BUZON_HOME: workers read them there.
            print("== buzon run --shards 2 (two Prefect workers)", flush=True)
            with workers(tmp, env) as pids:
                results["shards"] = way(
                    "shards",
                    tmp,
                    upload,
                    args.postgres,
                    client,
                    ["--shards", "2"],
                    url=url,
                    roots=pids,
                )
        table(results)
        plain = sum(results["plain"][0].secs.values())
        run = sum(results["run"][0].secs.values())
        shards = sum(results["shards"][0].secs.values())
        print(
            f"\nPrefect overhead: run / plain   = {run / plain:5.2f}x stages, "
            f"{results['run'][1] / results['plain'][1]:5.2f}x wall (target <= 1.10)"
        )
        print(
            f"two workers: shards / run      = {shards / run:5.2f}x stages, "
            f"{results['shards'][1] / results['run'][1]:5.2f}x wall (target <= 1.10)"
        )
        print(f"load average: {os.getloadavg()[0]:.2f}")
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
