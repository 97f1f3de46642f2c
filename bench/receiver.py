"""Load on ``buzon serve``: 2,000 requests from 20 concurrent clients, alone and beside a reconcile.

Builds the store of ``bench/reconcile.py`` (its generator: media as apply + send leave them and a
CSV of events), starts ``buzon serve`` on a free loopback port as its own process, and sends a mix
of requests from 20 client threads: link pages (``GET /v/{token}``), the code form (``GET
/celular``), wrong codes (``POST /celular``) from many addresses through a trusted proxy header
(``X-Forwarded-For``, some addresses past their 20 attempts: intended 429s), and signed delivery
webhooks (a few over 64 KiB: intended 413s). Three runs:

1. alone;
2. while ``buzon reconcile`` imports the generated event file (another process holding the
   store's write lock); the runs starts once the reconcile holds the lock;
3. a run during which the server is killed with SIGKILL; then every request the server had
   acknowledged (a 200 for a code or a webhook) is looked up in the store.

Prints p50/p99 per run and per kind, the 429/413 counts and every unintended answer (errors).
Targets: p99 <= 250 ms alone, <= 1 s beside the reconcile, no errors, nothing acknowledged lost.

    .venv/bin/python bench/receiver.py [--requests 2000] [--clients 20] [--events 1000000]
                                       [--media 300000]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from buzon.settings import Settings  # noqa: E402
from callbacks.signature import sign  # noqa: E402

# bench/reconcile.py by path: a module named "reconcile" would shadow the project's package.
_spec = importlib.util.spec_from_file_location("bench_reconcile", ROOT / "bench" / "reconcile.py")
rbench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rbench)  # type: ignore[union-attr]

SECRET = "bench-" + "k" * 40
NOW = rbench.T0 + timedelta(hours=1)  # inside every medium's 72 hours
ADDRESSES_PER_RUN = 30  # ~27 code attempts each in a 2,000-request run: some get 429
_CSRF = '<input type="hidden" name="csrf" value="'


@dataclass
class Run:
    name: str
    latencies: dict[str, list[float]] = field(default_factory=dict)
    status: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    acked_webhooks: list[str] = field(default_factory=list)
    acked_codes: Counter = field(default_factory=Counter)
    lock = threading.Lock()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(home: Path, now) -> dict:  # noqa: ANN001
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BUZON_HOME": str(home),
        "BUZON_NOW": now.isoformat(),
        "BUZON_WEBHOOK_SECRET": SECRET,
        "BUZON_TRUSTED_PROXIES": "127.0.0.1",
    }


def start_server(home: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "buzon", "serve", "--port", str(port)],
        env=_env(home, NOW),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{base}/celular", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("buzon serve did not start")


def _plan(media: list[tuple], n: int, seed: int, run: str) -> list[tuple]:
    """The requests of one run: (kind, payload), shuffled; references unique across runs."""
    rng = random.Random(seed)
    emails = [m for m in media if m[1] == "correo"]
    phones = [m for m in media if m[1] == "telefono"]
    addrs = [f"198.18.{seed % 200}.{i + 1}" for i in range(ADDRESSES_PER_RUN)]
    out = []
    for i in range(n):
        x = rng.random()
        if x < 0.25:
            out.append(("pagina", rng.choice(emails)[4]))
        elif x < 0.40:
            out.append(("formulario", None))
        elif x < 0.80:
            m = rng.choice(phones)
            wrong = f"{(int(m[4]) + 1 + rng.randrange(99998)) % 100000:05d}"
            out.append(("codigo", (m[3], m[2], wrong, rng.choice(addrs))))
        else:
            m = rng.choice(media)
            big = rng.random() < 0.03
            out.append(("webhook", (m[0], f"bench-{run}-{i}", big)))
    return out


def _client(base: str, work: list[tuple], run: Run, stop: threading.Event) -> None:
    with httpx.Client(base_url=base, timeout=120) as http:
        csrf = None
        for kind, payload in work:
            if stop.is_set():
                return
            t = time.perf_counter()
            expected: tuple[int, ...] = (200,)
            try:
                if kind == "pagina":
                    r = http.get(f"/v/{payload}")
                    expected = (200, 404)  # 404: no longer in validation (bounced by reconcile)
                elif kind == "formulario":
                    r = http.get("/celular")
                elif kind == "codigo":
                    if csrf is None:  # one form per client: a CSRF token lasts an hour
                        page = http.get("/celular").text
                        csrf = page.split(_CSRF, 1)[1].split('"', 1)[0]
                    rfc, tel, code, ip = payload
                    r = http.post(
                        "/celular",
                        data={"rfc": rfc, "telefono": tel, "codigo": code, "csrf": csrf},
                        headers={"X-Forwarded-For": ip},
                    )
                    expected = (200, 429)
                else:
                    ref, motivo, big = payload
                    body = json.dumps(
                        {
                            "reference": ref,
                            "status": "delivered" if not big else "bounced",
                            "reason": motivo + (" " * 70_000 if big else ""),
                            "at": NOW.isoformat(),
                        }
                    ).encode()
                    headers = {"content-type": "application/json", **sign(SECRET, body, NOW)}
                    r = http.post("/webhooks/entregas", content=body, headers=headers)
                    expected = (413,) if big else (200,)
            except httpx.HTTPError as exc:
                with run.lock:
                    run.errors[f"{kind}: {type(exc).__name__}"] += 1
                continue
            took = time.perf_counter() - t
            with run.lock:
                run.latencies.setdefault(kind, []).append(took)
                run.status[r.status_code] += 1
                if r.status_code not in expected:
                    run.errors[f"{kind}: HTTP {r.status_code}"] += 1
                elif kind == "codigo" and r.status_code == 200:
                    run.acked_codes[(payload[0], payload[1])] += 1
                elif kind == "webhook" and r.status_code == 200:
                    run.acked_webhooks.append(payload[1])


def load(base: str, plan: list[tuple], clients: int, name: str, kill: tuple | None = None) -> Run:
    """Run ``plan`` from ``clients`` threads; ``kill=(seconds, fn)`` calls ``fn`` mid-run."""
    run = Run(name)
    stop = threading.Event()
    threads = [
        threading.Thread(target=_client, args=(base, plan[i::clients], run, stop))
        for i in range(clients)
    ]
    t = time.perf_counter()
    for th in threads:
        th.start()
    if kill:
        time.sleep(kill[0])
        kill[1]()
        stop.set()  # requests in flight end on connection errors; nothing more is sent
    for th in threads:
        th.join()
    run.latencies["_wall"] = [time.perf_counter() - t]
    return run


def _pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] * 1000


def report(run: Run, target_ms: float) -> bool:
    every = [x for k, v in run.latencies.items() if k != "_wall" for x in v]
    wall = run.latencies.get("_wall", [float("nan")])[0]
    p50, p99 = _pct(every, 50), _pct(every, 99)
    ok = p99 <= target_ms and not run.errors
    print(
        f"{run.name}: {len(every):,} answers in {wall:.1f}s; p50 {p50:.0f} ms, p99 {p99:.0f} ms"
        f" (target <= {target_ms:.0f} ms); 429: {run.status[429]}, 413: {run.status[413]};"
        f" errors: {sum(run.errors.values())} {'OK' if ok else 'OVER TARGET / ERRORS'}"
    )
    for kind in ("pagina", "formulario", "codigo", "webhook"):
        xs = run.latencies.get(kind, [])
        print(
            f"    {kind:<10} {len(xs):5d}  p50 {_pct(xs, 50):6.0f} ms  p99 {_pct(xs, 99):6.0f} ms"
            f"  max {max(xs, default=0) * 1000:6.0f} ms"
        )
    for what, n in sorted(run.errors.items()):
        print(f"    error {what}: {n}")
    return ok


def _holds_lock(db: Path) -> bool:
    conn = sqlite3.connect(db, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        conn.close()


def check_store(db: Path, runs: list[Run]) -> tuple[int, int]:
    """(acknowledged, missing): every acknowledged code and webhook must be an event."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = conn.execute("SELECT tipo, datos FROM eventos WHERE origen IN ('web', 'webhook')")
    codes: Counter = Counter()
    motivos: set[str] = set()
    for tipo, datos in rows:
        d = json.loads(datos)
        if tipo == "codigo_sms":
            codes[(d["rfc"], d["telefono"])] += 1
        elif d.get("motivo"):
            motivos.add(d["motivo"])
    conn.close()
    acked = missing = 0
    for run in runs:
        acked += len(run.acked_webhooks) + sum(run.acked_codes.values())
        missing += sum(m not in motivos for m in run.acked_webhooks)
        for pair, n in run.acked_codes.items():
            codes[pair] -= n
    missing += sum(-n for n in codes.values() if n < 0)
    return acked, missing


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--media", type=int, default=300_000)
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-receiver-"))
    settings = Settings(home=home)
    events_file = home / "eventos.csv"
    t = time.perf_counter()
    rng = random.Random(7)
    media = rbench.seed(settings, args.media, rng)
    rbench.events(media, args.events, events_file, rng)
    from registry.db import dispose_all

    dispose_all()
    print(
        f"setup: {args.media:,} media, {args.events:,} events in {time.perf_counter() - t:.1f}s;"
        f" load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    db = home / "buzon.db"
    server, base = start_server(home)
    runs: list[Run] = []
    ok = True
    reconcile = None
    try:
        load(base, _plan(media, 100, 1, "warm"), args.clients, "warm-up")
        run = load(base, _plan(media, args.requests, 2, "solo"), args.clients, "alone")
        runs.append(run)
        ok &= report(run, 250)

        reconcile = subprocess.Popen(
            [sys.executable, "-m", "buzon", "reconcile", "--events", str(events_file)],
            env=_env(home, rbench.T0 + timedelta(hours=80)),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        t = time.perf_counter()
        while not _holds_lock(db) and reconcile.poll() is None:
            time.sleep(0.05)
        print(f"reconcile holds the write lock after {time.perf_counter() - t:.1f}s")
        run = load(base, _plan(media, args.requests, 3, "rec"), args.clients, "beside reconcile")
        still = reconcile.poll() is None
        runs.append(run)
        ok &= report(run, 1000)
        print(f"    reconcile still running at the end of the run: {still}")
        out, _ = reconcile.communicate()
        print(f"    reconcile: exit {reconcile.returncode}, {out.strip()[-300:]}")
        print(f"    reconcile wall: {time.perf_counter() - t:.1f}s")

        def kill() -> None:
            server.send_signal(signal.SIGKILL)
            server.wait()

        run = load(base, _plan(media, args.requests, 4, "kill"), args.clients, "kill", (2.0, kill))
        runs.append(run)
        acked, missing = check_store(db, runs)
        print(
            f"kill -9 after 2.0 s of a run ({sum(run.status.values())} answers before the kill):"
            f" {acked:,} acknowledged codes and webhooks in all runs, {missing} missing"
            f" from the store {'OK' if missing == 0 else 'LOST'}"
        )
        ok &= missing == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        if reconcile is not None and reconcile.poll() is None:
            reconcile.kill()
            reconcile.wait()
        shutil.rmtree(home, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
