"""Readers never wait for writers: with the SQLite write lock held by another connection (a long
reconcile), the link page and ``buzon status`` still answer at once; a POST waits a bounded time,
then says 503 (nothing recorded) instead of hanging."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from seed import contar as _count
from seed import sembrar

from buzon.settings import Settings
from callbacks.signature import sign
from registry.db import get_engine
from registry.tables import eventos

T0 = datetime(2024, 8, 8, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def test_page_and_status_answer_beside_a_held_write_lock(settings: Settings, receptor) -> None:
    s = settings.model_copy(update={"now": T0})
    m = sembrar(get_engine(s), s, "EKU9003173C9", correo="ana.perez@empresa.mx")
    base = receptor(s)
    db = str(s.home / "buzon.db")
    writer = sqlite3.connect(db, timeout=0, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE medios SET estado = 'validado'")  # uncommitted: nobody sees it
    try:
        # The lock is real: another writer cannot get it.
        other = sqlite3.connect(db, timeout=0.2, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
        t = time.perf_counter()
        page = httpx.get(f"{base}/v/{m.secreto}", timeout=30)
        assert page.status_code == 200 and "Confirmar" in page.text  # the committed snapshot
        assert time.perf_counter() - t < 2
        env = {**os.environ, "BUZON_HOME": str(s.home), "PYTHONPATH": str(ROOT)}
        t = time.perf_counter()
        r = subprocess.run(
            [sys.executable, "-m", "buzon", "status", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        took = time.perf_counter() - t
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["por_estado"]["enviado"] == 1
        assert took < 15  # process start-up included; a locked read waited 60 s
    finally:
        writer.rollback()
        writer.close()


def test_writes_wait_a_bounded_time_then_503(settings: Settings, receptor) -> None:
    s = settings.model_copy(
        update={"now": T0, "write_wait_seconds": 0.5, "webhook_secret": SecretStr("w" * 32)}
    )
    m = sembrar(get_engine(s), s, "EKU9003173C9", telefono="5512345678")
    base = receptor(s)
    token = re.search(r'name="csrf" value="([^"]+)"', httpx.get(f"{base}/celular").text).group(1)
    data = {"rfc": "EKU9003173C9", "telefono": "5512345678", "codigo": m.secreto, "csrf": token}
    body = json.dumps({"reference": m.outbox_id, "status": "delivered", "at": T0.isoformat()})
    hook = {"content-type": "application/json", **sign("w" * 32, body.encode(), T0)}
    writer = sqlite3.connect(str(s.home / "buzon.db"), timeout=0, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        t = time.perf_counter()
        r = httpx.post(f"{base}/celular", data=data, timeout=30)
        assert r.status_code == 503 and "no se registró" in r.text
        assert r.headers["Retry-After"] == "30" and time.perf_counter() - t < 5
        w = httpx.post(f"{base}/webhooks/entregas", content=body, headers=hook, timeout=30)
        assert w.status_code == 503 and w.headers["Retry-After"] == "30"
        # Many at once: those queued behind a waiting batch are answered with it, not later.
        s2 = s.model_copy(update={"write_wait_seconds": 2.0})
        base2 = receptor(s2)

        def post(_: int) -> tuple[int, float]:
            t = time.perf_counter()
            r = httpx.post(f"{base2}/celular", data=data, timeout=30)
            return r.status_code, time.perf_counter() - t

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(post, range(8)))
        assert {c for c, _ in answers} == {503}
        assert max(t for _, t in answers) < 3.8  # one wait of 2 s, not one per batch
    finally:
        writer.rollback()
        writer.close()
    assert _count(get_engine(s), eventos) == 0
    r = httpx.post(f"{base}/celular", data=data, timeout=30)  # sent again: recorded, validated
    assert r.status_code == 200 and "fue exitosa" in r.text
    w = httpx.post(f"{base}/webhooks/entregas", content=body, headers=hook, timeout=30)
    assert w.json() == {"resultado": "entregado"}
